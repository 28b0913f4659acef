#include "resources/threads/thread_ids.h"

#include <sys/syscall.h>
#include <unistd.h>

#include <cstdint>

#include "resources/memory/memory.h"

namespace vdomain {

namespace {

constexpr uint32_t kFutexTidMask = 0x3fffffff;
constexpr int kMaxEntries = 2048;  // the kernel's ROBUST_LIST_LIMIT

struct RobustListHead {
  uint64_t next;
  int64_t futexOffset;
  uint64_t listOpPending;
};

}  // namespace

int retargetRobustList(pid_t tid, pid_t from, pid_t to, bool pendingToo) {
  uint64_t headAddr = 0;
  size_t len = 0;
  RobustListHead head{};
  if (syscall(SYS_get_robust_list, tid, &headAddr, &len) != 0 || !headAddr || len != sizeof head ||
      !readMem(tid, headAddr, &head, sizeof head))
    return 0;
  int rewritten = 0;
  auto retarget = [&](uint64_t entry) {
    const uint64_t word = entry + (uint64_t)head.futexOffset;
    uint32_t v;
    if (!readMem(tid, word, &v, sizeof v) || (v & kFutexTidMask) != (uint32_t)from) return;
    v = (v & ~kFutexTidMask) | (uint32_t)to;
    rewritten += writeMem(tid, word, &v, sizeof v);
  };
  // the list is circular through the head; bit 0 of a link marks a PI futex
  uint64_t entry = head.next & ~1ULL;
  for (int n = 0; entry && entry != headAddr && n < kMaxEntries; n++) {
    retarget(entry);
    uint64_t next;
    if (!readMem(tid, entry, &next, sizeof next)) break;
    entry = next & ~1ULL;
  }
  if (pendingToo && (head.listOpPending & ~1ULL)) retarget(head.listOpPending & ~1ULL);
  return rewritten;
}

}  // namespace vdomain
