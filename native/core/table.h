// The domain's PID table: virtual ⇄ real for every task (process or thread) of a
// remapped domain. Shared by the notify thread and the ptrace-assist thread.
#pragma once
#include <sys/types.h>

#include <deque>
#include <mutex>
#include <unordered_map>
#include <vector>

namespace vdomain {

// A PID no process can have (above PID_MAX_LIMIT): a call given it fails with ESRCH.
constexpr pid_t kNoSuchPid = 0x3ffffff0;
constexpr pid_t kPidLimit = 4194304;  // PID_MAX_LIMIT on 64-bit

class PidTable {
 public:
  enum class State { Alive, Zombie, Reaped };
  struct Task {
    pid_t real;
    pid_t virt;
    pid_t realTgid;
    State state;
  };

  // base 0 = identity domain: every lookup returns its argument.
  explicit PidTable(pid_t base) : base_(base), next_(base) {}
  bool identity() const { return base_ == 0; }
  // Decided once a restore knows which PIDs it got; before any task is added.
  void setBase(pid_t base) { base_ = base; next_ = base; }

  // A new task seen by the ptrace assist (fork/clone event or first stop).
  pid_t add(pid_t real, pid_t realTgid);
  // An existing task (the root at start, or a restored one) with a chosen virtual PID.
  void addWithVirt(pid_t real, pid_t realTgid, pid_t virt);

  // real → virtual for results; outsiders (not of this domain) read as 0.
  pid_t toVirt(pid_t real);
  // virtual → real for arguments. Unknown virtual numbers pass unchanged (they name
  // processes outside the domain by their real PID) unless that number is the real
  // PID of a member, which the job must not be able to name: then kNoSuchPid.
  pid_t toReal(pid_t virt);
  // The virtual PID of the process (thread group) a task belongs to; 0 if unknown.
  pid_t processVirt(pid_t realTid);
  // Is `real` the real TID of a live thread in the same thread group as `caller`?
  bool isOwnThread(pid_t caller, pid_t real);
  // The real thread-group id of a task; 0 if unknown.
  pid_t tgidOf(pid_t realTid);

  void exited(pid_t realTid);   // a task died (a process becomes a zombie)
  void reaped(pid_t real);      // its parent (or the keeper) reaped it
  void execTookOver(pid_t formerTid, pid_t leader);  // a non-leader thread exec'd

  std::mutex mu;  // guards everything below; public so callers can batch lookups

 private:
  pid_t allocVirt();
  pid_t toVirtLocked(pid_t real);
  void dropVirtIfUnused(const Task& t);
  void collectGhosts();

  pid_t base_;
  pid_t next_;
  std::unordered_map<pid_t, Task> byReal_;
  std::unordered_map<pid_t, pid_t> virtToReal_;
  // reaped tasks whose PID still names a live process group: their virtual
  // number must keep translating until the group is empty
  std::vector<pid_t> lingering_;
  // reaped tasks kept for real → virtual only (a SIGCHLD may still be on its way)
  std::deque<pid_t> ghosts_;
};

}  // namespace vdomain
