// The keeper's child in a restore: receives the plan and the page file from the
// supervisor, prepares a place for the restorer blob that no mapping of the image
// needs, and jumps into it (native/restorer/restorer.c). From the jump on, nothing
// of this program (libc included) survives: the blob unmaps it all.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "keeper.h"
#include "restorer/plan.h"
#include "restorer_blob.h"

#define PAGE 4096UL
#define ROUND_UP(x) (((x) + PAGE - 1) & ~(PAGE - 1))
#define TASK_END 0x7ffffffff000UL  // top of a 47-bit user address space
#define BLOB_STACK (128 * 1024)  // the blob's stack and its page-reading helper's
#define KEEP_CLEAR (16UL << 20)  // distance from the image's mappings (stack guard gap)

pid_t fork_with_pid(pid_t want) {
  // clone3 with set_tid needs CAP_CHECKPOINT_RESTORE; without it, or when the
  // PID is taken, any PID will do: the domain then translates.
  struct clone_args args = {.exit_signal = SIGCHLD, .set_tid = (uint64_t)(uintptr_t)&want, .set_tid_size = 1};
  if (want > 0) {
    long pid = syscall(SYS_clone3, &args, sizeof args);
    if (pid >= 0) return (pid_t)pid;
  }
  return fork();
}

static int boot_sock = -1;

__attribute__((noreturn)) static void refuse(int step, int err, int index) {
  struct vd_failure f = {.tag = 'R', .step = step, .err = err, .index = index};
  if (write(boot_sock, &f, sizeof f) < 0) {}
  _exit(125);
}

static int recv_fd(int sock) {
  char byte = 0;
  struct iovec iov = {&byte, 1};
  union { struct cmsghdr h; char buf[CMSG_SPACE(sizeof(int))]; } u;
  struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf, .msg_controllen = sizeof u.buf};
  if (recvmsg(sock, &msg, MSG_CMSG_CLOEXEC) != 1 || byte != 'P') return -1;
  struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
  if (!c || c->cmsg_type != SCM_RIGHTS) return -1;
  int fd;
  memcpy(&fd, CMSG_DATA(c), sizeof fd);
  return fd;
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

void restore_child(int boot_fd) {
  sigset_t all;
  sigfillset(&all);
  sigprocmask(SIG_SETMASK, &all, NULL);
  boot_sock = boot_fd;

  uint32_t len;
  if (read_full(boot_fd, &len, sizeof len) < 0) _exit(125);
  if (len < sizeof(struct vd_plan) || len > (256u << 20)) refuse(VD_STEP_PLAN, EINVAL, -1);
  struct vd_plan *plan = malloc(len);
  if (!plan || read_full(boot_fd, plan, len) < 0) refuse(VD_STEP_PLAN, EIO, -1);
  int pages = recv_fd(boot_fd);
  if (pages < 0) refuse(VD_STEP_PLAN, EIO, -1);
  if (plan->magic != VD_PLAN_MAGIC || plan->version != VD_PLAN_VERSION || plan->size != len)
    refuse(VD_STEP_PLAN, EINVAL, -1);

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

  // The blob's region: code, the plan (with the ranges to unmap appended), a stack.
  const uint32_t max_ranges = 16;
  uint64_t plan_size = ROUND_UP(len + max_ranges * sizeof(struct vd_range));
  uint64_t code_size = ROUND_UP(sizeof restorer_blob);
  uint64_t size = code_size + plan_size + BLOB_STACK;
  uint64_t base = place_blob(plan, size);
  if (!base) refuse(VD_STEP_UNMAP, ENOMEM, -1);
  memcpy((void *)base, restorer_blob, sizeof restorer_blob);
  struct vd_plan *copy = (struct vd_plan *)(base + code_size);
  memcpy(copy, plan, len);
  copy->blob_start = base;
  copy->blob_end = base + size;

  // Everything else goes: the complement of the region and the kept kernel mappings.
  struct vd_range keep[9];
  int nr_keep = 0;
  keep[nr_keep++] = (struct vd_range){base, base + size};
  for (int k = 0; k < nr_now; k++)
    if (kept[k]) keep[nr_keep++] = (struct vd_range){now[k].start, now[k].end};
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

  // Descriptors: the job's numbers are all below stdio_base; above it, our stdio
  // (for the job's VD_FD_STDIO entries), the page file and the boot socket.
  int top = 2;
  const struct vd_fd *fds = (const struct vd_fd *)((char *)plan + plan->fds_off);
  for (uint32_t i = 0; i < plan->nr_fds; i++)
    if (fds[i].fd > top) top = fds[i].fd;
  int sbase = top + 1;
  struct rlimit nofile;
  if (getrlimit(RLIMIT_NOFILE, &nofile) == 0 && nofile.rlim_cur < (rlim_t)sbase + 16) {
    nofile.rlim_cur = nofile.rlim_max;
    setrlimit(RLIMIT_NOFILE, &nofile);  // the blob sets the job's limit later
  }
  int tmp[5], src[5] = {0, 1, 2, pages, boot_fd};
  for (int i = 0; i < 5; i++)
    if ((tmp[i] = fcntl(src[i], F_DUPFD_CLOEXEC, sbase + 8)) < 0) refuse(VD_STEP_FD_OPEN, errno, -1);
  for (int i = 0; i < 5; i++)
    if (dup2(tmp[i], sbase + i) < 0) refuse(VD_STEP_FD_OPEN, errno, -1);
  boot_sock = sbase + 4;
  for (int i = 0; i < 5; i++) close(tmp[i]);
  if (sbase > 0) syscall(SYS_close_range, 0, sbase - 1, 0);
  syscall(SYS_close_range, sbase + 5, ~0U, 0);
  copy->stdio_base = sbase;
  copy->pages_fd = sbase + 3;
  copy->boot_fd = sbase + 4;

  uint64_t stack_top = base + size - 64;
  __asm__ volatile("mov %0, %%rsp\n\tjmp *%1" : : "r"(stack_top), "r"(base), "D"(copy) : "memory");
  __builtin_unreachable();
}
