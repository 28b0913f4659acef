#include "resources/terminal/terminal.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <pthread.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <termios.h>
#include <unistd.h>

#include <cstring>

#include "core/dump.h"

namespace vdomain {

namespace {
// Terminals by device number: /dev/ttyN and serial (4), /dev/tty, console, ptmx (5),
// pseudo-terminal slaves (136-143). What else a job holds as a char device is none.
bool terminalDevice(const struct stat& st) {
  unsigned m = major(st.st_rdev);
  return S_ISCHR(st.st_mode) && (m == 4 || m == 5 || (m >= 136 && m <= 143));
}
}  // namespace

int openHolderStream(pid_t holder, int k, bool& ours, std::string& why) {
  ours = false;
  std::string path = "/proc/" + std::to_string(holder) + "/fd/" + std::to_string(k);
  struct stat st;
  if (stat(path.c_str(), &st) < 0 || !terminalDevice(st)) return -1;
  int fd = open(path.c_str(), O_RDONLY | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
  if (fd >= 0) return fd;
  int openErr = errno;
  // A terminal of another user (a job run with setpriv on root's terminal) cannot
  // be reopened by path; the keeper got its streams from us, so ours is that one.
  struct stat mine;
  if (fstat(k, &mine) == 0 && S_ISCHR(mine.st_mode) && mine.st_rdev == st.st_rdev) {
    ours = true;
    return k;
  }
  char target[256] = "";
  ssize_t n = readlink(path.c_str(), target, sizeof target - 1);
  target[n > 0 ? n : 0] = 0;
  why = "the job's terminal " + std::string(target) + " (its fd " + std::to_string(k) +
        ") cannot be opened by this user to save its settings (" + strerror(openErr) + ")";
  return -1;
}

std::string terminalUnreadable(pid_t holder) {
  std::string why;
  for (int k = 0; k <= 2; k++) {
    bool ours;
    int fd = openHolderStream(holder, k, ours, why);
    if (fd >= 0 && !ours) close(fd);
    if (fd >= 0) return "";
  }
  return why;
}

TerminalState readTerminal(pid_t holder) {
  TerminalState t;
  std::string why;
  for (int k = 0; k <= 2 && t.stdio < 0; k++) {
    bool ours;
    int fd = openHolderStream(holder, k, ours, why);
    if (fd < 0) continue;
    struct termios tio;
    if (isatty(fd) && tcgetattr(fd, &tio) == 0) {
      t.stdio = k;
      t.termios.assign(reinterpret_cast<const char*>(&tio), sizeof tio);
      pid_t fg = tcgetpgrp(fd);  // fails when the terminal is not the holder's session's
      t.foreground = fg > 0 ? fg : 0;
      struct winsize ws{};
      if (ioctl(fd, TIOCGWINSZ, &ws) == 0) t.rows = ws.ws_row, t.cols = ws.ws_col;
    }
    if (!ours) close(fd);
  }
  return t;
}

namespace {
// tcsetpgrp from a background group raises SIGTTOU: held off in this thread.
struct NoTtou {
  sigset_t was;
  NoTtou() {
    sigset_t s;
    sigemptyset(&s);
    sigaddset(&s, SIGTTOU);
    pthread_sigmask(SIG_BLOCK, &s, &was);
  }
  ~NoTtou() { pthread_sigmask(SIG_SETMASK, &was, nullptr); }
};
}  // namespace

bool applyTerminal(const TerminalState& t, pid_t pgid, std::string& err) {
  if (t.stdio < 0 || t.termios.size() != sizeof(struct termios) || !isatty(t.stdio)) return true;
  NoTtou hold;
  struct termios tio;
  memcpy(&tio, t.termios.data(), sizeof tio);
  if (tcsetattr(t.stdio, TCSANOW, &tio) < 0) {
    err = std::string("cannot set the terminal's settings: ") + strerror(errno);
    return false;
  }
  // (ENOTTY: not our controlling terminal, e.g. restored from another session's)
  if (pgid > 0 && tcsetpgrp(t.stdio, pgid) < 0 && errno != ENOTTY) {
    err = std::string("cannot give the terminal to the job: ") + strerror(errno);
    return false;
  }
  return true;
}

void tellRedraw(const TerminalState& t, const std::vector<pid_t>& job) {
  if (t.stdio < 0 || !isatty(t.stdio)) return;
  pid_t fg = tcgetpgrp(t.stdio);
  if (fg <= 0) return;
  for (pid_t p : job)
    if (getpgid(p) == fg) {
      kill(-fg, SIGWINCH);
      return;
    }
}

void takeTerminalBack(int stdio) {
  if (stdio < 0 || !isatty(stdio)) return;
  NoTtou hold;
  if (tcgetpgrp(stdio) != getpgrp()) tcsetpgrp(stdio, getpgrp());
}


// The dump side: the job's terminal is one of the keeper's standard streams (the
// job's own terminals are fds: the files kind's).
namespace {
void checkTerminal(DumpRun& run, const std::vector<ProcessIds>&) {
  if (run.req.stdioPid <= 0) return;
  std::string why = terminalUnreadable(run.req.stdioPid);
  if (!why.empty()) run.u.items.push_back(why);
}
bool dumpTerminal(DumpRun& run) {
  if (run.req.stdioPid > 0) run.res.terminal = readTerminal(run.req.stdioPid);
  return true;
}
}  // namespace

extern const DumpKind terminalKind = {"terminal", nullptr, checkTerminal, dumpTerminal, nullptr, nullptr};

}  // namespace vdomain
