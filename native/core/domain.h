// A running mapping domain, as the supervisor's native side sees it: the keeper,
// the seccomp listener and its notify thread, the ptrace assist (remapped domains
// only) and the control thread that hears the keeper's reaps.
#pragma once
#include <sys/types.h>

#include <atomic>
#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <future>
#include <mutex>
#include <memory>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

#include "core/dump.h"
#include "core/plan_builder.h"
#include "resources/registers/registers.h"
#include "core/rules.h"
#include "core/table.h"
#include "resources/terminal/terminal.h"

namespace vdomain {

// write() until all of it is written (or an error).
bool writeAll(int fd, const void* p, size_t len);
bool readAll(int fd, void* p, size_t len);  // false on EOF or error
bool sendFd(int sock, int fd, char tag = 'P');  // one byte carrying fd (SCM_RIGHTS)

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

// One process of an image being restored (see struct vd_tree_proc in plan.h).
struct RestoredProcess {
  pid_t vpid = 0;              // taken back as the real PID when the kernel allows
  int parent = -1;             // index of the parent; -1 for the root
  int groupOf = -1;            // joins the group of that (earlier) process; -1: its parent's
  bool setsid = false;         // leads a session of its own
  bool zombie = false;         // had exited, unreaped: ends at once with `status`
  int status = 0;
  int ctty = -1;               // its session's controlling terminal: the pty of that master's shared entry
  int ttyForeground = -1;      // its group is the foreground of the pty of that master's shared entry
  std::vector<uint8_t> plan;   // struct vd_plan, without the filter (added when remapped)
  int pagesFd = -1;            // its page file, handed to the keeper's child
  TaskRegisters regs;          // its main thread's
  struct Thread {
    pid_t vtid = 0;
    TaskRegisters regs;
    uint64_t clearChildTid = 0;  // where glibc's descriptor holds its TID
  };
  std::vector<Thread> threads; // the others, in the plan's order (struct vd_thread)
};

// A file made once for the whole tree (see struct vd_shared_file in plan.h).
struct SharedFile {
  bool pipe = false;           // a pipe end (of the FIFO at path, if there is one); else a file opened by path
  uint32_t flags = 0;
  uint64_t pos = 0;
  uint64_t pipeId = 0;         // the old pipe's inode: its ends share it
  bool writeEnd = false;
  int pipeSize = 0;
  std::string path;
  std::vector<uint8_t> data;   // a pipe's bytes in flight
  bool mqueue = false;         // a POSIX message queue (path: its name, "/NAME")
  bool pty = false;            // an end of a pty pair (pipeId: its old number; writeEnd: the master,
                               // data its vd_pty_image)
  bool deleted = false;        // a file deleted while open (path: where it was): its contents are
  int contentProc = -1;        // contentLen bytes at contentOff of process contentProc's page file
  uint64_t contentOff = 0, contentLen = 0;
  DeletedFile shape;           // deleted: its extents, size, mode and owner
};

// A restore instead of a fresh job: the tree the keeper's child becomes.
struct RestoreConfig {
  std::vector<RestoredProcess> procs;  // creation order: parents (and joined groups) first
  std::vector<SharedFile> shared;      // index = VD_FD_SHARED's
  TerminalState terminal;              // foreground: a virtual PGID (0: not the job's)
  pid_t nextVpid = 0;          // first virtual PID for processes created after the restore
};

// A checkpoint run on the thread that traces the domain (see Domain::checkpoint).
struct CheckpointJob {
  CheckpointRequest req;
  std::promise<CheckpointResult> result;
  std::promise<bool> release;  // after a held checkpoint: true = kill the job
};

void runCheckpointJob(StopHandler* handler, CheckpointJob& job);

struct DomainConfig {
  std::string keeperPath;
  std::vector<std::string> argv;
  std::vector<uint8_t> filter;  // struct sock_filter[]
  RuleSet rules;
  pid_t vpidBase = 0;           // 0: identity domain
  bool noNewPrivs = false;      // the filter needs no_new_privs (not root)
  bool hostIpc = false;         // share the host's IPC namespace instead of one of the domain's own
  std::vector<int> inherited;   // fds beyond 0-2 the command inherited: the keeper (and job) get them at their numbers
  std::string sysvFile;         // a restore: the image's SysV objects (sysv.img), if it has any
  std::unique_ptr<RestoreConfig> restore;
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
  // From another thread while start() restores (the restore command got SIGTERM,
  // SIGINT or SIGHUP): the restore fails with `reason` wherever it is — held
  // processes killed, a wait on the keeper's child woken, the keeper told to end
  // the domain. False when the restore had already succeeded (nothing is undone).
  bool abortRestore(const std::string& reason);
  std::string abortReason();  // "" unless abortRestore was called in time
  // The keeper reaped the root (the restoring child, during a restore).
  void rootEnded();
  bool identity() { return table_.identity(); }
  // The domain has an IPC namespace of its own (the keeper made it): its SysV
  // objects are all and only the job's, and a checkpoint takes them.
  bool ownIpc() const { return ownIpc_; }
  // The keeper writes the domain's SysV objects to fd (while the job is frozen):
  // 0 or an errno.
  int dumpSysv(int fd);

