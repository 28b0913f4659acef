// Signals and the per-task state only the task itself can read: handlers,
// sigaltstack, interval timers, clear_child_tid, the prctl attributes and
// membarrier registrations (through single injected syscalls), mask and pending queues, rseq and the robust-futex list (through
// ptrace and get_robust_list). Restored by set_process_state in
// native/restorer/restorer.c; the mask by native/src/registers.cc.
#include <errno.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "dump.h"
#include "memory.h"
#include "procfs.h"
#include "task_regs.h"

#ifndef PTRACE_GET_RSEQ_CONFIGURATION
#define PTRACE_GET_RSEQ_CONFIGURATION 0x420f
#endif

namespace vdomain {

namespace {

struct RseqConfig {
  uint64_t rseq_abi_pointer;
  uint32_t rseq_abi_size, signature, flags, pad;
};

struct KernelSigaction {
  uint64_t handler, flags, restorer, mask;
};

void pendingQueue(pid_t tid, bool shared, Json& j) {
  j.beginArray();
  for (int off = 0;; off++) {
    struct {
      uint64_t off;
      uint32_t flags;
      int32_t nr;
    } args{(uint64_t)off, shared ? 1u : 0u, 1};  // PTRACE_PEEKSIGINFO_SHARED = 1
    siginfo_t si;
    if (ptrace(PTRACE_PEEKSIGINFO, tid, &args, &si) != 1) break;
    j.base64(&si, sizeof si);
  }
  j.endArray();
}


bool dumpThreadAttrs(FrozenTask& t, uint64_t insn, uint64_t scratch, Json& j, std::string& err);

// What each thread has of its own: mask, private queue, rseq, robust list (read
// from outside), sigaltstack and clear_child_tid (injected into it, answers in the
// process's scratch page).
bool dumpThreadState(FrozenTask& t, uint64_t insn, uint64_t scratch, uint64_t mask, Json& j, std::string& err) {
  const pid_t tid = t.tid;
  auto failed = [&](const char* what, long rc) {
    err = std::string("task ") + std::to_string(tid) + ": cannot read its " + what + ": " +
          strerror(rc < 0 ? (int)-rc : EIO);
    return false;
  };
  j.key("sigmask").hex(mask);
  dumpScheduling(tid, j);
  j.key("pending");
  pendingQueue(tid, false, j);

  RseqConfig rc{};
  if (ptrace((__ptrace_request)PTRACE_GET_RSEQ_CONFIGURATION, tid, sizeof rc, &rc) > 0 && rc.rseq_abi_pointer)
    j.key("rseq").beginObject().field("addr", rc.rseq_abi_pointer).field("len", rc.rseq_abi_size)
        .field("sig", rc.signature).endObject();
  else
    j.key("rseq").null();

  uint64_t head = 0;
  size_t len = 0;
  if (syscall(SYS_get_robust_list, tid, &head, &len) == 0 && head)
    j.key("robustList").beginObject().field("head", head).field("len", (uint64_t)len).endObject();
  else
    j.key("robustList").null();

  const user_regs_struct& base = t.regs;
  stack_t ss{};
  long r = injectSyscall(tid, insn, base, SYS_sigaltstack, 0, scratch);
  if (r < 0 || !readMem(tid, scratch, &ss, sizeof ss)) return failed("sigaltstack", r);
  // SS_ONSTACK describes the moment, not the setting: a handler running on it
  // returns to it by its own frame
  j.key("altstack").beginObject().field("sp", (uint64_t)ss.ss_sp).field("size", (uint64_t)ss.ss_size)
      .field("flags", ss.ss_flags & ~SS_ONSTACK).endObject();

  uint64_t ctid = 0;
  r = injectSyscall(tid, insn, base, SYS_prctl, 40 /* PR_GET_TID_ADDRESS */, scratch);
  if (r < 0 || !readMem(tid, scratch, &ctid, sizeof ctid)) return failed("clear_child_tid", r);
  j.field("clearChildTid", ctid);
  return dumpThreadAttrs(t, insn, scratch, j, err);
}

// The process-wide part: handlers and interval timers (injected into the main thread).
bool dumpProcessSignals(FrozenTask& t, uint64_t insn, uint64_t scratch, Json& j, std::string& err) {
  const pid_t tid = t.tid;
  auto failed = [&](const char* what, long rc) {
    err = std::string("pid ") + std::to_string(tid) + ": cannot read its " + what + ": " +
          strerror(rc < 0 ? (int)-rc : EIO);
    return false;
  };
  j.key("pendingShared");
  pendingQueue(tid, true, j);
  // which signals have a non-default disposition: ask only about those
  const uint64_t interesting = procStatusHex(tid, "SigCgt") | procStatusHex(tid, "SigIgn");
  j.key("sigactions").beginArray();
  for (int sig = 1; sig <= 64; sig++) {
    if (!(interesting >> (sig - 1) & 1) || sig == SIGKILL || sig == SIGSTOP) continue;
    KernelSigaction ka{};
    long r = injectSyscall(tid, insn, t.regs, SYS_rt_sigaction, sig, 0, scratch, 8);
    if (r < 0 || !readMem(tid, scratch, &ka, sizeof ka)) return failed("signal handlers", r);
    j.beginObject().field("sig", sig).field("handler", ka.handler).field("flags", ka.flags)
        .field("restorer", ka.restorer).key("mask").hex(ka.mask).endObject();
  }
  j.endArray();
  int32_t subreaper = 0;
  long r = injectSyscall(tid, insn, t.regs, SYS_prctl, 37 /* PR_GET_CHILD_SUBREAPER */, scratch);
  if (r < 0 || !readMem(tid, scratch, &subreaper, sizeof subreaper)) return failed("child subreaper flag", r);
  j.field("subreaper", subreaper != 0);
  r = injectSyscall(tid, insn, t.regs, SYS_prctl, 3 /* PR_GET_DUMPABLE */);
  if (r < 0) return failed("dumpable flag", r);
  j.field("dumpable", r);
  // which membarrier commands the process registered for (Linux 6.3+; older kernels: not recorded)
  r = injectSyscall(tid, insn, t.regs, SYS_membarrier, 1 << 9 /* MEMBARRIER_CMD_GET_REGISTRATIONS */, 0, 0);
  if (r >= 0) j.field("membarrier", r);
  else if (r != -EINVAL) return failed("membarrier registrations", r);
  j.key("itimers").beginArray();
  for (int which = 0; which < 3; which++) {
    struct { int64_t is, ius, vs, vus; } it{};
    long r = injectSyscall(tid, insn, t.regs, SYS_getitimer, which, scratch);
    if (r < 0 || !readMem(tid, scratch, &it, sizeof it)) return failed("interval timers", r);
    j.beginObject();
    j.key("interval").beginArray().num(it.is).num(it.ius).endArray();
    j.key("value").beginArray().num(it.vs).num(it.vus).endArray();
    j.endObject();
  }
  j.endArray();
  return true;
}

// A thread's prctl attributes (restorer.c set_thread_attrs). All but the I/O
// flusher flag are asked of it (PR_GET_IO_FLUSHER needs CAP_SYS_RESOURCE: that
// one is the PF_MEMALLOC_NOIO|PF_LOCAL_THROTTLE pair of /proc/TID/stat's flags).
bool dumpThreadAttrs(FrozenTask& t, uint64_t insn, uint64_t scratch, Json& j, std::string& err) {
  const pid_t tid = t.tid;
  auto ask = [&](const char* what, long& out, long option, long arg2 = 0) {
    out = injectSyscall(tid, insn, t.regs, SYS_prctl, option, arg2, 0, 0, 0);
    if (out >= 0 || (option == 52 /* PR_GET_SPECULATION_CTRL */ && (out == -EINVAL || out == -ENODEV))) return true;
    err = std::string("task ") + std::to_string(tid) + ": cannot read its " + what + ": " + strerror((int)-out);
    return false;
  };
  long pdeathsig = 0, slack, securebits, mce, ssb, ib;
  int32_t sig = 0;
  if (!ask("parent death signal", pdeathsig, 2 /* PR_GET_PDEATHSIG */, (long)scratch) ||
      !readMem(tid, scratch, &sig, sizeof sig) || !ask("timer slack", slack, 30 /* PR_GET_TIMERSLACK */) ||
      !ask("securebits", securebits, 27 /* PR_GET_SECUREBITS */) || !ask("MCE kill policy", mce, 34 /* PR_MCE_KILL_GET */) ||
      !ask("speculation control", ssb, 52, 0 /* PR_SPEC_STORE_BYPASS */) || !ask("speculation control", ib, 52, 1 /* PR_SPEC_INDIRECT_BRANCH */)) {
    if (err.empty()) err = "task " + std::to_string(tid) + ": cannot read its parent death signal";
    return false;
  }
  std::string comm;
  std::vector<std::string> stat;
  const uint64_t pf = readStat(tid, comm, stat) && stat.size() > 6 ? strtoull(stat[6].c_str(), nullptr, 10) : 0;
  const uint64_t ioFlusher = 0x00080000 /* PF_MEMALLOC_NOIO */ | 0x00100000 /* PF_LOCAL_THROTTLE */;
  j.key("attrs").beginObject().field("pdeathsig", (long)sig).field("timerslack", slack).field("securebits", securebits)
      .field("mceKill", mce).field("specStoreBypass", ssb).field("specIndirectBranch", ib)
      .field("ioFlusher", (pf & ioFlusher) == ioFlusher).endObject();
  dumpCreds(tid, j);
  return true;
}

}  // namespace

bool dumpSignals(FrozenTask& main, std::vector<ThreadToDump>& threads, uint64_t insn, Json& j, std::string& err,
                 const std::function<bool(uint64_t scratch)>& withScratch) {
  // Single syscalls are run in each task with every signal blocked, so none is
  // delivered meanwhile; each task's own mask is read first and put back after.
  const uint64_t all = ~0ULL;
  uint64_t mainMask = 0;
  if (ptrace(PTRACE_GETSIGMASK, main.tid, sizeof mainMask, &mainMask) < 0 ||
      ptrace(PTRACE_SETSIGMASK, main.tid, sizeof all, &all) < 0) {
    err = "pid " + std::to_string(main.tid) + ": cannot read its signal mask: " + strerror(errno);
    return false;
  }
  std::vector<uint64_t> masks(threads.size());
  bool ok = true;
  for (size_t i = 0; i < threads.size() && ok; i++) {
    pid_t tid = threads[i].task->tid;
    if (ptrace(PTRACE_GETSIGMASK, tid, sizeof masks[i], &masks[i]) < 0 || ptrace(PTRACE_SETSIGMASK, tid, sizeof all, &all) < 0) {
      err = "task " + std::to_string(tid) + ": cannot read its signal mask: " + strerror(errno);
      ok = false;
    }
  }
  long scratch = -ENOMEM;
  if (ok) {
    scratch = injectSyscall(main.tid, insn, main.regs, SYS_mmap, 0, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (scratch < 0 && scratch > -4096) {
      err = "pid " + std::to_string(main.tid) + ": cannot map a scratch page in it: " + strerror((int)-scratch);
      ok = false;
    }
  }
  ok = ok && dumpProcessSignals(main, insn, (uint64_t)scratch, j, err) &&
       dumpThreadState(main, insn, (uint64_t)scratch, mainMask, j, err);
  if (ok) {
    j.key("threads").beginArray();
    for (size_t i = 0; i < threads.size() && ok; i++) {
      FrozenTask& t = *threads[i].task;
      j.beginObject().field("vtid", threads[i].vtid).field("tid", t.tid).field("comm", threads[i].comm);
      ok = dumpRegisters(t, j, err) && dumpThreadState(t, insn, (uint64_t)scratch, masks[i], j, err);
      j.endObject();
    }
    j.endArray();
  }
  ok = ok && withScratch((uint64_t)scratch);
  if (scratch > 0 || scratch <= -4096) injectSyscall(main.tid, insn, main.regs, SYS_munmap, scratch, 4096);
  // Each task now sits at an injected syscall's exit, past where the kernel would
  // restart its own interrupted syscall: put it back rewound to restart, so that
  // it resumes right even if this supervisor dies before the thaw.
  auto putBack = [](FrozenTask& t, uint64_t mask) {
    user_regs_struct back = t.regs;
    normalizeSyscallRestart(back, true);
    setRegs(t.tid, back);
    ptrace(PTRACE_SETSIGMASK, t.tid, sizeof mask, &mask);
  };
  putBack(main, mainMask);
  for (size_t i = 0; i < threads.size(); i++) putBack(*threads[i].task, masks[i]);
  return ok;
}

}  // namespace vdomain
