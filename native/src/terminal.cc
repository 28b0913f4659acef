#include "terminal.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <pthread.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

#include <cstring>

namespace vdomain {

TerminalState readTerminal(pid_t holder) {
  TerminalState t;
  for (int k = 0; k <= 2 && t.stdio < 0; k++) {
    std::string path = "/proc/" + std::to_string(holder) + "/fd/" + std::to_string(k);
    int fd = open(path.c_str(), O_RDONLY | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
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
    close(fd);
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

void tellNewSize(const TerminalState& t, pid_t pgid) {
  struct winsize ws{};
  if (t.stdio < 0 || pgid <= 0 || (!t.rows && !t.cols) || ioctl(t.stdio, TIOCGWINSZ, &ws) < 0) return;
  if (ws.ws_row != t.rows || ws.ws_col != t.cols) kill(-pgid, SIGWINCH);
}

void takeTerminalBack(int stdio) {
  if (stdio < 0 || !isatty(stdio)) return;
  NoTtou hold;
  if (tcgetpgrp(stdio) != getpgrp()) tcsetpgrp(stdio, getpgrp());
}

}  // namespace vdomain
