// POSIX message queue fds, the restorer blob's part: the queue (made again by the
// keeper in the domain's new IPC namespace before the tree was forked) opened by
// its name with the fd's access mode. Its status flags (O_NONBLOCK) and
// close-on-exec are set by open_files (restore_files.c) as for every fd.
#include "restorer/blob.h"
#include "resources/mqueue/mqueue_plan.h"

long open_fd_mqueue(const struct vd_plan* p, const struct vd_fd* d, int index) {
  (void)index;
  const struct vd_mqueue_fd* q = fd_record(p, d, sizeof *q);
  if (!q || q->name[VD_MQUEUE_NAME_MAX] || !q->name[0]) return -EINVAL;
  return sys4(__NR_mq_open, (long)q->name, (d->flags & 3) | O_CLOEXEC, 0, 0);
}
