// The job's terminal: its settings (termios) and which of the job's process
// groups is in the foreground, saved at checkpoint from the terminal the job got
// from vdomain (one of the keeper's standard streams) and put on the restoring
// command's terminal at restore (native/resources/terminal/terminal.cc, both sides).
#pragma once
#include <sys/types.h>

#include <string>
#include <vector>

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
// After every restore onto a terminal (of another size or not, a full-screen program
// must redraw): SIGWINCH to the terminal's foreground group if a process of the job
// (real PIDs) is in it: the job's own group, or vdomain's that the job's root shares.
void tellRedraw(const TerminalState& t, const std::vector<pid_t>& job);
// Why the terminal among holder's standard streams cannot be read ("" when it can,
// or when none is a terminal): checked before the job is stopped.
std::string terminalUnreadable(pid_t holder);
// holder's stream k if it is a terminal, as a descriptor of ours (ours: our own fd k,
// which the caller must not close); -1 if it is none, or with why when it cannot be opened.
int openHolderStream(pid_t holder, int k, bool& ours, std::string& why);

}  // namespace vdomain
