// pidfd_open(2) (and clone's CLONE_PIDFD), the dump side. What the kernel keeps
// of one (kernel/pid.c, its fdinfo): the process it refers to ("Pid:", in the
// dumper's PID namespace; -1 once that process is reaped), PIDFD_THREAD for one of
// a thread (O_EXCL in its flags), its status flags (PIDFD_NONBLOCK is O_NONBLOCK)
// and close-on-exec (the files kind records those). A pidfd of a process of the
// domain is restored to refer to that process as restored, whatever its PID is
// then (keeper_pidfd.c); one of a process outside the domain, of a thread, or of
// a process already reaped is refused. Made again by restore_pidfd.c.
#include <fcntl.h>

#include <cstdlib>

#include "core/dump.h"
#include "core/procfs.h"
#include "resources/files/fd_kind.h"

namespace vdomain {

namespace {

bool takes(const OpenFd& f) { return f.target == "anon_inode:[pidfd]"; }

bool dump(const OpenFd& f, Json& j, std::string& why) {
  const std::string pid = fdinfoValue(f.fdinfo, "Pid");
  char* end = nullptr;
  const long real = strtol(pid.c_str(), &end, 10);
  if (pid.empty() || *end) {
    why = "pidfd: its fdinfo shows no Pid — not supported";
    return false;
  }
  if (f.flags & O_EXCL) {
    why = "pidfd of a thread (PIDFD_THREAD) — not supported yet";
    return false;
  }
  if (real <= 0) {
    why = "pidfd of a process that has ended and been reaped — not supported";
    return false;
  }
  if (!f.run) return true;  // (before the freeze: the tree is known once frozen)
  for (auto& p : f.run->req.processes)
    if (p.real == real) {
      j.field("vpid", p.vpid);
      return true;
    }
  const std::string state = readProcFile((pid_t)real, "stat");
  const size_t paren = state.rfind(')');
  if (paren != std::string::npos && state.compare(paren + 1, 3, " Z ") == 0)
    why = "pidfd of a zombie (a child ended, not yet reaped) — not supported yet";
  else
    why = "pidfd of pid " + std::to_string(real) + ", a process outside the domain — not supported";
  return false;
}

}  // namespace

extern const FdKindDump pidfdFdKind = {"pidfd", takes, dump};

}  // namespace vdomain