  // Runs a checkpoint on the thread that may ptrace the domain (the tracer of a
  // remapped domain, a thread of its own otherwise). Results come through the job.
  void checkpoint(std::shared_ptr<CheckpointJob> job);

 private:
  void notifyLoop(int listener);
  void controlLoop();
  void tracerLoop();
  void startRestore();
  void spawnKeeper(bool restore, pid_t wantPid);
  void readRootPid();
  void tellKeeper(char what);  // one byte of the keeper protocol (native/keeper/keeper.c)
  std::string whatHappened();
  void setupListener(int fd);
  std::string restoreFailure(const std::string& fallback);

 public:
  // Used by the tracer thread: checkpoint jobs posted to it, and the end of a restore.
  std::shared_ptr<CheckpointJob> takeJob();
  bool jobPending() const { return jobPending_.load(); }
  // A restored process died or could not be made: every held task is killed, the
  // restore fails with err (empty: the restoring process's own failure record).
  void restoreFailed(const std::string& err);
  // Opened once the whole restore is decided (every live process at its int3, or
  // one failed). An identity restore has one watcher thread per process and only
  // a task's tracer may detach it, so each watcher waits here and then detaches
  // its own (killed ones die as they go). Shared: a watcher may outlive startRestore.
  struct ReleaseGate {
    std::mutex mu;
    std::condition_variable cv;
    bool open = false;
    void openIt() {
      { std::lock_guard<std::mutex> g(mu); open = true; }
      cv.notify_all();
    }
    void wait() {
      std::unique_lock<std::mutex> g(mu);
      cv.wait(g, [this] { return open; });
    }
  };
  std::shared_ptr<ReleaseGate> releaseGate() const { return releaseGate_; }
  // A restored task (main thread or other) stopped at the blob's int3. Once every
  // task of its process has: load their registers (or kill the process on
  // failure), let each go (letGo: detach or continue, the caller's tracing),
  // report. True when that process is done with (finished or failed).
  bool restoredTaskStopped(pid_t tid, const std::function<void(pid_t)>& letGo);
  // The index in the tree of the process a task belongs to (-1: none of them).
  int restoredProcessOf(pid_t tid);
  // For a task restored remapped: the TID its memory still holds for it (0: its
  // real one, or none). Once per task: the tracer keeps it from then on.
  pid_t takeStaleTid(pid_t real);
  const RestoreConfig* restoreConfig() const { return cfg_.restore.get(); }
  // While a restore runs: the index in the tree of a real PID (-1: not one of them,
  // e.g. the restorer's page-filling thread, or not known yet).
  int restoredIndex(pid_t real);
  bool restoring() const { return restoring_.load(); }

 private:
  std::mutex jobMu_;
  std::deque<std::shared_ptr<CheckpointJob>> jobs_;
  std::atomic<bool> jobPending_{false};
  std::atomic<bool> tracerAlive_{false};
  std::atomic<pid_t> tracerTid_{0};
  std::promise<std::string> restoreDone_;  // "" when every live process is done, or the error
  std::mutex restoreMu_;
  bool restoreReported_ = false;
  size_t restoreLeft_ = 0;                 // live processes still in their restorer
  std::vector<pid_t> heldTasks_;           // restored tasks held stopped until every process is done
  std::shared_ptr<ReleaseGate> releaseGate_ = std::make_shared<ReleaseGate>();
  bool restoreSucceeded_ = false;          // (restoreMu_)
  std::string abortReason_;                // (restoreMu_)
  void failHeldLocked(const std::string& err);  // (restoreMu_ held)
  void breakRestoreLocked(const std::string& reason);  // failed, and a wait on the keeper's child woken (restoreMu_ held)
  std::vector<int> restoredListeners_;     // one per restored process (remapped)
  // The keeper child's failure record, once read: the tracer thread (seeing the
  // root die) and the restoring thread both ask for it, and recv gives it to one only.
  std::mutex failureMu_;
  bool failureRead_ = false;
  vd_failure failure_{};
  std::vector<pid_t> restoredReal_;        // real PID per index of the tree
  struct StoppedTasks {                    // of one process, at their int3
    bool main = false;
    std::vector<pid_t> threads;
  };
  std::map<int, StoppedTasks> stopped_;
  std::map<pid_t, pid_t> staleTids_;       // real TID → the TID its memory holds (see takeStaleTid)
  void noteStaleTid(pid_t real, uint64_t clearChildTid);
  std::atomic<bool> restoring_{false};
  int terminalTaken_ = -1;                 // our stdio whose foreground the restored job has

  DomainConfig cfg_;
  EventSink sink_;
  PidTable table_;
  pid_t keeper_ = -1;
  pid_t rootReal_ = -1;
  pid_t rootVirt_ = -1;
  int ctlFd_ = -1;
  int bootFd_ = -1;
  std::string ctlBuf_;
  bool ownIpc_ = false;
  std::mutex sysvMu_;                          // one SysV dump at a time
  std::shared_ptr<std::promise<int>> sysvDone_;  // the keeper's "P" answer
  std::thread controlThread_, tracerThread_;  // notify threads (one per listener) are detached
  // start() hands the root to the tracer thread, which must be the one to seize it
  std::atomic<int> seizeState_{0};  // 0 pending, 1 seized, -errno failed
};

}  // namespace vdomain
