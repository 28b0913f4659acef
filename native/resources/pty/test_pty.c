// A pty pair's state across a checkpoint and restore, as script or tmux hold one:
// the parent holds the master (packet mode, its settings, window size, the slave's
// inode mode); a child leads a session whose controlling terminal the slave is,
// wrote output the master has not read yet, and put its own child's group in the
// foreground; that grandchild reads the input the parent wrote before the
// checkpoint: two lines (one ended by a VEOL of its own), one ended by VEOF, and
// an unfinished line it finishes after. Each says what changed over a pipe.
// Protocol (test/kinds.test.ts): prints "ready", reads a line, checks, prints
// "pty PASS" or what changed. "perturb" changes the window size before checking;
// "shared" holds the master twice (dup); "stopped" stops the slave's output (^S);
// "status" leaves the packet-mode status of that unread.
// shared: kept
// refused "stopped": its output is stopped
// refused "status": a packet-mode status not yet read
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#define STATE_KIND "pty"
#include "../files/fd_state_check.h"

static int to_children[2], to_parent[2];

// a line to the parent: "" when all was well, or what changed
static void report(const char *who, const char *what) {
  char line[700];
  int n = snprintf(line, sizeof line, "%s %s\n", who, what);
  if (write(to_parent[1], line, (size_t)n) != n) _exit(3);
}

static void wait_go(void) {
  char c;
  while (read(to_children[0], &c, 1) < 0 && errno == EINTR) {}
}

static const char *const kLines[] = {"line one\n", "second@", "eof-ended", "partial end\n"};

// the grandchild: in the foreground, reads what the parent wrote
static void reader(int s) {
  wait_go();
  char what[600] = "";
  if (tcgetpgrp(s) != getpgrp()) snprintf(what, sizeof what, "not in the foreground (%d, its group %d)", (int)tcgetpgrp(s), (int)getpgrp());
  for (int i = 0; i < 4 && !what[0]; i++) {
    char buf[256];
    ssize_t n;
    while ((n = read(s, buf, sizeof buf - 1)) < 0 && errno == EINTR) {}
    buf[n > 0 ? n : 0] = 0;
    if (n < 0 || strcmp(buf, kLines[i])) snprintf(what, sizeof what, "read %d gave '%s', not '%s'", i, buf, kLines[i]);
  }
  report("reader", what[0] ? what : "ok");
  _exit(0);
}

// the child: leads the session
static void leader(const char *slave_name, const char *mode) {
  setsid();
  int s = open(slave_name, O_RDWR);  // (a session leader's first terminal becomes its controlling one)
  if (s < 0) _exit(4);
  pid_t g = fork();
  if (g == 0) {
    setpgid(0, 0);
    reader(s);
  }
  setpgid(g, g);
  signal(SIGTTOU, SIG_IGN);
  if (tcsetpgrp(s, g) < 0) _exit(5);
  if (write(s, "out\n", 4) != 4) _exit(6);  // (ONLCR: the master reads "out\r\n")
  report("leader", "set");
  wait_go();
  char what[200] = "";
  struct winsize ws;
  int tty = open("/dev/tty", O_RDWR);  // (its controlling terminal, whichever that is)
  if (getsid(0) != getpid() || tcgetsid(s) != getpid()) snprintf(what, sizeof what, "not its session's terminal");
  else if (tty < 0 || tcgetsid(tty) != getpid() || ioctl(tty, TIOCGWINSZ, &ws) < 0 || ws.ws_col != 111)
    snprintf(what, sizeof what, "/dev/tty is not its pty");
  else if (tcgetpgrp(s) != g) snprintf(what, sizeof what, "foreground %d, not %d", (int)tcgetpgrp(s), (int)g);
  char flags[32];
  fdinfo(s, "flags", flags, sizeof flags);
  if (!what[0] && (strtoul(flags, NULL, 8) & O_CLOEXEC)) snprintf(what, sizeof what, "its slave's description says O_CLOEXEC (flags %s)", flags);
  int status = 0;
  waitpid(g, &status, 0);
  (void)mode;
  report("leader", what[0] ? what : "ok");
  _exit(0);
}

