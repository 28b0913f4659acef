// signalfd, the restorer blob's part: a new signalfd of the same mask. Its status
// flags and close-on-exec are set by open_files (restore_files.c) as for every fd.
#include "restorer/blob.h"
#include "resources/signalfd/signalfd_plan.h"

long open_fd_signalfd(const struct vd_plan* p, const struct vd_fd* d, int index) {
  (void)index;
  const struct vd_signalfd* s = fd_record(p, d, sizeof *s);
  if (!s) return -EINVAL;
  uint64_t mask = s->mask;
  return sys4(__NR_signalfd4, -1, &mask, sizeof mask, O_CLOEXEC);
}
