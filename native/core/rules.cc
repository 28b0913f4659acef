#include "core/rules.h"

#include <stdexcept>
#include <utility>

namespace vdomain {

namespace {

// The names are those of domains/syscalls.ts; "" means "not given".
template <typename E, size_t N>
E byName(const std::string& s, const std::pair<const char*, E> (&names)[N], const char* what) {
  for (auto& [name, value] : names)
    if (s == name) return value;
  throw std::invalid_argument(std::string("unknown ") + what + ": " + s);
}

}  // namespace

How parseHow(const std::string& s) {
  static const std::pair<const char*, How> names[] = {
      {"answer", How::Answer}, {"open", How::Open}, {"trace", How::Trace}};
  return byName(s, names, "syscall handling");
}

Answer parseAnswer(const std::string& s) {
  static const std::pair<const char*, Answer> names[] = {
      {"", Answer::None},           {"getpid", Answer::Getpid},   {"gettid", Answer::Gettid},
      {"getppid", Answer::Getppid}, {"getpgrp", Answer::Getpgrp}, {"getpgid", Answer::Getpgid},
      {"getsid", Answer::Getsid},   {"readlink-proc", Answer::ReadlinkProc}};
  return byName(s, names, "answer");
}

ArgKind parseArgKind(const std::string& s) {
  static const std::pair<const char*, ArgKind> names[] = {
      {"", ArgKind::None},
      {"pid", ArgKind::Pid},
      {"tid", ArgKind::Tid},
      {"pid-or-pgrp", ArgKind::PidOrPgrp},
      {"prio-who", ArgKind::PrioWho},
      {"ioprio-who", ArgKind::IoprioWho},
      {"waitid-id", ArgKind::WaitidId},
      {"pgrp-ptr", ArgKind::PgrpPtr},
      {"sigevent-tid", ArgKind::SigeventTid}};
  return byName(s, names, "argument kind");
}

ResultKind parseResultKind(const std::string& s) {
  static const std::pair<const char*, ResultKind> names[] = {
      {"", ResultKind::None}, {"pid", ResultKind::Pid}, {"siginfo", ResultKind::Siginfo}, {"signal-siginfo", ResultKind::SignalSiginfo}, {"pgrp-ptr", ResultKind::PgrpPtr}};
  return byName(s, names, "result kind");
}

}  // namespace vdomain
