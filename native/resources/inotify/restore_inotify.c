// inotify, the restorer blob's part: a new instance with each watch added again
// at its descriptor. The kernel hands out descriptors one after the other, so a
// number the image skips is taken and given back (add, then rm) until the next
// is the watch's own; each rm queues an IN_IGNORED event, read off at the end:
// the job finds no event it did not have (none: dump_inotify.cc refuses queued
// ones). Its status flags and close-on-exec are set by open_files.
#include "restorer/blob.h"
#include "resources/inotify/inotify_plan.h"

long open_fd_inotify(const struct vd_plan* p, const struct vd_fd* d, int index) {
  (void)index;
  if (d->data_len < sizeof(struct vd_inotify)) return -EINVAL;
  const struct vd_inotify* head = AT(p, d->data_off, const struct vd_inotify);
  long fd = sys1(__NR_inotify_init1, O_CLOEXEC);
  if (fd < 0) return fd;
  uint32_t at = sizeof *head;
  long rc = 0;
  for (uint32_t i = 0; i < head->nr_watches && rc >= 0; i++) {
    if (d->data_len - at < sizeof(struct vd_inotify_watch)) return sys1(__NR_close, fd), -EINVAL;
    const struct vd_inotify_watch* w = AT(p, d->data_off + at, const struct vd_inotify_watch);
    at += sizeof *w;
    if (w->path_len >= d->data_len - at || w->wd > VD_INOTIFY_MAX_WD) return sys1(__NR_close, fd), -EINVAL;
    const char* path = AT(p, d->data_off + at, const char);
    if (path[w->path_len]) return sys1(__NR_close, fd), -EINVAL;
    at += (w->path_len + 1 + 7) & ~7u;
    // (the same watch, added and removed until it gets its own number)
    while ((rc = sys3(__NR_inotify_add_watch, fd, path, w->mask)) >= 0 && (uint32_t)rc < w->wd)
      if ((rc = sys2(__NR_inotify_rm_watch, fd, rc)) < 0) break;
    if (rc >= 0 && (uint32_t)rc != w->wd) rc = -EEXIST;
  }
  // the IN_IGNORED events of the numbers given back
  char events[1024];
  for (int queued = 0; rc >= 0 && sys3(__NR_ioctl, fd, 0x541b /* FIONREAD */, &queued) >= 0 && queued > 0;)
    if ((rc = sys3(__NR_read, fd, events, sizeof events)) == 0) break;
  if (rc < 0) {
    sys1(__NR_close, fd);
    return rc;
  }
  return fd;
}
