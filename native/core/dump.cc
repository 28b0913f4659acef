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

namespace {

// Each refusal once, in the order first met (a kind may meet one before the
// freeze and again frozen).
std::vector<std::string> distinct(const std::vector<std::string>& items) {
  std::vector<std::string> out;
  std::set<std::string> seen;
  for (auto& i : items)
    if (seen.insert(i).second) out.push_back(i);
  return out;
}

}  // namespace

CheckpointResult Checkpointer::run(const CheckpointRequest& req) {
  CheckpointResult res;
  auto t0 = std::chrono::steady_clock::now();
  auto fail = [&](std::string e) {
    release(false);
    res.ok = false;
    res.error = std::move(e);
    return res;
  };
  DumpRun run{req, res};
  run.ownIpc = (bool)req.dumpSysv;
  run.domainFilters = handler_ ? 1 : 0;
  const auto kinds = [](auto&& each) {
    for (size_t k = 0; k < kDumpKindCount; k++) each(*kDumpKinds[k]);
  };

  // What cannot be restored is refused before the job is even stopped…
  for (auto& p : req.processes)
    kinds([&](const DumpKind& k) { if (k.check) k.check(run, p); });
  kinds([&](const DumpKind& k) { if (k.checkTree) k.checkTree(run, req.processes); });
  if (!run.u.items.empty()) {
    res.unsupported = distinct(run.u.items);
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
    w->reserve(run.toStore[p.real]);
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
  run.frozen = true;
  res.processes = procs;
  // …and checked again frozen, where it counts (the tree may have changed)
  kinds([&](const DumpKind& k) { if (k.checkTree) k.checkTree(run, procs); });
  // the domain's own objects (its SysV objects: the processes' SEM_UNDO
  // adjustments are read against the semaphores' values)
  bool ok = true;
  kinds([&](const DumpKind& k) { ok = ok && (!k.dumpDomain || phase(k.name, k.dumpDomain(run))); });
  if (!ok) return fail(run.err);
  Json j;
  j.beginArray();
  // The last writer's buffered tail is written after the thaw: the buffer holds
  // a consistent copy already, and the job need not wait for the disk.
  std::unique_ptr<PagesWriter> last;
  for (size_t i = 0; i < procs.size(); i++) {
    const ProcessIds& ids = procs[i];
    FrozenTask& t = frozen_[tasksOf_[i].main];
    std::vector<ThreadToDump> threads;
    for (size_t k : tasksOf_[i].threads) {
      FrozenTask& th = frozen_[k];
      std::string name = readProcFile(ids.real, ("task/" + std::to_string(th.tid) + "/comm").c_str());
      if (!name.empty() && name.back() == '\n') name.pop_back();
      threads.push_back({&th, req.virtualize ? req.virtualize(th.tid) : th.tid, name});
    }
    const std::string name = pagesName(ids);
    auto writer = std::move(writers[ids.real]);  // born during the freeze: none yet
    writers.erase(ids.real);
    if (!writer) writer = std::make_unique<PagesWriter>(req.dir + "/" + name);
    PagesWriter& w = *writer;
    if (!w.ok()) return fail(name + ": " + strerror(w.error()));
    uint64_t insn = findSyscallInsn(ids.real);
    if (!insn) return fail("pid " + std::to_string(ids.vpid) + ": no syscall instruction in its vDSO");
    j.beginObject();
    phase("setup", true);
    Json kindStates;
    kindStates.beginObject();
    ProcessDump p{ids, t, threads, insn, 0, 0, {}, w, j, kindStates};
    // first what only its tasks can tell, by syscalls injected into them…
    if (req.altering) req.altering(true);
    ok = withInjection(t, threads, insn, run.err, [&](uint64_t scratch, uint64_t code, const std::vector<uint64_t>& masks) {
      p.scratch = scratch, p.code = code, p.masks = masks;
      bool all = true;
      kinds([&](const DumpKind& k) { all = all && (!k.dumpInjected || phase(k.name, k.dumpInjected(run, p))); });
      return all;
    });
    if (req.altering) req.altering(false);
    p.scratch = p.code = 0;
    // …then what is read from outside
    kinds([&](const DumpKind& k) { ok = ok && (!k.dump || phase(k.name, k.dump(run, p))); });
    if (!ok || !run.u.items.empty()) {
      res.unsupported = distinct(run.u.items);
      return fail(run.err.empty() ? kHoldsUnsupported : run.err);
    }
    kindStates.endObject();
    if (kindStates.text() != "{}") j.key("kinds").raw(kindStates.text());
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
