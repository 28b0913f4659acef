// The native dumper: freezes the tasks of a domain, describes each process as
// JSON for the manifest (supervisor/manifest.ts) and writes its memory to a page
// file, while the job is frozen; then thaws it (or holds it for --kill).
//
// Each resource kind has its dump function in its folder, native/resources/KIND/,
// beside its part of the restorer blob (restore_KIND.c) and, where the keeper
// makes it, its keeper part: memory (dump_memory.cc ↔ restore_memory.c), files
// (dump_files.cc ↔ restore_files.c, keeper_files.c), locks, signals, task,
// threads, sysv (dump_sysv.cc ↔ keeper_sysv.c), registers (both directions in
// registers.cc), terminal.
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

// The process's memory policy (THP disable, MDWE, mlockall MCL_FUTURE), read by
// syscalls injected into its main thread (see dumpSignals: scratch is a page the
// dump mapped there, whose VmFlags show what new mappings get).
bool dumpMemoryPolicy(FrozenTask& t, uint64_t insn, uint64_t scratch, Json& j, std::string& err);

// Per kind; each appends its fields to the process's JSON object.
bool dumpTask(const ProcessIds& ids, int domainFilters, Json& j, Unsupported& u, std::string& err);
bool dumpRegisters(FrozenTask& t, Json& j, std::string& err);
// A task's scheduling ("sched": affinity, policy, priority, ioprio), read from
// outside. Restored by set_thread_state in native/resources/threads/restore_threads.c.
void dumpScheduling(pid_t tid, Json& j);
void dumpCreds(pid_t tid, Json& j);
// A thread other than the main one, frozen with its process.
struct ThreadToDump {
  FrozenTask* task;
  pid_t vtid;
  std::string comm;  // its name (/proc/PID/task/TID/comm)
};
// Signal state and per-thread state of the main thread (at the process's level,
// as a single-threaded process has it) and of each other thread ("threads").
// withScratch: more state read by injected syscalls, while they can be (scratch:
// a page of the process's for their answers).
bool dumpSignals(FrozenTask& main, std::vector<ThreadToDump>& threads, uint64_t syscallInsn, Json& j, std::string& err,
                 const std::function<bool(uint64_t scratch)>& withScratch);
// ownIpc: the domain has an IPC namespace of its own, so SysV shared memory it
// attached is dumped (its contents by the keeper) instead of refused.
bool dumpMemory(const ProcessIds& ids, bool ownIpc, PagesWriter& w, Json& j, Unsupported& u, std::string& err);
// Open file descriptions across the frozen tree: several fds (of one process or
// of several, after dup or fork) may be one. Each fd names its description by
// its first holder ("VPID:FD"); pipes are saved once, with their bytes in flight.
struct Descriptions {
  pid_t stdioPid = 0;                              // holds the job's standard streams at 0-2 (the keeper)
  std::map<std::pair<pid_t, int>, std::string> of; // (real pid, fd) → "VPID:FD" of the first holder
  std::set<std::pair<dev_t, ino_t>> pipesSaved;    // pipes and FIFOs whose contents are in a page file
  // OFD and flock locks saved already: (description, kind, write, start, len)
  std::set<std::tuple<std::string, int, bool, uint64_t, uint64_t>> locksSaved;
};
Descriptions mapDescriptions(const std::vector<ProcessIds>& processes, pid_t stdioPid, Unsupported& u);
bool dumpFiles(const ProcessIds& ids, Descriptions& d, PagesWriter& w, Json& j, Unsupported& u, std::string& err);
// A file lock the process holds (dump_locks.cc), taken again through fd by
// set_locks (native/restorer/restorer.c). len 0: to the end of the file.
struct HeldLock {
  enum Kind { Posix, Ofd, Flock } ;
  int fd;
  Kind kind;
  bool write;
  uint64_t start, len;
};
// Its POSIX locks, and the OFD/flock locks of descriptions not met before in d
// (each is saved once, with its first holder); what cannot be restored goes to u.
std::vector<HeldLock> collectLocks(const ProcessIds& ids, Descriptions& d, Unsupported& u);
void dumpLocks(const std::vector<HeldLock>& locks, Json& j);  // "locks": [...], when any
// Checks only (nothing written): what dumpMemory/dumpFiles would refuse.
// domainFilters: seccomp filters the domain itself installs (1 remapped, 0 identity)
void checkTask(const ProcessIds& ids, int domainFilters, Unsupported& u);
// checkMemory also says about how many bytes of memory dumpMemory would store now
// (to reserve the page file before the freeze).
uint64_t checkMemory(const ProcessIds& ids, bool ownIpc, Unsupported& u);
void checkFiles(const ProcessIds& ids, pid_t stdioPid, Unsupported& u);
// Shared anonymous memory mapped by several processes: not supported yet.
void checkSharedMemory(const std::vector<ProcessIds>& processes, Unsupported& u);
// System V IPC objects of the host's that the processes visibly use (a domain
// run with --host-ipc): refused (dump_sysv.cc).
void checkSysvIpc(const std::vector<ProcessIds>& processes, Unsupported& u);
// The domain's own SysV objects, dumped by its keeper into dir/sysv.img (removed
// when there are none): their summary for the manifest as JSON ("" when none),
// and the semaphore sets' values (for the processes' SEM_UNDO adjustments).
struct SemSet {
  int id;
  std::vector<uint16_t> values;
};
struct SysvDump {
  std::string summaryJson;
  std::vector<SemSet> semSets;
};
bool dumpSysv(const std::string& dir, const std::function<int(int)>& keeperDump, SysvDump& out, std::string& err);
// A process's SEM_UNDO adjustments ("semUndo": [[semid, semnum, adjustment]…]),
// injected into it with signals blocked and a scratch page (see dumpSignals).
// ending: the checkpoint ends the job (--kill).
bool dumpSemUndo(FrozenTask& main, const std::vector<ThreadToDump>& threads, bool ending, pid_t vpid, uint64_t insn,
                 uint64_t scratch, const std::vector<SemSet>& sets, Json& j, Unsupported& u, std::string& err);

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
