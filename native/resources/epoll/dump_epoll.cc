// epoll(7), the dump side. What the kernel keeps of an instance (fs/eventpoll.c
// and its fdinfo): its watches, each keyed by the target file and the fd number
// it was added with ("tfd"), with its events (EPOLLET, EPOLLONESHOT,
// EPOLLEXCLUSIVE, EPOLLWAKEUP among them; a fired EPOLLONESHOT keeps only those
// flags) and its data; its ready list (the watches with an event not yet
// collected); its status flags and close-on-exec (the files kind records those).
//
// The target of each watch: kcmp(KCMP_EPOLL_TFD) tells whether the process's fd
// tfd is still the watched file; when it is not (the fd was closed or reused
// after the watch was added, the file living on in another fd), an fd of the
// process that holds the file is recorded ("via") and the restore adds the
// watch under tfd through it. A watched file no fd of the process holds is
// refused.
//
// The ready list matters only for edge-triggered watches: a level-triggered one
// is reported whenever its file is ready, and the restore makes every file as it
// was. An edge-triggered watch whose event was not yet collected must be
// reported once after the restore, one whose event was collected must not. The
// kernel shows the list nowhere, so the injected part (dumpInjectedEpoll, with
// the process frozen) collects it: epoll_wait(timeout 0) as the process, then
// every watch that call took off the list (edge-triggered) or disarmed
// (EPOLLONESHOT) is put back as it was by EPOLL_CTL_MOD (DEL and ADD for an
// EPOLLEXCLUSIVE one, which MOD refuses), which queues it again since its file
// is ready. Only an instance with an edge-triggered watch is asked.
//
// Made again by restore_epoll.c.
#include <linux/kcmp.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "core/dump.h"
#include "core/procfs.h"
#include "core/task_regs.h"
#include "resources/epoll/epoll_plan.h"
#include "resources/files/fd_kind.h"
#include "resources/memory/memory.h"

