// File descriptors, the restorer blob's part (dumped by dump_files.cc; the files
// several processes share are made once by the keeper's child, keeper_files in
// native/keeper/restore_child.c): each fd at its number with its flags.
#include "restorer/blob.h"

// Puts `fd` at number `want`, close-on-exec exactly as the job had it (every
// open here is O_CLOEXEC: an fd already at its number must lose it if the job's
// had none).
static void install_fd(const struct vd_plan* p, int index, long fd, const struct vd_fd* d) {
  if (fd != d->fd) {
    long rc = sys3(__NR_dup3, fd, d->fd, d->cloexec ? O_CLOEXEC : 0);
    sys1(__NR_close, fd);
    if (rc < 0) fail(p, VD_STEP_FD_OPEN, rc, index);
    return;
  }
  long rc = sys3(__NR_fcntl, fd, F_SETFD, d->cloexec ? FD_CLOEXEC : 0);
  if (rc < 0) fail(p, VD_STEP_FD_OPEN, rc, index);
}

// A new unlinked file in directory dir (O_TMPFILE; a named file unlinked at once
// where the filesystem has none). A directory that is gone (or is a file now)
// gives way to its nearest existing parent: the file has no name, only where it
// lives (the filesystem) and what readlink shows of it can tell.
static long make_unlinked(char* dir, unsigned long tag) {
  for (;;) {
    long fd = sys3(__NR_open, dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
    if (fd == -EOPNOTSUPP || fd == -EISDIR || fd == -EINVAL) {
      // name: DIR/.vdomain-restore-TAG
      char name[4096 + 64];
      size_t dl = str_len(dir);
      memcpy(name, dir, dl);
      char* q = name + (dl == 1 ? 0 : dl);
      const char* t = "/.vdomain-restore-";
      while (*t) *q++ = *t++;
      char digits[24];
      int k = 0;
      unsigned long v = tag;
      do digits[k++] = (char)('0' + v % 10); while ((v /= 10));
      while (k) *q++ = digits[--k];
      *q = 0;
      fd = sys3(__NR_open, name, O_CREAT | O_EXCL | O_RDWR | O_CLOEXEC, 0600);
      if (fd >= 0) sys1(__NR_unlink, name);
    }
    if ((fd != -ENOENT && fd != -ENOTDIR) || (dir[0] == '/' && dir[1] == 0)) return fd;
    size_t n = str_len(dir);
    while (n > 1 && dir[n - 1] != '/') n--;
    dir[n > 1 ? n - 1 : 1] = 0;
  }
}

// A file deleted while open: a new, already unlinked file where it was (a memfd:
// memfd_create of its name), with its saved data extents (holes stay holes), size, mode and owner.
static long recreate_deleted(const struct vd_plan* p, int index, const struct vd_fd* d) {
  const char* path = str(p, d->path_off);
  char dir[4096];
  size_t n = path ? str_len(path) : 0;
  if (n == 0 || n >= sizeof dir - 32) fail(p, VD_STEP_FD_COPY, -EINVAL, index);
  memcpy(dir, path, n + 1);
  while (n > 0 && dir[n - 1] != '/') n--;
  if (n == 0) fail(p, VD_STEP_FD_COPY, -EINVAL, index);
  dir[n > 1 ? n - 1 : 1] = 0;

  // at its own name first (what /proc shows of it), unlinked once made; where
  // that name is taken, a file of no name in the directory
  int named = !d->memfd;
  long fd = d->memfd ? sys2(__NR_memfd_create, path + 7 /* "/memfd:" */, 3 /* MFD_CLOEXEC|MFD_ALLOW_SEALING */)
                     : sys3(__NR_open, path, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0 && !d->memfd) named = 0, fd = make_unlinked(dir, (unsigned long)sys0(__NR_getpid) * 1000 + (unsigned long)index);
  if (fd < 0) fail(p, VD_STEP_FD_COPY, fd, index);
  const struct vd_extent* e = AT(p, d->extents_off, const struct vd_extent);
  int64_t off = (int64_t)d->content_off;
  long rc = 0;
  for (uint32_t i = 0; rc >= 0 && i < d->nr_extents; i++) {
    int64_t at = (int64_t)e[i].file_off;
    for (uint64_t left = e[i].len; rc >= 0 && left;) {
      long c = sys6(__NR_copy_file_range, p->pages_fd, (long)&off, fd, (long)&at, left, 0);
      if (c <= 0) rc = c == 0 ? -EINVAL : c;
      else left -= (uint64_t)c;
    }
  }
  if (rc >= 0) rc = sys2(__NR_ftruncate, fd, d->file_size);
  // reopen with the job's own flags (access mode, O_APPEND, O_NOFOLLOW, O_PATH…),
  // by its name while it has one (through /proc/self/fd, O_NOFOLLOW cannot be asked for)
  struct { uint64_t dev, ino, nlink; uint32_t mode, uid, gid; } st, st2;  // the head of x86-64 struct stat
  char statbuf[144];
  long again = -1;
  if (rc >= 0 && named && (again = sys3(__NR_open, path, d->flags | O_CLOEXEC, 0)) >= 0) {
    int same = sys2(__NR_fstat, fd, statbuf) >= 0;
    memcpy(&st, statbuf, sizeof st);
    same = same && sys2(__NR_fstat, again, statbuf) >= 0;
    memcpy(&st2, statbuf, sizeof st2);
    if (!same || st.ino != st2.ino || st.dev != st2.dev) sys1(__NR_close, again), again = -1;  // (replaced meanwhile)
  }
  if (named) sys1(__NR_unlink, path);
  if (rc >= 0 && again < 0) {
    char self[64];
    proc_self_fd(self, fd);
    again = sys3(__NR_open, self, (d->flags & ~(uint32_t)O_NOFOLLOW) | O_CLOEXEC, 0);
    if (again < 0) rc = again;
  }
  if (rc >= 0 && d->attrs_set) {
    // the owner first (chown clears set-id bits); unprivileged, the file is the
    // restoring user's already, and any other owner cannot be given: the restore fails
    rc = sys2(__NR_fstat, fd, statbuf);
    memcpy(&st, statbuf, sizeof st);
    if (rc >= 0 && (st.uid != (uint32_t)d->uid || st.gid != (uint32_t)d->gid)) rc = sys3(__NR_fchown, fd, d->uid, d->gid);
    if (rc >= 0) rc = sys2(__NR_fchmod, fd, d->mode);
  }
  // a memfd's seals last: nothing may change it after
  if (rc >= 0 && d->memfd && d->seals) rc = sys3(__NR_fcntl, fd, 1033 /* F_ADD_SEALS */, d->seals);
  sys1(__NR_close, fd);
  if (rc < 0) fail(p, VD_STEP_FD_COPY, rc, index);
  return again;
}

void open_files(const struct vd_plan* p) {
  const struct vd_fd* fds = AT(p, p->fds_off, const struct vd_fd);
  for (uint32_t i = 0; i < p->nr_fds; i++) {
    const struct vd_fd* d = &fds[i];
    long fd;
    switch (d->kind) {
      case VD_FD_STDIO:
        fd = sys3(__NR_fcntl, p->stdio_base + (int)d->stdio_index, F_DUPFD_CLOEXEC, 0);
        break;
      case VD_FD_PATH: fd = sys3(__NR_open, str(p, d->path_off), d->flags | O_CLOEXEC, 0); break;
      case VD_FD_COPY: fd = recreate_deleted(p, (int)i, d); break;
      case VD_FD_SHARED:
        fd = d->stdio_index < p->nr_shared ? sys3(__NR_fcntl, p->shared_base + (int)d->stdio_index, F_DUPFD_CLOEXEC, 0) : -EINVAL;
        break;
#define VD_FD_KIND_CASE(name) \
      case VD_FD_##name: fd = open_fd_##name(p, d, (int)i); break;
      VD_FD_KINDS(VD_FD_KIND_CASE)
#undef VD_FD_KIND_CASE
      default: fd = -EINVAL;
    }
    if (fd < 0) fail(p, VD_STEP_FD_OPEN, fd, (int)i);
    // a shared description was made whole by the keeper's child; an O_PATH one
    // has neither position nor status flags (a kind of the kinds table gets its
    // status flags here too, and has no position: ESPIPE)
    if (d->kind != VD_FD_SHARED && !(d->flags & VD_O_PATH)) {
      long rc;
      if (d->kind != VD_FD_STDIO && (rc = sys3(__NR_lseek, fd, (long)d->pos, 0 /* SEEK_SET */)) < 0 && rc != -ESPIPE)
        fail(p, VD_STEP_FD_SEEK, rc, (int)i);
      // (the restoring command's stream too: the job and its caller shared the description)
      long now = sys2(__NR_fcntl, fd, F_GETFL);
      if (now >= 0 && (now & VD_SETFL_FLAGS) != (d->flags & VD_SETFL_FLAGS) &&
          (rc = sys3(__NR_fcntl, fd, F_SETFL, (now & ~(long)VD_SETFL_FLAGS) | (d->flags & VD_SETFL_FLAGS))) < 0)
        fail(p, VD_STEP_FD_OPEN, rc, (int)i);
    }
    install_fd(p, (int)i, fd, d);
  }
  // the kinds whose fds name others (resources/kinds.h), now that all are in place
  for (int pass = 0; pass < VD_FD_FILL_PASSES; pass++)
    for (uint32_t i = 0; i < p->nr_fds; i++) {
      switch (fds[i].kind) {
#define VD_FD_KIND_FILL_CASE(name) \
        case VD_FD_##name: fill_fd_##name(p, &fds[i], (int)i, pass); break;
        VD_FD_KINDS_FILLED(VD_FD_KIND_FILL_CASE)
#undef VD_FD_KIND_FILL_CASE
        default: break;
      }
    }
}
