// pidfd, the restorer blob's part: a pidfd of the process of the tree it named,
// by its PID of now (filled in by the keeper's child, keeper_pidfd.c). Its status
// flags (PIDFD_NONBLOCK) and close-on-exec are set by open_files (restore_files.c)
// as for every fd.
#include "restorer/blob.h"
#include "resources/pidfd/pidfd_plan.h"

long open_fd_pidfd(const struct vd_plan* p, const struct vd_fd* d, int index) {
  (void)index;
  const struct vd_pidfd* r = fd_record(p, d, sizeof *r);
  if (!r) return -EINVAL;
  if (r->real <= 0) return -ESRCH;
  return sys2(__NR_pidfd_open, r->real, 0);  // (close-on-exec, as every pidfd: install_fd sets the job's)
}
