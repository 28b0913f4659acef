// File locks a restore must bring back: a process and its child holding POSIX
// record locks (read and write ranges, one to EOF, the child's through a
// description shared with its parent), an OFD lock and a flock() lock on
// descriptions shared across the fork, a flock() lock of the child's own, and a
// POSIX lock on a file deleted while open (the checker uses the inherited fd).
//
//   locks DIR          sets them, prints "ready", waits until DIR/go exists, then
//                      checks them from a forked checker (which sees a conflict
//                      exactly where another process's lock is) and from the
//                      owners; prints "child PASS" / "locks PASS", or what changed
//   locks lease DIR    takes a read lease on DIR/leased, prints "ready", waits for
//                      DIR/go (a checkpoint must refuse it)
//   locks hold FILE START LEN   an outsider: a POSIX write lock, "held", sleeps
//   locks heavy DIR    a parent of a few pages that writes DIR/ran as soon as
//                      DIR/go exists, and a child with 256 MB of data (slow to
//                      restore) holding a write lock on DIR/heavy; prints "ready"
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/wait.h>
#include <unistd.h>

static char report[4096];
static void changed(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  size_t n = strlen(report);
  vsnprintf(report + n, sizeof report - n, fmt, ap);
  va_end(ap);
}

static int open_in(const char *dir, const char *name, int flags) {
  char path[4096];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  int fd = open(path, flags | O_CREAT, 0644);
  if (fd < 0) {
    perror(path);
    exit(1);
  }
  return fd;
}

static void posix_lock(int fd, int cmd, short type, off_t start, off_t len) {
  struct flock l = {.l_type = type, .l_whence = SEEK_SET, .l_start = start, .l_len = len};
  if (fcntl(fd, cmd, &l) < 0) {
    perror("lock");
    exit(1);
  }
}

static const char *type_name(int t) { return t == F_RDLCK ? "R" : t == F_WRLCK ? "W" : t == F_UNLCK ? "-" : "?"; }

// What a probe of `type` on [start, start+len) meets: expect the lock
// (want_type, want_start, want_len) there, or F_UNLCK (nothing in the way).
static void expect(const char *what, int fd, int cmd, short type, off_t start, off_t len, int want_type, off_t want_start,
                   off_t want_len) {
  struct flock l = {.l_type = type, .l_whence = SEEK_SET, .l_start = start, .l_len = len};
  if (fcntl(fd, cmd, &l) < 0) {
    changed(" %s:getlk=%s", what, strerror(errno));
    return;
  }
  if (l.l_type != want_type || (want_type != F_UNLCK && (l.l_start != want_start || l.l_len != want_len)))
    changed(" %s:%s[%lld+%lld]", what, type_name(l.l_type), (long long)l.l_start, (long long)l.l_len);
}

static void expect_flock(const char *what, int fd, int op, int want_ok) {
  int ok = flock(fd, op | LOCK_NB) == 0;
  if (ok != want_ok) changed(" %s:%s", what, ok ? "free" : strerror(errno));
  if (ok && fd >= 0) flock(fd, LOCK_UN);
}

static void wait_for_go(const char *dir) {
  char go[4096];
  snprintf(go, sizeof go, "%s/go", dir);
  while (access(go, F_OK) != 0) usleep(20 * 1000);
}

static int finish(const char *who) {
  printf("%s %s\n", who, report[0] ? "CHANGED:" : "PASS");
  if (report[0]) printf("%s\n", report);
  fflush(stdout);
  return report[0] ? 1 : 0;
}

