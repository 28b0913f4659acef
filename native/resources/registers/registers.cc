#include "resources/registers/registers.h"

#include <errno.h>
#include <signal.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstring>

#include "core/task_regs.h"

namespace vdomain {

bool dumpRegisters(FrozenTask& t, Json& j, std::string& err) {
  user_regs_struct r = t.regs;
  normalizeSyscallRestart(r, false);
  std::string xs;
  if (!getXstate(t.tid, xs)) {
    err = "pid " + std::to_string(t.tid) + ": cannot read its FPU state: " + strerror(errno);
    return false;
  }
  j.key("regs").base64(&r, sizeof r);
  j.key("xstate").base64(xs.data(), xs.size());
  return true;
}

bool finishRestore(pid_t tid, const TaskRegisters& tr, int* listener, std::string& err) {
  *listener = -1;
  user_regs_struct at;
  if (!getRegs(tid, at)) {
    err = std::string("cannot read the restored task's registers: ") + strerror(errno);
    return false;
  }
  // the blob's contract (native/restorer/plan.h): rax listener, rbx/rcx the blob, rdx a syscall
  const long theirListener = (long)at.rax;
  const uint64_t blobStart = at.rbx, blobLen = at.rcx, insn = at.rdx;
  const uint64_t all = ~0ULL;
  ptrace(PTRACE_SETSIGMASK, tid, sizeof all, &all);
  if (theirListener >= 0) {
    int pidfd = (int)syscall(SYS_pidfd_open, tid, 0);
    int fd = pidfd < 0 ? -1 : (int)syscall(SYS_pidfd_getfd, pidfd, (int)theirListener, 0);
    int e = errno;
    if (pidfd >= 0) close(pidfd);
    if (fd < 0) {
      err = std::string("cannot take the restored task's seccomp listener: ") + strerror(e);
      return false;
    }
    *listener = fd;
    injectSyscall(tid, insn, at, SYS_close, theirListener);
  }
  // The munmap runs from the blob's own syscall instruction: the task is stopped
  // at the syscall exit before it would return into the unmapped page.
  long rc = injectSyscall(tid, insn, at, SYS_munmap, (long)blobStart, (long)blobLen);
  if (rc < 0) {
    err = std::string("cannot remove the restorer from the restored task: ") + strerror((int)-rc);
    return false;
  }
  return loadRegisters(tid, tr, err);
}

bool loadRegisters(pid_t tid, const TaskRegisters& tr, std::string& err) {
  if (!setXstate(tid, tr.xstate)) {
    err = std::string("cannot load the restored task's FPU state: ") + strerror(errno);
    return false;
  }
  if (!setRegs(tid, tr.regs)) {
    err = std::string("cannot load the restored task's registers: ") + strerror(errno);
    return false;
  }
  if (ptrace(PTRACE_SETSIGMASK, tid, sizeof tr.sigmask, &tr.sigmask) < 0) {
    err = std::string("cannot set the restored task's signal mask: ") + strerror(errno);
    return false;
  }
  return true;
}


// the main thread's (the other threads' are dumped with their signal state)
static bool dumpMainRegisters(DumpRun& run, ProcessDump& p) { return dumpRegisters(p.main, p.j, run.err); }

extern const DumpKind registersKind = {"registers", nullptr, nullptr, nullptr, nullptr, dumpMainRegisters};

}  // namespace vdomain
