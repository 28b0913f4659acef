// The native dumper: freezes the tasks of a domain, describes each process as
// JSON for the manifest (supervisor/manifest.ts) and writes its memory to a page
// file, while the job is frozen; then thaws it (or holds it for --kill).
//
// Each resource kind has its dump part (a DumpKind, below) in its folder,
// native/resources/KIND/dump_KIND.cc, beside its part of the restorer blob
// (restore_KIND.c) and, where the keeper makes it, its keeper part; the
// checkpoint (dump.cc) runs them in the order of the kinds table
// (native/resources/kinds.cc).
#pragma once
#include <sys/types.h>
#include <sys/user.h>

#include <cstdint>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "core/json.h"
#include "core/pages_writer.h"
#include "resources/terminal/terminal.h"

namespace vdomain {

class PidTable;

// A task held in a ptrace stop by the dumper.
struct FrozenTask {
  pid_t tid = 0;
  user_regs_struct regs{};   // as found
  bool haveRegs = false;     // regs were read: thaw may write them back
  bool groupStopped = false; // it was stopped by job control: stays so
  bool seized = false;       // seized by the dumper (identity domain): detach after
  bool vanished = false;     // it ended before it could be frozen
};

// Something of the job vdomain cannot restore yet: checkpoint refuses, naming it.
struct Unsupported {
  std::vector<std::string> items;  // "pid 4711 fd 5: socket — not supported"
  void add(pid_t vpid, const std::string& what) { items.push_back("pid " + std::to_string(vpid) + " " + what); }
};

struct ProcessIds {
  pid_t real, vpid, vppid, vpgid, vsid;
};

// A thread other than the main one, frozen with its process.
struct ThreadToDump {
  FrozenTask* task;
  pid_t vtid;
  std::string comm;  // its name (/proc/PID/task/TID/comm)
};

// Open file descriptions across the frozen tree: several fds (of one process or
// of several, after dup or fork) may be one. Each fd names its description by
// its first holder ("VPID:FD"); pipes are saved once, with their bytes in flight.
// (The files kind's; the locks kind reads it.)
struct Descriptions {
  pid_t stdioPid = 0;                              // holds the job's standard streams at 0-2 (the keeper)
  std::map<std::pair<pid_t, int>, std::string> of; // (real pid, fd) → "VPID:FD" of the first holder
  std::map<std::string, int> holders;              // "VPID:FD" → how many fds hold it
  std::set<std::pair<dev_t, ino_t>> pipesSaved;    // pipes and FIFOs whose contents are in a page file
  // OFD and flock locks saved already: (description, kind, write, start, len)
  std::set<std::tuple<std::string, int, bool, uint64_t, uint64_t>> locksSaved;
};

// The domain's SysV semaphore sets' values (the sysv kind's: the processes'
// SEM_UNDO adjustments are read against them).
struct SemSet {
  int id;
  std::vector<uint16_t> values;
};

struct CheckpointRequest;
struct CheckpointResult;

// One checkpoint, as each resource kind's dump part sees it.
struct DumpRun {
  const CheckpointRequest& req;
  CheckpointResult& res;
  bool ownIpc = false;      // the domain has an IPC namespace of its own (its SysV objects are dumped)
  int domainFilters = 0;    // seccomp filters the domain itself installs (1 remapped, 0 identity)
  Unsupported u;            // what the job holds that cannot be restored: the checkpoint refuses
  std::string err;          // why a dump part failed
  std::map<pid_t, uint64_t> toStore;  // memory: about how many bytes each process would store
  Descriptions descs;                 // files: which fds are one description (locks reads it)
  std::vector<SemSet> semSets;        // sysv: the domain's semaphore sets, as frozen
  // epoll: per epoll fd (real pid, fd), its watches (fdinfo's order) with an
  // edge-triggered event not yet collected (resources/epoll/dump_epoll.cc)
  std::map<std::pair<pid_t, int>, std::vector<bool>> epollPending;
  // memory: per shared anonymous mapping (real pid, start), which of its pages
  // its object holds (mincore, asked as the process: pagemap shows only the
  // pages in the process's page tables); per object (shmem inode), the pages an
  // earlier process stored already (each is stored once)
  std::map<std::pair<pid_t, uint64_t>, std::vector<uint8_t>> shmemInCore;
  std::map<uint64_t, std::vector<bool>> shmemStored;
  // memory: the deleted files mapped whose contents are saved already (fileKey)
  std::set<std::string> deletedSaved;
  // pty: per pair the job holds the master of (its index), the pair's state as
  // a JSON object, read once frozen (resources/pty/dump_pty.cc)
  std::map<unsigned, std::string> ptyPairs;
  // the tree is frozen (the kinds' checks before it see a running job: what they
  // find may change by the freeze, so some wait for this to refuse)
  bool frozen = false;
};

// One process being dumped (frozen).
struct ProcessDump {
  const ProcessIds& ids;
  FrozenTask& main;
  std::vector<ThreadToDump>& threads;
  uint64_t syscallInsn;  // a syscall instruction in its vDSO, for injected calls
  // during dumpInjected: a page of its own for the calls' answers, one r-x for
  // their stub, and each task's own signal mask (masks[0] the main thread's,
  // then threads' in order; all are blocked meanwhile)
  uint64_t scratch = 0, code = 0;
  std::vector<uint64_t> masks;
  PagesWriter& pages;    // its page file
  Json& j;               // its object in the manifest's processes
  Json& kinds;           // its "kinds" object: the process kinds' states (resources/kinds.h)
};

// A resource kind's dump side (native/resources/KIND/dump_KIND.cc), run by the
// checkpoint (dump.cc) in the order of the kinds table (native/resources/kinds.cc).
// Every part is optional. A refusal goes to run.u naming what and where; a
// failure returns false with run.err.
struct DumpKind {
  const char* name;
  // before the freeze, per process: what would be refused (nothing is written)
  void (*check)(DumpRun& run, const ProcessIds& ids);
  // the whole tree, before the freeze and again once it is frozen
  void (*checkTree)(DumpRun& run, const std::vector<ProcessIds>& processes);
  // frozen, once, before the processes: the domain's own objects
  bool (*dumpDomain)(DumpRun& run);
  // frozen, per process, with every signal blocked in each of its tasks and
  // p.scratch mapped: state only the task can tell (injected syscalls)
  bool (*dumpInjected)(DumpRun& run, ProcessDump& p);
  // frozen, per process, after the injected part
  bool (*dump)(DumpRun& run, ProcessDump& p);
};
extern const DumpKind* const kDumpKinds[];  // native/resources/kinds.cc
extern const size_t kDumpKindCount;

// Shared by kinds: a task's registers ("regs", "fpregs"), its scheduling ("sched":
// affinity, policy, priority, ioprio; restored by set_thread_state in
// native/resources/threads/restore_threads.c) and its credentials.
bool dumpRegisters(FrozenTask& t, Json& j, std::string& err);
void dumpScheduling(pid_t tid, Json& j);
void dumpCreds(pid_t tid, Json& j);

// The whole checkpoint of a domain, run on the thread that is (or becomes) the
// tasks' tracer.
struct CheckpointRequest {
  std::string dir;                 // an empty directory to write the page files to
  std::vector<ProcessIds> processes;
  pid_t stdioPid = 0;              // holds the job's standard streams (the keeper)
  std::function<pid_t(pid_t)> virtualize;  // real → virtual PID (identity: the same; outside a remapped domain: 0)
  bool hold = false;               // keep the job frozen until release()
  // called with true before the dumper changes the job's state from outside
  // (injected syscalls, a blocked mask) and with false once it is put back
  std::function<void(bool)> altering;
  // set when the domain has an IPC namespace of its own: its keeper writes the
  // SysV objects to the fd given (0 or an errno)
  std::function<int(int)> dumpSysv;
};

struct CheckpointResult {
  bool ok = false;
  std::string error;               // one line
  std::vector<std::string> unsupported;
  std::string processesJson;       // JSON array of ProcessImage
  struct File { std::string name; uint64_t size; uint32_t crc; };
  std::vector<File> files;
  double frozenMs = 0, dumpMs = 0;
  double freezeAtMs = 0;  // when the freeze began, from the start of the checkpoint
  TerminalState terminal;  // the job's terminal, as the job left it (foreground: real PGID)
  std::vector<ProcessIds> processes;  // the tree as frozen (processesJson's, in that order)
  struct Zombie {
    ProcessIds ids;
    std::string comm;
    int status;  // its wait status
  };
  std::vector<Zombie> zombies;
  std::string sysvJson;  // the SysV objects' summary (JSON array), "" when none
};

// Stops that are not the dumper's own (a remapped domain's tracer must handle a
// seccomp or syscall-exit stop that comes before the interrupt).
struct StopHandler {
  virtual void handleStop(pid_t tid, int status) = 0;
  virtual ~StopHandler() = default;
};

class Checkpointer {
 public:
  // handler == nullptr: the domain has no tracer; the dumper seizes the tasks and
  // detaches when done.
  Checkpointer(StopHandler* handler) : handler_(handler) {}
  CheckpointResult run(const CheckpointRequest& req);
  // After run() with hold: let the job go on, or kill it.
  void release(bool kill);
  bool holding() const { return !frozen_.empty(); }

 private:
  bool freeze(pid_t tid, FrozenTask& t, std::string& err);
  bool freezeTree(const CheckpointRequest& req, std::vector<ProcessIds>& procs, CheckpointResult& res, std::string& err);
  // The other threads of a process whose main thread is frozen, until none is new.
  bool freezeThreads(const ProcessIds& p, std::vector<size_t>& threads, CheckpointResult& res, std::string& err);
  void thaw(FrozenTask& t);
  StopHandler* handler_;
  std::vector<FrozenTask> frozen_;
  // per process frozen (in freezeTree's order): its main thread and its other threads, as indices in frozen_
  struct Tasks {
    size_t main;
    std::vector<size_t> threads;
  };
  std::vector<Tasks> tasksOf_;
};

}  // namespace vdomain
