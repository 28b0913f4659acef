// The notify thread: receives the job's notified syscalls and answers them from
// the PID table, without running them (the hot path: no allocation, no JS).
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <linux/seccomp.h>

#include <cstdio>
#include <cstring>
#include <string>

#include "core/domain.h"
#include "resources/memory/memory.h"

namespace vdomain {

namespace {

struct Reply {
  long long val = 0;
  int error = 0;       // positive errno
  bool cont = false;   // let the kernel run the call unchanged
  bool sent = false;   // already answered (ADDFD with SEND)
};

Reply value(long long v) { Reply r; r.val = v; return r; }
Reply failure(int e) { Reply r; r.error = e; return r; }
Reply runUnchanged() { Reply r; r.cont = true; return r; }

bool stillValid(int listener, uint64_t id) {
  return ioctl(listener, SECCOMP_IOCTL_NOTIF_ID_VALID, &id) == 0;
}

// "/proc/<vpid>[/task/<vtid>]/rest" → the same path with real numbers.
// Returns false when the path does not name a /proc PID directory.
bool translateProcPath(PidTable& table, const std::string& path, std::string& out) {
  if (path.compare(0, 6, "/proc/") != 0) return false;
  size_t i = 6, start = i;
  while (i < path.size() && isdigit((unsigned char)path[i])) i++;
  if (i == start || (i < path.size() && path[i] != '/')) return false;
  long v = strtol(path.c_str() + start, nullptr, 10);
  out = "/proc/" + std::to_string(table.toReal((pid_t)v));
  std::string rest = path.substr(i);
  if (rest.compare(0, 6, "/task/") == 0) {
    size_t j = 6;
    while (j < rest.size() && isdigit((unsigned char)rest[j])) j++;
    if (j > 6 && (j == rest.size() || rest[j] == '/')) {
      long t = strtol(rest.c_str() + 6, nullptr, 10);
      out += "/task/" + std::to_string(table.toReal((pid_t)t));
      rest = rest.substr(j);
    }
  }
  out += rest;
  return true;
}

}  // namespace

// The job's answers for the "answer" rows of domains/syscalls.ts.
static Reply answerCall(Domain& d, int listener, const seccomp_notif& n, const Rule& rule) {
  PidTable& t = d.table();
  const pid_t tid = (pid_t)n.pid;
  const auto* a = n.data.args;
  switch (rule.answer) {
    case Answer::Getpid: {
      pid_t v = t.processVirt(tid);
      return v ? value(v) : runUnchanged();
    }
    case Answer::Gettid: {
      pid_t v = t.toVirt(tid);
      return v ? value(v) : runUnchanged();
    }
    case Answer::Getppid: {
      long ppid = procStatField(tid, 4);
      if (ppid < 0) return runUnchanged();
      return value(t.toVirt((pid_t)ppid));  // a parent outside the domain reads as 0
    }
    case Answer::Getpgrp:
    case Answer::Getpgid:
    case Answer::Getsid: {
      pid_t target = tid;
      if (rule.answer != Answer::Getpgrp && (int)a[0] != 0) target = t.toReal((pid_t)a[0]);
      pid_t r = rule.answer == Answer::Getsid ? getsid(target) : getpgid(target);
      if (r < 0) return failure(errno);
      return value(t.toVirt(r));
    }
    case Answer::ReadlinkProc: {
      // readlink(path, buf, size) / readlinkat(dirfd, path, buf, size)
      const bool at = rule.nr == 267;
      std::string path;
      if (!readString(tid, a[at ? 1 : 0], path) || !stillValid(listener, n.id)) return runUnchanged();
      std::string target;
      if (path == "/proc/self") target = std::to_string(t.processVirt(tid));
      else if (path == "/proc/thread-self")
        target = std::to_string(t.processVirt(tid)) + "/task/" + std::to_string(t.toVirt(tid));
      else return runUnchanged();
      size_t size = (size_t)a[at ? 3 : 2];
      size_t len = target.size() < size ? target.size() : size;
      if (!writeMem(tid, a[at ? 2 : 1], target.data(), len)) return failure(EFAULT);
      return value((long long)len);
    }
    case Answer::None:
      break;
  }
  return runUnchanged();
}

// open/openat of /proc/<vpid>/…: open the real path here and install the fd.
static Reply openCall(Domain& d, int listener, const seccomp_notif& n, const Rule& rule) {
  const bool at = rule.nr == 257;
  const auto* a = n.data.args;
  const pid_t tid = (pid_t)n.pid;
  std::string path, real;
  if (!readString(tid, a[at ? 1 : 0], path)) return runUnchanged();
  if (!translateProcPath(d.table(), path, real)) return runUnchanged();
  if (!stillValid(listener, n.id)) return runUnchanged();
  int flags = (int)a[at ? 2 : 1];
  mode_t mode = (mode_t)a[at ? 3 : 2];
  int fd = open(real.c_str(), flags | O_CLOEXEC, mode);
  if (fd < 0) return failure(errno);
  seccomp_notif_addfd add{};
  add.id = n.id;
  add.flags = SECCOMP_ADDFD_FLAG_SEND;
  add.srcfd = (uint32_t)fd;
  add.newfd_flags = (uint32_t)(flags & O_CLOEXEC);
  int rc = ioctl(listener, SECCOMP_IOCTL_NOTIF_ADDFD, &add);
  int e = errno;
  close(fd);
  if (rc < 0) return failure(e);
  Reply r;
  r.sent = true;
  return r;
}

void Domain::notifyLoop(int listener) {
  seccomp_notif req;
  seccomp_notif_resp resp;
  for (;;) {
    memset(&req, 0, sizeof req);
    if (ioctl(listener, SECCOMP_IOCTL_NOTIF_RECV, &req) < 0) {
      if (errno == EINTR) continue;
      if (errno == ENOENT) {
        // the caller died between poll and receive, or no task uses the filter
        // any more (POLLHUP): then the domain is over for this thread
        pollfd pf{listener, POLLIN, 0};
        if (poll(&pf, 1, -1) >= 0 && !(pf.revents & POLLHUP)) continue;
      }
      log("debug", std::string("notify loop ends: ") + strerror(errno));
      break;
    }
    Reply r;
    const Rule* rule = cfg_.rules.forNr(req.data.nr);
    if (!rule) r = runUnchanged();
    else if (rule->how == How::Answer) r = answerCall(*this, listener, req, *rule);
    else if (rule->how == How::Open) r = openCall(*this, listener, req, *rule);
    else r = runUnchanged();
    if (r.sent) continue;
    memset(&resp, 0, sizeof resp);
    resp.id = req.id;
    if (r.cont) resp.flags = SECCOMP_USER_NOTIF_FLAG_CONTINUE;
    else if (r.error) resp.error = -r.error;
    else resp.val = r.val;
    // ENOENT: the caller was killed meanwhile; nothing to answer
    ioctl(listener, SECCOMP_IOCTL_NOTIF_SEND, &resp);
  }
}

}  // namespace vdomain
