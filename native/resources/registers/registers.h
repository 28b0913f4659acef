// Registers: dumped from the frozen task, put back by the supervisor at the end
// of a restore (the restorer blob cannot set its own registers and jump: it
// would have to write below the job's stack pointer, into its red zone).
#pragma once
#include <sys/types.h>
#include <sys/user.h>

#include <string>

#include "core/dump.h"

namespace vdomain {

bool dumpRegisters(FrozenTask& t, Json& j, std::string& err);

struct TaskRegisters {
  user_regs_struct regs{};
  std::string xstate;
  uint64_t sigmask = 0;
};

// The restored task stopped at the blob's int3 (a SIGTRAP signal-delivery stop,
// traced with PTRACE_O_TRACESYSGOOD): take its seccomp listener (-1 when none) into
// this process, remove the blob, load the job's registers, FPU state and signal
// mask. The caller then lets it go (detach or continue). *listener gets our fd.
bool finishRestore(pid_t tid, const TaskRegisters& tr, int* listener, std::string& err);
// The job's FPU state, registers and signal mask into a stopped task (the last step
// of finishRestore; all there is to do for a thread other than the main one).
bool loadRegisters(pid_t tid, const TaskRegisters& tr, std::string& err);

}  // namespace vdomain
