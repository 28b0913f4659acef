// What every part of the restorer blob shares: raw syscalls, the failure report,
// the plan's accessors, and the kinds' entry points (each kind's part is in its
// folder, native/resources/KIND/restore_KIND.c; native/restorer/restorer.c runs
// them in order). The blob is freestanding and position-independent: no libc, no
// globals (see build.mjs), every function hidden.
#ifndef VDOMAIN_RESTORER_BLOB_H
#define VDOMAIN_RESTORER_BLOB_H
#include <stddef.h>
#include <stdint.h>

#include <asm/unistd.h>
#include <linux/errno.h>
#include <linux/fcntl.h>
#include <linux/mman.h>
#include <linux/prctl.h>
#include <linux/seccomp.h>
#include <linux/filter.h>

#include "restorer/plan.h"

#define PAGE 4096UL
#define SIG_DFL 0UL
#define SS_DISABLE 2
#define SS_ONSTACK 1
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

void* memcpy(void* dst, const void* src, size_t n);
void* memset(void* dst, int c, size_t n);

// One struct vd_failure on the boot socket, then exit 125.
__attribute__((noreturn)) void fail(const struct vd_plan* p, int step, long err, int index);

#define AT(p, off, type) ((type*)((char*)(p) + (off)))
static inline const char* str(const struct vd_plan* p, uint32_t off) {
  return off ? AT(p, p->strings_off + off, const char) : (const char*)0;
}

static inline size_t str_len(const char* s) {
  size_t n = 0;
  while (s[n]) n++;
  return n;
}

struct k_stack { uint64_t sp; int32_t flags; int32_t pad; uint64_t size; };

// ---- the kinds' parts, in the order vd_restore runs them ----------------------------
// memory (resources/memory/restore_memory.c)
void clear_address_space(const struct vd_plan* p);
void place_kernel_mappings(const struct vd_plan* p);
void map_memory(const struct vd_plan* p);
void set_memory_policy(const struct vd_plan* p);
// files (resources/files/restore_files.c), and the kinds of fd of the kinds table
// (resources/NAME/restore_NAME.c: the fd made from d's record, or -errno)
void open_files(const struct vd_plan* p);
// d's own record (vd_fd.data_off) when it is `size` bytes, as its kind's plan
// part wrote it; 0 otherwise.
// "/proc/self/fd/N" into out (64 bytes): a file of ours opened anew.
static inline void proc_self_fd(char* out, long fd) {
  const char* head = "/proc/self/fd/";
  while (*head) *out++ = *head++;
  char digits[24];
  int k = 0;
  unsigned long v = (unsigned long)fd;
  do digits[k++] = (char)('0' + v % 10); while ((v /= 10));
  while (k) *out++ = digits[--k];
  *out = 0;
}
static inline const void* fd_record(const struct vd_plan* p, const struct vd_fd* d, uint32_t size) {
  return d->data_len == size ? AT(p, d->data_off, const void) : 0;
}
#define VD_FD_KIND_OPEN(name) long open_fd_##name(const struct vd_plan* p, const struct vd_fd* d, int index);
VD_FD_KINDS(VD_FD_KIND_OPEN)
#undef VD_FD_KIND_OPEN
#define VD_FD_KIND_FILL(name) void fill_fd_##name(const struct vd_plan* p, const struct vd_fd* d, int index, int pass);
VD_FD_KINDS_FILLED(VD_FD_KIND_FILL)
#undef VD_FD_KIND_FILL
// task: cwd, limits, memory layout, attributes, credentials (resources/task/restore_task.c)
void set_process_state(struct vd_plan* p);
void restore_process_kinds(const struct vd_plan* p);  // after start_threads
void set_thread_attrs(const struct vd_plan* p, const struct vd_thread* t, int index);
void set_thread_creds(const struct vd_plan* p, const struct vd_thread* t);
void restore_dumpable(const struct vd_plan* p);
// signals (resources/signals/restore_signals.c)
void set_handlers_and_timers(const struct vd_plan* p);
// the process kinds (resources/kinds.h): resources/NAME/restore_NAME.c
#define VD_KIND_RESTORE_DECL(name, text) void restore_##name(const struct vd_plan* p, const struct vd_kind_part* part);
VD_PROCESS_KINDS(VD_KIND_RESTORE_DECL)
#undef VD_KIND_RESTORE_DECL
void queue_process_pending(const struct vd_plan* p);
void set_altstack(const struct vd_plan* p, const struct vd_thread* t, int index);
void queue_thread_pending(const struct vd_plan* p, const struct vd_thread* t, long tid, int index);
// file locks (resources/locks/restore_locks.c)
void set_locks(const struct vd_plan* p);
// threads (resources/threads/restore_threads.c)
void set_thread_state(const struct vd_plan* p, const struct vd_thread* t, int index);
void start_threads(struct vd_plan* p);

#endif
