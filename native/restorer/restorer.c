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
//
// This file is the blob's core: the entry, the failure report and the domain's
// filter; each resource kind's part is in its folder (blob.h lists them).
#include "restorer/blob.h"

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

__attribute__((noreturn)) void fail(const struct vd_plan* p, int step, long err, int index) {
  struct vd_failure f = {.tag = 'R', .step = step, .err = (int32_t)-err, .index = index, .proc = p->proc_index};
  if (p->boot_fd >= 0) sys3(__NR_write, p->boot_fd, &f, sizeof f);
  for (;;) sys1(__NR_exit_group, 125);
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
  // (and, above the shared files, the restoring command's fds the job's inherited ones were bound to)
  sys3(436 /* close_range */, p->shared_base + (long)p->nr_shared, ~0U, 0);
  sys1(__NR_close, p->pages_fd);
  set_locks(p);
  long listener = install_filter(p);
  start_threads(p);
  restore_process_kinds(p);  // once its threads exist: a timer may signal one of them
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
