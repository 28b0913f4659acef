// Pseudo-terminals the job opened, the restore side: the keeper's child makes
// each pair once, before the tree forks (its ends are shared files: every
// process inherits them and its blob puts them at their numbers), and keeps a
// slave of its own open through the tree's making, for the session it is the
// controlling terminal of (restore_child.c: TIOCSCTTY after setsid, TIOCSPGRP
// by the foreground group). Dumped by dump_pty.cc.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include "resources/pty/keeper_pty.h"
#include "resources/pty/pty_image.h"

// The image's parts: its head, the input chunks (walked: each within the data)
// and the output after them. 0, or -1 (EINVAL) when they do not fit.
static int parse(const char *data, uint32_t len, struct vd_pty_image *im, const unsigned char **input,
                 size_t *input_len, const unsigned char **out) {
  if (len < sizeof *im) return errno = EINVAL, -1;
  memcpy(im, data, sizeof *im);
  if (im->magic != VD_PTY_MAGIC || im->nr_chunks > VD_PTY_MAX_BYTES) return errno = EINVAL, -1;
  size_t at = sizeof *im;
  for (uint32_t i = 0; i < im->nr_chunks; i++) {
    struct vd_pty_chunk c;
    if (len - at < sizeof c) return errno = EINVAL, -1;
    memcpy(&c, data + at, sizeof c);
    at += sizeof c;
    if (c.len > len - at || c.end > VD_PTY_RAW) return errno = EINVAL, -1;
    at += c.len;
  }
  if (im->output_len != len - at) return errno = EINVAL, -1;
  *input = (const unsigned char *)data + sizeof *im;
  *input_len = at - sizeof *im;
  *out = (const unsigned char *)data + at;
  return 0;
}

int make_pty_master(const char *data, uint32_t len, int *slave) {
  struct vd_pty_image im;
  const unsigned char *input, *out;
  size_t input_len;
  if (parse(data, len, &im, &input, &input_len, &out) < 0) return -1;
  // its number where it is free: the kernel gives the lowest free one, so the
  // lower ones are held until it comes (or a higher one: it is taken)
  int held[256], nr_held = 0, m = -1;
  for (;;) {
    int fd = open("/dev/ptmx", O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
    unsigned n = 0;
    if (fd < 0 || ioctl(fd, TIOCGPTN, &n) < 0) break;
    if (n >= im.index || nr_held == 256) {
      m = fd;
      break;
    }
    held[nr_held++] = fd;
  }
  const int e = errno;
  while (nr_held) close(held[--nr_held]);
  if (m < 0) return errno = e, -1;
  int zero = 0, one = 1;
  int s = -1;
  struct winsize ws = {im.rows, im.cols, im.xpixel, im.ypixel};
  struct stat st;
  if (ioctl(m, TIOCSPTLCK, &zero) < 0 || (s = (int)ioctl(m, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_NONBLOCK)) < 0 ||
      vd_pty_put_back(m, s, &im.termios, 0, input, input_len, im.nr_chunks, out, im.output_len) < 0 ||
      ioctl(m, TIOCSWINSZ, &ws) < 0 || fstat(s, &st) < 0 ||
      ((st.st_mode & 07777) != im.slave_mode && fchmod(s, im.slave_mode) < 0) ||
      ((st.st_uid != im.slave_uid || st.st_gid != im.slave_gid) && fchown(s, im.slave_uid, im.slave_gid) < 0) ||
      (im.packet && ioctl(m, TIOCPKT, &one) < 0)) {
    const int err = errno;
    if (s >= 0) close(s);
    close(m);
    return errno = err, -1;
  }
  *slave = s;
  return m;
}

// (never O_CLOEXEC: the peer's description would keep it in its flags, and fdinfo
// would show the fd close-on-exec whatever it is; the tree's fds are placed later)
int open_pty_slave(int master, uint32_t flags) {
  return (int)ioctl(master, TIOCGPTPEER, (int)(flags & O_ACCMODE) | O_NOCTTY | O_NONBLOCK);
}

int finish_pty(const char *data, uint32_t len, int master) {
  struct vd_pty_image im;
  const unsigned char *input, *out;
  size_t input_len;
  int one = 1;
  if (parse(data, len, &im, &input, &input_len, &out) < 0) return -1;
  return im.locked ? (int)ioctl(master, TIOCSPTLCK, &one) : 0;
}
