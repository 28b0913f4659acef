/* A pseudo-terminal pair the job opened (/dev/ptmx and its /dev/pts/N), as the
 * restore's keeper child makes it again (keeper_pty.c): the data of its master's
 * shared entry (vd_shared_file, kind VD_SHARED_PTY) is a vd_pty_image, then
 * nr_chunks times (vd_pty_chunk, its bytes): the slave's input not yet read,
 * then output_len bytes: the slave's output the master has not read. Packed
 * from the manifest by plan_pty.cc, dumped by dump_pty.cc.
 *
 * Both the dumper (which takes the bytes out of the job's pty and must put them
 * back before the job runs on) and the keeper put bytes into a pty with
 * vd_pty_put_back below: one way, so what a restore makes is what the job had. */
#ifndef VDOMAIN_PTY_IMAGE_H
#define VDOMAIN_PTY_IMAGE_H
#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <string.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#define VD_PTY_MAGIC 0x59545056u /* "VPTY" */
#define VD_PTY_MAX_BYTES (1u << 20)

/* How a chunk of the slave's input ends: a line (its terminator, '\n', VEOL or
 * VEOL2, is its last byte), a line ended by VEOF (which the kernel does not keep
 * as a byte), the unfinished line of a canonical terminal, or bytes of a
 * non-canonical one. */
enum vd_pty_end { VD_PTY_LINE = 0, VD_PTY_EOF = 1, VD_PTY_PARTIAL = 2, VD_PTY_RAW = 3 };

struct vd_pty_chunk {
  uint32_t len, end; /* end: enum vd_pty_end */
};

struct vd_pty_image {
  uint32_t magic;
  uint32_t index;              /* /dev/pts/N it was (kept where it is free) */
  uint32_t locked, packet;     /* TIOCSPTLCK, TIOCPKT */
  uint32_t nr_chunks, output_len;
  uint32_t slave_mode, slave_uid, slave_gid, pad; /* the slave's inode */
  uint16_t rows, cols, xpixel, ypixel;       /* its window size */
  struct termios termios;                    /* the slave's (the master's calls reach them) */
};

/* The settings the slave's input is put back with: as t (canonical or not, the
 * same line ends, IXON and its characters: a change of those would tell a
 * packet-mode master), but every byte kept as written (no mapping, no erase or
 * kill, no signals) and echoed once, unprocessed: the echoes tell when the line
 * discipline has taken every byte (there is no other way to wait for it). */
static inline void vd_pty_replay_termios(const struct termios *t, struct termios *r) {
  *r = *t;
  r->c_lflag &= ~(tcflag_t)(ISIG | ECHOCTL | ECHOE | ECHOK | ECHOKE | ECHOPRT | ECHONL | FLUSHO | PENDIN | XCASE);
  r->c_lflag |= ECHO;
  r->c_iflag &= ~(tcflag_t)(INLCR | IGNCR | ICRNL | IUCLC | ISTRIP | PARMRK | IMAXBEL);
  r->c_oflag &= ~(tcflag_t)OPOST;
  r->c_cc[VERASE] = r->c_cc[VKILL] = r->c_cc[VWERASE] = r->c_cc[VREPRINT] = r->c_cc[VLNEXT] = r->c_cc[VDISCARD] =
      _POSIX_VDISABLE;
}

static inline long vd_pty_ms_since(const struct timespec *t0) {
  struct timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  return (now.tv_sec - t0->tv_sec) * 1000 + (now.tv_nsec - t0->tv_nsec) / 1000000;
}

/* Writes all of len bytes to fd (non-blocking), waiting up to 2 s for room. */
static inline int vd_pty_write_all(int fd, const unsigned char *b, size_t len) {
  struct timespec t0;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  while (len) {
    ssize_t n = write(fd, b, len);
    if (n > 0) {
      b += n, len -= (size_t)n;
      continue;
    }
    if (n < 0 && errno != EAGAIN && errno != EINTR) return -1;
    struct pollfd p = {fd, POLLOUT, 0};
    if (vd_pty_ms_since(&t0) > 2000) return errno = ETIMEDOUT, -1;
    poll(&p, 1, 10);
  }
  return 0;
}

/* Reads and drops want bytes of data from master m (packet mode: each read begins
 * with a status byte), waiting up to 2 s. */
static inline int vd_pty_drop_echoes(int m, int packet, size_t want) {
  unsigned char buf[4096 + 1];
  struct timespec t0;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  while (want) {
    struct pollfd p = {m, POLLIN, 0};
    if (poll(&p, 1, 20) > 0 && (p.revents & POLLIN)) {
      ssize_t n = read(m, buf, want + (size_t)packet < sizeof buf ? want + (size_t)packet : sizeof buf);
      if (n < 0 && errno != EAGAIN && errno != EINTR) return -1;
      if (n > packet) want -= (size_t)n - (size_t)packet;
    }
    if (want && vd_pty_ms_since(&t0) > 2000) return errno = ETIMEDOUT, -1;
  }
  return 0;
}

/* Puts the slave's input (nr_chunks chunks at input) and the master's unread
 * output (out) back into the pty of master m and slave s (ours, O_NONBLOCK),
 * both empty, then gives the slave the settings t. The output must not be stopped
 * (^S, tcflow): the echoes would not come. 0, or -1 with errno. */
static inline int vd_pty_put_back(int m, int s, const struct termios *t, int packet, const unsigned char *input,
                                  size_t input_len, uint32_t nr_chunks, const unsigned char *out, size_t out_len) {
  struct termios r;
  if (nr_chunks) {
    vd_pty_replay_termios(t, &r);
    if (tcsetattr(s, TCSANOW, &r) < 0) return -1;
    size_t echoes = 0, at = 0;
    for (uint32_t i = 0; i < nr_chunks; i++) {
      struct vd_pty_chunk c;
      if (at + sizeof c > input_len) return errno = EINVAL, -1;
      memcpy(&c, input + at, sizeof c);
      at += sizeof c;
      if (c.len > input_len - at) return errno = EINVAL, -1;
      if (vd_pty_write_all(m, input + at, c.len) < 0) return -1;
      at += c.len;
      echoes += c.len;
      const unsigned char eof = t->c_cc[VEOF];
      if (c.end == VD_PTY_EOF && vd_pty_write_all(m, &eof, 1) < 0) return -1;  // (not echoed, not kept)
    }
    if (vd_pty_drop_echoes(m, packet, echoes) < 0) return -1;
  }
  if (out_len) {
    r = *t;
    r.c_oflag &= ~(tcflag_t)OPOST;  // the bytes as the master would have read them
    r.c_lflag &= ~(tcflag_t)FLUSHO;
    if (tcsetattr(s, TCSANOW, &r) < 0 || vd_pty_write_all(s, out, out_len) < 0) return -1;
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (int queued = 0; queued < (int)out_len;) {  // in the master's line discipline
      if (ioctl(m, FIONREAD, &queued) < 0) return -1;
      if (queued >= (int)out_len) break;
      if (vd_pty_ms_since(&t0) > 2000) return errno = ETIMEDOUT, -1;
      struct timespec pause = {0, 200000};
      nanosleep(&pause, NULL);
    }
  }
  return tcsetattr(s, TCSANOW, t);
}

#endif
