#include "core/task_regs.h"

#include <elf.h>
#include <errno.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <cstring>
#include <vector>

#include "core/dump.h"
#include "resources/memory/memory.h"
#include "core/procfs.h"

namespace vdomain {

bool getRegs(pid_t tid, user_regs_struct& r) {
  iovec iov{&r, sizeof r};
  return ptrace(PTRACE_GETREGSET, tid, (void*)NT_PRSTATUS, &iov) == 0;
}

bool setRegs(pid_t tid, const user_regs_struct& r) {
  iovec iov{const_cast<user_regs_struct*>(&r), sizeof r};
  return ptrace(PTRACE_SETREGSET, tid, (void*)NT_PRSTATUS, &iov) == 0;
}

bool getXstate(pid_t tid, std::string& out) {
  std::vector<char> buf(64 * 1024);
  iovec iov{buf.data(), buf.size()};
  if (ptrace(PTRACE_GETREGSET, tid, (void*)NT_X86_XSTATE, &iov) < 0) return false;
  out.assign(buf.data(), iov.iov_len);
  return true;
}

bool setXstate(pid_t tid, const std::string& xs) {
  iovec iov{const_cast<char*>(xs.data()), xs.size()};
  return ptrace(PTRACE_SETREGSET, tid, (void*)NT_X86_XSTATE, &iov) == 0;
}

void normalizeSyscallRestart(user_regs_struct& r, bool live) {
  if ((long)r.orig_rax < 0) return;  // not in a syscall
  switch ((long)r.rax) {
    case -512:  // ERESTARTSYS
    case -513:  // ERESTARTNOINTR
    case -514:  // ERESTARTNOHAND
      r.rax = r.orig_rax;
      r.rip -= 2;
      break;
    case -516:  // ERESTART_RESTARTBLOCK
      if (live) {
        r.rax = 219;  // restart_syscall
        r.rip -= 2;
      } else {
        // an image: the call is made again with its arguments (a syscall keeps
        // rdi…r9): poll, nanosleep, a futex wait with a timeout; a timeout then
        // counts from the restore, so the wait is longer, never shorter — as
        // after any pause (EINTR instead broke programs: tail -f, script)
        r.rax = r.orig_rax;
        r.rip -= 2;
      }
      break;
    default:
      return;
  }
  r.orig_rax = (unsigned long long)-1;
}

uint64_t findSyscallInsn(pid_t tid) {
  uint64_t start = 0, end = 0;
  for (auto& m : readMaps(tid))
    if (m.name == "[vdso]") {
      start = m.start;
      end = m.end;
      break;
    }
  if (!start || end - start > (1 << 20)) return 0;
  std::vector<unsigned char> code(end - start);
  if (!readMem(tid, start, code.data(), code.size())) return 0;
  for (size_t i = 0; i + 1 < code.size(); i++)
    if (code[i] == 0x0f && code[i + 1] == 0x05) return start + i;
  return 0;
}

// The callers block every signal of the task first (PTRACE_SETSIGMASK), so the
// next stop is the syscall stop; anything else (SIGKILL, a SIGSTOP) is a failure,
// except a leftover interrupt trap (see Checkpointer::freeze), which is stepped over.
// The stop comes within microseconds when the task's CPU is awake: poll for a
// short while before blocking (blocking lets this CPU idle, and the wake-up costs
// tens of µs on this VM, per injected syscall; decision 0003 for the tracer).
static pid_t waitStop(pid_t tid, int* st) {
  static const long spinNs = [] {
    const char* env = getenv("VDOMAIN_INJECT_SPIN_US");
    return (env ? atol(env) : 50) * 1000;
  }();
  timespec t0, now;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  for (;;) {
    pid_t r = waitpid(tid, st, __WALL | WNOHANG);
    if (r != 0) return r;
    clock_gettime(CLOCK_MONOTONIC, &now);
    if ((now.tv_sec - t0.tv_sec) * 1000000000L + (now.tv_nsec - t0.tv_nsec) > spinNs) break;
  }
  return waitpid(tid, st, __WALL);
}

static bool waitSyscallStop(pid_t tid) {
  for (;;) {
    int st;
    pid_t r = waitStop(tid, &st);
    if (r < 0 && errno == EINTR) continue;
    // (a seccomp stop: an injected call the domain's filter traces runs as it is, arguments real)
    if (r == tid && WIFSTOPPED(st) && ((st >> 16) == PTRACE_EVENT_STOP || (st >> 16) == PTRACE_EVENT_SECCOMP) &&
        WSTOPSIG(st) == SIGTRAP) {
      if (ptrace(PTRACE_SYSCALL, tid, 0, 0L) < 0) return false;
      continue;
    }
    return r == tid && WIFSTOPPED(st) && WSTOPSIG(st) == (SIGTRAP | 0x80);
  }
}

long injectSyscall(pid_t tid, uint64_t insn, const user_regs_struct& base, long nr, long a0, long a1, long a2,
                   long a3, long a4, long a5) {
  user_regs_struct r = base;
  r.rip = insn;
  r.rax = (unsigned long long)nr;
  r.orig_rax = (unsigned long long)-1;  // no syscall-restart logic on the way out of this stop
  r.rdi = (unsigned long long)a0;
  r.rsi = (unsigned long long)a1;
  r.rdx = (unsigned long long)a2;
  r.r10 = (unsigned long long)a3;
  r.r8 = (unsigned long long)a4;
  r.r9 = (unsigned long long)a5;
  if (!setRegs(tid, r)) return -ESRCH;
  // entry stop, then exit stop
  if (ptrace(PTRACE_SYSCALL, tid, 0, 0L) < 0 || !waitSyscallStop(tid)) return -ESRCH;
  if (ptrace(PTRACE_SYSCALL, tid, 0, 0L) < 0 || !waitSyscallStop(tid)) return -ESRCH;
  if (!getRegs(tid, r)) return -ESRCH;
  return (long)r.rax;
}

namespace {

// x86-64 encodings the stub is made of
void movImm64(std::vector<uint8_t>& c, uint8_t rex, uint8_t op, uint64_t v) {
  c.push_back(rex);
  c.push_back(op);
  for (int i = 0; i < 8; i++) c.push_back((uint8_t)(v >> (8 * i)));
}
void movRaxToAbs(std::vector<uint8_t>& c, uint64_t addr) { movImm64(c, 0x48, 0xA3, addr); }  // movabs [addr], rax

constexpr uint64_t kStubDone = 0x656e6f64'62757473;  // "stubdone"
constexpr size_t kCallsPerStub = 40;                 // 82 bytes each: one page of code

}  // namespace

bool injectSyscalls(pid_t tid, uint64_t code, uint64_t results, const user_regs_struct& base,
                    const std::vector<InjectedCall>& calls, std::vector<long>& out) {
  out.assign(calls.size(), -EIO);
  for (size_t first = 0; first < calls.size(); first += kCallsPerStub) {
    const size_t n = std::min(kCallsPerStub, calls.size() - first);
    const uint64_t doneAt = results + 8 * (first + n);
    std::vector<uint8_t> c;
    for (size_t i = first; i < first + n; i++) {
      const InjectedCall& k = calls[i];
      movImm64(c, 0x48, 0xB8, (uint64_t)k.nr);       // rax
      movImm64(c, 0x48, 0xBF, (uint64_t)k.args[0]);  // rdi
      movImm64(c, 0x48, 0xBE, (uint64_t)k.args[1]);  // rsi
      movImm64(c, 0x48, 0xBA, (uint64_t)k.args[2]);  // rdx
      movImm64(c, 0x49, 0xBA, (uint64_t)k.args[3]);  // r10
      movImm64(c, 0x49, 0xB8, (uint64_t)k.args[4]);  // r8
      movImm64(c, 0x49, 0xB9, (uint64_t)k.args[5]);  // r9
      c.push_back(0x0F), c.push_back(0x05);          // syscall
      movRaxToAbs(c, results + 8 * i);
    }
    movImm64(c, 0x48, 0xB8, kStubDone);
    movRaxToAbs(c, doneAt);
    c.push_back(0xEB), c.push_back(0xFE);  // jmp . (until interrupted)
    const uint64_t zero = 0;
    if (!writeMem(tid, code, c.data(), c.size()) || !writeMem(tid, doneAt, &zero, sizeof zero)) return false;
    user_regs_struct r = base;
    r.rip = code;
    r.orig_rax = (unsigned long long)-1;  // not in a syscall: nothing to restart on the way out
    if (!setRegs(tid, r) || ptrace(PTRACE_CONT, tid, 0, 0L) < 0) return false;
    timespec t0, now;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (uint64_t done = 0;;) {
      if (!readMem(tid, doneAt, &done, sizeof done)) return false;
      if (done == kStubDone) break;
      int st;
      pid_t w = waitpid(tid, &st, __WALL | WNOHANG);
      if (w == tid) {
        // a call the domain's filter traces stops for its tracer, us: let it run as
        // it is; so does an interrupt still pending from the freeze (PTRACE_EVENT_STOP)
        const int event = st >> 16;
        if (!WIFSTOPPED(st) || WSTOPSIG(st) != SIGTRAP || (event != PTRACE_EVENT_SECCOMP && event != PTRACE_EVENT_STOP) ||
            ptrace(PTRACE_CONT, tid, 0, 0L) < 0)
          return false;
        continue;
      }
      clock_gettime(CLOCK_MONOTONIC, &now);
      const long ns = (now.tv_sec - t0.tv_sec) * 1000000000L + (now.tv_nsec - t0.tv_nsec);
      // spin a little (the stub takes a few µs once running), then give the CPU
      // away: on a busy machine the task may need this very CPU to run at all
      if (ns > 50000) {
        const timespec nap{0, 20000};
        nanosleep(&nap, nullptr);
      }
      if (w < 0 || now.tv_sec - t0.tv_sec > 5) {
        ptrace(PTRACE_INTERRUPT, tid, 0, 0L);
        int ignored;
        waitpid(tid, &ignored, __WALL);
        return false;
      }
    }
    int st;
    if (ptrace(PTRACE_INTERRUPT, tid, 0, 0L) < 0) return false;
    for (;;) {
      pid_t w = waitStop(tid, &st);
      if (w < 0 && errno == EINTR) continue;
      if (w != tid || !WIFSTOPPED(st)) return false;
      if ((st >> 16) == PTRACE_EVENT_STOP) break;
      if (ptrace(PTRACE_CONT, tid, 0, 0L) < 0) return false;  // (a seccomp stop met on its way to the spin)
    }
    std::vector<int64_t> got(n);
    if (!readMem(tid, results + 8 * first, got.data(), n * sizeof(int64_t))) return false;
    for (size_t i = 0; i < n; i++) out[first + i] = (long)got[i];
  }
  return true;
}

}  // namespace vdomain

