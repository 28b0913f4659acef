// The restorer blob: freestanding, position-independent code that turns the
// process it runs in (the keeper's child, which copied it here and jumped in)
// into one process of an image, as described by its plan (plan.h).
//
// It cannot use libc: the first thing it does is unmap everything the child had,
// libc included. Every call is a raw syscall; there are no globals (the blob is
// a flat copy of .text and .rodata, see build.mjs). On a failure it writes one
// struct vd_failure on the boot socket and exits 125, so the supervisor can say
// which step failed and on what.
//
// What only a tracer can set (registers, FPU state, fs base, the signal mask) is
// left to the supervisor, which finds the blob stopped on its final int3.
#include <stddef.h>
#include <stdint.h>

#include <asm/unistd.h>
#include <linux/fcntl.h>
#include <linux/mman.h>
#include <linux/prctl.h>
#include <linux/seccomp.h>
#include <linux/filter.h>

#include "plan.h"

#define PAGE 4096UL
#define SIG_DFL 0UL
#define SS_DISABLE 2
#define SS_ONSTACK 1
#define ESPIPE 29
#define EPERM 1
#define EINVAL 22
#define EOPNOTSUPP 95
#define EISDIR 21
#define EEXIST 17
#define PRIO_PROCESS 0
#define MADV_POPULATE_WRITE 23
#ifndef MADV_DONTFORK
#define MADV_DONTFORK 10
#endif
#ifndef MADV_DONTDUMP
#define MADV_DONTDUMP 16
#endif
#ifndef MADV_WIPEONFORK
#define MADV_WIPEONFORK 18
#endif
#ifndef MADV_HUGEPAGE
#define MADV_HUGEPAGE 14
#endif
#ifndef MADV_NOHUGEPAGE
#define MADV_NOHUGEPAGE 15
#endif
#ifndef MLOCK_ONFAULT
#define MLOCK_ONFAULT 1
#endif
#ifndef MADV_MERGEABLE
#define MADV_MERGEABLE 12
#endif
#ifndef __NR_mseal
#define __NR_mseal 462
#endif
#ifndef MCL_FUTURE
#define MCL_FUTURE 2
#endif
#ifndef MCL_ONFAULT
#define MCL_ONFAULT 4
#endif
#ifndef PR_SET_MDWE
#define PR_SET_MDWE 65
#endif
#define FUTEX_WAIT 0
#define CLONE_VM 0x100
#define CLONE_FS 0x200
#define CLONE_FILES 0x400
#define CLONE_SIGHAND 0x800
#define CLONE_THREAD 0x10000
#define CLONE_SYSVSEM 0x40000
#define CLONE_CHILD_CLEARTID 0x200000
#define FUTEX_WAKE 1
#define SHM_RDONLY 010000
#define SHM_REMAP 040000
#define SHM_EXEC 0100000
#define EACCES 13
#define ENOENT 2
#define ENOTDIR 20
// the blob's region ends with its stacks (plan.h): the blob's (top 64 KiB), the helper's below
#define HELPER_STACK_BELOW (64UL * 1024)

// ---- raw syscalls ---------------------------------------------------------------

static inline long sys6(long n, long a, long b, long c, long d, long e, long f) {
  register long r10 __asm__("r10") = d;
  register long r8 __asm__("r8") = e;
  register long r9 __asm__("r9") = f;
  long ret;
  __asm__ volatile("syscall"
                   : "=a"(ret)
                   : "a"(n), "D"(a), "S"(b), "d"(c), "r"(r10), "r"(r8), "r"(r9)
                   : "rcx", "r11", "memory");
  return ret;
}
#define sys0(n) sys6(n, 0, 0, 0, 0, 0, 0)
#define sys1(n, a) sys6(n, (long)(a), 0, 0, 0, 0, 0)
#define sys2(n, a, b) sys6(n, (long)(a), (long)(b), 0, 0, 0, 0)
#define sys3(n, a, b, c) sys6(n, (long)(a), (long)(b), (long)(c), 0, 0, 0)
#define sys4(n, a, b, c, d) sys6(n, (long)(a), (long)(b), (long)(c), (long)(d), 0, 0)
#define sys5(n, a, b, c, d, e) sys6(n, (long)(a), (long)(b), (long)(c), (long)(d), (long)(e), 0)

// The compiler may emit calls to these for struct copies even when freestanding.
void* memcpy(void* dst, const void* src, size_t n) {
  char* d = dst;
  const char* s = src;
  while (n--) *d++ = *s++;
  return dst;
}
void* memset(void* dst, int c, size_t n) {
  char* d = dst;
  while (n--) *d++ = (char)c;
  return dst;
}

// The supervisor runs its last syscalls in the restored task (closing the
// listener, unmapping the blob) from this instruction.
extern char vd_syscall_insn[];
__asm__(".pushsection .text\n"
        ".globl vd_syscall_insn\n"
        ".hidden vd_syscall_insn\n"
        "vd_syscall_insn: syscall\n"
        "int3\n"
        ".popsection\n");

// ---- failure ---------------------------------------------------------------------

