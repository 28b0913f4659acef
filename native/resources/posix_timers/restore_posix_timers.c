// POSIX timers, the restorer blob's part: each timer made again with its id
// (prctl PR_TIMER_CREATE_RESTORE_IDS: timer_create takes the id it is given),
// clock, notification (to one thread: that thread as made again), signal and
// sigev_value, then armed with the time it had left and its period. Once the
// threads exist; its signals reach the job once it runs (every signal is blocked
// in the blob).
#include "restorer/blob.h"
#include "resources/posix_timers/posix_timers_plan.h"

#define VD_PR_TIMER_CREATE_RESTORE_IDS 77
#define VD_SIGEV_SIGNAL 0
#define VD_SIGEV_NONE 1
#define VD_SIGEV_THREAD_ID 4

void restore_posix_timers(const struct vd_plan* p, const struct vd_kind_part* part) {
  if (!part->nr) return;
  const struct vd_posix_timer* t = AT(p, part->off, const struct vd_posix_timer);
  long rc = sys5(__NR_prctl, VD_PR_TIMER_CREATE_RESTORE_IDS, 1, 0, 0, 0);
  if (rc < 0) fail(p, VD_KIND_STEP(posix_timers), rc, -1);
  // /proc/PID/timers lists the newest first (as the dump recorded them): made
  // from the last, they are listed in the same order again
  for (uint32_t i = part->nr; i-- > 0;) {
    // struct sigevent: value, signo, notify, then the union (64 bytes in all)
    struct { uint64_t value; int32_t signo, notify, tid; int32_t pad[11]; } ev = {0};
    ev.value = t[i].value;
    ev.signo = t[i].signo;
    ev.notify = t[i].notify == VD_TIMER_SIGNAL ? VD_SIGEV_SIGNAL : t[i].notify == VD_TIMER_NONE ? VD_SIGEV_NONE : VD_SIGEV_THREAD_ID;
    if (t[i].notify == VD_TIMER_THREAD) {
      if (t[i].thread >= (int32_t)p->nr_threads) fail(p, VD_KIND_STEP(posix_timers), -EINVAL, (int)i);
      ev.tid = t[i].thread < 0 ? p->tgid : AT(p, p->threads_off, const struct vd_thread)[t[i].thread].tid;
    }
    int32_t id = t[i].id;
    rc = sys3(__NR_timer_create, t[i].clock, &ev, &id);
    if (rc >= 0 && id != t[i].id) rc = -EEXIST;
    if (rc < 0) {
      sys5(__NR_prctl, VD_PR_TIMER_CREATE_RESTORE_IDS, 0, 0, 0, 0);
      fail(p, VD_KIND_STEP(posix_timers), rc, (int)i);
    }
  }
  rc = sys5(__NR_prctl, VD_PR_TIMER_CREATE_RESTORE_IDS, 0, 0, 0, 0);
  if (rc < 0) fail(p, VD_KIND_STEP(posix_timers), rc, -1);
  for (uint32_t i = 0; i < part->nr; i++) {
    if (!t[i].value_sec && !t[i].value_nsec) continue;
    struct { int64_t isec, insec, vsec, vnsec; } spec = {t[i].interval_sec, t[i].interval_nsec, t[i].value_sec, t[i].value_nsec};
    rc = sys4(__NR_timer_settime, t[i].id, 0, &spec, 0);
    if (rc < 0) fail(p, VD_KIND_STEP(posix_timers), rc, (int)i);
  }
}
