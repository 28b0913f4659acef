// The job's terminal: its settings (termios) and which of the job's process
// groups is in the foreground, saved at checkpoint from the terminal the job got
// from vdomain (one of the keeper's standard streams) and put on the restoring
// command's terminal at restore (native/src/terminal.cc, both sides).
#pragma once
#include <sys/types.h>

#include <string>

namespace vdomain {

struct TerminalState {
  int stdio = -1;            // which standard stream is the terminal (-1: none is)
  std::string termios;       // struct termios, raw bytes
  pid_t foreground = 0;      // the terminal's foreground group (real PGID at checkpoint, virtual in the image)
  unsigned short rows = 0, cols = 0;  // its window size (0: not known)
};

// The first of holder's standard streams that is a terminal.
TerminalState readTerminal(pid_t holder);
// Our own standard stream t.stdio, if it is a terminal: t's settings, and the
// foreground to group pgid (0: leave it). False (err) when the terminal refuses.
bool applyTerminal(const TerminalState& t, pid_t pgid, std::string& err);
// The foreground back to our own group (the job ended).
void takeTerminalBack(int stdio);
// After a restore onto a terminal of another size: the job's foreground group
// pgid is told, as a resize would tell it (SIGWINCH).
void tellNewSize(const TerminalState& t, pid_t pgid);

}  // namespace vdomain
