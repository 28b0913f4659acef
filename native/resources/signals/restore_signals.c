// Signals, the restorer blob's part (dumped by dump_signals.cc): handlers and
// interval timers, the process's pending signals, and each thread's alternate
// stack and own pending signals (called by set_process_state and set_thread_state).
#include "restorer/blob.h"

void set_handlers_and_timers(const struct vd_plan* p) {
  long rc;
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
}

// After the process attributes (p->tgid is set then).
void queue_process_pending(const struct vd_plan* p) {
  long rc;
  const char* si = AT(p, p->pending_shared_off, const char);
  for (uint32_t i = 0; i < p->nr_pending_shared; i++) {
    rc = sys3(__NR_rt_sigqueueinfo, p->tgid, *(const int32_t*)(si + 128 * i), si + 128 * i);
    if (rc < 0) fail(p, VD_STEP_PENDING, rc, (int)i);
  }
}

void set_altstack(const struct vd_plan* p, const struct vd_thread* t, int index) {
  struct k_stack ss = {t->altstack_sp, t->altstack_flags & ~SS_ONSTACK, 0, t->altstack_size};
  if (ss.flags & SS_DISABLE) ss = (struct k_stack){0, SS_DISABLE, 0, 0};
  long rc = sys2(__NR_sigaltstack, &ss, 0);
  if (rc < 0) fail(p, VD_STEP_ALTSTACK, rc, index);
}

// tid: the thread's own (set_tid_address tells it).
void queue_thread_pending(const struct vd_plan* p, const struct vd_thread* t, long tid, int index) {
  long rc;
  const char* si = AT(p, t->pending_off, const char);
  for (uint32_t k = 0; k < t->nr_pending; k++) {
    // a SIGTRAP queued now would merge with the one of this thread's int3 and go
    // with it: the supervisor queues those past the int3 (restore.cc requeueTraps)
    if (*(const int32_t*)(si + 128 * k) == VD_SIGTRAP) continue;
    rc = sys4(__NR_rt_tgsigqueueinfo, p->tgid, tid, *(const int32_t*)(si + 128 * k), si + 128 * k);
    if (rc < 0) fail(p, VD_STEP_PENDING, rc, index);
  }
}
