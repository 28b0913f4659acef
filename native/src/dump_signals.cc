// Signals and the per-task state only the task itself can read: handlers,
// sigaltstack, interval timers, clear_child_tid (through single injected
// syscalls), mask and pending queues, rseq and the robust-futex list (through
// ptrace and get_robust_list). Restored by set_process_state in
// native/restorer/restorer.c; the mask by native/src/registers.cc.
#include <errno.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstring>

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

}  // namespace

bool dumpSignals(FrozenTask& t, uint64_t insn, Json& j, std::string& err) {
  const pid_t tid = t.tid;
  auto failed = [&](const char* what, long rc) {
    err = std::string("pid ") + std::to_string(tid) + ": cannot read its " + what + ": " +
          strerror(rc < 0 ? (int)-rc : EIO);
    return false;
  };

  uint64_t mask = 0;
  if (ptrace(PTRACE_GETSIGMASK, tid, sizeof mask, &mask) < 0) return failed("signal mask", -errno);
  j.key("sigmask").hex(mask);
  j.key("pending");
  pendingQueue(tid, false, j);
  j.key("pendingShared");
  pendingQueue(tid, true, j);

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

  // The rest only the task can tell: run single syscalls in it, with every
  // signal blocked so none is delivered meanwhile, writing into a scratch page.
  const uint64_t all = ~0ULL;
  if (ptrace(PTRACE_SETSIGMASK, tid, sizeof all, &all) < 0) return failed("signal state", -errno);
  user_regs_struct base = t.regs;
  bool ok = false;
  long scratch = injectSyscall(tid, insn, base, SYS_mmap, 0, 4096, PROT_READ | PROT_WRITE,
                               MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  do {
    if (scratch < 0 && scratch > -4096) {
      failed("signal state (scratch page)", scratch);
      break;
    }
    // which signals have a non-default disposition: ask only about those
    const uint64_t interesting = procStatusHex(tid, "SigCgt") | procStatusHex(tid, "SigIgn");
    j.key("sigactions").beginArray();
    bool sigOk = true;
    for (int sig = 1; sig <= 64 && sigOk; sig++) {
      if (!(interesting >> (sig - 1) & 1) || sig == SIGKILL || sig == SIGSTOP) continue;
      KernelSigaction ka{};
      long rc2 = injectSyscall(tid, insn, base, SYS_rt_sigaction, sig, 0, scratch, 8);
      if (rc2 < 0 || !readMem(tid, (uint64_t)scratch, &ka, sizeof ka)) {
        sigOk = failed("signal handlers", rc2);
        break;
      }
      j.beginObject().field("sig", sig).field("handler", ka.handler).field("flags", ka.flags)
          .field("restorer", ka.restorer).key("mask").hex(ka.mask).endObject();
    }
    j.endArray();
    if (!sigOk) break;

    stack_t ss{};
    long rc3 = injectSyscall(tid, insn, base, SYS_sigaltstack, 0, scratch);
    if (rc3 < 0 || !readMem(tid, (uint64_t)scratch, &ss, sizeof ss)) {
      failed("sigaltstack", rc3);
      break;
    }
    // SS_ONSTACK describes the moment, not the setting: a handler running on it
    // returns to it by its own frame
    j.key("altstack").beginObject().field("sp", (uint64_t)ss.ss_sp).field("size", (uint64_t)ss.ss_size)
        .field("flags", ss.ss_flags & ~SS_ONSTACK).endObject();

    j.key("itimers").beginArray();
    bool timersOk = true;
    for (int which = 0; which < 3; which++) {
      struct { int64_t is, ius, vs, vus; } it{};
      long rc4 = injectSyscall(tid, insn, base, SYS_getitimer, which, scratch);
      if (rc4 < 0 || !readMem(tid, (uint64_t)scratch, &it, sizeof it)) {
        timersOk = failed("interval timers", rc4);
        break;
      }
      j.beginObject();
      j.key("interval").beginArray().num(it.is).num(it.ius).endArray();
      j.key("value").beginArray().num(it.vs).num(it.vus).endArray();
      j.endObject();
    }
    j.endArray();
    if (!timersOk) break;

    uint64_t ctid = 0;
    long rc5 = injectSyscall(tid, insn, base, SYS_prctl, 40 /* PR_GET_TID_ADDRESS */, scratch);
    if (rc5 < 0 || !readMem(tid, (uint64_t)scratch, &ctid, sizeof ctid)) {
      failed("clear_child_tid", rc5);
      break;
    }
    j.field("clearChildTid", ctid);
    ok = true;
  } while (false);
  if (scratch > 0 || scratch <= -4096) injectSyscall(tid, insn, base, SYS_munmap, scratch, 4096);
  // The task now sits at an injected syscall's exit, past where the kernel would
  // restart its own interrupted syscall: put it back rewound to restart, so that
  // it resumes right even if this supervisor dies before the thaw.
  user_regs_struct back = t.regs;
  normalizeSyscallRestart(back, true);
  setRegs(tid, back);
  ptrace(PTRACE_SETSIGMASK, tid, sizeof mask, &mask);
  return ok;
}

}  // namespace vdomain
