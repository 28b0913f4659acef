// A running mapping domain, as the supervisor's native side sees it: the keeper,
// the seccomp listener and its notify thread, the ptrace assist (remapped domains
// only) and the control thread that hears the keeper's reaps.
#pragma once
#include <sys/types.h>

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

#include "rules.h"
#include "table.h"

namespace vdomain {

// The job's own exec failed (its errno says why): not a failure of vdomain.
struct ExecError : std::system_error {
  using std::system_error::system_error;
};

// Lifecycle events for JavaScript: never one per syscall.
struct Event {
  std::string type;  // "exit" (root's wait status), "empty", "log"
  long a = 0;
  long b = 0;
  std::string text;
};
using EventSink = std::function<void(Event)>;

struct DomainConfig {
  std::string keeperPath;
  std::vector<std::string> argv;
  std::vector<uint8_t> filter;  // struct sock_filter[]
  RuleSet rules;
  pid_t vpidBase = 0;           // 0: identity domain
};

class Domain {
 public:
  Domain(DomainConfig cfg, EventSink sink);
  // Starts the keeper and the job; returns once the job's exec succeeded. On exec
  // failure throws std::system_error with the errno (ENOENT, EACCES, …).
  void start();

  pid_t rootPid() const { return rootReal_; }
  pid_t rootVirt() const { return rootVirt_; }
  pid_t keeperPid() const { return keeper_; }
  PidTable& table() { return table_; }
  const RuleSet& rules() const { return cfg_.rules; }
  void log(const std::string& level, const std::string& msg);
  void emit(Event e) { sink_(std::move(e)); }
  // Ask the keeper to kill every process of the domain.
  void terminate();

 private:
  void notifyLoop();
  void controlLoop();
  void tracerLoop();

  DomainConfig cfg_;
  EventSink sink_;
  PidTable table_;
  pid_t keeper_ = -1;
  pid_t rootReal_ = -1;
  pid_t rootVirt_ = -1;
  int ctlFd_ = -1;
  int bootFd_ = -1;
  int listenerFd_ = -1;
  std::string ctlBuf_;
  std::thread notifyThread_, controlThread_, tracerThread_;
  // start() hands the root to the tracer thread, which must be the one to seize it
  std::atomic<int> seizeState_{0};  // 0 pending, 1 seized, -errno failed
};

}  // namespace vdomain