__attribute__((noreturn)) static void fail(const struct vd_plan* p, int step, long err, int index) {
  struct vd_failure f = {.tag = 'R', .step = step, .err = (int32_t)-err, .index = index, .proc = p->proc_index};
  if (p->boot_fd >= 0) sys3(__NR_write, p->boot_fd, &f, sizeof f);
  for (;;) sys1(__NR_exit_group, 125);
}

#define AT(p, off, type) ((type*)((char*)(p) + (off)))
static const char* str(const struct vd_plan* p, uint32_t off) {
  return off ? AT(p, p->strings_off + off, const char) : (const char*)0;
}

static size_t str_len(const char* s) {
  size_t n = 0;
  while (s[n]) n++;
  return n;
}

// ---- memory ------------------------------------------------------------------------

static void clear_address_space(const struct vd_plan* p) {
  const struct vd_range* r = AT(p, p->unmap_off, const struct vd_range);
  for (uint32_t i = 0; i < p->nr_unmap; i++) {
    long rc = sys2(__NR_munmap, r[i].start, r[i].end - r[i].start);
    if (rc < 0) fail(p, VD_STEP_UNMAP, rc, (int)i);
  }
}

// vDSO and vvar to where the image had them (its code may hold pointers into the
// vDSO, e.g. glibc's function pointers). Through a temporary place first, so that
// one's old range never lands on another's current one.
static void place_kernel_mappings(const struct vd_plan* p) {
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

static void map_memory(const struct vd_plan* p) {
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
      case VD_VMA_SHARED_ANON: flags |= MAP_SHARED | MAP_ANONYMOUS; break;
      case VD_VMA_FILE_PRIVATE:
      case VD_VMA_FILE_SHARED:
        flags |= m->kind == VD_VMA_FILE_SHARED ? MAP_SHARED : MAP_PRIVATE;
        fd = sys3(__NR_open, str(p, m->path_off), m->open_flags | O_CLOEXEC, 0);
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
    if (m->kind != VD_VMA_SYSV_SHM && (!m->nr_runs || (m->prot | PROT_READ | PROT_WRITE) == m->prot)) continue;
    long rc = sys3(__NR_mprotect, m->start, m->end - m->start, m->prot);
    if (rc < 0) fail(p, VD_STEP_PROTECT, rc, (int)i);
  }
  advise_memory(p);
}

