/* A timerfd's record in the restorer's plan (vd_fd.data_off): written by
 * plan_timerfd.cc, read by restore_timerfd.c. */
#ifndef VDOMAIN_TIMERFD_PLAN_H
#define VDOMAIN_TIMERFD_PLAN_H
#include <stdint.h>

/* timerfd_settime flags */
#define VD_TFD_TIMER_ABSTIME 1u
#define VD_TFD_TIMER_CANCEL_ON_SET 2u

struct vd_timespec {
  int64_t sec, nsec;
};

struct vd_timerfd {
  uint32_t clock;              /* CLOCK_REALTIME 0, MONOTONIC 1, BOOTTIME 7, REALTIME_ALARM 8, BOOTTIME_ALARM 9 */
  uint32_t settime_flags;      /* VD_TFD_TIMER_*, as its last timerfd_settime had them */
  struct vd_timespec value;    /* time left to its next expiry (0: disarmed) */
  struct vd_timespec interval; /* its period (0: one-shot) */
  uint64_t ticks;              /* expirations not yet read */
  uint32_t wall_deadline;      /* an absolute CLOCK_REALTIME* timer: armed at `deadline`, not now + value */
  uint32_t pad;
  struct vd_timespec deadline;
};

#endif
