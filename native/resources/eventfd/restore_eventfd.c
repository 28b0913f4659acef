// eventfd, the restorer blob's part: a new eventfd with the semaphore flag, its
// counter written back (eventfd2 takes only 32 bits of it). Its status flags and
// close-on-exec are set by open_files (restore_files.c) as for every fd.
#include "restorer/blob.h"
#include "resources/eventfd/eventfd_plan.h"

#define VD_EFD_SEMAPHORE 1

long open_fd_eventfd(const struct vd_plan* p, const struct vd_fd* d, int index) {
  (void)index;
  const struct vd_eventfd* e = fd_record(p, d, sizeof *e);
  if (!e || e->count > VD_EVENTFD_MAX) return -EINVAL;
  long fd = sys2(__NR_eventfd2, 0, O_CLOEXEC | (e->semaphore ? VD_EFD_SEMAPHORE : 0));
  if (fd < 0 || !e->count) return fd;
  uint64_t count = e->count;
  long rc = sys3(__NR_write, fd, &count, sizeof count);
  if (rc != (long)sizeof count) {
    sys1(__NR_close, fd);
    return rc < 0 ? rc : -EIO;
  }
  return fd;
}