namespace vdomain {

bool withInjection(FrozenTask& main, std::vector<ThreadToDump>& threads, uint64_t insn, std::string& err,
                   const std::function<bool(uint64_t scratch, uint64_t code, const std::vector<uint64_t>& masks)>& inside) {
  const uint64_t all = ~0ULL;
  uint64_t mainMask = 0;
  if (ptrace(PTRACE_GETSIGMASK, main.tid, sizeof mainMask, &mainMask) < 0 ||
      ptrace(PTRACE_SETSIGMASK, main.tid, sizeof all, &all) < 0) {
    err = "pid " + std::to_string(main.tid) + ": cannot read its signal mask: " + strerror(errno);
    return false;
  }
  std::vector<uint64_t> masks(threads.size() + 1);
  masks[0] = mainMask;
  bool ok = true;
  size_t blocked = 0;  // threads whose mask was read and blocked (and must be put back)
  for (; blocked < threads.size(); blocked++) {
    pid_t tid = threads[blocked].task->tid;
    if (ptrace(PTRACE_GETSIGMASK, tid, sizeof masks[blocked + 1], &masks[blocked + 1]) < 0 ||
        ptrace(PTRACE_SETSIGMASK, tid, sizeof all, &all) < 0) {
      err = "task " + std::to_string(tid) + ": cannot read its signal mask: " + strerror(errno);
      ok = false;
      break;
    }
  }
  long scratch = -ENOMEM, code = -ENOMEM;
  auto mapped = [](long addr) { return addr > 0 || addr <= -4096; };
  if (ok) {
    scratch = injectSyscall(main.tid, insn, main.regs, SYS_mmap, 0, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (mapped(scratch))
      code = injectSyscall(main.tid, insn, main.regs, SYS_mmap, 0, 4096, PROT_READ | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (!mapped(scratch) || !mapped(code)) {
      err = "pid " + std::to_string(main.tid) + ": cannot map a scratch page in it: " +
            strerror((int)-(mapped(scratch) ? code : scratch));
      ok = false;
    }
  }
  ok = ok && inside((uint64_t)scratch, (uint64_t)code, masks);
  if (mapped(scratch)) injectSyscall(main.tid, insn, main.regs, SYS_munmap, scratch, 4096);
  if (mapped(code)) injectSyscall(main.tid, insn, main.regs, SYS_munmap, code, 4096);
  auto putBack = [](FrozenTask& t, uint64_t mask) {
    user_regs_struct back = t.regs;
    normalizeSyscallRestart(back, true);
    setRegs(t.tid, back);
    ptrace(PTRACE_SETSIGMASK, t.tid, sizeof mask, &mask);
  };
  putBack(main, mainMask);
  for (size_t i = 0; i < blocked; i++) putBack(*threads[i].task, masks[i + 1]);
  return ok;
}

}  // namespace vdomain
