// The ptrace assist of a remapped domain: for what must run in the job's own
// context with a virtual identifier in a register or in the result — fork/clone
// results and CLONE_*SETTID words, the "trace" rows of domains/syscalls.ts, and the
// si_pid of signals the kernel delivers. All ptrace calls happen on this thread
// (the kernel only accepts them from the tracer thread that seized).
#include <errno.h>
#include <signal.h>
#include <sys/ptrace.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <linux/sched.h>

#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <unordered_map>
#include <unordered_set>

#include "core/domain.h"
#include "resources/memory/memory.h"
#include "resources/threads/thread_ids.h"

namespace vdomain {

namespace {

constexpr int kSysClone = 56, kSysClone3 = 435;
constexpr int kTIOCGPGRP = 0x540f, kTIOCSPGRP = 0x5410, kTIOCGSID = 0x5429;
constexpr long kWNOWAIT = 0x01000000;
constexpr int kSIGEV_THREAD_ID = 4;

unsigned long long& argReg(user_regs_struct& r, int i) {
  switch (i) {
    case 0: return r.rdi;
    case 1: return r.rsi;
    case 2: return r.rdx;
    case 3: return r.r10;
    case 4: return r.r8;
    default: return r.r9;
  }
}

// Writes back the syscall registers (rax and the six arguments) that differ from
// `was`: one PTRACE_POKEUSER each, usually one or none. PTRACE_SETREGS would also
// rewrite segment selectors and fs_base.
void setSyscallRegs(pid_t tid, const user_regs_struct& r, const user_regs_struct& was) {
  static constexpr size_t offsets[] = {
      offsetof(user_regs_struct, rax), offsetof(user_regs_struct, rdi), offsetof(user_regs_struct, rsi),
      offsetof(user_regs_struct, rdx), offsetof(user_regs_struct, r10), offsetof(user_regs_struct, r8),
      offsetof(user_regs_struct, r9)};
  for (size_t off : offsets) {
    unsigned long long now, before;
    memcpy(&now, reinterpret_cast<const char*>(&r) + off, sizeof now);
    memcpy(&before, reinterpret_cast<const char*>(&was) + off, sizeof before);
    if (now != before) ptrace(PTRACE_POKEUSER, tid, off, now);
  }
}

bool isRestart(long rax) { return rax == -512 || rax == -513 || rax == -514 || rax == -516; }

// Whether the child wait4 (args: pid, wstatus, options, rusage) just returned was
// reaped, not reported stopped or continued (WUNTRACED, WCONTINUED): its status
// says, or without one, the options (without those flags only the end is reported).
bool reapedByWait4(pid_t tid, const unsigned long long* args) {
  int status;
  if (args[1] && readMem(tid, args[1], &status, sizeof status)) return WIFEXITED(status) || WIFSIGNALED(status);
  return !(args[2] & (WUNTRACED | WCONTINUED));
}

constexpr long kOptions = PTRACE_O_EXITKILL | PTRACE_O_TRACESYSGOOD | PTRACE_O_TRACESECCOMP |
                          PTRACE_O_TRACEFORK | PTRACE_O_TRACEVFORK | PTRACE_O_TRACECLONE |
                          PTRACE_O_TRACEEXEC;

struct TraceTask {
  bool started = false;        // past its first stop
  bool heldForParent = false;  // first stop seen, parent's fork event not yet
  bool announced = false;      // parent's fork event handled
  // work for the coming syscall-exit stop
  enum class Pending { None, Rule, ForkResult } pending = Pending::None;
  const Rule* rule = nullptr;
  unsigned long long savedArgs[6] = {};
  bool argsChanged = false;
  // an identifier rewritten in the job's memory at entry (TIOCSPGRP's PGID, a
  // sigevent's TID): where, and the job's own value, put back at exit
  uint64_t memWordAt = 0;
  int memWordWas = 0;
  pid_t forkChild = 0;
};

class Tracer : public StopHandler {
 public:
  explicit Tracer(Domain& d) : d_(d), t_(d.table()) {}
  void run(pid_t root, std::atomic<int>& seizeState);
  void handleStop(pid_t tid, int status) override;

