// Files several fds or processes share (one open file description after a fork
// or dup, pipes and FIFOs with their bytes, files deleted while open): the
// keeper's child's part. Read from the supervisor with the tree, made once in the
// root before it forks, inherited by the whole tree; each process's restorer blob
// then puts them at their numbers (restore_files.c). Dumped by dump_files.cc.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <mqueue.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "keeper/keeper_io.h"
#include "resources/files/keeper_files.h"
#include "resources/pty/keeper_pty.h"

static int failed(struct keeper_failure *why, int step, int err) {
  why->step = step;
  why->err = err;
  return -1;
}

int read_shared_files(int boot_fd, struct shared_files *s, struct keeper_failure *why) {
  if (s->nr > 65536) return failed(why, VD_STEP_PLAN, EINVAL);
  s->files = calloc(s->nr + 1, sizeof *s->files);
  s->paths = calloc(s->nr + 1, sizeof *s->paths);
  s->data = calloc(s->nr + 1, sizeof *s->data);
  s->fds = calloc(s->nr + 1, sizeof *s->fds);
  s->extents = calloc(s->nr + 1, sizeof *s->extents);
  s->pty_slave = calloc(s->nr + 1, sizeof *s->pty_slave);
  if (!s->files || !s->paths || !s->data || !s->fds || !s->extents || !s->pty_slave) return failed(why, VD_STEP_PLAN, ENOMEM);
  for (uint32_t i = 0; i < s->nr; i++) {
    struct vd_shared_file *f = &s->files[i];
    if (read_full(boot_fd, f, sizeof *f) < 0 || f->path_len >= 4096 || f->data_len > (16u << 20))
      return failed(why, VD_STEP_PLAN, EINVAL);
    s->paths[i] = calloc(1, f->path_len + 1);
    s->data[i] = malloc(f->data_len + 1);
    if (!s->paths[i] || !s->data[i] || read_full(boot_fd, s->paths[i], f->path_len) < 0 ||
        read_full(boot_fd, s->data[i], f->data_len) < 0)
      return failed(why, VD_STEP_PLAN, EIO);
    if (f->nr_extents > VD_MAX_EXTENTS) return failed(why, VD_STEP_PLAN, EINVAL);
    s->extents[i] = malloc((f->nr_extents + 1) * sizeof(struct vd_extent));
    if (!s->extents[i] || read_full(boot_fd, s->extents[i], f->nr_extents * sizeof(struct vd_extent)) < 0)
      return failed(why, VD_STEP_PLAN, EIO);
    s->fds[i] = -1;
    s->pty_slave[i] = -1;
  }
  return 0;
}

// The master's entry of the pty whose slave entry is k (the same old number), or -1.
static int pty_master_of(const struct shared_files *s, uint32_t k) {
  for (uint32_t i = 0; i < s->nr; i++)
    if (s->files[i].kind == VD_SHARED_PTY && s->files[i].write_end && s->files[i].pipe == s->files[k].pipe) return (int)i;
  return -1;
}

// Whether shared files k and i are ends of one pipe (or of one FIFO).
static int same_pipe(const struct shared_files *s, uint32_t k, uint32_t i) {
  const struct vd_shared_file *a = &s->files[k], *b = &s->files[i];
  if (a->kind != b->kind || a->pipe != b->pipe) return 0;
  return a->kind == VD_SHARED_PIPE || (a->kind == VD_SHARED_FIFO && !strcmp(s->paths[k], s->paths[i]));
}

// A new unlinked file in directory dir (O_TMPFILE, or a named file unlinked at
// once), or in its nearest existing parent when dir is gone or is a file now: as
// the restorer blob's make_unlinked (restore_files.c, beside this file).
static int make_unlinked(char *dir) {
  for (;;) {
    int fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
    if (fd < 0 && (errno == EOPNOTSUPP || errno == EISDIR || errno == EINVAL)) {  // no O_TMPFILE there
      char name[4096 + 64];
      snprintf(name, sizeof name, "%s/.vdomain-restore-%d", strcmp(dir, "/") ? dir : "", (int)getpid());
      if ((fd = open(name, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600)) >= 0) unlink(name);
    }
    if (fd >= 0 || (errno != ENOENT && errno != ENOTDIR) || !strcmp(dir, "/")) return fd;
    char *slash = strrchr(dir, '/');
    if (slash == dir) slash[1] = 0; else *slash = 0;
  }
}

// Whether the image holds bytes for the pipe or FIFO of shared file i.
static int fifo_has_saved_bytes(const struct shared_files *s, uint32_t i) {
  for (uint32_t k = 0; k < s->nr; k++)
    if (same_pipe(s, k, i) && s->files[k].data_len) return 1;
  return 0;
}

