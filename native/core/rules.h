// The syscall table as the native side holds it: parsed once, at domain start,
// from domains/syscalls.ts (the one place that lists syscalls).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace vdomain {

enum class How : uint8_t { Answer, Open, Trace };
enum class Answer : uint8_t { None, Getpid, Gettid, Getppid, Getpgrp, Getpgid, Getsid, ReadlinkProc };
enum class ArgKind : uint8_t { None, Pid, Tid, PidOrPgrp, PrioWho, IoprioWho, WaitidId, PgrpPtr, SigeventTid };
enum class ResultKind : uint8_t { None, Pid, Siginfo, SignalSiginfo, PgrpPtr };

struct Rule {
  std::string name;
  int nr = -1;
  How how = How::Trace;
  Answer answer = Answer::None;
  ArgKind args[6] = {};
  ResultKind result = ResultKind::None;
  int out = -1;
  bool reaps = false;
};

struct RuleSet {
  std::vector<Rule> rules;           // by index (= SECCOMP_RET_DATA of a TRACE action)
  std::vector<int> byNr = std::vector<int>(512, -1);  // syscall number → index

  const Rule* forNr(int nr) const {
    if (nr < 0 || nr >= (int)byNr.size() || byNr[nr] < 0) return nullptr;
    return &rules[byNr[nr]];
  }
  const Rule* at(unsigned idx) const { return idx < rules.size() ? &rules[idx] : nullptr; }
};

// Parsing helpers: the names are those of domains/syscalls.ts.
How parseHow(const std::string& s);
Answer parseAnswer(const std::string& s);
ArgKind parseArgKind(const std::string& s);
ResultKind parseResultKind(const std::string& s);

}  // namespace vdomain
