// POSIX message queues (mq_overview(7)), the fd side: an fd of a queue is a file
// of the IPC namespace's mqueue filesystem (statfs: MQUEUE_MAGIC), its link names
// the queue ("/NAME"). What the kernel keeps of the fd: the queue it opened, its
// access mode and O_NONBLOCK (mq_setattr's mq_flags is O_NONBLOCK of the file:
// the files kind records the status flags, and close-on-exec, for every fd).
// The queue itself (attributes, owner, mode, messages) is the domain's: its
// keeper dumps it with the namespace's System V objects (keeper_mqueue.c).
// Refused by name: a queue removed (mq_unlink) while open, one a process is
// registered for the notification of (mq_notify: the registration is the
// kernel's alone, and a restore cannot make it for that process), and one of the
// host's IPC namespace (a domain run with --host-ipc: not the job's to take).
// Opened again by restore_mqueue.c.
#include <fcntl.h>
#include <sys/statfs.h>
#include <unistd.h>

#include <string>

#include "core/dump.h"
#include "resources/files/fd_kind.h"
#include "resources/mqueue/mqueue_image.h"

namespace vdomain {

namespace {

constexpr long kMqueueMagic = 0x19800202;

bool takes(const OpenFd& f) {
  if (f.flags & O_PATH) return false;
  struct statfs s;
  const std::string at = "/proc/" + std::to_string(f.pid) + "/fd/" + std::to_string(f.fd);
  return statfs(at.c_str(), &s) == 0 && s.f_type == kMqueueMagic;
}

// Whether a process is registered for the queue's notification, asked through
// the fd itself (-1: unknown, e.g. a write-only fd).
int notified(const OpenFd& f) {
  const int fd = takeFd(f);
  if (fd < 0) return -1;
  const int note = vd_mqueue_notified(fd);
  close(fd);
  return note;
}

bool dump(const OpenFd& f, Json& j, std::string& why) {
  const std::string& name = f.target;
  const std::string which = "mqueue " + name + ": ";
  if (name.size() < 2 || name.size() > VD_MQUEUE_NAME_MAX + 1 || name[0] != '/' || name.find('/', 1) != std::string::npos) {
    why = which + "a name vdomain cannot open again — not supported";
    return false;
  }
  if (f.st.st_nlink == 0) {
    why = which + "removed (mq_unlink) while open — not supported yet";
    return false;
  }
  if (f.run && !f.run->ownIpc) {
    why = which + "a POSIX message queue of the host's IPC namespace (the domain shares it: run without --host-ipc) — not supported";
    return false;
  }
  // (a write-only fd cannot read it: the keeper asks the queue itself, frozen)
  if (notified(f) > 0) {
    why = which + "a process is registered for its notification (mq_notify) — not supported yet";
    return false;
  }
  j.field("name", name);
  return true;
}

}  // namespace

// (one held by several fds, after dup or fork, is opened once by the keeper: VD_SHARED_MQUEUE)
extern const FdKindDump mqueueFdKind = {"mqueue", takes, dump, true};

}  // namespace vdomain
