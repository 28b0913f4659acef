// The TIDs the kernel reads back from a job's memory: robust mutexes.
#pragma once
#include <sys/types.h>

namespace vdomain {

// When a thread dies, the kernel walks its robust list and marks OWNER_DIED
// (waking a waiter) each lock word whose owner field is the thread's *real* TID.
// A thread of a remapped restore writes another number there: the TID its
// memory and registers hold from before the checkpoint (glibc's descriptor,
// cached by a lock in progress). Called at its exit event, before the kernel's
// walk: rewrites to `to` each lock word on the dying thread's robust list that
// names `from`, and the list's pending entry too unless `from` may be someone
// else's real TID (`pendingToo` false). The thread must be stopped. Returns how
// many words were rewritten.
int retargetRobustList(pid_t tid, pid_t from, pid_t to, bool pendingToo);

}  // namespace vdomain
