// timerfd, the restorer blob's part: a new timer of the same clock, armed with the
// time it had left (an absolute one at now + that in its clock, or at its
// wall-clock deadline), its period and settime flags; then its unread expirations
// (TFD_IOC_SET_TICKS: after the settime, which zeroes them). Its status flags and
// close-on-exec are set by open_files (restore_files.c) as for every fd.
#include "restorer/blob.h"
#include "resources/timerfd/timerfd_plan.h"

#define VD_TFD_IOC_SET_TICKS 0x40085400UL /* _IOW('T', 0, u64) */

long open_fd_timerfd(const struct vd_plan* p, const struct vd_fd* d, int index) {
  (void)index;
  const struct vd_timerfd* t = fd_record(p, d, sizeof *t);
  if (!t) return -EINVAL;
  long fd = sys2(__NR_timerfd_create, t->clock, O_CLOEXEC);
  if (fd < 0) return fd;
  struct { struct vd_timespec interval, value; } spec = {t->interval, t->value};
  long rc = 0;
  const int armed = t->value.sec || t->value.nsec;
  if (armed && t->wall_deadline) {
    spec.value = t->deadline;
  } else if (armed && (t->settime_flags & VD_TFD_TIMER_ABSTIME)) {
    struct vd_timespec now;
    rc = sys2(__NR_clock_gettime, t->clock == 8 ? 0 : t->clock == 9 ? 7 : t->clock, &now);
    spec.value.sec += now.sec;
    spec.value.nsec += now.nsec;
    if (spec.value.nsec >= 1000000000) spec.value.sec++, spec.value.nsec -= 1000000000;
  }
  if (rc >= 0) rc = sys4(__NR_timerfd_settime, fd, t->settime_flags, &spec, 0);
  if (rc >= 0 && t->ticks) {
    uint64_t ticks = t->ticks;
    rc = sys3(__NR_ioctl, fd, VD_TFD_IOC_SET_TICKS, &ticks);
  }
  if (rc < 0) {
    sys1(__NR_close, fd);
    return rc;
  }
  return fd;
}
