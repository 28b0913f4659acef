/* A process's POSIX timers (timer_create) in the restorer's plan
 * (its vd_plan.kinds part): written by plan_posix_timers.cc, read by
 * restore_posix_timers.c. */
#ifndef VDOMAIN_POSIX_TIMERS_PLAN_H
#define VDOMAIN_POSIX_TIMERS_PLAN_H
#include <stdint.h>

#define VD_TIMER_SIGNAL 0 /* SIGEV_SIGNAL: a signal to the process */
#define VD_TIMER_NONE 1   /* SIGEV_NONE: no notification, read by timer_gettime */
#define VD_TIMER_THREAD 2 /* SIGEV_THREAD_ID: a signal to one thread (glibc's SIGEV_THREAD too) */

struct vd_posix_timer {
  int32_t id;        /* its timer_t, the same again (PR_TIMER_CREATE_RESTORE_IDS) */
  int32_t clock;     /* as the kernel keeps it (CLOCK_PROCESS_CPUTIME_ID is -6) */
  uint32_t notify;   /* VD_TIMER_* */
  int32_t signo;
  int32_t thread;    /* VD_TIMER_THREAD: the index of that thread in the plan's threads, -1 the main one */
  uint32_t pad;
  uint64_t value;    /* sigev_value */
  int64_t interval_sec, interval_nsec, value_sec, value_nsec; /* value: time left (0: disarmed) */
};

#endif
