// The keeper's child in a restore: receives the process tree, the plans and the
// page files from the supervisor, creates the tree's other processes (each in its
// session and process group; zombies end at once with their status), and then in
// every live process prepares a place for the restorer blob that no mapping of the
// image needs and jumps into it (native/restorer/restorer.c). From the jump on,
// nothing of this program (libc included) survives: the blob unmaps it all.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <linux/sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/sem.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "keeper.h"
#include "keeper_io.h"
#include "resources/files/keeper_files.h"
#include "keeper/tree_parts.h"
#include "restorer/plan.h"
#include "restorer_blob.h"

#define PAGE 4096UL
#define ROUND_UP(x) (((x) + PAGE - 1) & ~(PAGE - 1))
#define TASK_END 0x7ffffffff000UL  // top of a 47-bit user address space
#define KEEP_CLEAR (16UL << 20)  // distance from the image's mappings (stack guard gap)


static int boot_sock = -1;
static int my_index = 0;  // which process of the tree this one is

static void give_up_tree(void);

__attribute__((noreturn)) static void refuse(int step, int err, int index) {
  struct vd_failure f = {.tag = 'R', .step = step, .err = err, .index = index, .proc = my_index};
  if (write(boot_sock, &f, sizeof f) < 0) {}
  give_up_tree();
  _exit(125);
}


struct kernel_mapping { uint64_t start, end; int kind; };

// [vdso], [vvar], [vvar_vclock] as this process has them now.
static int find_kernel_mappings(struct kernel_mapping *out, int max) {
  static char buf[1 << 16];
  int fd = open("/proc/self/maps", O_RDONLY | O_CLOEXEC), n = 0;
  if (fd < 0) return -1;
  size_t len = 0;
  ssize_t r;
  while (len < sizeof buf - 1 && (r = read(fd, buf + len, sizeof buf - 1 - len)) > 0) len += (size_t)r;
  close(fd);
  buf[len] = 0;
  static const char *names[] = {"[vdso]", "[vvar]", "[vvar_vclock]"};
  for (char *line = buf; line && *line && n < max;) {
    char *next = strchr(line, '\n');
    if (next) *next++ = 0;
    unsigned long s, e;
    char *name = strrchr(line, ' ');
    if (name && sscanf(line, "%lx-%lx", &s, &e) == 2)
      for (int k = 0; k < 3; k++)
        if (!strcmp(name + 1, names[k])) out[n++] = (struct kernel_mapping){s, e, k};
    line = next;
  }
  return n;
}

static int overlaps(uint64_t a0, uint64_t a1, uint64_t b0, uint64_t b1) { return a0 < b1 && b0 < a1; }

