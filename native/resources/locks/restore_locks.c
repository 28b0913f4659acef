// File locks, the restorer blob's part (dumped by dump_locks.cc).
#include "restorer/blob.h"

// After the blob's own copies of the tree's shared files are closed: closing any
// fd of a file drops the POSIX locks the process holds on it. Never waits: a
// lock another process holds now fails the restore (EAGAIN), before the job runs.

struct k_flock { int16_t type, whence; int32_t pad; int64_t start, len; int32_t pid, pad2; };
#define F_RDLCK 0
#define F_WRLCK 1
#define F_SETLK 6
#define F_OFD_SETLK 37
#define LOCK_SH 1
#define LOCK_EX 2
#define LOCK_NB 4

void set_locks(const struct vd_plan* p) {
  const struct vd_lock* l = AT(p, p->locks_off, const struct vd_lock);
  // last first: the dump lists a file's ranges in ascending order, and the kernel
  // finds the place of a range below all the others it holds at once
  for (uint32_t i = p->nr_locks; i-- > 0;) {
    long rc;
    if (l[i].kind == VD_LOCK_FLOCK) {
      rc = sys2(__NR_flock, l[i].fd, (l[i].write ? LOCK_EX : LOCK_SH) | LOCK_NB);
    } else {
      struct k_flock f = {.type = l[i].write ? F_WRLCK : F_RDLCK, .whence = 0 /* SEEK_SET */,
                          .start = (int64_t)l[i].start, .len = (int64_t)l[i].len};
      rc = sys3(__NR_fcntl, l[i].fd, l[i].kind == VD_LOCK_OFD ? F_OFD_SETLK : F_SETLK, &f);
      if (rc == -EACCES) rc = -EWOULDBLOCK;  // (F_SETLK may say either)
    }
    if (rc < 0) fail(p, VD_STEP_LOCK, rc, (int)i);
  }
}