namespace vdomain {

namespace {

constexpr const char* kEpollTarget = "anon_inode:[eventpoll]";
// events collected at once in the scratch page (12 bytes each), with room after
// them for one event to put back
constexpr size_t kMaxCollected = 300, kPutBackAt = 3840;

struct Watch {
  int tfd;
  uint32_t events;
  uint64_t data;
};

// The watches of fdinfo, in its order; false when a line is not as expected.
bool watchesOf(const std::string& info, std::vector<Watch>& out) {
  for (size_t at = 0; at < info.size();) {
    size_t end = info.find('\n', at);
    if (end == std::string::npos) end = info.size();
    if (info.compare(at, 4, "tfd:") == 0) {
      Watch w{};
      unsigned long long data = 0;
      if (sscanf(info.c_str() + at, "tfd: %d events: %x data: %llx", &w.tfd, &w.events, &data) != 3) return false;
      w.data = data;
      out.push_back(w);
    }
    at = end + 1;
  }
  return true;
}

// Is fd of pid the file watch k of epoll efd (k: its index among watches of that tfd)?
bool sameTarget(pid_t pid, int efd, const Watch& w, unsigned k, int fd) {
  struct kcmp_epoll_slot slot = {(__u32)efd, (__u32)w.tfd, k};
  return syscall(SYS_kcmp, pid, pid, KCMP_EPOLL_TFD, fd, (unsigned long)&slot) == 0;
}

// For each watch, an fd of pid that holds its file (tfd itself when it still
// does), or -1.
std::vector<int> targetsOf(pid_t pid, int efd, const std::vector<Watch>& ws) {
  std::vector<int> via(ws.size(), -1);
  std::vector<int> fds;
  for (size_t i = 0; i < ws.size(); i++) {
    unsigned k = 0;  // watches before this one with the same tfd
    for (size_t j = 0; j < i; j++) k += ws[j].tfd == ws[i].tfd;
    if (sameTarget(pid, efd, ws[i], k, ws[i].tfd)) {
      via[i] = ws[i].tfd;
      continue;
    }
    if (fds.empty()) fds = openFdNumbers(pid);
    for (int fd : fds)
      if (sameTarget(pid, efd, ws[i], k, fd)) {
        via[i] = fd;
        break;
      }
  }
  return via;
}

// How deep epoll efd of pid nests others (0: it watches none); -1 past the kernel's limit.
int levelOf(pid_t pid, int efd, const std::string& info, int depth) {
  if (depth > VD_EPOLL_MAX_NEST) return -1;
  std::vector<Watch> ws;
  if (!watchesOf(info, ws)) return -1;
  const std::vector<int> via = targetsOf(pid, efd, ws);
  int level = 0;
  for (size_t i = 0; i < ws.size(); i++) {
    if (via[i] < 0 || readLink(pid, "fd/" + std::to_string(via[i])) != kEpollTarget) continue;
    const int inner = levelOf(pid, via[i], readProcFile(pid, ("fdinfo/" + std::to_string(via[i])).c_str()), depth + 1);
    if (inner < 0) return -1;
    level = std::max(level, inner + 1);
  }
  return level;
}

bool takes(const OpenFd& f) { return f.target == kEpollTarget; }

bool dump(const OpenFd& f, Json& j, std::string& why) {
  std::vector<Watch> ws;
  if (!watchesOf(f.fdinfo, ws)) {
    why = "epoll: its fdinfo is not as expected — not supported";
    return false;
  }
  const std::vector<int> via = targetsOf(f.pid, f.fd, ws);
  for (size_t i = 0; i < ws.size(); i++)
    if (via[i] < 0) {
      why = "epoll watches fd " + std::to_string(ws[i].tfd) +
            ", a file no fd of the process holds any more (closed after it was added) — not supported";
      return false;
    }
  // a fired EPOLLONESHOT is disarmed again by the restore by firing it once: its
  // file must be ready for some event (it will be as it is now)
  for (size_t i = 0; i < ws.size(); i++) {
    if (ws[i].events & ~VD_EPOLL_FLAGS) continue;
    OpenFd target = f;
    target.fd = via[i];
    int fd = takeFd(target);
    struct pollfd pf = {fd, (short)VD_EPOLL_EVENTS, 0};
    const bool ready = fd >= 0 && poll(&pf, 1, 0) == 1;
    if (fd >= 0) close(fd);
    if (!ready) {
      why = "epoll: a fired one-shot watch of fd " + std::to_string(ws[i].tfd) +
            " whose file is ready for no event (it cannot be disarmed again) — not supported";
      return false;
    }
  }
  const int level = levelOf(f.pid, f.fd, f.fdinfo, 0);
  if (level < 0) {
    why = "epoll: nested deeper than the kernel allows, or a nested one's fdinfo is not as expected — not supported";
    return false;
  }
  const std::vector<bool>* pending = nullptr;
  if (f.run) {
    auto it = f.run->epollPending.find({f.pid, f.fd});
    if (it != f.run->epollPending.end() && it->second.size() == ws.size()) pending = &it->second;
  }
  j.field("level", level).key("watches").beginArray();
  for (size_t i = 0; i < ws.size(); i++) {
    char data[24];
    snprintf(data, sizeof data, "%llx", (unsigned long long)ws[i].data);
    j.beginObject().field("tfd", ws[i].tfd).field("via", via[i]).field("events", (uint64_t)ws[i].events);
    j.field("data", data).field("pending", pending && (*pending)[i]).endObject();
  }
  j.endArray();
  return true;
}

// The frozen process's edge-triggered events not yet collected, per epoll fd (see
// the top of this file); every watch is left as it was.
bool dumpInjectedEpoll(DumpRun& run, ProcessDump& p) {
  const pid_t pid = p.ids.real, tid = p.main.tid;
  for (int efd : openFdNumbers(pid)) {
    if (readLink(pid, "fd/" + std::to_string(efd)) != kEpollTarget) continue;
    std::vector<Watch> ws;
    if (!watchesOf(readProcFile(pid, ("fdinfo/" + std::to_string(efd)).c_str()), ws)) continue;  // (refused by dump)
    std::vector<bool>& pending = run.epollPending[{pid, efd}];
    pending.assign(ws.size(), false);
    bool edge = false;
    for (auto& w : ws) edge = edge || (w.events & EPOLLET);
    if (!edge) continue;
    const std::string where = "fd " + std::to_string(efd) + ": epoll";
    if (ws.size() > kMaxCollected) {
      run.u.add(p.ids.vpid, where + " with " + std::to_string(ws.size()) + " watches, some edge-triggered: more than " +
                                std::to_string(kMaxCollected) + " are not supported yet");
      continue;
    }
    // a watch to put back is put back under its own fd number
    const std::vector<int> via = targetsOf(pid, efd, ws);
    bool movable = true;
    for (size_t i = 0; i < ws.size(); i++)
      movable = movable && (via[i] == ws[i].tfd || !(ws[i].events & (EPOLLET | EPOLLONESHOT)));
    if (!movable) {
      run.u.add(p.ids.vpid, where + ": an edge-triggered or one-shot watch of an fd closed since — not supported");
      continue;
    }
    long n = injectSyscall(tid, p.syscallInsn, p.main.regs, SYS_epoll_wait, efd, (long)p.scratch, (long)ws.size(), 0);
    if (n < 0 || n > (long)ws.size()) {
      run.err = "pid " + std::to_string(p.ids.vpid) + " " + where + ": cannot collect its events: " + strerror(n < 0 ? (int)-n : EIO);
      return false;
    }
    std::vector<char> got((size_t)n * sizeof(struct epoll_event));
    if (n && !readMem(tid, p.scratch, got.data(), got.size())) {
      run.err = "pid " + std::to_string(p.ids.vpid) + " " + where + ": cannot read its events";
      return false;
    }
    std::vector<size_t> putBack;
    bool ambiguous = false;
    for (long e = 0; e < n; e++) {
      struct epoll_event ev;
      memcpy(&ev, got.data() + e * sizeof ev, sizeof ev);
      // the watch of that data; when several have it, all of them are put back
      // (an event the job might see twice rather than one it would lose) and
      // the checkpoint is refused
      size_t matches = 0;
      for (size_t i = 0; i < ws.size(); i++) matches += ws[i].data == ev.data.u64;
      ambiguous = ambiguous || matches > 1;
      for (size_t i = 0; i < ws.size(); i++) {
        if (ws[i].data != ev.data.u64) continue;
        if (ws[i].events & EPOLLET) pending[i] = true;
        if ((ws[i].events & (EPOLLET | EPOLLONESHOT)) && std::find(putBack.begin(), putBack.end(), i) == putBack.end())
          putBack.push_back(i);
      }
    }
    for (size_t i : putBack) {
      struct epoll_event ev = {};
      ev.events = ws[i].events;
      ev.data.u64 = ws[i].data;
      long rc = writeMem(tid, p.scratch + kPutBackAt, &ev, sizeof ev) ? 0 : -EFAULT;
      const bool exclusive = ws[i].events & EPOLLEXCLUSIVE;
      if (rc == 0 && exclusive)
        rc = injectSyscall(tid, p.syscallInsn, p.main.regs, SYS_epoll_ctl, efd, EPOLL_CTL_DEL, ws[i].tfd, (long)(p.scratch + kPutBackAt));
      if (rc == 0)
        rc = injectSyscall(tid, p.syscallInsn, p.main.regs, SYS_epoll_ctl, efd, exclusive ? EPOLL_CTL_ADD : EPOLL_CTL_MOD,
                           ws[i].tfd, (long)(p.scratch + kPutBackAt));
      if (rc < 0) {
        run.err = "pid " + std::to_string(p.ids.vpid) + " " + where + ": cannot put back the event of its watch of fd " +
                  std::to_string(ws[i].tfd) + ": " + strerror((int)-rc);
        return false;
      }
    }
    if (ambiguous)
      run.u.add(p.ids.vpid, where + ": two watches with one data value, an event pending — which is which cannot be told");
  }
  return true;
}

}  // namespace

extern const FdKindDump epollFdKind = {"epoll", takes, dump};
extern const DumpKind epollKind = {"epoll", nullptr, nullptr, nullptr, dumpInjectedEpoll, nullptr};

}  // namespace vdomain