// Locks as the image had them (mlock, mlock2 MLOCK_ONFAULT, mlockall MCL_FUTURE),
// then THP and MDWE, then seals (mseal). After the rlimits: RLIMIT_MEMLOCK bounds what an
// unprivileged job may lock, as it did when the job locked it. MDWE last of all:
// once on it cannot be switched off.
static void set_memory_policy(const struct vd_plan* p) {
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

// ---- files -----------------------------------------------------------------------------

// Puts `fd` at number `want`, close-on-exec exactly as the job had it (every
// open here is O_CLOEXEC: an fd already at its number must lose it if the job's
// had none).
static void install_fd(const struct vd_plan* p, int index, long fd, const struct vd_fd* d) {
  if (fd != d->fd) {
    long rc = sys3(__NR_dup3, fd, d->fd, d->cloexec ? O_CLOEXEC : 0);
    sys1(__NR_close, fd);
    if (rc < 0) fail(p, VD_STEP_FD_OPEN, rc, index);
    return;
  }
  long rc = sys3(__NR_fcntl, fd, F_SETFD, d->cloexec ? FD_CLOEXEC : 0);
  if (rc < 0) fail(p, VD_STEP_FD_OPEN, rc, index);
}

// "/proc/self/fd/N" into out (64 bytes).
static void proc_self_fd(char* out, long fd) {
  const char* head = "/proc/self/fd/";
  while (*head) *out++ = *head++;
  char digits[24];
  int k = 0;
  unsigned long v = (unsigned long)fd;
  do digits[k++] = (char)('0' + v % 10); while ((v /= 10));
  while (k) *out++ = digits[--k];
  *out = 0;
}

// A new unlinked file in directory dir (O_TMPFILE; a named file unlinked at once
// where the filesystem has none). A directory that is gone (or is a file now)
// gives way to its nearest existing parent: the file has no name, only where it
// lives (the filesystem) and what readlink shows of it can tell.
static long make_unlinked(char* dir, unsigned long tag) {
  for (;;) {
    long fd = sys3(__NR_open, dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
    if (fd == -EOPNOTSUPP || fd == -EISDIR || fd == -EINVAL) {
      // name: DIR/.vdomain-restore-TAG
      char name[4096 + 64];
      size_t dl = str_len(dir);
      memcpy(name, dir, dl);
      char* q = name + (dl == 1 ? 0 : dl);
      const char* t = "/.vdomain-restore-";
      while (*t) *q++ = *t++;
      char digits[24];
      int k = 0;
      unsigned long v = tag;
      do digits[k++] = (char)('0' + v % 10); while ((v /= 10));
      while (k) *q++ = digits[--k];
      *q = 0;
      fd = sys3(__NR_open, name, O_CREAT | O_EXCL | O_RDWR | O_CLOEXEC, 0600);
      if (fd >= 0) sys1(__NR_unlink, name);
    }
    if ((fd != -ENOENT && fd != -ENOTDIR) || (dir[0] == '/' && dir[1] == 0)) return fd;
    size_t n = str_len(dir);
    while (n > 1 && dir[n - 1] != '/') n--;
    dir[n > 1 ? n - 1 : 1] = 0;
  }
}

// A file deleted while open: a new, already unlinked file where it was, with its
// saved data extents (holes stay holes), size, mode and owner.
static long recreate_deleted(const struct vd_plan* p, int index, const struct vd_fd* d) {
  const char* path = str(p, d->path_off);
  char dir[4096];
  size_t n = path ? str_len(path) : 0;
  if (n == 0 || n >= sizeof dir - 32) fail(p, VD_STEP_FD_COPY, -EINVAL, index);
  memcpy(dir, path, n + 1);
  while (n > 0 && dir[n - 1] != '/') n--;
  if (n == 0) fail(p, VD_STEP_FD_COPY, -EINVAL, index);
  dir[n > 1 ? n - 1 : 1] = 0;

  long fd = make_unlinked(dir, (unsigned long)sys0(__NR_getpid) * 1000 + (unsigned long)index);
  if (fd < 0) fail(p, VD_STEP_FD_COPY, fd, index);
  const struct vd_extent* e = AT(p, d->extents_off, const struct vd_extent);
  int64_t off = (int64_t)d->content_off;
  for (uint32_t i = 0; i < d->nr_extents; i++) {
    int64_t at = (int64_t)e[i].file_off;
    for (uint64_t left = e[i].len; left;) {
      long c = sys6(__NR_copy_file_range, p->pages_fd, (long)&off, fd, (long)&at, left, 0);
      if (c <= 0) fail(p, VD_STEP_FD_COPY, c == 0 ? -EINVAL : c, index);
      left -= (uint64_t)c;
    }
  }
  long rc = sys2(__NR_ftruncate, fd, d->file_size);
  if (rc < 0) fail(p, VD_STEP_FD_COPY, rc, index);
  if (d->attrs_set) {
    // the owner first (chown clears set-id bits); unprivileged, the file is the
    // restoring user's already, and any other owner cannot be given: the restore fails
    struct { uint64_t dev, ino, nlink; uint32_t mode, uid, gid; } st;  // the head of x86-64 struct stat
    char statbuf[144];
    rc = sys2(__NR_fstat, fd, statbuf);
    if (rc < 0) fail(p, VD_STEP_FD_COPY, rc, index);
    memcpy(&st, statbuf, sizeof st);
    if ((st.uid != (uint32_t)d->uid || st.gid != (uint32_t)d->gid) && (rc = sys3(__NR_fchown, fd, d->uid, d->gid)) < 0)
      fail(p, VD_STEP_FD_COPY, rc, index);
    if ((rc = sys2(__NR_fchmod, fd, d->mode)) < 0) fail(p, VD_STEP_FD_COPY, rc, index);
  }
  // reopen with the job's own flags (access mode, O_APPEND, O_PATH, ...)
  char self[64];
  proc_self_fd(self, fd);
  long again = sys3(__NR_open, self, d->flags | O_CLOEXEC, 0);
  sys1(__NR_close, fd);
  if (again < 0) fail(p, VD_STEP_FD_COPY, again, index);
  return again;
}

static void open_files(const struct vd_plan* p) {
  const struct vd_fd* fds = AT(p, p->fds_off, const struct vd_fd);
  for (uint32_t i = 0; i < p->nr_fds; i++) {
    const struct vd_fd* d = &fds[i];
    long fd;
    switch (d->kind) {
      case VD_FD_STDIO:
        fd = sys3(__NR_fcntl, p->stdio_base + (int)d->stdio_index, F_DUPFD_CLOEXEC, 0);
        break;
      case VD_FD_PATH: fd = sys3(__NR_open, str(p, d->path_off), d->flags | O_CLOEXEC, 0); break;
      case VD_FD_COPY: fd = recreate_deleted(p, (int)i, d); break;
      case VD_FD_SHARED:
        fd = d->stdio_index < p->nr_shared ? sys3(__NR_fcntl, p->shared_base + (int)d->stdio_index, F_DUPFD_CLOEXEC, 0) : -EINVAL;
        break;
      default: fd = -EINVAL;
    }
    if (fd < 0) fail(p, VD_STEP_FD_OPEN, fd, (int)i);
    // a shared description was made whole by the keeper's child; an O_PATH one
    // has neither position nor status flags
    if (d->kind != VD_FD_SHARED && !(d->flags & VD_O_PATH)) {
      long rc;
      if (d->kind != VD_FD_STDIO && (rc = sys3(__NR_lseek, fd, (long)d->pos, 0 /* SEEK_SET */)) < 0 && rc != -ESPIPE)
        fail(p, VD_STEP_FD_SEEK, rc, (int)i);
      // (the restoring command's stream too: the job and its caller shared the description)
      long now = sys2(__NR_fcntl, fd, F_GETFL);
      if (now >= 0 && (now & VD_SETFL_FLAGS) != (d->flags & VD_SETFL_FLAGS) &&
          (rc = sys3(__NR_fcntl, fd, F_SETFL, (now & ~(long)VD_SETFL_FLAGS) | (d->flags & VD_SETFL_FLAGS))) < 0)
        fail(p, VD_STEP_FD_OPEN, rc, (int)i);
    }
    install_fd(p, (int)i, fd, d);
  }
}

// ---- file locks (native/resources/locks/dump_locks.cc) --------------------------------------------
// After the blob's own copies of the tree's shared files are closed: closing any
// fd of a file drops the POSIX locks the process holds on it. Never waits: a
// lock another process holds now fails the restore (EAGAIN), before the job runs.

struct k_flock { int16_t type, whence; int32_t pad; int64_t start, len; int32_t pid, pad2; };
#define F_RDLCK 0
#define F_WRLCK 1
#define F_SETLK 6
#define F_OFD_SETLK 37
#define LOCK_SH 1
#define LOCK_EX 2
#define LOCK_NB 4
#define EWOULDBLOCK 11

static void set_locks(const struct vd_plan* p) {
  const struct vd_lock* l = AT(p, p->locks_off, const struct vd_lock);
  // last first: the dump lists a file's ranges in ascending order, and the kernel
  // finds the place of a range below all the others it holds at once
  for (uint32_t i = p->nr_locks; i-- > 0;) {
    long rc;
    if (l[i].kind == VD_LOCK_FLOCK) {
      rc = sys2(__NR_flock, l[i].fd, (l[i].write ? LOCK_EX : LOCK_SH) | LOCK_NB);
    } else {
      struct k_flock f = {.type = l[i].write ? F_WRLCK : F_RDLCK, .whence = 0 /* SEEK_SET */,
                          .start = (int64_t)l[i].start, .len = (int64_t)l[i].len};
      rc = sys3(__NR_fcntl, l[i].fd, l[i].kind == VD_LOCK_OFD ? F_OFD_SETLK : F_SETLK, &f);
      if (rc == -EACCES) rc = -EWOULDBLOCK;  // (F_SETLK may say either)
    }
    if (rc < 0) fail(p, VD_STEP_LOCK, rc, (int)i);
  }
}

// ---- process state ------------------------------------------------------------------

struct k_stack { uint64_t sp; int32_t flags; int32_t pad; uint64_t size; };
struct k_rlimit { uint64_t cur, max; };

static void set_limits(const struct vd_plan* p) {
  if (!p->has_rlimits) return;
  for (int r = 0; r < 16; r++) {
    struct k_rlimit want = {p->rlimits[r][0], p->rlimits[r][1]}, now;
    long rc = sys4(__NR_prlimit64, 0, r, &want, 0);
    if (rc == -EPERM && sys4(__NR_prlimit64, 0, r, 0, &now) == 0) {
      // a hard limit above ours needs privilege: keep ours, as close as allowed
      want.max = now.max;
      if (want.cur > want.max) want.cur = want.max;
      rc = sys4(__NR_prlimit64, 0, r, &want, 0);
    }
    if (rc < 0) fail(p, VD_STEP_RLIMIT, rc, r);
  }
}

// ---- attributes and credentials (dump side: native/resources/task/dump_task.cc, dump_signals.cc) ----

// which attribute a VD_STEP_ATTRS failure is about (its index; restore.cc names them)
enum { ATTR_TIMERSLACK, ATTR_MCE, ATTR_SPEC_SSB, ATTR_SPEC_IB, ATTR_IO_FLUSHER, ATTR_SECUREBITS, ATTR_PDEATHSIG,
       ATTR_SUBREAPER, ATTR_DUMPABLE };
// which part of the credentials a VD_STEP_CREDS failure is about
enum { CRED_BOUNDING, CRED_GROUPS, CRED_GID, CRED_UID, CRED_FSIDS, CRED_CAPS, CRED_AMBIENT };
#define SECBIT_KEEP_CAPS (1u << 4)
#define SECBIT_KEEP_CAPS_LOCKED (1u << 5)
#define PR_SPEC_STATE 0x1e  // ENABLE | DISABLE | FORCE_DISABLE | DISABLE_NOEXEC

static long prctl5(long option, long a, long b) { return sys5(__NR_prctl, option, a, b, 0, 0); }

// A decimal number in a /proc/self file: read (-1 when unreadable) or written.
static long read_proc_number(const char* path, int64_t* out) {
  char buf[32];
  long fd = sys3(__NR_open, path, O_RDONLY | O_CLOEXEC, 0);
  if (fd < 0) return fd;
  long n = sys3(__NR_read, fd, buf, sizeof buf - 1);
  sys1(__NR_close, fd);
  if (n <= 0) return n < 0 ? n : -EINVAL;
  int neg = buf[0] == '-';
  int64_t v = 0;
  for (long i = neg; i < n && buf[i] >= '0' && buf[i] <= '9'; i++) v = v * 10 + (buf[i] - '0');
  *out = neg ? -v : v;
  return 0;
}
static long write_proc_number(const char* path, int64_t v) {
  char buf[24], digits[24];
  int n = 0, k = 0;
  uint64_t u = v < 0 ? (uint64_t)-v : (uint64_t)v;
  if (v < 0) buf[n++] = '-';
  do digits[k++] = (char)('0' + u % 10); while ((u /= 10));
  while (k) buf[n++] = digits[--k];
  long fd = sys3(__NR_open, path, O_WRONLY | O_CLOEXEC, 0);
  if (fd < 0) return fd;
  long rc = sys3(__NR_write, fd, buf, n);
  sys1(__NR_close, fd);
  return rc < 0 ? rc : 0;
}

// The process-wide ones, in the main thread before it makes the others (they
// inherit the login uid); dumpable comes last (restore_dumpable).
static void set_process_attrs(const struct vd_plan* p) {
  if (!p->has_attrs) return;
  long rc = prctl5(PR_SET_CHILD_SUBREAPER, p->subreaper, 0);
  if (rc < 0) fail(p, VD_STEP_ATTRS, rc, ATTR_SUBREAPER);
  // lowering it below the restoring process's needs CAP_SYS_RESOURCE: then the restore fails
  int64_t now = 0;
  if (read_proc_number("/proc/self/oom_score_adj", &now) < 0 || now != p->oom_score_adj) {
    rc = write_proc_number("/proc/self/oom_score_adj", p->oom_score_adj);
    if (rc < 0) fail(p, VD_STEP_OOM, rc, -1);
  }
  // changing it needs CAP_AUDIT_CONTROL: unprivileged, only a restore from the same login works
  if (p->has_loginuid && (read_proc_number("/proc/self/loginuid", &now) < 0 || (uint32_t)now != p->loginuid)) {
    rc = write_proc_number("/proc/self/loginuid", p->loginuid);
    if (rc < 0) fail(p, VD_STEP_LOGINUID, rc, -1);
  }
  for (uint32_t cmd = 1u << 2; cmd <= 1u << 8; cmd <<= 2)  // the REGISTER_* commands
    if ((p->membarrier & cmd) && (rc = sys3(__NR_membarrier, cmd, 0, 0)) < 0) fail(p, VD_STEP_MEMBARRIER, rc, (int)cmd);
}

static void set_speculation(const struct vd_plan* p, long which, int32_t want, int attr) {
  if (want < 0 || !(want & PR_SPEC_PRCTL)) return;  // not controllable there: nothing was chosen
  long now = prctl5(PR_GET_SPECULATION_CTRL, which, 0);
  if (now >= 0 && (now & PR_SPEC_STATE) == (want & PR_SPEC_STATE)) return;
  long arg = want & 8 ? 8 : want & 16 ? 16 : want & 4 ? 4 : 2;
  long rc = prctl5(PR_SET_SPECULATION_CTRL, which, arg);
  if (rc < 0) fail(p, VD_STEP_ATTRS, rc, attr);
}

// Those a thread has of its own and that need the restoring process's privilege
// (I/O flusher: CAP_SYS_RESOURCE), before its credentials.
static void set_thread_attrs(const struct vd_plan* p, const struct vd_thread* t, int index) {
  if (!t->has_attrs) return;
  long rc = prctl5(PR_SET_TIMERSLACK, (long)t->timerslack, 0);
  if (rc < 0) fail(p, VD_STEP_ATTRS, rc, ATTR_TIMERSLACK);
  rc = t->mce_kill == 2 ? prctl5(PR_MCE_KILL, PR_MCE_KILL_CLEAR, 0) : prctl5(PR_MCE_KILL, PR_MCE_KILL_SET, t->mce_kill);
  if (rc < 0) fail(p, VD_STEP_ATTRS, rc, ATTR_MCE);
  set_speculation(p, PR_SPEC_STORE_BYPASS, t->spec_ssb, ATTR_SPEC_SSB);
  set_speculation(p, PR_SPEC_INDIRECT_BRANCH, t->spec_ib, ATTR_SPEC_IB);
  // a thread starts with the main thread's (set before it made them)
  const int32_t inherited = index < 0 ? 0 : p->main_thread.io_flusher;
  if (t->io_flusher != inherited && (rc = prctl5(57 /* PR_SET_IO_FLUSHER */, t->io_flusher, 0)) < 0)
    fail(p, VD_STEP_ATTRS, rc, ATTR_IO_FLUSHER);
}

// keepcaps alone needs no privilege (PR_SET_KEEPCAPS); any other bit needs CAP_SETPCAP
static void set_securebits(const struct vd_plan* p, uint32_t want) {
  uint32_t now = (uint32_t)prctl5(PR_GET_SECUREBITS, 0, 0);
  if (now == want) return;
  long rc = (now ^ want) == SECBIT_KEEP_CAPS ? prctl5(PR_SET_KEEPCAPS, !!(want & SECBIT_KEEP_CAPS), 0)
                                             : prctl5(PR_SET_SECUREBITS, want, 0);
  if (rc < 0) fail(p, VD_STEP_ATTRS, rc, ATTR_SECUREBITS);
}

struct k_cap_header { uint32_t version; int32_t pid; };
struct k_cap_data { uint32_t effective, permitted, inheritable; };

// Last for each thread (the main thread's once it has made the others, which
// need its privilege for clone3's set_tid): groups, gids, uids, capabilities,
// then what a change of credentials clears (keepcaps, the parent death signal).
// setresuid and the rest act on the calling thread alone as raw syscalls.
static void set_thread_creds(const struct vd_plan* p, const struct vd_thread* t) {
  long rc;
  if (t->has_creds) {
    // the bounding set can only shrink, and needs CAP_SETPCAP: first
    for (long cap = 0; cap < 64; cap++) {
      long in = prctl5(PR_CAPBSET_READ, cap, 0);
      if (in < 0) break;  // past the kernel's last capability
      if (in == 1 && !(t->cap_bnd >> cap & 1) && (rc = prctl5(PR_CAPBSET_DROP, cap, 0)) < 0)
        fail(p, VD_STEP_CREDS, rc, CRED_BOUNDING);
    }
    // keep the permitted set across the uid change, so that capset can pick from it
    set_securebits(p, t->securebits | (t->securebits & SECBIT_KEEP_CAPS_LOCKED ? 0 : SECBIT_KEEP_CAPS));
    if ((t->has_creds & VD_CREDS_GROUPS) && (rc = sys2(__NR_setgroups, t->nr_groups, AT(p, t->groups_off, const uint32_t))) < 0)
      fail(p, VD_STEP_CREDS, rc, CRED_GROUPS);
    if ((rc = sys3(__NR_setresgid, t->gid[0], t->gid[1], t->gid[2])) < 0) fail(p, VD_STEP_CREDS, rc, CRED_GID);
    if ((rc = sys3(__NR_setresuid, t->uid[0], t->uid[1], t->uid[2])) < 0) fail(p, VD_STEP_CREDS, rc, CRED_UID);
    // setfs[ug]id answer the old value, never an error: ask again to see that it took
    sys1(__NR_setfsgid, t->gid[3]);
    sys1(__NR_setfsuid, t->uid[3]);
    if ((uint32_t)sys1(__NR_setfsgid, -1) != t->gid[3] || (uint32_t)sys1(__NR_setfsuid, -1) != t->uid[3])
      fail(p, VD_STEP_CREDS, -EPERM, CRED_FSIDS);
    struct k_cap_header h = {0x20080522 /* _LINUX_CAPABILITY_VERSION_3 */, 0};
    struct k_cap_data d[2] = {
        {(uint32_t)t->cap_eff, (uint32_t)t->cap_prm, (uint32_t)t->cap_inh},
        {(uint32_t)(t->cap_eff >> 32), (uint32_t)(t->cap_prm >> 32), (uint32_t)(t->cap_inh >> 32)}};
    if ((rc = sys2(__NR_capset, &h, d)) < 0) fail(p, VD_STEP_CREDS, rc, CRED_CAPS);
    if ((rc = sys5(__NR_prctl, PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0)) < 0)
      fail(p, VD_STEP_CREDS, rc, CRED_AMBIENT);
    for (long cap = 0; cap < 64; cap++)
      if ((t->cap_amb >> cap & 1) && (rc = sys5(__NR_prctl, PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, cap, 0, 0)) < 0)
        fail(p, VD_STEP_CREDS, rc, CRED_AMBIENT);
  }
  if (!t->has_attrs) return;
  set_securebits(p, t->securebits);
  if ((rc = prctl5(PR_SET_PDEATHSIG, t->pdeathsig, 0)) < 0) fail(p, VD_STEP_ATTRS, rc, ATTR_PDEATHSIG);
}

// Every thread's change of credentials sets the process's dumpable flag anew: after them all.
static void restore_dumpable(const struct vd_plan* p) {
  long rc;
  if (p->has_attrs && (rc = prctl5(PR_SET_DUMPABLE, p->dumpable, 0)) < 0) fail(p, VD_STEP_ATTRS, rc, ATTR_DUMPABLE);
}

// What only a thread can set for itself: the main thread's (index -1) at the end
// of set_process_state, each other thread's in thread_main.
static void set_thread_state(const struct vd_plan* p, const struct vd_thread* t, int index) {
  struct k_stack ss = {t->altstack_sp, t->altstack_flags & ~SS_ONSTACK, 0, t->altstack_size};
  if (ss.flags & SS_DISABLE) ss = (struct k_stack){0, SS_DISABLE, 0, 0};
  long rc = sys2(__NR_sigaltstack, &ss, 0);
  if (rc < 0) fail(p, VD_STEP_ALTSTACK, rc, index);
  if (t->rseq_addr && (rc = sys4(__NR_rseq, t->rseq_addr, t->rseq_len, 0, t->rseq_sig)) < 0)
    fail(p, VD_STEP_RSEQ, rc, index);
  if (t->robust_head && (rc = sys2(__NR_set_robust_list, t->robust_head, t->robust_len)) < 0)
    fail(p, VD_STEP_ROBUST, rc, index);
  // it returns the caller's TID, which gettid cannot give once the domain's filter is in
  long tid = sys1(__NR_set_tid_address, t->clear_child_tid);
  sys5(__NR_prctl, PR_SET_NAME, (long)t->comm, 0, 0, 0);
  // scheduling, as far as this user and machine allow (a real-time policy, an
  // I/O class above ours or CPUs this machine lacks: left as they are)
  if (t->cpus_len) sys3(__NR_sched_setaffinity, 0, t->cpus_len, t->cpus);
  if (t->sched_policy >= 0) {
    int32_t priority = t->sched_priority;
    sys3(__NR_sched_setscheduler, 0, t->sched_policy, &priority);
  }
  if (t->ioprio > 0) sys3(__NR_ioprio_set, 1 /* IOPRIO_WHO_PROCESS */, 0, t->ioprio);
  set_thread_attrs(p, t, index);
  const char* si = AT(p, t->pending_off, const char);
  for (uint32_t k = 0; k < t->nr_pending; k++) {
    // a SIGTRAP queued now would merge with the one of this thread's int3 and go
    // with it: the supervisor queues those past the int3 (restore.cc requeueTraps)
    if (*(const int32_t*)(si + 128 * k) == VD_SIGTRAP) continue;
    rc = sys4(__NR_rt_tgsigqueueinfo, p->tgid, tid, *(const int32_t*)(si + 128 * k), si + 128 * k);
    if (rc < 0) fail(p, VD_STEP_PENDING, rc, index);
  }
}

static void set_process_state(struct vd_plan* p) {
  const char* cwd = str(p, p->cwd_off);
  if (cwd) {
    long rc = sys1(__NR_chdir, cwd);
    if (rc < 0) fail(p, VD_STEP_CWD, rc, -1);
  }
  sys1(__NR_umask, p->umask);
  sys1(__NR_personality, p->personality);
  // lowering nice needs privilege; the job runs on at ours then
  sys3(__NR_setpriority, PRIO_PROCESS, 0, p->nice);
  set_limits(p);

  // memory layout: what /proc/PID/cmdline, environ, auxv and brk go by
  p->mm.auxv = (uint64_t)p->auxv;
  p->mm.exe_fd = (uint32_t)-1;
  long exe = -1;
  const char* exe_path = str(p, p->exe_path_off);
  if (exe_path) {
    exe = sys3(__NR_open, exe_path, O_RDONLY | O_CLOEXEC, 0);
    if (exe >= 0) p->mm.exe_fd = (uint32_t)exe;
  }
  long rc = sys5(__NR_prctl, PR_SET_MM, PR_SET_MM_MAP, (long)&p->mm, sizeof p->mm, 0);
  if (rc < 0 && exe >= 0) {
    // changing /proc/PID/exe needs CAP_CHECKPOINT_RESTORE (or the file is busy)
    p->mm.exe_fd = (uint32_t)-1;
    rc = sys5(__NR_prctl, PR_SET_MM, PR_SET_MM_MAP, (long)&p->mm, sizeof p->mm, 0);
  }
  if (exe >= 0) sys1(__NR_close, exe);
  if (rc < 0) fail(p, VD_STEP_MM, rc, -1);

  for (int sig = 1; sig <= VD_NSIG; sig++) {
    if (sig == 9 || sig == 19) continue;  // SIGKILL, SIGSTOP
    struct vd_sigaction dfl = {SIG_DFL, 0, 0, 0};
    const struct vd_sigaction* a = (p->sigaction_set >> (sig - 1) & 1) ? &p->sigactions[sig - 1] : &dfl;
    long r = sys4(__NR_rt_sigaction, sig, a, 0, 8);
    if (r < 0 && a != &dfl) fail(p, VD_STEP_SIGACTION, r, sig - 1);
  }
  for (int t = 0; t < 3; t++) {
    struct vd_itimer it = p->itimers[t];
    if (!it.value_sec && !it.value_usec) {
      // a periodic timer read just as it fired shows 0 left: it runs on
      if (!it.interval_sec && !it.interval_usec) continue;
      it.value_sec = it.interval_sec;
      it.value_usec = it.interval_usec;
    }
    rc = sys3(__NR_setitimer, t, &it, 0);
    if (rc < 0) fail(p, VD_STEP_ITIMER, rc, t);
  }
  set_process_attrs(p);
  p->tgid = (int32_t)sys0(__NR_getpid);
  const char* si = AT(p, p->pending_shared_off, const char);
  for (uint32_t i = 0; i < p->nr_pending_shared; i++) {
    rc = sys3(__NR_rt_sigqueueinfo, p->tgid, *(const int32_t*)(si + 128 * i), si + 128 * i);
    if (rc < 0) fail(p, VD_STEP_PENDING, rc, (int)i);
  }
  set_thread_state(p, &p->main_thread, -1);
}

// no_new_privs as the job had it (or as an unprivileged filter needs), then the
// domain's filter. Last: once the filter is in, the domain's calls stop at the supervisor, which
// has no listener until it takes this one at the int3.
static long install_filter(const struct vd_plan* p) {
  if (p->no_new_privs) sys5(__NR_prctl, PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
  if (!p->filter_len) return -1;
  struct sock_fprog prog = {.len = (unsigned short)(p->filter_len / sizeof(struct sock_filter)),
                            .filter = AT(p, p->filter_off, struct sock_filter)};
  long listener = sys3(__NR_seccomp, SECCOMP_SET_MODE_FILTER, p->filter_flags, &prog);
  if (listener < 0) fail(p, VD_STEP_FILTER, listener, -1);
  return listener;
}

// ---- threads ----------------------------------------------------------------------------------
// The main thread makes the others once its own state is set (the filter too:
// threads inherit it, as they do in a running job). Each sets what only it can
// set for itself, says so, and stops on its int3; the supervisor loads its
// registers there (native/core/restore.cc).

struct k_clone_args {
  uint64_t flags, pidfd, child_tid, parent_tid, exit_signal, stack, stack_size, tls, set_tid, set_tid_size, cgroup;
};

__attribute__((noreturn, used)) static void thread_main(struct vd_plan* p, long i) {
  set_thread_state(p, AT(p, p->threads_off, const struct vd_thread) + i, (int)i);
  set_thread_creds(p, AT(p, p->threads_off, const struct vd_thread) + i);
  __atomic_add_fetch(&p->threads_ready, 1, __ATOMIC_SEQ_CST);
  sys3(__NR_futex, (long)&p->threads_ready, FUTEX_WAKE, 1);
  register long rax __asm__("rax") = i;
  for (;;) __asm__ volatile("int3" : : "r"(rax) : "memory");
}

static long start_thread(struct vd_plan* p, long i) {
  const struct vd_thread* t = AT(p, p->threads_off, const struct vd_thread) + i;
  int32_t want = t->vtid;
  uint64_t top = (p->blob_end - VD_BLOB_STACK - (uint64_t)i * VD_THREAD_STACK) & ~15UL;
  struct k_clone_args a = {0};
  a.flags = CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND | CLONE_THREAD | CLONE_SYSVSEM;
  a.stack = top - VD_THREAD_STACK;
  a.stack_size = VD_THREAD_STACK;
  if (p->identity) {
    a.set_tid = (uint64_t)&want;
    a.set_tid_size = 1;
  }
  register void (*fn)(struct vd_plan*, long) __asm__("r12") = thread_main;
  register struct vd_plan* arg __asm__("r13") = p;
  register long index __asm__("r14") = i;
  long ret;
  __asm__ volatile(
      "syscall\n\t"
      "test %%rax, %%rax\n\t"
      "jnz 1f\n\t"
      "and $-16, %%rsp\n\t"  // the new thread, on its stack: thread_main(p, i)
      "mov %%r13, %%rdi\n\t"
      "mov %%r14, %%rsi\n\t"
      "call *%%r12\n\t"
      "ud2\n"
      "1:\n\t"
      : "=a"(ret)
      : "a"((long)__NR_clone3), "D"(&a), "S"(sizeof a), "r"(fn), "r"(arg), "r"(index)
      : "rcx", "r11", "rdx", "memory");
  return ret;
}

static void start_threads(struct vd_plan* p) {
  for (uint32_t i = 0; i < p->nr_threads; i++) {
    long rc = start_thread(p, i);
    if (rc < 0) fail(p, VD_STEP_THREAD, rc, (int)i);
  }
  for (;;) {
    int32_t n = __atomic_load_n(&p->threads_ready, __ATOMIC_SEQ_CST);
    if ((uint32_t)n >= p->nr_threads) break;
    sys6(__NR_futex, (long)&p->threads_ready, FUTEX_WAIT, n, 0, 0, 0);
  }
}

// ---- entry ----------------------------------------------------------------------------------

__attribute__((noreturn, used)) void vd_restore(struct vd_plan* p) {
  if (p->magic != VD_PLAN_MAGIC || p->version != VD_PLAN_VERSION) fail(p, VD_STEP_PLAN, -EINVAL, -1);
  clear_address_space(p);
  place_kernel_mappings(p);
  map_memory(p);
  open_files(p);
  set_process_state(p);
  set_memory_policy(p);
  // the blob's own descriptors: the stdio copies and the page file
  for (int fd = p->stdio_base; fd < p->stdio_base + 3; fd++) sys1(__NR_close, fd);
  for (uint32_t i = 0; i < p->nr_shared; i++) sys1(__NR_close, p->shared_base + (int)i);
  sys1(__NR_close, p->pages_fd);
  set_locks(p);
  long listener = install_filter(p);
  start_threads(p);
  set_thread_creds(p, &p->main_thread);
  restore_dumpable(p);
  sys1(__NR_close, p->boot_fd);

  register long rax __asm__("rax") = listener;
  register uint64_t rbx __asm__("rbx") = p->blob_start;
  register uint64_t rcx __asm__("rcx") = p->blob_end - p->blob_start;
  register uint64_t rdx __asm__("rdx") = (uint64_t)vd_syscall_insn;
  for (;;) __asm__ volatile("int3" : : "r"(rax), "r"(rbx), "r"(rcx), "r"(rdx) : "memory");
}

// The keeper's child jumps here with rdi = the plan and rsp = the top of the
// blob's own stack.
__asm__(".pushsection .text.entry,\"ax\"\n"
        ".globl vd_entry\n"
        "vd_entry:\n"
        "  and $-16, %rsp\n"
        "  call vd_restore\n"
        "  ud2\n"
        ".popsection\n");