int main(int argc, char **argv) {
  const char *mode = argc > 1 ? argv[1] : "";
  int m = posix_openpt(O_RDWR | O_NOCTTY);
  if (m < 0 || grantpt(m) < 0 || unlockpt(m) < 0) return perror("posix_openpt"), 1;
  char slave_name[64];
  snprintf(slave_name, sizeof slave_name, "%s", ptsname(m));
  int twice = !strcmp(mode, "shared") ? dup(m) : -1;
  // settings of its own: canonical without echo, '@' ends a line too, a window size
  struct termios t;
  tcgetattr(m, &t);
  t.c_lflag = ICANON | ISIG | IEXTEN;
  t.c_iflag = ICRNL | IXON;
  t.c_oflag = OPOST | ONLCR;
  t.c_cc[VEOL] = '@';
  if (tcsetattr(m, TCSANOW, &t) < 0) return perror("tcsetattr"), 1;
  struct winsize ws = {33, 111, 7, 9};
  ioctl(m, TIOCSWINSZ, &ws);
  chmod(slave_name, 0600);
  int one = 1;
  if (ioctl(m, TIOCPKT, &one) < 0) return perror("TIOCPKT"), 1;
  if (pipe(to_children) < 0 || pipe(to_parent) < 0) return 1;
  pid_t c = fork();
  if (c == 0) leader(slave_name, mode);
  FILE *from = fdopen(to_parent[0], "r");
  char line[700];
  if (!fgets(line, sizeof line, from)) return 1;  // the leader set it all up
  const char input[] = "line one\nsecond@eof-ended\x04partial";
  if (write(m, input, sizeof input - 1) != (ssize_t)sizeof input - 1) return perror("write"), 1;
  if (!strcmp(mode, "stopped") || !strcmp(mode, "status")) {
    if (write(m, "\x13", 1) != 1) return 1;  // ^S (IXON): the slave's output stops
    usleep(50000);
    char st[8];
    if (!strcmp(mode, "stopped") && read(m, st, sizeof st) != 1) return 1;  // its status (TIOCPKT_STOP), read
  }
  usleep(50000);
  if (!readyThenGo()) return 1;

  if (!strcmp(mode, "perturb")) {
    struct winsize other = {20, 80, 0, 0};
    ioctl(m, TIOCSWINSZ, &other);
  }
  struct termios now;
  struct winsize wnow;
  struct stat st;
  int packet = 0, locked = 1;
  CHECK(tcgetattr(m, &now) == 0 && now.c_lflag == t.c_lflag && now.c_iflag == t.c_iflag && now.c_oflag == t.c_oflag &&
            now.c_cc[VEOL] == '@',
        "settings lflag %o iflag %o oflag %o", now.c_lflag, now.c_iflag, now.c_oflag);
  CHECK(ioctl(m, TIOCGWINSZ, &wnow) == 0 && wnow.ws_row == 33 && wnow.ws_col == 111 && wnow.ws_xpixel == 7 && wnow.ws_ypixel == 9,
        "window size %dx%d", wnow.ws_row, wnow.ws_col);
  CHECK(ioctl(m, TIOCGPKT, &packet) == 0 && packet, "packet mode off");
  CHECK(ioctl(m, TIOCGPTLCK, &locked) == 0 && !locked, "locked");
  // its number may differ (taken, beside the original): the slave and ptsname agree
  CHECK(stat(ptsname(m), &st) == 0 && (st.st_mode & 0777) == 0600, "the slave's mode %o", st.st_mode & 0777);
  if (twice >= 0) {
    fcntl(twice, F_SETFL, O_NONBLOCK);
    CHECK(fcntl(m, F_GETFL) & O_NONBLOCK, "the dup is another description");
    fcntl(twice, F_SETFL, 0);
  }
  char out[16] = "";
  if (!strcmp(mode, "status")) CHECK(read(m, out, sizeof out) == 1 && out[0] == TIOCPKT_STOP, "its packet status lost");
  ssize_t n = read(m, out, sizeof out);
  CHECK(n == 6 && !memcmp(out, "\0out\r\n", 6), "the master read %zd bytes of unread output", n);
  if (write(m, " end\n", 5) != 5) return 1;  // the unfinished line, finished
  if (write(to_children[1], "gg", 2) != 2) return 1;
  for (int i = 0; i < 2 && fgets(line, sizeof line, from); i++) {
    line[strcspn(line, "\n")] = 0;
    const char *what = strchr(line, ' ') + 1;
    CHECK(!strcmp(what, "ok"), "%s", line);
  }
  int status;
  waitpid(c, &status, 0);
  if (fails) return 1;
  printf("pty PASS\n");
  return 0;
}
