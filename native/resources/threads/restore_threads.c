// Threads, the restorer blob's part: what each thread sets for itself, and the
// main thread making the others with their TIDs.
#include "restorer/blob.h"

// What only a thread can set for itself: the main thread's (index -1) at the end
// of set_process_state, each other thread's in thread_main.
void set_thread_state(const struct vd_plan* p, const struct vd_thread* t, int index) {
  set_altstack(p, t, index);
  long rc;
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
  queue_thread_pending(p, t, tid, index);
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

void start_threads(struct vd_plan* p) {
  for (uint32_t i = 0; i < p->nr_threads; i++) {
    long rc = start_thread(p, i);
    if (rc < 0) fail(p, VD_STEP_THREAD, rc, (int)i);
    AT(p, p->threads_off, struct vd_thread)[i].tid = (int32_t)rc;
  }
  for (;;) {
    int32_t n = __atomic_load_n(&p->threads_ready, __ATOMIC_SEQ_CST);
    if ((uint32_t)n >= p->nr_threads) break;
    sys6(__NR_futex, (long)&p->threads_ready, FUTEX_WAIT, n, 0, 0, 0);
  }
}
