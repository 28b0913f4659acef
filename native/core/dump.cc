#include "core/dump.h"
#include "core/procfs.h"

#include <errno.h>
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/ptrace.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <memory>
#include <cstdlib>
#include <cstdio>
#include <cstring>
#include <algorithm>
#include <map>
#include <set>

#include "core/checksum.h"
#include "core/task_regs.h"

namespace vdomain {

namespace {
const char* const kHoldsUnsupported = "the job holds what vdomain cannot restore yet";

double msSince(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
}

// pid's parent, group and session as /proc says now, and its state (Z: a zombie,
// *status then its wait status); false when it is gone.
bool readIds(pid_t pid, pid_t* ppid, pid_t* pgid, pid_t* sid, std::string* comm, char* state, int* status) {
  std::vector<std::string> f;
  if (!readStat(pid, *comm, f) || f.size() < 50) return false;
  *state = f[0][0];
  *ppid = (pid_t)atoi(f[1].c_str());
  *pgid = (pid_t)atoi(f[2].c_str());
  *sid = (pid_t)atoi(f[3].c_str());
  *status = atoi(f[49].c_str());
  return *state != 'X';
}

// The TIDs of a process's threads other than the main one.
std::vector<pid_t> threadsOf(pid_t pid) {
  std::vector<pid_t> out;
  std::string dir = "/proc/" + std::to_string(pid) + "/task";
  if (DIR* d = opendir(dir.c_str())) {
    while (dirent* e = readdir(d)) {
      pid_t tid = (pid_t)atoi(e->d_name);
      if (tid > 0 && tid != pid) out.push_back(tid);
    }
    closedir(d);
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::vector<pid_t> childrenOf(pid_t pid) {
  std::vector<pid_t> out;
  std::string list = readProcFile(pid, ("task/" + std::to_string(pid) + "/children").c_str());
  const char* c = list.c_str();
  for (char* end;; c = end) {
    pid_t child = (pid_t)strtol(c, &end, 10);
    if (end == c) break;
    out.push_back(child);
  }
  return out;
}
}  // namespace

// ---- freezing --------------------------------------------------------------

bool Checkpointer::freeze(pid_t tid, FrozenTask& t, std::string& err) {
  t.tid = tid;
  if (!handler_) {
    if (ptrace(PTRACE_SEIZE, tid, 0, PTRACE_O_TRACESYSGOOD) < 0) {
      // an exiting task refuses with EPERM, as a traced one does: tell them apart
      pid_t ppid, pgid, sid;
      std::string comm;
      char state;
      int status;
      t.vanished = errno == ESRCH || !readIds(tid, &ppid, &pgid, &sid, &comm, &state, &status) || state == 'Z';
      if (t.vanished) errno = ESRCH;
      err = errno == EPERM ? "pid " + std::to_string(tid) + " is being traced by another program (a debugger?)"
                           : "cannot trace pid " + std::to_string(tid) + ": " + strerror(errno);
      return false;
    }
    t.seized = true;
  }
  if (ptrace(PTRACE_INTERRUPT, tid, 0, 0L) < 0) {
    t.vanished = errno == ESRCH;
    err = "cannot stop pid " + std::to_string(tid) + ": " + strerror(errno);
    return false;
  }
  for (;;) {
    int st;
    pid_t r = waitpid(tid, &st, __WALL);
    if (r < 0 && errno == EINTR) continue;
    if (r != tid) {
      t.vanished = true;
      err = "pid " + std::to_string(tid) + " vanished during the checkpoint";
      return false;
    }
    if (WIFEXITED(st) || WIFSIGNALED(st)) {
      if (handler_) handler_->handleStop(tid, st);
      t.vanished = true;
      err = "pid " + std::to_string(tid) + " exited during the checkpoint";
      return false;
    }
    if ((st >> 16) == PTRACE_EVENT_STOP) {
      int sig = WSTOPSIG(st);
      t.groupStopped = sig == SIGSTOP || sig == SIGTSTP || sig == SIGTTIN || sig == SIGTTOU;
      break;
    }
    if (handler_) {
      handler_->handleStop(tid, st);  // a stop of the domain's own business: let it run on
    } else {
      // a signal about to be delivered: pass it on
      int sig = ((st >> 16) == 0 && WSTOPSIG(st) != (SIGTRAP | 0x80)) ? WSTOPSIG(st) : 0;
      ptrace(PTRACE_CONT, tid, 0, (long)sig);
    }
    // Any ptrace stop (seccomp, syscall, signal) consumes a pending interrupt
    // without reporting it: ask again, until the task stops for us. (If the task
    // trapped before this request, one more interrupt trap follows the thaw or
    // an injected syscall: both step over it.)
    if (ptrace(PTRACE_INTERRUPT, tid, 0, 0L) < 0 && errno != ESRCH) {
      err = "cannot stop pid " + std::to_string(tid) + ": " + strerror(errno);
      return false;
    }
  }
  if (!getRegs(tid, t.regs)) {
    err = "cannot read the registers of pid " + std::to_string(tid) + ": " + strerror(errno);
    return false;
  }
  t.haveRegs = true;
  // Stopped by job control (Ctrl-Z, SIGSTOP) between the check and the freeze: the
  // syscalls the dump injects would end that stop. Leave it stopped, refuse.
  if (t.groupStopped) {
    err = "is stopped (job control) — continue it (fg, kill -CONT) and checkpoint again";
    return false;
  }
  return true;
}

void Checkpointer::thaw(FrozenTask& t) {
  // a syscall the interrupt broke off runs again (see normalizeSyscallRestart)
  if (t.haveRegs) {
    user_regs_struct r = t.regs;
    normalizeSyscallRestart(r, true);
    setRegs(t.tid, r);
  }
  if (t.seized) ptrace(PTRACE_DETACH, t.tid, 0, 0L);
  else if (t.groupStopped) ptrace(PTRACE_LISTEN, t.tid, 0, 0L);
  else ptrace(PTRACE_CONT, t.tid, 0, 0L);
}

void Checkpointer::release(bool kill) {
  for (auto& t : frozen_) {
    if (kill) {
      ::kill(t.tid, SIGKILL);
      if (t.seized) ptrace(PTRACE_DETACH, t.tid, 0, 0L);
    } else {
      thaw(t);
    }
  }
  frozen_.clear();
  tasksOf_.clear();
}

// ---- the tree, frozen ----------------------------------------------------------

// The listed processes are frozen parent first (a frozen process forks no more
// and reaps nothing), then whatever the frozen ones and the keeper have as
// children that the listing missed (born since), until nothing new appears.
// A process gone since the listing is left out (its parent's zombie, if it is
// one now). Then every process's ids are read again: the image is the tree as
// it was frozen, however it changed meanwhile.
bool Checkpointer::freezeTree(const CheckpointRequest& req, std::vector<ProcessIds>& procs, CheckpointResult& res,
                              std::string& err) {
  auto virt = [&](pid_t real) { return req.virtualize ? req.virtualize(real) : real; };
  std::vector<ProcessIds> todo = req.processes;
  std::map<pid_t, pid_t> parentOf;  // vpid → vppid, within the listing
  for (auto& p : todo) parentOf[p.vpid] = p.vppid;
  std::map<pid_t, int> depth;  // vpid → how many listed ancestors
  for (auto& p : todo) {
    int d = 0;
    for (auto up = parentOf.find(p.vppid); up != parentOf.end() && d < 4096; up = parentOf.find(up->second)) d++;
    depth[p.vpid] = d;
  }
  std::stable_sort(todo.begin(), todo.end(),
                   [&](const ProcessIds& a, const ProcessIds& b) { return depth[a.vpid] < depth[b.vpid]; });
  const pid_t root = todo.empty() ? 0 : todo[0].real;
  std::vector<pid_t> seen;  // every real PID met: frozen, zombie or gone
  for (auto& p : todo) seen.push_back(p.real);

  for (size_t next = 0;;) {
    for (; next < todo.size(); next++) {
      const ProcessIds& p = todo[next];
      FrozenTask t;
      bool ok = freeze(p.real, t, err);
      if (t.seized || handler_) frozen_.push_back(t);
      if (ok) {
        Tasks tasks{frozen_.size() - 1, {}};
        if (!freezeThreads(p, tasks.threads, res, err)) return false;
        procs.push_back(p);
        tasksOf_.push_back(std::move(tasks));
        continue;
      }
      if (t.groupStopped) {
        res.unsupported.push_back("pid " + std::to_string(p.vpid) + " " + err);
        return false;
      }
      if (!t.vanished) return false;
      if (t.seized || handler_) frozen_.pop_back();
      if (p.real == root) {
        err = "the job ended during the checkpoint";
        return false;
      }
      err.clear();  // gone: a zombie now (found below, with its parent), or reaped
    }
    // children the listing missed, of the frozen processes and of the keeper (orphans)
    size_t before = todo.size();
    std::vector<pid_t> parents;
    for (auto& p : procs) parents.push_back(p.real);
    if (req.stdioPid > 0) parents.push_back(req.stdioPid);
    for (pid_t parent : parents)
      for (pid_t c : childrenOf(parent)) {
        if (std::find(seen.begin(), seen.end(), c) != seen.end()) continue;
        pid_t ppid, pgid, sid;
        std::string comm;
        char state;
        int status;
        if (!readIds(c, &ppid, &pgid, &sid, &comm, &state, &status) || state == 'Z') continue;  // zombies: below
        seen.push_back(c);
        todo.push_back({c, virt(c), virt(ppid), virt(pgid), virt(sid)});
      }
    if (todo.size() == before) break;
  }

  // As frozen: parents, groups, sessions (an orphan's parent is the keeper now),
  // and the zombies of frozen parents (the keeper's own it reaps: not the job's).
  for (auto& p : procs) {
    pid_t ppid, pgid, sid;
    std::string comm;
    char state;
    int status;
    if (!readIds(p.real, &ppid, &pgid, &sid, &comm, &state, &status)) {
      err = "pid " + std::to_string(p.vpid) + " ended during the checkpoint";
      return false;
    }
    p.vppid = virt(ppid), p.vpgid = virt(pgid), p.vsid = virt(sid);
    for (pid_t c : childrenOf(p.real)) {
      if (readIds(c, &ppid, &pgid, &sid, &comm, &state, &status) && state == 'Z')
        res.zombies.push_back({{c, virt(c), p.vpid, virt(pgid), virt(sid)}, comm, status});
    }
  }
  return true;
}

bool Checkpointer::freezeThreads(const ProcessIds& p, std::vector<size_t>& threads, CheckpointResult& res,
                                 std::string& err) {
  std::set<pid_t> met{p.real};
  for (bool fresh = true; fresh;) {
    fresh = false;
    for (pid_t tid : threadsOf(p.real)) {
      if (!met.insert(tid).second) continue;
      fresh = true;
      FrozenTask t;
      bool ok = freeze(tid, t, err);
      if (t.seized || handler_) frozen_.push_back(t);
      if (ok) {
        threads.push_back(frozen_.size() - 1);
        continue;
      }
      if (t.groupStopped) {
        res.unsupported.push_back("pid " + std::to_string(p.vpid) + " " + err);
        return false;
      }
      if (!t.vanished) return false;
      if (t.seized || handler_) frozen_.pop_back();  // a thread that ended meanwhile
      err.clear();
    }
  }
  return true;
}

// ---- the whole checkpoint ---------------------------------------------------

CheckpointResult Checkpointer::run(const CheckpointRequest& req) {
  CheckpointResult res;
  auto t0 = std::chrono::steady_clock::now();
  auto fail = [&](std::string e) {
    release(false);
    res.ok = false;
    res.error = std::move(e);
    return res;
  };

  // What cannot be restored is refused before the job is even stopped…
  Unsupported u;
  const bool ownIpc = (bool)req.dumpSysv;
  std::map<pid_t, uint64_t> toStore;  // bytes of memory each process would store now
  for (auto& p : req.processes) {
    checkTask(p, handler_ ? 1 : 0, u);
    toStore[p.real] = checkMemory(p, ownIpc, u);
    checkFiles(p, req.stdioPid, u);
  }
  if (req.processes.size() > 1) checkSharedMemory(req.processes, u);
  if (!ownIpc) checkSysvIpc(req.processes, u);
  Descriptions listed = mapDescriptions(req.processes, req.stdioPid, u);
  for (auto& p : req.processes) collectLocks(p, listed, u);
  if (req.stdioPid > 0) {
    std::string why = terminalUnreadable(req.stdioPid);
    if (!why.empty()) u.items.push_back(why);
  }
  if (!u.items.empty()) {
    res.unsupported = u.items;
    res.error = kHoldsUnsupported;
    return res;
  }

  // VDOMAIN_DUMP_TRACE=1 prints how long each part takes (to the supervisor's stderr)
  static const bool trace = getenv("VDOMAIN_DUMP_TRACE") != nullptr;
  auto tp = std::chrono::steady_clock::now();
  auto phase = [&](const char* what, bool r) {
    if (trace) fprintf(stderr, "dump %s: %.2f ms\n", what, msSince(tp));
    tp = std::chrono::steady_clock::now();
    return r;
  };
  PagesWriter::prepareBuffers();  // before the freeze: see there
  // The page files, their room allocated while the job still runs (see reserve)
  std::map<pid_t, std::unique_ptr<PagesWriter>> writers;
  auto pagesName = [](const ProcessIds& p) { return "pages-" + std::to_string(p.vpid) + ".img"; };
  for (auto& p : req.processes) {
    auto w = std::make_unique<PagesWriter>(req.dir + "/" + pagesName(p));
    if (!w->ok()) return fail(pagesName(p) + ": " + strerror(w->error()));
    w->reserve(toStore[p.real]);
    writers[p.real] = std::move(w);
  }
  phase("reserve", true);

  auto tFreeze = std::chrono::steady_clock::now();
  res.freezeAtMs = msSince(t0);
  tp = tFreeze;
  std::vector<ProcessIds> procs;  // as frozen: tasksOf_[i] are procs[i]'s
  std::string err;
  if (!freezeTree(req, procs, res, err)) {
    if (res.unsupported.empty()) return fail(err);
    return fail(kHoldsUnsupported);
  }
  phase("freeze", true);
  res.processes = procs;
  if (procs.size() > 1) checkSharedMemory(procs, u);
  if (!ownIpc) checkSysvIpc(procs, u);

  // which fds are one open file description, now that nothing can change them
  Descriptions descs = mapDescriptions(procs, req.stdioPid, u);
  // the domain's SysV objects first: the processes' SEM_UNDO adjustments are
  // read against the semaphores' values
  SysvDump sysv;
  if (ownIpc && !phase("sysv", dumpSysv(req.dir, req.dumpSysv, sysv, err))) return fail(err);
  res.sysvJson = sysv.summaryJson;
  Json j;
  j.beginArray();
  // The last writer's buffered tail is written after the thaw: the buffer holds
  // a consistent copy already, and the job need not wait for the disk.
  std::unique_ptr<PagesWriter> last;
  for (size_t i = 0; i < procs.size(); i++) {
    const ProcessIds& p = procs[i];
    FrozenTask& t = frozen_[tasksOf_[i].main];
    std::vector<ThreadToDump> threads;
    for (size_t k : tasksOf_[i].threads) {
      FrozenTask& th = frozen_[k];
      std::string name = readProcFile(p.real, ("task/" + std::to_string(th.tid) + "/comm").c_str());
      if (!name.empty() && name.back() == '\n') name.pop_back();
      threads.push_back({&th, req.virtualize ? req.virtualize(th.tid) : th.tid, name});
    }
    const std::string name = pagesName(p);
    auto writer = std::move(writers[p.real]);  // born during the freeze: none yet
    writers.erase(p.real);
    if (!writer) writer = std::make_unique<PagesWriter>(req.dir + "/" + name);
    PagesWriter& w = *writer;
    if (!w.ok()) return fail(name + ": " + strerror(w.error()));
    std::string err;
    uint64_t insn = findSyscallInsn(p.real);
    if (!insn) return fail("pid " + std::to_string(p.vpid) + ": no syscall instruction in its vDSO");
    j.beginObject();
    phase("setup", true);
    auto alteringSignals = [&](FrozenTask& task, uint64_t at) {
      if (req.altering) req.altering(true);
      bool r = dumpSignals(task, threads, at, j, err, [&](uint64_t scratch) {
        return dumpMemoryPolicy(task, at, scratch, j, err) && dumpSemUndo(task, threads, req.hold, p.vpid, at, scratch, sysv.semSets, j, u, err);
      });
      if (req.altering) req.altering(false);
      return r;
    };
    // …and checked again, frozen, where it counts
    bool ok = phase("task", dumpTask(p, handler_ ? 1 : 0, j, u, err)) && phase("registers", dumpRegisters(t, j, err)) &&
              phase("signals", alteringSignals(t, insn)) && phase("memory", dumpMemory(p, ownIpc, w, j, u, err)) &&
              phase("files", dumpFiles(p, descs, w, j, u, err)) &&
              phase("locks", (dumpLocks(collectLocks(p, descs, u), j), true));
    if (!ok || !u.items.empty()) {
      res.unsupported = u.items;
      return fail(err.empty() ? kHoldsUnsupported : err);
    }
    j.field("pagesFile", name).field("pagesBytes", w.offset());
    j.endObject();
    if (i + 1 < procs.size()) {
      if (!phase("flush", w.finish())) return fail(name + ": " + strerror(w.error()));
      res.files.push_back({name, w.offset(), w.crc()});
    } else {
      last = std::move(writer);
    }
  }
  j.endArray();
  res.processesJson = j.text();
  for (auto& [real, w] : writers) unlink(w->path().c_str());  // of processes gone before the freeze
  if (req.stdioPid > 0) res.terminal = readTerminal(req.stdioPid);
  if (!req.hold) release(false);
  phase("thaw", true);
  res.frozenMs = msSince(tFreeze);
  if (last) {
    const std::string lastName = last->path().substr(last->path().rfind('/') + 1);
    if (!phase("flush", last->finish())) {
      res.ok = false;
      res.error = lastName + ": " + strerror(last->error());
      return res;
    }
    res.files.push_back({lastName, last->offset(), last->crc()});
  }
  res.dumpMs = msSince(t0);
  res.ok = true;
  return res;
}

}  // namespace vdomain