// A file deleted while several fds held it (or one a process maps): a new
// unlinked file in its old directory (a memfd: memfd_create of its name) with its data extents (from a page file; holes stay holes), size,
// mode and owner, opened as the description was.
static int make_deleted(const struct vd_shared_file *f, const char *path, const struct vd_extent *ext, const int *pages_fds, uint32_t nr_procs) {
  char dir[4096];
  snprintf(dir, sizeof dir, "%s", path);
  char *slash = strrchr(dir, '/');
  if (!slash) return errno = EINVAL, -1;
  if (slash == dir) slash[1] = 0; else *slash = 0;
  // at its own name first (what /proc shows of it: "PATH (deleted)"), unlinked
  // once made; where that name is taken, a file of no name in the directory
  int named = !f->memfd;
  int fd = f->memfd ? (int)syscall(SYS_memfd_create, path + 7 /* "/memfd:" */, MFD_CLOEXEC | MFD_ALLOW_SEALING)
                    : open(path, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0 && !f->memfd) named = 0, fd = make_unlinked(dir);
  if (fd < 0) return -1;
  const int from = f->content_proc >= 0 && (uint32_t)f->content_proc < nr_procs ? pages_fds[f->content_proc] : -1;
  char buf[65536];
  uint64_t src = f->content_off;
  int ok = 1;
  for (uint32_t i = 0; ok && i < f->nr_extents; i++)
    for (uint64_t done = 0; ok && done < ext[i].len;) {
      size_t want = ext[i].len - done < sizeof buf ? (size_t)(ext[i].len - done) : sizeof buf;
      ssize_t n = from < 0 ? -1 : pread(from, buf, want, (off_t)src);
      if (n <= 0 || pwrite(fd, buf, (size_t)n, (off_t)(ext[i].file_off + done)) != n) {
        if (!errno) errno = EIO;
        ok = 0;
      }
      done += n > 0 ? (uint64_t)n : 0;
      src += n > 0 ? (uint64_t)n : 0;
    }
  if (ok && ftruncate(fd, (off_t)f->file_size) < 0) ok = 0;
  // the description as it was (access mode, O_APPEND, O_NOFOLLOW, O_PATH…): a
  // new open of the same file, by its name while it has one (through
  // /proc/self/fd, O_NOFOLLOW cannot be asked for)
  const int flags = (int)(f->flags & ~(uint32_t)(O_CREAT | O_TRUNC | O_EXCL)) | O_CLOEXEC;
  int again = -1;
  struct stat mine, got;
  if (ok && named && (again = open(path, flags)) >= 0 &&
      (fstat(fd, &mine) < 0 || fstat(again, &got) < 0 || mine.st_ino != got.st_ino || mine.st_dev != got.st_dev))
    close(again), again = -1;  // (not ours: replaced meanwhile)
  if (named) unlink(path);
  if (ok && again < 0) {
    char self[64];
    snprintf(self, sizeof self, "/proc/self/fd/%d", fd);
    again = open(self, flags & ~O_NOFOLLOW);
  }
  // then its owner (first: chown clears set-id bits) and mode; one the restoring
  // user cannot give fails the restore
  if (again >= 0 && f->attrs_set &&
      (fstat(fd, &mine) < 0 ||
       ((mine.st_uid != (uid_t)f->uid || mine.st_gid != (gid_t)f->gid) && fchown(fd, (uid_t)f->uid, (gid_t)f->gid) < 0) ||
       fchmod(fd, (mode_t)f->mode) < 0))
    close(again), again = -1;
  // a memfd's seals last: nothing may change it after
  if (again >= 0 && f->memfd && f->seals && fcntl(fd, F_ADD_SEALS, (int)f->seals) < 0) close(again), again = -1;
  const int e = errno;
  close(fd);
  errno = e;
  if (again >= 0 && !(f->flags & O_PATH) && lseek(again, (off_t)f->pos, SEEK_SET) < 0) return close(again), -1;
  return again;
}

// The status flags F_SETFL sets (VD_SETFL_FLAGS) as the description had them:
// open() does not take all of them back, and a pipe is made without any.
static int set_status_flags(int fd, uint32_t want, struct keeper_failure *why) {
  if (want & O_PATH) return 0;  // (an O_PATH description has none)
  int now = fcntl(fd, F_GETFL);
  if (now < 0) return failed(why, VD_STEP_FD_OPEN, errno);
  if ((now & VD_SETFL_FLAGS) != (want & VD_SETFL_FLAGS) &&
      fcntl(fd, F_SETFL, (now & ~(int)VD_SETFL_FLAGS) | (int)(want & VD_SETFL_FLAGS)) < 0)
    return failed(why, VD_STEP_FD_OPEN, errno);
  return 0;
}

