// A stopped task's registers and the single syscalls the supervisor runs in it.
// Used by the dumper (state the kernel only shows the task itself: signal
// handlers, sigaltstack, itimers, clear_child_tid) and by the end of a restore
// (the last munmap of the restorer blob). The caller must be the task's tracer
// and the task in a ptrace stop.
#pragma once
#include <sys/types.h>
#include <sys/user.h>

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace vdomain {

bool getRegs(pid_t tid, user_regs_struct& r);
bool setRegs(pid_t tid, const user_regs_struct& r);
// The extended FPU/vector state (XSAVE layout) as the kernel's NT_X86_XSTATE regset.
bool getXstate(pid_t tid, std::string& out);
bool setXstate(pid_t tid, const std::string& xs);

// A task stopped inside a syscall (PTRACE_INTERRUPT wakes interruptible sleeps
// with -ERESTART*) is rewritten to be just before it: the syscall runs again
// when the task goes on, as after a signal with SA_RESTART. A sleep that the
// kernel would continue through restart_syscall (-ERESTART_RESTARTBLOCK) restarts
// that way in the live task (`live`); an image, whose process has no restart
// block, makes the call again with its arguments (its timeout counts anew).
void normalizeSyscallRestart(user_regs_struct& r, bool live);

// Address of a `syscall` instruction in the task's vDSO (0 when none found).
uint64_t findSyscallInsn(pid_t tid);

// Runs one syscall in a stopped task and returns its result (-errno on failure;
// -ESRCH when the task vanished). `base` are registers to start from; the task's
// registers are left as the syscall leaves them: put the right ones back after.
// The task must have every signal blocked and be traced with PTRACE_O_TRACESYSGOOD.
long injectSyscall(pid_t tid, uint64_t insn, const user_regs_struct& base, long nr, long a0 = 0, long a1 = 0,
                   long a2 = 0, long a3 = 0, long a4 = 0, long a5 = 0);

// Several syscalls in one resumption of a stopped task (injectSyscall stops twice
// per call; each stop costs tens of µs on a VM): a stub written into `code` (a
// page of the task's own mapped r-x, written through /proc/PID/mem) makes them one
// after another, stores each result at results + 8*i (writable memory of the
// task, room for every call and one more word), sets the word after them and
// spins until interrupted. out gets each call's result (-errno). False when the
// task vanished, stopped for something else, or the stub did not end within 5 s.
struct InjectedCall {
  long nr;
  long args[6];
};
bool injectSyscalls(pid_t tid, uint64_t code, uint64_t results, const user_regs_struct& base,
                    const std::vector<InjectedCall>& calls, std::vector<long>& out);

}  // namespace vdomain

namespace vdomain {

struct FrozenTask;
struct ThreadToDump;

// Runs `inside` with every signal blocked in the process's tasks (so none is
// delivered between injected calls) and two fresh pages mapped in it: `scratch`
// (rw-, for the calls' answers) and `code` (r-x from the start: a process under
// MDWE may not make a writable page executable, nor need we). After, each task's
// mask is put back (inside gets them: masks[0] the main thread's, then the
// threads' in order) and its registers rewound to restart the syscall it was in,
// so it resumes right even if the supervisor dies before the thaw.
bool withInjection(FrozenTask& main, std::vector<ThreadToDump>& threads, uint64_t insn, std::string& err,
                   const std::function<bool(uint64_t scratch, uint64_t code, const std::vector<uint64_t>& masks)>& inside);

}  // namespace vdomain
