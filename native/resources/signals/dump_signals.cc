// Signals and the per-task state only the task itself can read: handlers,
// sigaltstack, interval timers, clear_child_tid, the prctl attributes and
// membarrier registrations (through injected syscalls, one stub per task), mask and pending queues, rseq and the robust-futex list (through
// ptrace and get_robust_list). Restored by set_process_state in
// restore_signals.c (beside this file) and native/resources/task/restore_task.c; the mask by native/resources/registers/registers.cc.
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

#include "core/dump.h"
#include "resources/memory/memory.h"
#include "core/procfs.h"
#include "core/task_regs.h"

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


// Where the injected calls leave their answers in the process's scratch page
// (one page, mapped by core/task_regs.cc withInjection), and the page their stub runs from.
struct Scratch {
  uint64_t data, code;
  uint64_t at(size_t off) const { return data + off; }
  static constexpr size_t kAltstack = 0, kTidAddress = 64, kPdeathsig = 128, kSubreaper = 192,
                          kItimers = 256,        // 3 × 32 bytes
                          kSigactions = 512,     // 64 × 32 bytes
                          kResults = 2560;       // 8 bytes per call, up to 190 calls
};

// A thread's prctl attributes (restorer.c set_thread_attrs), from the answers of
// the calls threadCalls made. The I/O flusher flag is not asked (PR_GET_IO_FLUSHER
// needs CAP_SYS_RESOURCE): it is the PF_MEMALLOC_NOIO|PF_LOCAL_THROTTLE pair of
// /proc/TID/stat's flags.
enum ThreadCall { kAltstackCall, kTidAddressCall, kPdeathsigCall, kSlackCall, kSecurebitsCall, kMceCall, kSsbCall, kIbCall,
                  kThreadCalls };

std::vector<InjectedCall> threadCalls(const Scratch& s) {
  std::vector<InjectedCall> c(kThreadCalls);
  c[kAltstackCall] = {SYS_sigaltstack, {0, (long)s.at(Scratch::kAltstack)}};
  c[kTidAddressCall] = {SYS_prctl, {40 /* PR_GET_TID_ADDRESS */, (long)s.at(Scratch::kTidAddress)}};
  c[kPdeathsigCall] = {SYS_prctl, {2 /* PR_GET_PDEATHSIG */, (long)s.at(Scratch::kPdeathsig)}};
  c[kSlackCall] = {SYS_prctl, {30 /* PR_GET_TIMERSLACK */}};
  c[kSecurebitsCall] = {SYS_prctl, {27 /* PR_GET_SECUREBITS */}};
  c[kMceCall] = {SYS_prctl, {34 /* PR_MCE_KILL_GET */}};
  c[kSsbCall] = {SYS_prctl, {52 /* PR_GET_SPECULATION_CTRL */, 0 /* PR_SPEC_STORE_BYPASS */}};
  c[kIbCall] = {SYS_prctl, {52, 1 /* PR_SPEC_INDIRECT_BRANCH */}};
  return c;
}

// What each thread has of its own: mask, private queue, rseq, robust list (read
// from outside), sigaltstack, clear_child_tid and its prctl attributes (asked of
// it in one injected stub, answers in the process's scratch page).
bool dumpThreadState(FrozenTask& t, const Scratch& scratch, uint64_t mask, Json& j, std::string& err) {
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

  std::vector<long> r;
  if (!injectSyscalls(tid, scratch.code, scratch.at(Scratch::kResults), t.regs, threadCalls(scratch), r))
    return failed("sigaltstack and prctl attributes", -ESRCH);
  stack_t ss{};
  if (r[kAltstackCall] < 0 || !readMem(tid, scratch.at(Scratch::kAltstack), &ss, sizeof ss))
    return failed("sigaltstack", r[kAltstackCall]);
  // SS_ONSTACK describes the moment, not the setting: a handler running on it
  // returns to it by its own frame
  j.key("altstack").beginObject().field("sp", (uint64_t)ss.ss_sp).field("size", (uint64_t)ss.ss_size)
      .field("flags", ss.ss_flags & ~SS_ONSTACK).endObject();
  uint64_t ctid = 0;
  if (r[kTidAddressCall] < 0 || !readMem(tid, scratch.at(Scratch::kTidAddress), &ctid, sizeof ctid))
    return failed("clear_child_tid", r[kTidAddressCall]);
  j.field("clearChildTid", ctid);

  int32_t pdeathsig = 0;
  if (r[kPdeathsigCall] < 0 || !readMem(tid, scratch.at(Scratch::kPdeathsig), &pdeathsig, sizeof pdeathsig))
    return failed("parent death signal", r[kPdeathsigCall]);
  const struct { ThreadCall call; const char* what; } asked[] = {
      {kSlackCall, "timer slack"}, {kSecurebitsCall, "securebits"}, {kMceCall, "MCE kill policy"}};
  for (auto& a : asked)
    if (r[a.call] < 0) return failed(a.what, r[a.call]);
  for (ThreadCall spec : {kSsbCall, kIbCall})  // (not every CPU has both)
    if (r[spec] < 0 && r[spec] != -EINVAL && r[spec] != -ENODEV) return failed("speculation control", r[spec]);
  std::string comm;
  std::vector<std::string> stat;
  const uint64_t pf = readStat(tid, comm, stat) && stat.size() > 6 ? strtoull(stat[6].c_str(), nullptr, 10) : 0;
  const uint64_t ioFlusher = 0x00080000 /* PF_MEMALLOC_NOIO */ | 0x00100000 /* PF_LOCAL_THROTTLE */;
  j.key("attrs").beginObject().field("pdeathsig", (long)pdeathsig).field("timerslack", r[kSlackCall])
      .field("securebits", r[kSecurebitsCall]).field("mceKill", r[kMceCall]).field("specStoreBypass", r[kSsbCall])
      .field("specIndirectBranch", r[kIbCall]).field("ioFlusher", (pf & ioFlusher) == ioFlusher).endObject();
  dumpCreds(tid, j);
  return true;
}