 private:
  void onSeccompStop(pid_t tid);
  void onSyscallExit(pid_t tid);
  void onForkEvent(pid_t tid);
  void onFirstStop(pid_t tid);
  void onSignal(pid_t tid, int sig);
  void releaseChild(pid_t child, TraceTask& ct);
  pid_t realArg(long v) { return t_.toReal((pid_t)v); }
  bool translateArg(pid_t tid, TraceTask& tt, user_regs_struct& regs, int i, ArgKind k);
  long realTid(pid_t caller, long v);
  void rewriteMemWord(pid_t tid, TraceTask& tt, uint64_t at, int was, int real);

  Domain& d_;
  PidTable& t_;
  std::unordered_map<pid_t, TraceTask> tasks_;
  // Tasks of a restore still in the keeper's or the restorer's code: the tree's
  // processes as they are forked, and the restorer's page-filling threads. Not the
  // job's yet: their forks and stops are let through untranslated.
  std::unordered_set<pid_t> building_;
  bool handleBuilding(pid_t tid, int status);
  // Tasks of a remapped restore whose memory holds another TID than their real
  // one (real → that TID): traced to their exit, where their robust mutexes are
  // made to name the real one (native/resources/threads/thread_ids.h).
  std::unordered_map<pid_t, pid_t> staleTid_;
  void onExitEvent(pid_t tid);
  // The real TID of the thread of caller's process that its memory names `old`
  // (0: none), unless `old` is a virtual TID of the domain (that wins).
  pid_t staleOwner(pid_t caller, pid_t old);
};


void cont(pid_t tid, int sig = 0) { ptrace(PTRACE_CONT, tid, 0, (long)sig); }
void toExit(pid_t tid) { ptrace(PTRACE_SYSCALL, tid, 0, 0L); }

// Stops come in bursts (a fork+wait is six of them in a row). Blocking in
// waitpid lets this thread's CPU go idle, and waking an idle vCPU costs tens of
// µs per stop; so poll for a short while before blocking.
// Returns 0 when a checkpoint job is waiting for this thread.
pid_t nextStop(Domain& d, int* status) {
  const char* env = getenv("VDOMAIN_TRACER_SPIN_US");
  static const long spinNs = (env ? atol(env) : 100) * 1000;
  timespec t0, now;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  for (;;) {
    if (d.jobPending()) return 0;
    pid_t tid = waitpid(-1, status, __WALL | WNOHANG);
    if (tid != 0) return tid;
    clock_gettime(CLOCK_MONOTONIC, &now);
    if ((now.tv_sec - t0.tv_sec) * 1000000000L + (now.tv_nsec - t0.tv_nsec) > spinNs) break;
  }
  return waitpid(-1, status, __WALL);
}

void Tracer::run(pid_t root, std::atomic<int>& seizeState) {
  if (ptrace(PTRACE_SEIZE, root, 0, kOptions) < 0) {
    seizeState.store(-errno);
    return;
  }
  tasks_[root].started = true;
  tasks_[root].announced = true;
  if (d_.restoreConfig()) building_.insert(root);
  seizeState.store(1);

  for (;;) {
    while (auto job = d_.takeJob()) runCheckpointJob(this, *job);
    int status;
    pid_t tid = nextStop(d_, &status);
    if (tid == 0) continue;
    if (tid < 0) {
      if (errno == EINTR) continue;
      break;  // ECHILD: no tracee and no child left
    }
    handleStop(tid, status);
  }
}

void Tracer::handleStop(pid_t tid, int status) {
  if (tid == d_.keeperPid()) return;  // the control thread reports the end
  if ((building_.count(tid) || (d_.restoring() && !tasks_.count(tid))) && handleBuilding(tid, status)) return;
  if (WIFEXITED(status) || WIFSIGNALED(status)) {
    t_.exited(tid);
    tasks_.erase(tid);
    return;
  }
  if (!WIFSTOPPED(status)) return;
  const int sig = WSTOPSIG(status);
  const int event = status >> 16;
  TraceTask& tt = tasks_[tid];
  if (!tt.started && event == PTRACE_EVENT_STOP) {
    onFirstStop(tid);
    return;
  }
  switch (event) {
    case PTRACE_EVENT_SECCOMP: onSeccompStop(tid); break;
    case PTRACE_EVENT_FORK:
    case PTRACE_EVENT_VFORK:
    case PTRACE_EVENT_CLONE: onForkEvent(tid); break;
    case PTRACE_EVENT_EXEC: {
      unsigned long former = 0;
      ptrace(PTRACE_GETEVENTMSG, tid, 0, &former);
      if ((pid_t)former != tid) {
        t_.execTookOver((pid_t)former, tid);
        tasks_.erase((pid_t)former);
      }
      cont(tid);
      break;
    }
    case PTRACE_EVENT_EXIT: onExitEvent(tid); break;
    case PTRACE_EVENT_STOP:
      // group stop: stay stopped but keep reporting (job control keeps working);
      // anything else (after SIGCONT, an interrupt): go on
      if (sig == SIGSTOP || sig == SIGTSTP || sig == SIGTTIN || sig == SIGTTOU)
        ptrace(PTRACE_LISTEN, tid, 0, 0L);
      else
        cont(tid);
      break;
    case 0:
      if (sig == (SIGTRAP | 0x80)) onSyscallExit(tid);
      else onSignal(tid, sig);
      break;
    default:
      cont(tid);
  }
}

bool Tracer::translateArg(pid_t tid, TraceTask& tt, user_regs_struct& regs, int i, ArgKind k) {
  unsigned long long& reg = argReg(regs, i);
  const long v = (int)reg;  // PIDs are ints; the kernel ignores the upper half
  auto asPid = [&](long x) { reg = (unsigned int)realArg(x); return true; };
  auto asGroup = [&](long x) { reg = (unsigned int)-realArg(x); return true; };
  switch (k) {
    case ArgKind::None: return false;
    case ArgKind::Pid:
      return v > 0 ? asPid(v) : false;
    case ArgKind::Tid: {
      const long real = realTid(tid, v);
      if (real == v) return false;
      reg = (unsigned int)real;
      return true;
    }
    case ArgKind::PidOrPgrp:
      if (v > 0) return asPid(v);
      if (v < -1) return asGroup(-v);
      return false;
    case ArgKind::PrioWho:  // PRIO_PROCESS 0, PRIO_PGRP 1
    case ArgKind::IoprioWho: {  // IOPRIO_WHO_PROCESS 1, IOPRIO_WHO_PGRP 2
      long which = (long)regs.rdi - (k == ArgKind::IoprioWho ? 1 : 0);
      return (which == 0 || which == 1) && v > 0 ? asPid(v) : false;
    }
    case ArgKind::WaitidId: {  // P_PID 1, P_PGID 2
      long idtype = (long)regs.rdi;
      return (idtype == 1 || idtype == 2) && v > 0 ? asPid(v) : false;
    }
    case ArgKind::PgrpPtr: {
      int pgrp;
      if ((int)regs.rsi == kTIOCSPGRP && readMem(tid, reg, &pgrp, sizeof pgrp))
        rewriteMemWord(tid, tt, reg, pgrp, pgrp > 0 ? realArg(pgrp) : pgrp);
      return false;  // the register itself is unchanged
    }
    case ArgKind::SigeventTid: {
      // struct sigevent: sigev_notify at offset 12, the TID at 16 when it is SIGEV_THREAD_ID
      int notify, target;
      if (reg && readMem(tid, reg + 12, &notify, sizeof notify) && notify == kSIGEV_THREAD_ID &&
          readMem(tid, reg + 16, &target, sizeof target))
        rewriteMemWord(tid, tt, reg + 16, target, (int)realTid(tid, target));
      return false;
    }
  }
  return false;
}

// A TID the job passes: glibc passes TIDs from its thread descriptors, which hold
// real TIDs (or, in a restored thread, its TID from before the checkpoint); v if
// there is nothing to translate.
long Tracer::realTid(pid_t caller, long v) {
  if (v <= 0 || t_.isOwnThread(caller, (pid_t)v)) return v;
  if (!staleTid_.empty())
    if (pid_t real = staleOwner(caller, (pid_t)v)) return real;
  return realArg(v);
}

// Puts `real` in place of the int `was` at `at` in the job's memory for the call;
// the job's own value is put back at the syscall's exit (onSyscallExit).
void Tracer::rewriteMemWord(pid_t tid, TraceTask& tt, uint64_t at, int was, int real) {
  if (real == was || !writeMem(tid, at, &real, sizeof real)) return;
  tt.memWordAt = at;
  tt.memWordWas = was;
}

void Tracer::onSeccompStop(pid_t tid) {
  unsigned long idx = 0;
  ptrace(PTRACE_GETEVENTMSG, tid, 0, &idx);
  const Rule* rule = d_.rules().at((unsigned)idx);
  user_regs_struct regs;
  if (!rule || ptrace(PTRACE_GETREGS, tid, 0, &regs) < 0) {
    cont(tid);
    return;
  }
  TraceTask& tt = tasks_[tid];
  const user_regs_struct was = regs;
  for (int i = 0; i < 6; i++) tt.savedArgs[i] = argReg(regs, i);
  bool changed = false;
  for (int i = 0; i < 6; i++) changed |= translateArg(tid, tt, regs, i, rule->args[i]);
  if (changed) setSyscallRegs(tid, regs, was);
  tt.argsChanged = changed;
  if (changed || tt.memWordAt || rule->result != ResultKind::None || rule->reaps) {
    // the syscall ABI keeps argument registers: give the job its own values back at exit
    tt.pending = TraceTask::Pending::Rule;
    tt.rule = rule;
    toExit(tid);
  } else {
    cont(tid);
  }
}

void Tracer::onSyscallExit(pid_t tid) {
  TraceTask& tt = tasks_[tid];
  user_regs_struct regs;
  if (tt.pending == TraceTask::Pending::None || ptrace(PTRACE_GETREGS, tid, 0, &regs) < 0) {
    cont(tid);
    return;
  }
  const long rax = (long)regs.rax;
  const user_regs_struct was = regs;
  if (tt.pending == TraceTask::Pending::ForkResult) {
    if (rax == tt.forkChild) {
      regs.rax = (unsigned long long)t_.toVirt(tt.forkChild);
    }
  } else if (const Rule* rule = tt.rule) {
    if (tt.argsChanged) {
      for (int i = 0; i < 6; i++) argReg(regs, i) = tt.savedArgs[i];
    }
    if (tt.memWordAt) writeMem(tid, tt.memWordAt, &tt.memWordWas, sizeof tt.memWordWas);
    if (rule->result == ResultKind::PgrpPtr) {
      int req = (int)tt.savedArgs[1];
      uint64_t ptr = tt.savedArgs[2];
      if (rax == 0 && (req == kTIOCGPGRP || req == kTIOCGSID)) {
        int v;
        if (readMem(tid, ptr, &v, sizeof v)) {
          v = t_.toVirt(v);
          writeMem(tid, ptr, &v, sizeof v);
        }
      }
    }
    if (!isRestart(rax)) {
      if (rule->result == ResultKind::Pid && rax > 0) {
        regs.rax = (unsigned long long)t_.toVirt((pid_t)rax);
        if (rule->reaps && reapedByWait4(tid, tt.savedArgs)) t_.reaped((pid_t)rax);
      } else if (rule->result == ResultKind::Siginfo && rax == 0 && rule->out >= 0) {
        // waitid: si_pid lives at offset 16 of siginfo_t on x86-64, si_code at 8
        uint64_t info = tt.savedArgs[rule->out];
        pid_t real;
        int code = 0;
        if (info && readMem(tid, info + 16, &real, sizeof real) && real > 0) {
          pid_t v = t_.toVirt(real);
          writeMem(tid, info + 16, &v, sizeof v);
          // a stop or a continue reported is no reap (WUNTRACED, WCONTINUED); WNOWAIT reaps nothing
          const bool ended = readMem(tid, info + 8, &code, sizeof code) && code >= CLD_EXITED && code <= CLD_DUMPED;
          if (rule->reaps && ended && !((long)tt.savedArgs[3] & kWNOWAIT)) t_.reaped(real);
        }
      } else if (rule->result == ResultKind::SignalSiginfo && rax > 0 && rule->out >= 0) {
        // rt_sigtimedwait: si_pid (offset 16) only where si_code (offset 8) says a
        // process sent it (kill, sigqueue, tkill, mq_notify) or it is a child's SIGCHLD;
        // elsewhere offset 16 is an address, a timer id or a band
        uint64_t info = tt.savedArgs[rule->out];
        int code = 0;
        pid_t real;
        const bool sent = info && readMem(tid, info + 8, &code, sizeof code) &&
                          (code == SI_USER || code == SI_QUEUE || code == SI_TKILL || code == SI_MESGQ ||
                           ((int)rax == SIGCHLD && code >= CLD_EXITED && code <= CLD_CONTINUED));
        if (sent && readMem(tid, info + 16, &real, sizeof real) && real > 0) {
          pid_t v = t_.toVirt(real);
          writeMem(tid, info + 16, &v, sizeof v);
        }
      }
    }
  }
  tt.pending = TraceTask::Pending::None;
  tt.rule = nullptr;
  tt.argsChanged = false;
  tt.memWordAt = 0;
  setSyscallRegs(tid, regs, was);  // pokes only what changed
  cont(tid);
}

// A fork/vfork/clone/clone3 in the parent: give the child its virtual PID and
// rewrite what the kernel wrote with the real one.
void Tracer::onForkEvent(pid_t tid) {
  unsigned long childMsg = 0;
  ptrace(PTRACE_GETEVENTMSG, tid, 0, &childMsg);
  const pid_t child = (pid_t)childMsg;
  // Only CLONE_THREAD matters here: it decides the new task's thread group.
  user_regs_struct regs;
  ptrace(PTRACE_GETREGS, tid, 0, &regs);
  uint64_t flags = 0;
  if ((int)regs.orig_rax == kSysClone) flags = regs.rdi;
  else if ((int)regs.orig_rax == kSysClone3) readMem(tid, regs.rdi, &flags, sizeof flags);
  const pid_t parentTgid = t_.tgidOf(tid);
  const bool thread = flags & CLONE_THREAD;
  t_.add(child, thread ? (parentTgid ? parentTgid : tid) : child);
  // CLONE_PARENT_SETTID / CLONE_CHILD_SETTID words (glibc's thread descriptor
  // pd->tid) keep the real TID: the kernel reads them as futex owners for robust
  // and PI mutexes (docs/decisions/0002). tkill/tgkill accept a thread's own real
  // TIDs for this.

  TraceTask& ct = tasks_[child];
  ct.announced = true;
  if (ct.heldForParent) releaseChild(child, ct);

  TraceTask& pt = tasks_[tid];
  if (thread) {
    // A new thread's TID returned by clone/clone3 stays real: rewriting it made
    // glibc threads crash (docs/decisions/0002); pthread_create never shows it.
    cont(tid);
    return;
  }
  pt.pending = TraceTask::Pending::ForkResult;
  pt.forkChild = child;
  toExit(tid);
}

// The new task's first stop: it has not run a single instruction of the job yet.
// A stop of a task of the restore (see building_); false when it is the job's
// own business after all (a restored process after its int3).
bool Tracer::handleBuilding(pid_t tid, int status) {
  building_.insert(tid);
  TraceTask& tt = tasks_[tid];
  tt.started = tt.announced = true;  // its later stops, as the job's, are not first stops
  if (WIFEXITED(status) || WIFSIGNALED(status)) {
    building_.erase(tid);
    tasks_.erase(tid);
    t_.exited(tid);
    // a process of the tree died in the making (zombies, a zombie root among them,
    // and helper threads end by design)
    const int i = tid == d_.rootPid() ? 0 : d_.restoredIndex(tid);
    const bool zombie = i >= 0 && d_.restoreConfig()->procs[i].zombie;
    if (d_.restoring() && i >= 0 && !zombie) d_.restoreFailed("");
    return true;
  }
  if (!WIFSTOPPED(status)) return true;
  const int sig = WSTOPSIG(status), event = status >> 16;
  if (event == PTRACE_EVENT_FORK || event == PTRACE_EVENT_VFORK || event == PTRACE_EVENT_CLONE) {
    unsigned long child = 0;
    ptrace(PTRACE_GETEVENTMSG, tid, 0, &child);
    building_.insert((pid_t)child);
    cont(tid);
  } else if (event == 0 && sig == SIGTRAP && d_.restoredProcessOf(tid) >= 0) {
    // the restorer blob is done with this task: once all of its process's are,
    // registers, masks, listener (native/core/restore.cc)
    d_.restoredTaskStopped(tid, [this](pid_t t) {
      building_.erase(t);
      // its memory names it by an old TID: watch its exit for its robust mutexes
      if (pid_t stale = d_.takeStaleTid(t)) {
        staleTid_[t] = stale;
        ptrace(PTRACE_SETOPTIONS, t, 0, kOptions | PTRACE_O_TRACEEXIT);
      }
      cont(t);
    });
  } else if (event == 0 && sig != (SIGTRAP | 0x80)) {
    cont(tid, sig);
  } else {
    cont(tid);  // first stops, interrupts, seccomp stops before the filter's job begins
  }
  return true;
}

pid_t Tracer::staleOwner(pid_t caller, pid_t old) {
  if (t_.toReal(old) != old) return 0;  // a virtual TID
  const pid_t tgid = t_.tgidOf(caller);
  for (auto& [real, stale] : staleTid_)
    if (stale == old && t_.tgidOf(real) == tgid) return real;
  return 0;
}

void Tracer::onExitEvent(pid_t tid) {
  auto it = staleTid_.find(tid);
  if (it != staleTid_.end()) {
    // the pending entry's word may name another owner; only when the old TID
    // cannot be a live member's real one is it surely this thread's
    retargetRobustList(tid, it->second, tid, t_.toVirt(it->second) == 0);
    staleTid_.erase(it);
  }
  cont(tid);
}

void Tracer::onFirstStop(pid_t tid) {
  TraceTask& tt = tasks_[tid];
  tt.started = true;
  // a child of a task watched to its exit inherits that option: not needed here
  if (!staleTid_.empty()) ptrace(PTRACE_SETOPTIONS, tid, 0, kOptions);
  if (tt.announced) releaseChild(tid, tt);
  else tt.heldForParent = true;  // the parent's event comes soon: wait for it
}

void Tracer::releaseChild(pid_t child, TraceTask& ct) {
  ct.heldForParent = false;
  cont(child);
}

// A signal about to be delivered: senders' PIDs in si_pid become virtual.
void Tracer::onSignal(pid_t tid, int sig) {
  siginfo_t si;
  if (ptrace(PTRACE_GETSIGINFO, tid, 0, &si) == 0) {
    const bool fromProcess = si.si_code == SI_USER || si.si_code == SI_TKILL;
    const bool childState = sig == SIGCHLD && si.si_code > 0 && si.si_code <= CLD_CONTINUED;
    if ((fromProcess || childState) && si.si_pid > 0) {
      si.si_pid = t_.toVirt(si.si_pid);  // senders outside the domain read as 0
      ptrace(PTRACE_SETSIGINFO, tid, 0, &si);
    }
  }
  cont(tid, sig);
}

}  // namespace

void Domain::tracerLoop() {
  tracerTid_.store((pid_t)syscall(SYS_gettid));
  tracerAlive_.store(true);
  sigset_t wake;
  sigemptyset(&wake);
  sigaddset(&wake, 40);  // see Domain::checkpoint
  pthread_sigmask(SIG_UNBLOCK, &wake, nullptr);
  Tracer tracer(*this);
  tracer.run(rootReal_, seizeState_);
  tracerAlive_.store(false);
  // a checkpoint posted as the last task left is answered, not lost
  while (auto job = takeJob()) runCheckpointJob(&tracer, *job);
  log("debug", "ptrace assist ends: no tracee left");
}

}  // namespace vdomain