int main(int argc, char **argv) {
  if (argc == 5 && !strcmp(argv[1], "hold")) {
    int fd = open(argv[2], O_RDWR);
    if (fd < 0) return perror(argv[2]), 1;
    posix_lock(fd, F_SETLK, F_WRLCK, atoll(argv[3]), atoll(argv[4]));
    printf("held\n");
    fflush(stdout);
    for (;;) pause();
  }
  if (argc == 3 && !strcmp(argv[1], "lease")) {
    int fd = open_in(argv[2], "leased", O_RDONLY);
    if (fcntl(fd, F_SETLEASE, F_RDLCK) < 0) return perror("F_SETLEASE"), 1;
    printf("ready\n");
    fflush(stdout);
    wait_for_go(argv[2]);
    printf("lease %s\n", fcntl(fd, F_GETLEASE) == F_RDLCK ? "PASS" : "CHANGED");
    return 0;
  }
  if (argc == 3 && !strcmp(argv[1], "heavy")) {
    const char *dir = argv[2];
    int sync[2];
    if (pipe(sync) < 0) return perror("pipe"), 1;
    if (fork() == 0) {
      size_t size = 256u << 20;
      char *data = malloc(size);
      if (!data) return perror("malloc"), 1;
      for (size_t i = 0; i < size; i += 4096) data[i] = (char)(i >> 12 | 1);
      posix_lock(open_in(dir, "heavy", O_RDWR), F_SETLK, F_WRLCK, 0, 1);
      write(sync[1], "x", 1);
      for (;;) pause();
    }
    char c;
    if (read(sync[0], &c, 1) != 1) return fprintf(stderr, "child failed\n"), 1;
    printf("ready\n");
    fflush(stdout);
    wait_for_go(dir);
    close(open_in(dir, "ran", O_WRONLY));
    printf("heavy ran\n");
    return 0;
  }
  if (argc != 2) return fprintf(stderr, "usage: locks DIR | lease DIR | hold FILE START LEN | heavy DIR\n"), 2;
  const char *dir = argv[1];
  setvbuf(stdout, NULL, _IONBF, 0);

  // the parent's POSIX locks, and descriptions the child inherits
  int posix = open_in(dir, "posix", O_RDWR);
  posix_lock(posix, F_SETLK, F_WRLCK, 10, 5);    // bytes 10-14
  posix_lock(posix, F_SETLK, F_RDLCK, 1000, 0);  // 1000 to EOF
  int ofd = open_in(dir, "ofd", O_RDWR);
  posix_lock(ofd, F_OFD_SETLK, F_WRLCK, 0, 100);
  posix_lock(ofd, F_OFD_SETLK, F_RDLCK, 500, 10);
  int fl = open_in(dir, "flock", O_RDWR);
  if (flock(fl, LOCK_EX | LOCK_NB) < 0) return perror("flock"), 1;
  // a file deleted while open and locked: made again at restore, locked again
  int gone = open_in(dir, "gone", O_RDWR);
  if (write(gone, "0123456789abcdef", 16) != 16) return 1;
  posix_lock(gone, F_SETLK, F_WRLCK, 4, 4);  // bytes 4-7
  char gone_path[4096];
  snprintf(gone_path, sizeof gone_path, "%s/gone", dir);
  unlink(gone_path);

  int ready[2], go[2];
  if (pipe(ready) < 0 || pipe(go) < 0) return 1;
  pid_t child = fork();
  if (child == 0) {
    // the child's own POSIX locks, through the description it shares with its parent
    posix_lock(posix, F_SETLK, F_WRLCK, 200, 10);  // 200-209
    posix_lock(posix, F_SETLK, F_RDLCK, 300, 1);   // 300
    int own = open_in(dir, "flock2", O_RDONLY);
    if (flock(own, LOCK_SH | LOCK_NB) < 0) return perror("flock2"), 1;
    if (write(ready[1], "r", 1) != 1) return 1;
    char c;
    if (read(go[0], &c, 1) != 1) return 1;
    // its locks are its own (no other process's in the way), the shared ones are its description's
    expect("child-own-W", posix, F_GETLK, F_WRLCK, 200, 10, F_UNLCK, 0, 0);
    expect("child-own-R", posix, F_GETLK, F_WRLCK, 300, 1, F_UNLCK, 0, 0);
    expect("child-sees-parent-W", posix, F_GETLK, F_WRLCK, 12, 1, F_WRLCK, 10, 5);
    expect("child-ofd-shared", ofd, F_OFD_GETLK, F_WRLCK, 0, 1000, F_UNLCK, 0, 0);
    if (flock(fl, LOCK_EX | LOCK_NB) < 0) changed(" child-flock-shared:%s", strerror(errno));  // (kept: it is the parent's too)
    return finish("child");
  }
  char c;
  if (read(ready[0], &c, 1) != 1) return 1;
  printf("ready\n");
  wait_for_go(dir);

  // a checker of no lock of its own sees every lock where it is, and nowhere else
  pid_t checker = fork();
  if (checker == 0) {
    int p = open_in(dir, "posix", O_RDWR), o = open_in(dir, "ofd", O_RDWR);
    int f = open_in(dir, "flock", O_RDWR), f2 = open_in(dir, "flock2", O_RDONLY);
    expect("parent-W", p, F_GETLK, F_WRLCK, 10, 1, F_WRLCK, 10, 5);
    expect("parent-W-end", p, F_GETLK, F_WRLCK, 14, 1, F_WRLCK, 10, 5);
    expect("parent-W-read", p, F_GETLK, F_RDLCK, 12, 1, F_WRLCK, 10, 5);
    expect("before-9", p, F_GETLK, F_WRLCK, 9, 1, F_UNLCK, 0, 0);
    expect("after-15", p, F_GETLK, F_WRLCK, 15, 1, F_UNLCK, 0, 0);
    expect("parent-R-EOF", p, F_GETLK, F_WRLCK, 1000, 1, F_RDLCK, 1000, 0);
    expect("parent-R-far", p, F_GETLK, F_WRLCK, 1 << 30, 1, F_RDLCK, 1000, 0);
    expect("parent-R-shared", p, F_GETLK, F_RDLCK, 1000, 0, F_UNLCK, 0, 0);
    expect("before-999", p, F_GETLK, F_WRLCK, 999, 1, F_UNLCK, 0, 0);
    expect("child-W", p, F_GETLK, F_WRLCK, 205, 1, F_WRLCK, 200, 10);
    expect("after-210", p, F_GETLK, F_WRLCK, 210, 1, F_UNLCK, 0, 0);
    expect("child-R", p, F_GETLK, F_WRLCK, 300, 1, F_RDLCK, 300, 1);
    expect("child-R-shared", p, F_GETLK, F_RDLCK, 300, 1, F_UNLCK, 0, 0);
    expect("after-301", p, F_GETLK, F_WRLCK, 301, 1, F_UNLCK, 0, 0);
    expect("ofd-W", o, F_OFD_GETLK, F_WRLCK, 50, 1, F_WRLCK, 0, 100);
    expect("ofd-after-100", o, F_OFD_GETLK, F_WRLCK, 100, 1, F_UNLCK, 0, 0);
    expect("ofd-R", o, F_OFD_GETLK, F_WRLCK, 505, 1, F_RDLCK, 500, 10);
    expect("ofd-R-shared", o, F_OFD_GETLK, F_RDLCK, 505, 1, F_UNLCK, 0, 0);
    expect("ofd-after-510", o, F_OFD_GETLK, F_WRLCK, 510, 1, F_UNLCK, 0, 0);
    expect("deleted-W", gone, F_GETLK, F_WRLCK, 0, 16, F_WRLCK, 4, 4);
    expect("deleted-after-8", gone, F_GETLK, F_WRLCK, 8, 8, F_UNLCK, 0, 0);
    expect_flock("flock-EX", f, LOCK_SH, 0);
    expect_flock("flock2-SH", f2, LOCK_EX, 0);
    expect_flock("flock2-SH-shared", f2, LOCK_SH, 1);
    _exit(finish("checker"));
  }
  int st;
  waitpid(checker, &st, 0);
  // the parent's own: nobody else's in the way
  expect("parent-own-W", posix, F_GETLK, F_WRLCK, 10, 5, F_UNLCK, 0, 0);
  expect("parent-own-R", posix, F_GETLK, F_WRLCK, 1000, 0, F_UNLCK, 0, 0);
  expect("parent-sees-child-W", posix, F_GETLK, F_WRLCK, 200, 1, F_WRLCK, 200, 10);
  if (write(go[1], "g", 1) != 1) return 1;
  waitpid(child, &st, 0);
  if (!WIFEXITED(st) || WEXITSTATUS(st)) changed(" child-status=%d", st);
  return finish("locks");
}
