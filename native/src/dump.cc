#include "dump.h"
#include "procfs.h"

#include <errno.h>
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

#include "checksum.h"
#include "task_regs.h"

namespace vdomain {

namespace {
const char* const kHoldsUnsupported = "the job holds what vdomain cannot restore yet";

double msSince(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
}
}  // namespace

// ---- freezing --------------------------------------------------------------

bool Checkpointer::freeze(pid_t tid, FrozenTask& t, std::string& err) {
  t.tid = tid;
  if (!handler_) {
    if (ptrace(PTRACE_SEIZE, tid, 0, PTRACE_O_TRACESYSGOOD) < 0) {
      t.vanished = errno == ESRCH;
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
  for (auto& p : req.processes) {
    checkTask(p, handler_ ? 1 : 0, u);
    checkMemory(p, u);
    checkFiles(p, req.stdioPid, u);
  }
  if (req.processes.size() > 1) checkSharedMemory(req.processes, u);
  mapDescriptions(req.processes, req.stdioPid, u);
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

  auto tFreeze = std::chrono::steady_clock::now();
  res.freezeAtMs = msSince(t0);
  tp = tFreeze;
  for (auto& p : req.processes) {
    FrozenTask t;
    std::string err;
    bool ok = freeze(p.real, t, err);
    if (t.seized || handler_) frozen_.push_back(t);
    if (!ok && t.groupStopped) {
      res.unsupported.push_back("pid " + std::to_string(p.vpid) + " " + err);
      return fail(kHoldsUnsupported);
    }
    if (!ok) {
      res.treeChanged = t.vanished;  // it ended between the listing and the freeze: list again
      return fail(err);
    }
  }
  phase("freeze", true);
  // The tree the request names must be the tree now frozen: no child forked, no
  // zombie reaped between the listing and the freeze (a frozen parent can do
  // neither any more). Otherwise the image would miss a process or keep one gone.
  if (req.processes.size() + req.zombies.size() > 1) {
    std::vector<pid_t> known;
    for (auto& p : req.processes) known.push_back(p.real);
    known.insert(known.end(), req.zombies.begin(), req.zombies.end());
    // the parents: every frozen process, and the keeper (the root and the orphans it adopted)
    std::vector<pid_t> parents = known;
    if (req.stdioPid > 0) parents.push_back(req.stdioPid);
    for (pid_t parent : parents) {
      std::string list = readProcFile(parent, ("task/" + std::to_string(parent) + "/children").c_str());
      for (const char* c = list.c_str(); *c;) {
        char* end;
        pid_t child = (pid_t)strtol(c, &end, 10);
        if (end == c) break;
        c = end;
        if (std::find(known.begin(), known.end(), child) == known.end()) {
          res.treeChanged = true;
          return fail("pid " + std::to_string(child) + " was born during the checkpoint");
        }
      }
    }
    // the live ones are frozen; a zombie may have been reaped
    for (pid_t z : req.zombies) {
      std::string comm;
      std::vector<std::string> stat;
      if (!readStat(z, comm, stat) || stat.empty() || stat[0] != "Z") {
        res.treeChanged = true;
        return fail("zombie " + std::to_string(z) + " was reaped during the checkpoint");
      }
    }
  }

  // which fds are one open file description, now that nothing can change them
  Descriptions descs = mapDescriptions(req.processes, req.stdioPid, u);
  Json j;
  j.beginArray();
  // The last writer's buffered tail is written after the thaw: the buffer holds
  // a consistent copy already, and the job need not wait for the disk.
  std::unique_ptr<PagesWriter> last;
  for (size_t i = 0; i < req.processes.size(); i++) {
    const ProcessIds& p = req.processes[i];
    FrozenTask& t = frozen_[i];
    std::string name = "pages-" + std::to_string(p.vpid) + ".img";
    auto writer = std::make_unique<PagesWriter>(req.dir + "/" + name);
    PagesWriter& w = *writer;
    if (!w.ok()) return fail(name + ": " + strerror(w.error()));
    std::string err;
    uint64_t insn = findSyscallInsn(p.real);
    if (!insn) return fail("pid " + std::to_string(p.vpid) + ": no syscall instruction in its vDSO");
    j.beginObject();
    phase("setup", true);
    auto alteringSignals = [&](FrozenTask& task, uint64_t at) {
      if (req.altering) req.altering(true);
      bool r = dumpSignals(task, at, j, err);
      if (req.altering) req.altering(false);
      return r;
    };
    // …and checked again, frozen, where it counts
    bool ok = phase("task", dumpTask(p, handler_ ? 1 : 0, j, u, err)) && phase("registers", dumpRegisters(t, j, err)) &&
              phase("signals", alteringSignals(t, insn)) && phase("memory", dumpMemory(p, w, j, u, err)) &&
              phase("files", dumpFiles(p, descs, w, j, u, err));
    if (!ok || !u.items.empty()) {
      res.unsupported = u.items;
      return fail(err.empty() ? kHoldsUnsupported : err);
    }
    j.field("pagesFile", name).field("pagesBytes", w.offset());
    j.endObject();
    if (i + 1 < req.processes.size()) {
      if (!phase("flush", w.finish())) return fail(name + ": " + strerror(w.error()));
      res.files.push_back({name, w.offset(), w.crc()});
    } else {
      last = std::move(writer);
    }
  }
  j.endArray();
  res.processesJson = j.text();
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
