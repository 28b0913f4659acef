// signalfd(2), the dump side. What the kernel keeps of one (fs/signalfd.c and its
// fdinfo): the signal mask it takes ("sigmask", hex; SIGKILL and SIGSTOP never in
// it), the status flags (O_NONBLOCK) and close-on-exec (the files kind records
// those for every fd). The signals it would read are the process's pending ones,
// restored by the signals kind. Made again by restore_signalfd.c.
#include <cstdlib>

#include "resources/files/fd_kind.h"

namespace vdomain {

namespace {

bool takes(const OpenFd& f) { return f.target == "anon_inode:[signalfd]"; }

bool dump(const OpenFd& f, Json& j, std::string& why) {
  const std::string mask = fdinfoValue(f.fdinfo, "sigmask");
  char* end = nullptr;
  const unsigned long long value = strtoull(mask.c_str(), &end, 16);
  if (mask.empty() || *end) {
    why = "signalfd: its fdinfo shows no signal mask — not supported";
    return false;
  }
  j.key("mask").hex(value);
  return true;
}

}  // namespace

extern const FdKindDump signalfdFdKind = {"signalfd", takes, dump};

}  // namespace vdomain
