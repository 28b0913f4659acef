// Memory, the restorer blob's part (dumped by dump_memory.cc): the old address
// space cleared, vDSO/vvar moved back, every mapping made again and filled, its
// protections and advice, then the memory policy.
#include "restorer/blob.h"

void clear_address_space(const struct vd_plan* p) {
  const struct vd_range* r = AT(p, p->unmap_off, const struct vd_range);
  for (uint32_t i = 0; i < p->nr_unmap; i++) {
    long rc = sys2(__NR_munmap, r[i].start, r[i].end - r[i].start);
    if (rc < 0) fail(p, VD_STEP_UNMAP, rc, (int)i);
  }
}

// vDSO and vvar to where the image had them (its code may hold pointers into the
// vDSO, e.g. glibc's function pointers). Through a temporary place first, so that
// one's old range never lands on another's current one.
void place_kernel_mappings(const struct vd_plan* p) {
  struct vd_special* s = AT(p, p->special_off, struct vd_special);
  for (uint32_t i = 0; i < p->nr_special; i++) {
    if (s[i].cur_start == s[i].old_start) continue;
    long tmp = sys6(__NR_mmap, 0, s[i].len, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (tmp < 0) fail(p, VD_STEP_SPECIAL, tmp, (int)i);
    long rc = sys5(__NR_mremap, s[i].cur_start, s[i].len, s[i].len, MREMAP_MAYMOVE | MREMAP_FIXED, tmp);
    if (rc < 0) fail(p, VD_STEP_SPECIAL, rc, (int)i);
    s[i].cur_start = (uint64_t)tmp;
  }
  for (uint32_t i = 0; i < p->nr_special; i++) {
    if (s[i].cur_start == s[i].old_start) continue;
    long rc = sys5(__NR_mremap, s[i].cur_start, s[i].len, s[i].len, MREMAP_MAYMOVE | MREMAP_FIXED, s[i].old_start);
    if (rc < 0) fail(p, VD_STEP_SPECIAL, rc, (int)i);
  }
}

// The page runs of the image in order, as one sequence of bytes: a reader takes
// the bytes [from, to) of it, so two readers can share the work at any point.
struct page_reader {
  const struct vd_plan* p;
  uint64_t from, to;
  int32_t err, index;       // the first failure: -errno and which VMA
  volatile int32_t running; // cleared by the kernel when the helper thread exits
};

static void read_range(struct page_reader* r) {
  const struct vd_plan* p = r->p;
  const struct vd_vma* v = AT(p, p->vmas_off, const struct vd_vma);
  const struct vd_run* runs = AT(p, p->runs_off, const struct vd_run);
  uint64_t at = 0;  // where the current run starts in the sequence
  for (uint32_t i = 0; i < p->nr_vmas; i++) {
    for (uint32_t k = 0; k < v[i].nr_runs; k++) {
      const struct vd_run* run = &runs[v[i].first_run + k];
      uint64_t start = at;
      at += run->len;
      if (r->to <= start || r->from >= at) continue;  // not in this reader's share
      uint64_t lo = r->from > start ? r->from - start : 0;
      uint64_t hi = r->to < at ? r->to - start : run->len;
      uint64_t addr = run->addr + lo, len = hi - lo, off = run->off + lo;
      // faulting the pages in one call is cheaper than one fault per page in the copy
      if (len >= 16 * PAGE) sys3(__NR_madvise, addr & ~(PAGE - 1), len, MADV_POPULATE_WRITE);
      while (len) {
        uint64_t chunk = len > (1UL << 30) ? (1UL << 30) : len;
        long n = sys4(__NR_pread64, p->pages_fd, addr, chunk, off);
        if (n <= 0) {
          r->err = n == 0 ? -EINVAL : (int32_t)n;
          r->index = (int32_t)i;
          return;
        }
        addr += (uint64_t)n;
        off += (uint64_t)n;
        len -= (uint64_t)n;
      }
    }
  }
}

// A second thread on its own stack (just below the blob's), sharing everything:
// it runs read_range(r) and exits; the kernel clears r->running and wakes us.
static long start_reader(void* stack_top, struct page_reader* r) {
  const long flags = CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND | CLONE_THREAD | CLONE_SYSVSEM |
                     CLONE_CHILD_CLEARTID;
  register long r10 __asm__("r10") = (long)&r->running;  // child_tid
  register long r8 __asm__("r8") = 0;                    // tls
  register void (*fn)(struct page_reader*) __asm__("r12") = read_range;
  register struct page_reader* arg __asm__("r13") = r;
  long ret;
  __asm__ volatile(
      "syscall\n\t"
      "test %%rax, %%rax\n\t"
      "jnz 1f\n\t"
      "mov %%r13, %%rdi\n\t"  // the new thread: read_range(r), then exit this thread only
      "call *%%r12\n\t"
      "mov %[exit], %%eax\n\t"
      "xor %%edi, %%edi\n\t"
      "syscall\n\t"
      "ud2\n"
      "1:\n\t"
      : "=a"(ret)
      : "a"((long)__NR_clone), "D"(flags), "S"(stack_top), "d"(0L), "r"(r10), "r"(r8), "r"(fn), "r"(arg),
        [exit] "i"(__NR_exit)
      : "rcx", "r11", "memory");
  return ret;
}

// Fills every page run, on two CPUs when there is enough to share.
static void read_pages(const struct vd_plan* p) {
  const struct vd_run* runs = AT(p, p->runs_off, const struct vd_run);
  uint64_t total = 0;
  for (uint32_t i = 0; i < p->nr_runs; i++) total += runs[i].len;
  struct page_reader mine = {p, 0, total, 0, -1, 0}, other = {p, total, total, 0, -1, 1};
  if (total >= (32UL << 20)) {
    uint64_t half = (total / 2) & ~(PAGE - 1);
    other.from = half;
    mine.to = half;
    if (start_reader((void*)((p->blob_end - HELPER_STACK_BELOW) & ~15UL), &other) < 0) {
      other.running = 0;
      mine.to = total;  // no second thread: all of it here
    }
  } else {
    other.running = 0;
  }
  read_range(&mine);
  while (other.running) sys6(__NR_futex, (long)&other.running, FUTEX_WAIT, 1, 0, 0, 0);
  if (mine.err) fail(p, VD_STEP_PAGES, mine.err, mine.index);
  if (other.err) fail(p, VD_STEP_PAGES, other.err, other.index);
}

// Each VMA's madvise advice, once its pages are in (WIPEONFORK, DONTFORK only
// matter at fork; HUGEPAGE after the fill lets khugepaged collapse it as before).
static void advise_memory(const struct vd_plan* p) {
  static const struct { uint32_t bit; int advice; } kinds[] = {
      {VD_ADVISE_DONTFORK, MADV_DONTFORK},   {VD_ADVISE_DONTDUMP, MADV_DONTDUMP},
      {VD_ADVISE_WIPEONFORK, MADV_WIPEONFORK}, {VD_ADVISE_HUGEPAGE, MADV_HUGEPAGE},
      {VD_ADVISE_NOHUGEPAGE, MADV_NOHUGEPAGE}, {VD_ADVISE_SEQUENTIAL, MADV_SEQUENTIAL},
      {VD_ADVISE_RANDOM, MADV_RANDOM},         {VD_ADVISE_MERGEABLE, MADV_MERGEABLE},
  };
  const struct vd_vma* v = AT(p, p->vmas_off, const struct vd_vma);
  for (uint32_t i = 0; i < p->nr_vmas; i++)
    for (uint32_t k = 0; k < sizeof kinds / sizeof kinds[0]; k++) {
      if (!(v[i].advice & kinds[k].bit)) continue;
      long rc = sys3(__NR_madvise, v[i].start, v[i].end - v[i].start, kinds[k].advice);
      if (rc < 0) fail(p, VD_STEP_ADVISE, rc, (int)i);
    }
}

// m made from its object's carrier (plan.h vd_carrier): the same pages, at its
// offset in the object.
static long map_from_carrier(const struct vd_plan* p, const struct vd_vma* m) {
  const struct vd_carrier* c = AT(p, p->carriers_off, const struct vd_carrier);
  uint32_t k = 0;
  while (k < p->nr_carriers && c[k].object != m->object) k++;
  const uint64_t len = m->end - m->start;
  if (k == p->nr_carriers || m->pgoff > c[k].size || len > c[k].size - m->pgoff) return -EINVAL;
  return sys5(__NR_mremap, c[k].addr + m->pgoff, 0, len, MREMAP_MAYMOVE | MREMAP_FIXED, m->start);
}

void map_memory(const struct vd_plan* p) {
  const struct vd_vma* v = AT(p, p->vmas_off, const struct vd_vma);
  // all mappings first (writable where pages come), then the pages, then protections
  for (uint32_t i = 0; i < p->nr_vmas; i++) {
    const struct vd_vma* m = &v[i];
    uint64_t len = m->end - m->start;
    uint32_t prot = m->nr_runs ? (m->prot | PROT_READ | PROT_WRITE) : m->prot;
    long flags = MAP_FIXED | (m->growsdown ? MAP_GROWSDOWN : 0) | (m->noreserve ? MAP_NORESERVE : 0);
    long fd = -1, off = 0;
    switch (m->kind) {
      case VD_VMA_ANON: flags |= MAP_PRIVATE | MAP_ANONYMOUS; break;
      case VD_VMA_SHARED_ANON:
        if (m->object) {
          long addr = map_from_carrier(p, m);
          if (addr < 0 || (uint64_t)addr != m->start) fail(p, VD_STEP_MAP, addr < 0 ? addr : -EINVAL, (int)i);
          continue;
        }
        flags |= MAP_SHARED | MAP_ANONYMOUS;  // (an image from before objects were saved)
        break;
      case VD_VMA_FILE_PRIVATE:
      case VD_VMA_FILE_SHARED:
        flags |= m->kind == VD_VMA_FILE_SHARED ? MAP_SHARED : MAP_PRIVATE;
        if (m->shared_file) {
          // a deleted file, made again by the keeper's child: opened anew with
          // this mapping's access (the fd the tree holds may be read-only)
          if (m->shared_file > p->nr_shared) fail(p, VD_STEP_MAP, -EINVAL, (int)i);
          char self[64];
          proc_self_fd(self, p->shared_base + (long)m->shared_file - 1);
          fd = sys3(__NR_open, self, m->open_flags | O_CLOEXEC, 0);
        } else {
          fd = sys3(__NR_open, str(p, m->path_off), m->open_flags | O_CLOEXEC, 0);
        }
        if (fd < 0) fail(p, VD_STEP_MAP, fd, (int)i);
        off = (long)m->pgoff;
        break;
      case VD_VMA_SYSV_SHM: {
        // the whole segment at its first mapping; the rest of it (split by
        // mprotect) is in place then, and gets its protection below
        if (m->pgoff) continue;
        long at_flags = SHM_REMAP | ((m->prot & PROT_EXEC) ? SHM_EXEC : 0);
        long addr = sys3(__NR_shmat, m->shmid, m->start, at_flags);
        if (addr == -EACCES) addr = sys3(__NR_shmat, m->shmid, m->start, at_flags | SHM_RDONLY);
        if (addr < 0 || (uint64_t)addr != m->start) fail(p, VD_STEP_MAP, addr < 0 ? addr : -EINVAL, (int)i);
        continue;
      }
      default: fail(p, VD_STEP_MAP, -EINVAL, (int)i);
    }
    long addr = sys6(__NR_mmap, m->start, len, prot, flags, fd, off);
    if (fd >= 0) sys1(__NR_close, fd);
    if (addr < 0) fail(p, VD_STEP_MAP, addr, (int)i);
  }
  read_pages(p);
  for (uint32_t i = 0; i < p->nr_vmas; i++) {
    const struct vd_vma* m = &v[i];
    // (one made from a carrier has the carrier's protection)
    const int carried = m->kind == VD_VMA_SHARED_ANON && m->object;
    if (m->kind != VD_VMA_SYSV_SHM && !carried && (!m->nr_runs || (m->prot | PROT_READ | PROT_WRITE) == m->prot)) continue;
    long rc = sys3(__NR_mprotect, m->start, m->end - m->start, m->prot);
    if (rc < 0) fail(p, VD_STEP_PROTECT, rc, (int)i);
  }
  advise_memory(p);
  // the carriers, every mapping made of them (this process inherited them all)
  const struct vd_carrier* c = AT(p, p->carriers_off, const struct vd_carrier);
  for (uint32_t k = 0; k < p->nr_carriers; k++) {
    long rc = sys2(__NR_munmap, c[k].addr, (c[k].size + PAGE - 1) & ~(PAGE - 1));
    if (rc < 0) fail(p, VD_STEP_UNMAP, rc, -1);
  }
}

// Locks as the image had them (mlock, mlock2 MLOCK_ONFAULT, mlockall MCL_FUTURE),
// then THP and MDWE, then seals (mseal). After the rlimits: RLIMIT_MEMLOCK bounds what an
// unprivileged job may lock, as it did when the job locked it. MDWE last of all:
// once on it cannot be switched off.
void set_memory_policy(const struct vd_plan* p) {
  const struct vd_vma* v = AT(p, p->vmas_off, const struct vd_vma);
  for (uint32_t i = 0; i < p->nr_vmas; i++) {
    if (v[i].lock == VD_MLOCK_NONE) continue;
    long rc = sys3(__NR_mlock2, v[i].start, v[i].end - v[i].start, v[i].lock == VD_MLOCK_ONFAULT ? MLOCK_ONFAULT : 0);
    if (rc < 0) fail(p, VD_STEP_MLOCK, rc, (int)i);
  }
  long rc;
  if (p->mlock_future != VD_MLOCK_NONE &&
      (rc = sys1(__NR_mlockall, MCL_FUTURE | (p->mlock_future == VD_MLOCK_ONFAULT ? MCL_ONFAULT : 0))) < 0)
    fail(p, VD_STEP_MLOCK, rc, -1);
  if ((p->thp_disable & 1) && (rc = sys5(__NR_prctl, PR_SET_THP_DISABLE, 1, p->thp_disable >> 1, 0, 0)) < 0)
    fail(p, VD_STEP_MEMORY_POLICY, rc, 0);
  if (p->mdwe && (rc = sys5(__NR_prctl, PR_SET_MDWE, p->mdwe, 0, 0, 0)) < 0) fail(p, VD_STEP_MEMORY_POLICY, rc, 1);
  // sealed mappings last: nothing may change them after
  for (uint32_t i = 0; i < p->nr_vmas; i++)
    if (v[i].sealed && (rc = sys3(__NR_mseal, v[i].start, v[i].end - v[i].start, 0)) < 0) fail(p, VD_STEP_MLOCK, rc, (int)i);
}