// A region of `size` bytes clear of every mapping of the image (with room for its
// stack to grow) and of our own.
static uint64_t place_blob(const struct vd_plan *p, uint64_t size) {
  const struct vd_vma *v = (const struct vd_vma *)((const char *)p + p->vmas_off);
  const struct vd_special *s = (const struct vd_special *)((const char *)p + p->special_off);
  for (uint64_t hint = 0x100000000000UL; hint + size < TASK_END; hint += 0x10000000000UL) {
    int clear = 1;
    for (uint32_t i = 0; clear && i < p->nr_vmas; i++)
      if (overlaps(hint, hint + size, v[i].start - KEEP_CLEAR, v[i].end + KEEP_CLEAR)) clear = 0;
    for (uint32_t i = 0; clear && i < p->nr_special; i++)
      if (overlaps(hint, hint + size, s[i].old_start - KEEP_CLEAR, s[i].old_start + s[i].len + KEEP_CLEAR)) clear = 0;
    if (!clear) continue;
    void *at = mmap((void *)hint, size, PROT_READ | PROT_WRITE | PROT_EXEC,
                    MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
    if (at == (void *)hint) return hint;
    if (at != MAP_FAILED) munmap(at, size);
  }
  return 0;
}

// ---- the tree -------------------------------------------------------------------

static struct vd_tree_proc *procs;
static uint32_t nr_procs;
static struct shared_files files;  // made by the root before it forks, inherited by all
static int identity;  // the supervisor's decision: old PIDs for all, or translation
static struct vd_plan **plans;  // per process; NULL for zombies
static uint32_t *plan_lens;
static int *pages_fds;
static struct vd_carrier *carriers;  // the tree's shared anonymous objects, made by the root
static uint32_t nr_carriers;

// Is [a, b) clear of every mapping any process of the image will have?
static int clear_of_plans(uint64_t a, uint64_t b) {
  for (uint32_t i = 0; i < nr_procs; i++) {
    const struct vd_plan *p = plans[i];
    if (!p) continue;
    const struct vd_vma *v = (const struct vd_vma *)((const char *)p + p->vmas_off);
    const struct vd_special *s = (const struct vd_special *)((const char *)p + p->special_off);
    for (uint32_t k = 0; k < p->nr_vmas; k++)
      if (overlaps(a, b, v[k].start, v[k].end)) return 0;
    for (uint32_t k = 0; k < p->nr_special; k++)
      if (overlaps(a, b, s[k].old_start, s[k].old_start + s[k].len)) return 0;
  }
  return 1;
}

// One carrier per shared anonymous object of the image (vd_carrier, plan.h), as
// large as the farthest byte any process maps of it, where no process of the
// image has a mapping: the forks that build the tree pass them on to all.
static void make_carriers(void) {
  uint32_t most = 0;
  for (uint32_t i = 0; i < nr_procs; i++)
    if (plans[i]) most += plans[i]->nr_vmas;
  carriers = calloc(most ? most : 1, sizeof *carriers);
  int *noreserve = calloc(most ? most : 1, sizeof *noreserve);
  if (!carriers || !noreserve) refuse(VD_STEP_MAP, ENOMEM, -1);
  for (uint32_t i = 0; i < nr_procs; i++) {
    const struct vd_plan *p = plans[i];
    if (!p) continue;
    const struct vd_vma *v = (const struct vd_vma *)((const char *)p + p->vmas_off);
    for (uint32_t k = 0; k < p->nr_vmas; k++) {
      if (v[k].kind != VD_VMA_SHARED_ANON || !v[k].object) continue;
      uint32_t c = 0;
      while (c < nr_carriers && carriers[c].object != v[k].object) c++;
      if (c == nr_carriers) carriers[nr_carriers++] = (struct vd_carrier){.object = v[k].object};
      const uint64_t end = v[k].pgoff + (v[k].end - v[k].start);
      if (end < v[k].pgoff || end > (1UL << 46)) refuse(VD_STEP_MAP, EINVAL, (int)k);
      if (end > carriers[c].size) carriers[c].size = end;
      noreserve[c] |= v[k].noreserve != 0;
    }
  }
  int zero = nr_carriers ? open("/dev/zero", O_RDWR | O_CLOEXEC) : -1;
  if (nr_carriers && zero < 0) refuse(VD_STEP_MAP, errno, -1);
  uint64_t at = 0x200000000000UL;
  for (uint32_t c = 0; c < nr_carriers; c++) {
    const uint64_t size = ROUND_UP(carriers[c].size);
    for (;; at += 1UL << 30) {
      if (at + size >= TASK_END) refuse(VD_STEP_MAP, ENOMEM, -1);
      if (!clear_of_plans(at, at + size)) continue;
      void *got = mmap((void *)at, size, PROT_READ | PROT_WRITE,
                       MAP_SHARED | MAP_FIXED_NOREPLACE | (noreserve[c] ? MAP_NORESERVE : 0), zero, 0);
      if (got == (void *)at) break;
      if (got != MAP_FAILED) munmap(got, size);
    }
    carriers[c].addr = at;
    at += size + PAGE;
  }
  if (zero >= 0) close(zero);
  free(noreserve);
}

// Shared by every process of the tree while it is built (unmapped by the blob).
struct tree_state {
  uint32_t go;       // the supervisor has seen the whole tree: become the image
  uint32_t failed;   // a process could not be made: everyone gives up
  int32_t real[VD_MAX_PROCS];
  uint32_t built[VD_MAX_PROCS];  // the process and all its descendants exist
};
static struct tree_state *shared;

// Waits are bounded: a process killed from outside wakes no one.
static void futex_wait(uint32_t *addr, uint32_t val) {
  struct timespec t = {0, 50 * 1000 * 1000};
  syscall(SYS_futex, addr, FUTEX_WAIT, val, &t, NULL, 0);
}
static void futex_wake(uint32_t *addr) { syscall(SYS_futex, addr, FUTEX_WAKE, INT32_MAX, NULL, NULL, 0); }

static void set_and_wake(uint32_t *flag) {
  __atomic_store_n(flag, 1, __ATOMIC_RELEASE);
  futex_wake(flag);
}

// Everyone stops: the parent waiting for this subtree, and those waiting for go.
static void give_up_tree(void) {
  if (!shared) return;
  set_and_wake(&shared->failed);
  set_and_wake(&shared->built[my_index]);
  set_and_wake(&shared->go);
}

// A child that is gone without saying it is built (killed, or refused).
static int vanished(pid_t pid) {
  siginfo_t si = {0};
  return waitid(P_PID, (id_t)pid, &si, WEXITED | WNOHANG | WNOWAIT) == 0 && si.si_pid == pid;
}

static void read_tree(int boot_fd) {
  struct vd_tree t;
  if (read_full(boot_fd, &t, sizeof t) < 0) _exit(125);
  if (t.magic != VD_TREE_MAGIC || t.nr == 0 || t.nr > VD_MAX_PROCS) refuse(VD_STEP_PLAN, EINVAL, -1);
  nr_procs = t.nr;
  identity = t.identity != 0;
  procs = calloc(nr_procs, sizeof *procs);
  plans = calloc(nr_procs, sizeof *plans);
  plan_lens = calloc(nr_procs, sizeof *plan_lens);
  pages_fds = calloc(nr_procs, sizeof *pages_fds);
  if (!procs || !plans || !plan_lens || !pages_fds) refuse(VD_STEP_PLAN, ENOMEM, -1);
  if (read_full(boot_fd, procs, nr_procs * sizeof *procs) < 0) refuse(VD_STEP_PLAN, EIO, -1);
  files.nr = t.nr_shared;
  struct keeper_failure why;
  if (read_shared_files(boot_fd, &files, &why) < 0) refuse(why.step, why.err, -1);
  for (uint32_t i = 0; i < nr_procs; i++) {
    const struct vd_tree_proc *p = &procs[i];
    // creation order: parents and joined groups come first (a leader joins its own)
    const int parent_ok = i == 0 ? p->parent == -1 : (p->parent >= 0 || p->parent == VD_PARENT_KEEPER);
    if (!parent_ok || p->parent >= (int32_t)i || p->group_of > (int32_t)i)
      refuse(VD_STEP_PLAN, EINVAL, (int)i);
    pages_fds[i] = -1;
    if (p->zombie) continue;
    uint32_t len;
    if (read_full(boot_fd, &len, sizeof len) < 0) refuse(VD_STEP_PLAN, EIO, (int)i);
    if (len < sizeof(struct vd_plan) || len > (256u << 20)) refuse(VD_STEP_PLAN, EINVAL, (int)i);
    plans[i] = malloc(len);
    plan_lens[i] = len;
    if (!plans[i] || read_full(boot_fd, plans[i], len) < 0) refuse(VD_STEP_PLAN, EIO, (int)i);
    if ((pages_fds[i] = recv_fd(boot_fd, 'P')) < 0) refuse(VD_STEP_PLAN, EIO, (int)i);
    if (plans[i]->magic != VD_PLAN_MAGIC || plans[i]->version != VD_PLAN_VERSION || plans[i]->size != len)
      refuse(VD_STEP_PLAN, EINVAL, (int)i);
  }
}

// SEM_UNDO adjustments (read at checkpoint by dumpSemUndo, native/resources/sysv/dump_sysv.cc).
// Each process makes its own with a semop(SEM_UNDO) of the opposite amount, which
// also moves the semaphore: the root first raises each one by all that will be
// taken (direction +1), and once the tree is made lowers it by all that was added
// (-1), so that no operation waits and the values end as in the image.
static const struct vd_sem_undo *sem_undo_of(uint32_t i) {
  return (const struct vd_sem_undo *)((char *)plans[i] + plans[i]->sem_undo_off);
}

static void balance_sem_undo(int direction) {
  for (uint32_t i = 0; i < nr_procs; i++) {
    if (procs[i].zombie) continue;
    const struct vd_sem_undo *u = sem_undo_of(i);
    for (uint32_t k = 0; k < plans[i]->nr_sem_undo; k++) {
      // raised by what processes take (adjustment > 0), lowered by what they add
      if ((direction > 0) != (u[k].adj > 0)) continue;
      struct sembuf b = {(unsigned short)u[k].semnum, (short)u[k].adj, IPC_NOWAIT};
      if (semop(u[k].semid, &b, 1) < 0) refuse(VD_STEP_SEM_UNDO, errno, (int)i);
    }
  }
}

static void make_sem_undo(uint32_t i) {
  const struct vd_sem_undo *u = sem_undo_of(i);
  for (uint32_t k = 0; k < plans[i]->nr_sem_undo; k++) {
    struct sembuf b = {(unsigned short)u[k].semnum, (short)-u[k].adj, SEM_UNDO | IPC_NOWAIT};
    if (semop(u[k].semid, &b, 1) < 0) refuse(VD_STEP_SEM_UNDO, errno, (int)i);
  }
}

__attribute__((noreturn)) static void finish(void);

// Whether the plan makes processes of i (the root makes the orphans too).
static int makes_processes(uint32_t i) {
  for (uint32_t c = i + 1; c < nr_procs; c++)
    if (procs[c].parent == (int32_t)i || (i == 0 && procs[c].parent == VD_PARENT_KEEPER)) return 1;
  return 0;
}

// Ends as the wait status says: exited with its code, or killed by its signal (no core).
__attribute__((noreturn)) static void exit_as(int status) {
  if (WIFSIGNALED(status)) {
    int sig = WTERMSIG(status);
    struct rlimit none = {0, 0};
    setrlimit(RLIMIT_CORE, &none);
    signal(sig, SIG_DFL);
    sigset_t one;
    sigemptyset(&one);
    sigaddset(&one, sig);
    sigprocmask(SIG_UNBLOCK, &one, NULL);
    kill(getpid(), sig);
  }
  _exit(WEXITSTATUS(status));
}

// The keeper's own slave of the pty pair of master's shared entry (keeper_pty.c).
static int pty_slave(int32_t master) {
  if ((uint32_t)master >= files.nr || files.pty_slave[master] < 0) refuse(VD_STEP_PTY, EINVAL, master);
  return files.pty_slave[master];
}

// Process i has just been forked (or is the root): its session and group, then
// its children, one at a time and each with its whole subtree, so that every
// group a later process joins exists already.
static void build(uint32_t i) {
  my_index = (int)i;
  const struct vd_tree_proc *p = &procs[i];
  shared->real[i] = getpid();
  if (p->setsid && setsid() < 0) refuse(VD_STEP_TREE, errno, (int)i);
  // a pty of the job as its session's terminal, before any other process of the session is made
  if (p->ctty >= 0 && ioctl(pty_slave(p->ctty), TIOCSCTTY, 0) < 0) refuse(VD_STEP_PTY, errno, (int)i);
  if (p->group_of >= 0) {
    pid_t pgid = p->group_of == (int32_t)i ? 0 : getpgid(shared->real[p->group_of]);
    if (pgid < 0 || setpgid(0, pgid) < 0) refuse(VD_STEP_TREE, errno, (int)i);
  }
  // its group in the foreground of such a pty (SIGTTOU is blocked: from the background, that may be done)
  const pid_t own_group = getpgrp();
  if (p->tty_fg >= 0 && ioctl(pty_slave(p->tty_fg), TIOCSPGRP, &own_group) < 0) refuse(VD_STEP_PTY, errno, (int)i);
  // A zombie exits at once, for its parent to reap; one that makes processes
  // exits once the tree runs (finish): the root of a domain whose root had exited
  // while its orphans ran on (a daemon's job), or a helper (domains/tree.ts).
  if (p->zombie && !makes_processes(i)) {
    set_and_wake(&shared->built[i]);
    exit_as(p->status);
  }
  if (!p->zombie) make_sem_undo(i);  // before its children: a fork does not share them
  for (uint32_t c = i + 1; c < nr_procs && !shared->failed; c++) {
    // the root also makes the orphans, as children of the keeper
    const int orphan = i == 0 && procs[c].parent == VD_PARENT_KEEPER;
    if (procs[c].parent != (int32_t)i && !orphan) continue;
    // a zombie's children are the keeper's: their parent had gone
    const int sibling = orphan || p->zombie;
    // an identity restore needs every old PID: without translation, no other will do
    pid_t pid = fork_exactly(identity ? procs[c].vpid : 0, sibling);
    if (pid < 0) refuse(VD_STEP_TREE, errno, (int)c);
    if (pid == 0) {
      build(c);
      finish();
    }
    while (!__atomic_load_n(&shared->built[c], __ATOMIC_ACQUIRE) && !shared->failed) {
      futex_wait(&shared->built[c], 0);
      if (!procs[c].zombie && !sibling && vanished(pid)) give_up_tree();  // (a sibling is not our child)
    }
  }
  if (shared->failed) {
    give_up_tree();
    _exit(125);
  }
  set_and_wake(&shared->built[i]);
}

void restore_child(int boot_fd) {
  sigset_t all;
  sigfillset(&all);
  sigprocmask(SIG_SETMASK, &all, NULL);
  boot_sock = boot_fd;
  read_tree(boot_fd);
  shared = mmap(NULL, sizeof *shared, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (shared == MAP_FAILED) refuse(VD_STEP_TREE, errno, 0);
  struct keeper_failure why;
  if (make_shared_files(&files, pages_fds, nr_procs, &why) < 0) refuse(why.step, why.err, -1);
  make_carriers();
  if (identity && getpid() != procs[0].vpid) refuse(VD_STEP_TREE, EEXIST, 0);
  balance_sem_undo(+1);
  build(0);
  balance_sem_undo(-1);
  finish();
}

__attribute__((noreturn)) static void become_image(struct vd_plan *plan, uint32_t len, int pages, int boot_fd);

// Every live process, once the whole tree exists: the root reports it and waits
// for the supervisor's go; the others wait for the root's.
static void finish(void) {
  const int boot_fd = boot_sock;
  if (my_index == 0) {
    // the supervisor learns the real PIDs, traces the tree, and says go
    size_t n = 1 + sizeof(uint32_t) + nr_procs * sizeof(int32_t);
    char *msg = malloc(n);
    if (!msg) refuse(VD_STEP_TREE, ENOMEM, 0);
    msg[0] = 'T';
    memcpy(msg + 1, &nr_procs, sizeof nr_procs);
    memcpy(msg + 1 + sizeof nr_procs, shared->real, nr_procs * sizeof(int32_t));
    if (write(boot_fd, msg, n) != (ssize_t)n) _exit(125);
    char go = 0;
    if (read_full(boot_fd, &go, 1) < 0 || go != 'G') {
      give_up_tree();
      _exit(125);
    }
    set_and_wake(&shared->go);
    if (procs[0].zombie) exit_as(procs[0].status);  // the root had exited: the orphans run on
  } else {
    while (!__atomic_load_n(&shared->go, __ATOMIC_ACQUIRE)) futex_wait(&shared->go, 0);
    if (shared->failed) _exit(125);
    if (procs[my_index].zombie) exit_as(procs[my_index].status);  // a helper: its processes run
  }
  become_image(plans[my_index], plan_lens[my_index], pages_fds[my_index], boot_fd);
}

static void become_image(struct vd_plan *plan, uint32_t len, int pages, int boot_fd) {
  // the others' page files are closed below with everything else

  // Which of the kernel's mappings move where; ours without a counterpart go.
  struct kernel_mapping now[8];
  int nr_now = find_kernel_mappings(now, 8);
  if (nr_now < 0) refuse(VD_STEP_SPECIAL, errno, -1);
  int kept[8] = {0};
  struct vd_special *spec = (struct vd_special *)((char *)plan + plan->special_off);
  for (uint32_t i = 0; i < plan->nr_special; i++) {
    int found = -1;
    for (int k = 0; k < nr_now; k++)
      if (now[k].kind == (int)spec[i].kind) found = k;
    if (found < 0 || now[found].end - now[found].start != spec[i].len) refuse(VD_STEP_SPECIAL, ENXIO, (int)i);
    spec[i].cur_start = now[found].start;
    kept[found] = 1;
  }

  // The blob's region: code, the plan (with the ranges to unmap and the carriers
  // appended), a stack.
  const uint32_t max_ranges = 16 + nr_carriers;
  uint64_t plan_size = ROUND_UP(len + 8 + max_ranges * sizeof(struct vd_range) + nr_carriers * sizeof(struct vd_carrier));
  uint64_t code_size = ROUND_UP(sizeof restorer_blob);
  uint64_t size = code_size + plan_size + VD_BLOB_STACK + (uint64_t)plan->nr_threads * VD_THREAD_STACK;
  uint64_t base = place_blob(plan, size);
  if (!base) refuse(VD_STEP_UNMAP, ENOMEM, -1);
  memcpy((void *)base, restorer_blob, sizeof restorer_blob);
  struct vd_plan *copy = (struct vd_plan *)(base + code_size);
  memcpy(copy, plan, len);
  copy->blob_start = base;
  copy->blob_end = base + size;
  copy->proc_index = my_index;
  copy->identity = (uint32_t)identity;
  // the kinds' parts now that the tree is whole (every PID is known)
#define VD_KEEPER_TREE_RUN(name) keeper_tree_##name(copy, procs, shared->real, nr_procs);
  VD_KEEPER_TREE_PARTS(VD_KEEPER_TREE_RUN)
#undef VD_KEEPER_TREE_RUN

  // Everything else goes: the complement of the region, the kept kernel mappings
  // and the carriers (the blob unmaps those once it has made its mappings of them).
  struct vd_range *keep = malloc((9 + nr_carriers) * sizeof *keep);
  if (!keep) refuse(VD_STEP_UNMAP, ENOMEM, -1);
  int nr_keep = 0;
  keep[nr_keep++] = (struct vd_range){base, base + size};
  for (int k = 0; k < nr_now; k++)
    if (kept[k]) keep[nr_keep++] = (struct vd_range){now[k].start, now[k].end};
  for (uint32_t c = 0; c < nr_carriers; c++)
    keep[nr_keep++] = (struct vd_range){carriers[c].addr, carriers[c].addr + ROUND_UP(carriers[c].size)};
  for (int i = 1; i < nr_keep; i++)  // insertion sort by start
    for (int j = i; j > 0 && keep[j].start < keep[j - 1].start; j--) {
      struct vd_range t = keep[j];
      keep[j] = keep[j - 1];
      keep[j - 1] = t;
    }
  copy->unmap_off = (uint32_t)((len + 7) & ~7u);
  struct vd_range *unmap = (struct vd_range *)((char *)copy + copy->unmap_off);
  uint64_t from = 0;
  copy->nr_unmap = 0;
  for (int i = 0; i < nr_keep; i++) {
    if (keep[i].start > from) unmap[copy->nr_unmap++] = (struct vd_range){from, keep[i].start};
    from = keep[i].end;
  }
  if (from < TASK_END) unmap[copy->nr_unmap++] = (struct vd_range){from, TASK_END};
  free(keep);
  copy->carriers_off = copy->unmap_off + max_ranges * (uint32_t)sizeof(struct vd_range);
  copy->nr_carriers = nr_carriers;
  memcpy((char *)copy + copy->carriers_off, carriers, nr_carriers * sizeof *carriers);

  // Descriptors: the job's numbers are all below stdio_base; above it, our stdio
  // (for the job's VD_FD_STDIO entries), the page file and the boot socket.
  int top = 2;
  const struct vd_fd *fds = (const struct vd_fd *)((char *)plan + plan->fds_off);
  for (uint32_t i = 0; i < plan->nr_fds; i++)
    if (fds[i].fd > top) top = fds[i].fd;
  int sbase = top + 1;
  struct rlimit nofile;
  if (getrlimit(RLIMIT_NOFILE, &nofile) == 0 && nofile.rlim_cur < (rlim_t)sbase + 2 * (5 + files.nr + plan->nr_fds) + 16) {
    nofile.rlim_cur = nofile.rlim_max;
    setrlimit(RLIMIT_NOFILE, &nofile);  // the blob sets the job's limit later
  }
  // sbase + 0..2 our stdio, 3 the page file, 4 the boot socket, 5… the tree's
  // shared files, then the other fds of the restoring command the job's
  // inherited ones are bound to (their VD_FD_STDIO entries get the slot's index)
  const int fixed_n = 5 + (int)files.nr;
  int *src = malloc(2 * (fixed_n + plan->nr_fds) * sizeof(int));
  if (!src) refuse(VD_STEP_FD_OPEN, ENOMEM, -1);
  int n = fixed_n;
  struct vd_fd *job_fds = (struct vd_fd *)((char *)copy + copy->fds_off);
  for (uint32_t i = 0; i < plan->nr_fds; i++) {
    if (job_fds[i].kind != VD_FD_STDIO || job_fds[i].stdio_index <= 2) continue;
    const int want = (int)job_fds[i].stdio_index;
    // (the supervisor checked that it has this fd; so has the keeper, at the same number)
    if ((uint32_t)want > VD_MAX_EXTERNAL_FD || fcntl(want, F_GETFD) < 0) refuse(VD_STEP_FD_OPEN, EBADF, (int)i);
    int slot = fixed_n;
    while (slot < n && src[slot] != want) slot++;
    if (slot == n) src[n++] = want;
    job_fds[i].stdio_index = (uint32_t)slot;
  }
  int *tmp = src + n;
  int fixed[5] = {0, 1, 2, pages, boot_fd};
  for (int i = 0; i < fixed_n; i++) src[i] = i < 5 ? fixed[i] : files.fds[i - 5];
  for (int i = 0; i < n; i++)
    if ((tmp[i] = fcntl(src[i], F_DUPFD_CLOEXEC, sbase + n + 8)) < 0) refuse(VD_STEP_FD_OPEN, errno, -1);
  for (int i = 0; i < n; i++)
    if (dup2(tmp[i], sbase + i) < 0) refuse(VD_STEP_FD_OPEN, errno, -1);
  boot_sock = sbase + 4;
  for (int i = 0; i < n; i++) close(tmp[i]);
  if (sbase > 0) syscall(SYS_close_range, 0, sbase - 1, 0);
  syscall(SYS_close_range, sbase + n, ~0U, 0);
  copy->shared_base = sbase + 5;
  copy->nr_shared = files.nr;
  copy->stdio_base = sbase;
  copy->pages_fd = sbase + 3;
  copy->boot_fd = sbase + 4;

  uint64_t stack_top = base + size - 64;
  __asm__ volatile("mov %0, %%rsp\n\tjmp *%1" : : "r"(stack_top), "r"(base), "D"(copy) : "memory");
  __builtin_unreachable();
}