// The tree's shared files, made once in the root before it forks: opened and
// placed (a file several fds hold), made again (a deleted one), or as pipes, both
// ends at once, with the bytes that were in flight written in.
int make_shared_files(struct shared_files *s, const int *pages_fds, uint32_t nr_procs, struct keeper_failure *why) {
  // ptys: each pair with its master's entry, its slaves' from it, locked once all are open
  for (uint32_t i = 0; i < s->nr; i++)
    if (s->files[i].kind == VD_SHARED_PTY && s->files[i].write_end) {
      if ((s->fds[i] = make_pty_master(s->data[i], s->files[i].data_len, &s->pty_slave[i])) < 0) return failed(why, VD_STEP_PTY, errno);
      if (set_status_flags(s->fds[i], s->files[i].flags, why) < 0) return -1;
    }
  for (uint32_t i = 0; i < s->nr; i++)
    if (s->files[i].kind == VD_SHARED_PTY && !s->files[i].write_end) {
      const int m = pty_master_of(s, i);
      if (m < 0 || (s->fds[i] = open_pty_slave(s->fds[m], s->files[i].flags)) < 0) return failed(why, VD_STEP_PTY, m < 0 ? EINVAL : errno);
      if (set_status_flags(s->fds[i], s->files[i].flags, why) < 0) return -1;
    }
  for (uint32_t i = 0; i < s->nr; i++)
    if (s->files[i].kind == VD_SHARED_PTY && s->files[i].write_end && finish_pty(s->data[i], s->files[i].data_len, s->fds[i]) < 0)
      return failed(why, VD_STEP_PTY, errno);
  for (uint32_t i = 0; i < s->nr; i++) {
    const struct vd_shared_file *f = &s->files[i];
    if (s->fds[i] >= 0) continue;  // the other end of a pipe made already
    if (f->kind == VD_SHARED_DELETED) {
      if ((s->fds[i] = make_deleted(f, s->paths[i], s->extents[i], pages_fds, nr_procs)) < 0) return failed(why, VD_STEP_FD_COPY, errno);
      if (set_status_flags(s->fds[i], f->flags, why) < 0) return -1;
      continue;
    }
    if (f->kind == VD_SHARED_MQUEUE) {  // (the keeper made the queue again in the domain's namespace)
      int fd = mq_open(s->paths[i], (int)(f->flags & O_ACCMODE) | O_CLOEXEC);
      if (fd < 0) return failed(why, VD_STEP_FD_OPEN, errno);
      if (set_status_flags(fd, f->flags, why) < 0) return -1;
      s->fds[i] = fd;
      continue;
    }
    if (f->kind == VD_SHARED_PATH) {
      int fd = open(s->paths[i], (int)(f->flags & ~(uint32_t)(O_CREAT | O_TRUNC | O_EXCL)) | O_CLOEXEC);
      if (fd < 0) return failed(why, VD_STEP_FD_OPEN, errno);
      if (!(f->flags & O_PATH) && lseek(fd, (off_t)f->pos, SEEK_SET) < 0 && errno != ESPIPE) return failed(why, VD_STEP_FD_SEEK, errno);
      if (set_status_flags(fd, f->flags, why) < 0) return -1;
      s->fds[i] = fd;
      continue;
    }
    // a pipe: both ends at once; a FIFO: through a descriptor holding both sides
    // open (so that opening either end does not wait for the other), closed after
    const int fifo = f->kind == VD_SHARED_FIFO;
    int p[2];
    if (fifo) {
      // non-blocking: a FIFO by path is shared with whoever else has it open (the
      // original job, beside which we may restore); bytes of theirs in it would mix
      // with the saved ones, and a full one would block us forever
      p[0] = p[1] = open(s->paths[i], O_RDWR | O_NONBLOCK | O_CLOEXEC);
      if (p[0] < 0) return failed(why, VD_STEP_FD_OPEN, errno);
      int queued = 0;
      if (fifo_has_saved_bytes(s, i) && (ioctl(p[0], FIONREAD, &queued) < 0 || queued > 0))
        return failed(why, VD_STEP_FIFO_CONTENTS, EBUSY);
    } else if (pipe2(p, O_CLOEXEC) < 0) {
      return failed(why, VD_STEP_FD_OPEN, errno);
    }
    int size = 0;
    for (uint32_t k = 0; k < s->nr; k++)
      if (same_pipe(s, k, i) && s->files[k].pipe_size > size) size = s->files[k].pipe_size;
    if (size > 0) fcntl(p[1], F_SETPIPE_SZ, size);  // may fail above the user's limit: the bytes still fit the default
    int reader = 0, writer = 0;
    for (uint32_t k = 0; k < s->nr; k++) {
      const struct vd_shared_file *e = &s->files[k];
      if (!same_pipe(s, k, i)) continue;
      if (e->data_len && write(p[1], s->data[k], e->data_len) != (ssize_t)e->data_len)
        return failed(why, fifo ? VD_STEP_FIFO_CONTENTS : VD_STEP_FD_COPY, errno ? errno : EIO);
      int end = e->write_end ? p[1] : p[0];
      if (fifo) {
        end = open(s->paths[k], (e->write_end ? O_WRONLY : O_RDONLY) | O_NONBLOCK | O_CLOEXEC);
        if (end < 0) return failed(why, VD_STEP_FD_OPEN, errno);
      }
      if (set_status_flags(end, e->flags, why) < 0) return -1;
      s->fds[k] = end;  // (a second entry for the same end of a pipe would share it)
      if (e->write_end) writer++;
      else reader++;
    }
    if (fifo) {
      close(p[0]);
      continue;
    }
    // an end nobody held: gone, as it was (a reader then sees EOF after the bytes)
    if (!reader) close(p[0]);
    if (!writer) close(p[1]);
  }
  return 0;
}
