/* An inotify instance's record in the restorer's plan (vd_fd.data_off): a head,
 * then each watch in increasing wd order, its path after it (path_len bytes and
 * a NUL, padded to 8). Written by plan_inotify.cc, read by restore_inotify.c. */
#ifndef VDOMAIN_INOTIFY_PLAN_H
#define VDOMAIN_INOTIFY_PLAN_H
#include <stdint.h>

/* the watch descriptors a restore reaches (each below is added and removed once) */
#define VD_INOTIFY_MAX_WD (1u << 20)
/* what a watch's mask may hold: the events, IN_EXCL_UNLINK, IN_ONESHOT */
#define VD_INOTIFY_MASK (0x00000fffu | 0x04000000u | 0x80000000u)
#define VD_IN_DONT_FOLLOW 0x02000000u

struct vd_inotify {
  uint32_t nr_watches, pad;
};

struct vd_inotify_watch {
  uint32_t wd, mask;      /* mask: as fdinfo shows it, VD_IN_DONT_FOLLOW added for a symlink */
  uint32_t path_len, pad;
};

#endif
