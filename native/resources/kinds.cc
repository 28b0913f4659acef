// The kinds table: every resource kind vdomain checkpoints, each a folder of
// native/resources/ (its dump, plan and restorer blob parts side by side; see
// the README's Layout). A new kind is its folder plus its rows here and in kinds.h.
#include "core/dump.h"
#include "core/plan_builder.h"

namespace vdomain {

extern const DumpKind taskKind, registersKind, signalsKind, posixTimersKind, memoryKind, filesKind, epollKind, locksKind,
    sysvKind, terminalKind, ptyKind;

// The dump side, run in this order by the checkpoint (core/dump.cc): the files
// kind finds the descriptions before locks reads them, the domain's SysV objects
// are dumped before the processes' SEM_UNDO adjustments are read against them.
// (Every kind's injected part runs before any kind's outside part: epoll's finds
// the events pending that the files kind then writes in each epoll fd's state.
// Every domain part runs before the processes: pty's reads the pairs whose
// state the files kind writes in each master's fd.)
const DumpKind* const kDumpKinds[] = {&taskKind,  &registersKind, &signalsKind, &posixTimersKind, &memoryKind,
                                      &ptyKind,   &filesKind,     &epollKind,   &locksKind,       &sysvKind,
                                      &terminalKind};
const size_t kDumpKindCount = sizeof kDumpKinds / sizeof kDumpKinds[0];

// The plan side (core/plan_builder.cc buildPlan), each kind's part of the
// restorer's plan from the manifest, in this order: a kind's arrays are laid out
// as it adds them (offsets make the order irrelevant to the blob).
const PlanPart kPlanParts[] = {planThreads, planSysv, planSignals, planLocks, planMemory, planFiles, planTask};
const size_t kPlanPartCount = sizeof kPlanParts / sizeof kPlanParts[0];

}  // namespace vdomain