// The process-wide part: handlers, subreaper and dumpable flags, membarrier
// registrations, interval timers (asked of the main thread in one stub).
bool dumpProcessSignals(FrozenTask& t, const Scratch& scratch, Json& j, std::string& err) {
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
  std::vector<int> sigs;
  std::vector<InjectedCall> calls;
  for (int sig = 1; sig <= 64; sig++) {
    if (!(interesting >> (sig - 1) & 1) || sig == SIGKILL || sig == SIGSTOP) continue;
    sigs.push_back(sig);
    calls.push_back({SYS_rt_sigaction, {sig, 0, (long)scratch.at(Scratch::kSigactions + 32 * (size_t)(sig - 1)), 8}});
  }
  const size_t subreaper = calls.size();
  calls.push_back({SYS_prctl, {37 /* PR_GET_CHILD_SUBREAPER */, (long)scratch.at(Scratch::kSubreaper)}});
  calls.push_back({SYS_prctl, {3 /* PR_GET_DUMPABLE */}});
  // (Linux 6.3+; older kernels say EINVAL: not recorded)
  calls.push_back({SYS_membarrier, {1 << 9 /* MEMBARRIER_CMD_GET_REGISTRATIONS */}});
  for (int which = 0; which < 3; which++)
    calls.push_back({SYS_getitimer, {which, (long)scratch.at(Scratch::kItimers + 32 * (size_t)which)}});
  std::vector<long> r;
  if (!injectSyscalls(tid, scratch.code, scratch.at(Scratch::kResults), t.regs, calls, r))
    return failed("signal handlers and timers", -ESRCH);

  j.key("sigactions").beginArray();
  for (size_t i = 0; i < sigs.size(); i++) {
    KernelSigaction ka{};
    if (r[i] < 0 || !readMem(tid, scratch.at(Scratch::kSigactions + 32 * (size_t)(sigs[i] - 1)), &ka, sizeof ka))
      return failed("signal handlers", r[i]);
    j.beginObject().field("sig", sigs[i]).field("handler", ka.handler).field("flags", ka.flags)
        .field("restorer", ka.restorer).key("mask").hex(ka.mask).endObject();
  }
  j.endArray();
  int32_t subreaperFlag = 0;
  if (r[subreaper] < 0 || !readMem(tid, scratch.at(Scratch::kSubreaper), &subreaperFlag, sizeof subreaperFlag))
    return failed("child subreaper flag", r[subreaper]);
  j.field("subreaper", subreaperFlag != 0);
  if (r[subreaper + 1] < 0) return failed("dumpable flag", r[subreaper + 1]);
  j.field("dumpable", r[subreaper + 1]);
  const long membarrier = r[subreaper + 2];
  if (membarrier >= 0) j.field("membarrier", membarrier);
  else if (membarrier != -EINVAL) return failed("membarrier registrations", membarrier);
  j.key("itimers").beginArray();
  for (int which = 0; which < 3; which++) {
    struct { int64_t is, ius, vs, vus; } it{};
    const long rc = r[subreaper + 3 + (size_t)which];
    if (rc < 0 || !readMem(tid, scratch.at(Scratch::kItimers + 32 * (size_t)which), &it, sizeof it))
      return failed("interval timers", rc);
    j.beginObject();
    j.key("interval").beginArray().num(it.is).num(it.ius).endArray();
    j.key("value").beginArray().num(it.vs).num(it.vus).endArray();
    j.endObject();
  }
  j.endArray();
  return true;
}

// Inside the injection session (core/task_regs.h withInjection): the "sigmask"
// recorded is each task's own, read before the session blocked them all.
bool dumpSignalsInjected(DumpRun& run, ProcessDump& p) {
  const Scratch pages{p.scratch, p.code};
  if (!dumpProcessSignals(p.main, pages, p.j, run.err) || !dumpThreadState(p.main, pages, p.masks[0], p.j, run.err))
    return false;
  p.j.key("threads").beginArray();
  for (size_t i = 0; i < p.threads.size(); i++) {
    FrozenTask& t = *p.threads[i].task;
    p.j.beginObject().field("vtid", p.threads[i].vtid).field("tid", t.tid).field("comm", p.threads[i].comm);
    bool ok = dumpRegisters(t, p.j, run.err) && dumpThreadState(t, pages, p.masks[i + 1], p.j, run.err);
    p.j.endObject();
    if (!ok) return false;
  }
  p.j.endArray();
  return true;
}

}  // namespace

extern const DumpKind signalsKind = {"signals", nullptr, nullptr, nullptr, dumpSignalsInjected, nullptr};

}  // namespace vdomain
