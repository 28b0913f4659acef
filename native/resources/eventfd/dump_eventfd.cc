// eventfd(2), the dump side. What the kernel keeps of one (fs/eventfd.c, and its
// fdinfo): the counter ("eventfd-count", hex), EFD_SEMAPHORE ("eventfd-semaphore"),
// the status flags (O_NONBLOCK; the files kind records them for every fd, and
// restore_files.c sets them again), close-on-exec (likewise), and an id the
// kernel numbers them by ("eventfd-id": informational, shown nowhere else, not
// kept). Readers and writers blocked on it were interrupted by the freeze and
// restart their call after the restore. Made again by restore_eventfd.c.
#include <cstdlib>

#include "resources/files/fd_kind.h"

namespace vdomain {

namespace {

bool takes(const OpenFd& f) { return f.target == "anon_inode:[eventfd]"; }

bool dump(const OpenFd& f, Json& j, std::string& why) {
  const std::string count = fdinfoValue(f.fdinfo, "eventfd-count");
  const std::string semaphore = fdinfoValue(f.fdinfo, "eventfd-semaphore");
  char* end = nullptr;
  const unsigned long long value = strtoull(count.c_str(), &end, 16);
  if (count.empty() || *end || (semaphore != "0" && semaphore != "1")) {
    why = "eventfd: its fdinfo shows no counter or semaphore flag (an older kernel) — not supported";
    return false;
  }
  // 64-bit counters as decimal strings: they may not fit a double
  j.field("count", std::to_string(value)).field("semaphore", semaphore == "1");
  return true;
}

}  // namespace

extern const FdKindDump eventfdFdKind = {"eventfd", takes, dump};

}  // namespace vdomain
