// File status flags and fd flags a restore must bring back: sets them on every
// kind of fd (regular files, a directory, O_PATH ones, pipe ends alone and shared
// by a dup, the standard streams), prints "ready", waits for a line on stdin (the
// checkpoint --kill lands there; the restore gives the line), then compares.
//
//   fdflags DIR      DIR: writable, holds nothing yet
//
// Output: "fdflags PASS" or "fdflags CHANGED fd N: what" for each difference.
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX 64
static struct { int fd; int fl; int fd_flags; const char *what; } seen[MAX];
static int nr;

static void keep(int fd, const char *what) {
  if (fd < 0) {
    perror(what);
    exit(1);
  }
  seen[nr].fd = fd;
  seen[nr].fl = fcntl(fd, F_GETFL);
  seen[nr].fd_flags = fcntl(fd, F_GETFD);
  seen[nr].what = what;
  nr++;
}

static int at(int fd, int want) {  // fd moved to number want (dup2 keeps no CLOEXEC)
  if (dup2(fd, want) < 0) return -1;
  close(fd);
  return want;
}

int main(int argc, char **argv) {
  if (argc < 2) return 2;
  if (chdir(argv[1]) < 0) return 1;
  int f = open("plain", O_RDWR | O_CREAT, 0644);
  if (write(f, "0123456789", 10) != 10) return 1;
  close(f);
  mkdir("dir", 0755);

  // regular files: status flags set after open, with F_SETFL
  int a = open("plain", O_RDWR);
  fcntl(a, F_SETFL, O_NONBLOCK | O_APPEND);
  keep(a, "plain rw +nonblock+append");
  int b = open("plain", O_RDONLY | O_NOATIME);
  keep(b, "plain ro noatime");
  keep(open("plain", O_WRONLY | O_SYNC), "plain sync");
  keep(open("plain", O_WRONLY | O_DSYNC), "plain dsync");
  int d = open("plain", O_RDONLY | O_DIRECT);  // (where the filesystem has it)
  if (d >= 0) keep(d, "plain direct");
  // fd flags: cloexec set by F_SETFD on a plain open, cleared on an O_CLOEXEC one,
  // on low numbers a restore reaches without a dup
  int c = open("plain", O_RDONLY);
  fcntl(c, F_SETFD, FD_CLOEXEC);
  keep(c, "plain +cloexec");
  int e = open("plain", O_RDONLY | O_CLOEXEC);
  fcntl(e, F_SETFD, 0);
  keep(e, "plain -cloexec");
  // O_PATH: a file and a directory (no position, no I/O)
  keep(open("plain", O_PATH), "O_PATH file");
  keep(open("dir", O_PATH | O_DIRECTORY | O_CLOEXEC), "O_PATH dir");
  int dir = open("dir", O_RDONLY | O_DIRECTORY);
  fcntl(dir, F_SETFL, O_NONBLOCK);
  keep(dir, "dir +nonblock");
  // pipes: a read end made non-blocking, a write end cloexec; a pipe whose write
  // end is non-blocking and held twice (dup: one description, two fd flags)
  int p[2], q[2];
  if (pipe(p) < 0 || pipe2(q, O_CLOEXEC) < 0) return 1;
  fcntl(p[0], F_SETFL, O_NONBLOCK);
  fcntl(p[1], F_SETFD, FD_CLOEXEC);
  keep(p[0], "pipe r +nonblock");
  keep(p[1], "pipe w +cloexec");
  fcntl(q[1], F_SETFL, O_NONBLOCK | O_DIRECT);  // O_DIRECT on a pipe: packet mode
  fcntl(q[0], F_SETFD, 0);
  keep(q[0], "pipe2 r -cloexec");
  keep(q[1], "pipe2 w +nonblock+direct cloexec");
  keep(at(dup(q[1]), 40), "dup of pipe2 w, no cloexec");
  keep(at(dup(a), 41), "dup of plain rw");
  // the standard streams: stdout also at 42, no cloexec; stderr cloexec
  keep(at(dup(1), 42), "dup of stdout");
  fcntl(2, F_SETFD, FD_CLOEXEC);
  keep(2, "stderr +cloexec");

  printf("ready\n");
  fflush(stdout);
  char line[16];
  if (!fgets(line, sizeof line, stdin)) return 3;  // the checkpoint lands here

  char out[8192] = "";
  for (int i = 0; i < nr; i++) {
    int fl = fcntl(seen[i].fd, F_GETFL), fdf = fcntl(seen[i].fd, F_GETFD);
    if (fl != seen[i].fl || fdf != seen[i].fd_flags)
      snprintf(out + strlen(out), sizeof out - strlen(out), " fd %d (%s): flags 0%o fd flags %d, were 0%o %d;",
               seen[i].fd, seen[i].what, fl, fdf, seen[i].fl, seen[i].fd_flags);
  }
  char buf[4];
  if (!*out && (pread(b, buf, 4, 2) != 4 || memcmp(buf, "2345", 4))) strcat(out, " plain ro: contents;");
  printf("fdflags %s%s\n", *out ? "CHANGED" : "PASS", out);
  return 0;
}
