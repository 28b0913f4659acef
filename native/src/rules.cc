#include "rules.h"

#include <stdexcept>

namespace vdomain {

How parseHow(const std::string& s) {
  if (s == "answer") return How::Answer;
  if (s == "open") return How::Open;
  if (s == "trace") return How::Trace;
  throw std::invalid_argument("unknown syscall handling: " + s);
}

Answer parseAnswer(const std::string& s) {
  if (s.empty()) return Answer::None;
  if (s == "getpid") return Answer::Getpid;
  if (s == "gettid") return Answer::Gettid;
  if (s == "getppid") return Answer::Getppid;
  if (s == "getpgrp") return Answer::Getpgrp;
  if (s == "getpgid") return Answer::Getpgid;
  if (s == "getsid") return Answer::Getsid;
  if (s == "readlink-proc") return Answer::ReadlinkProc;
  throw std::invalid_argument("unknown answer: " + s);
}

ArgKind parseArgKind(const std::string& s) {
  if (s.empty()) return ArgKind::None;
  if (s == "pid") return ArgKind::Pid;
  if (s == "tid") return ArgKind::Tid;
  if (s == "pid-or-pgrp") return ArgKind::PidOrPgrp;
  if (s == "prio-who") return ArgKind::PrioWho;
  if (s == "ioprio-who") return ArgKind::IoprioWho;
  if (s == "waitid-id") return ArgKind::WaitidId;
  if (s == "pgrp-ptr") return ArgKind::PgrpPtr;
  throw std::invalid_argument("unknown argument kind: " + s);
}

ResultKind parseResultKind(const std::string& s) {
  if (s.empty()) return ResultKind::None;
  if (s == "pid") return ResultKind::Pid;
  if (s == "siginfo") return ResultKind::Siginfo;
  if (s == "pgrp-ptr") return ResultKind::PgrpPtr;
  throw std::invalid_argument("unknown result kind: " + s);
}

}  // namespace vdomain
