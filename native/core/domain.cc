#include "core/domain.h"
#include "core/procfs.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <linux/seccomp.h>

#include <cstring>
#include <stdexcept>
#include <system_error>

extern char** environ;

namespace vdomain {

#ifndef SECCOMP_IOCTL_NOTIF_SET_FLAGS
#define SECCOMP_IOCTL_NOTIF_SET_FLAGS SECCOMP_IOW(4, __u64)
#endif
#ifndef SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP
#define SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP 1
#endif

Domain::Domain(DomainConfig cfg, EventSink sink)
    : cfg_(std::move(cfg)), sink_(std::move(sink)), table_(cfg_.vpidBase) {}

void Domain::log(const std::string& level, const std::string& msg) {
  Event e;
  e.type = "log";
  e.text = level + "\t" + msg;
  sink_(std::move(e));
}

void Domain::tellKeeper(char what) {
  if (ctlFd_ >= 0 && write(ctlFd_, &what, 1) < 0) {
    // the keeper is gone already
  }
}

void Domain::terminate() { tellKeeper('K'); }

int Domain::dumpSysv(int fd) {
  auto done = std::make_shared<std::promise<int>>();
  auto answer = done->get_future();
  {
    std::lock_guard<std::mutex> g(sysvMu_);
    if (sysvDone_) return EBUSY;
    sysvDone_ = done;
  }
  if (!sendFd(ctlFd_, fd, 'P')) {
    int e = errno;
    std::lock_guard<std::mutex> g(sysvMu_);
    sysvDone_.reset();
    return e ? e : EIO;
  }
  return answer.get();
}

static std::string readLine(int fd, std::string& buf) {
  for (;;) {
    auto nl = buf.find('\n');
    if (nl != std::string::npos) {
      std::string line = buf.substr(0, nl);
      buf.erase(0, nl + 1);
      return line;
    }
    char chunk[256];
    ssize_t n = read(fd, chunk, sizeof chunk);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return std::string();
    buf.append(chunk, n);
  }
}

static int recvFd(int sock, char& tag) {
  char byte = 0;
  iovec iov{&byte, 1};
  union {
    cmsghdr h;
    char buf[CMSG_SPACE(sizeof(int))];
  } u;
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = u.buf;
  msg.msg_controllen = sizeof u.buf;
  ssize_t n;
  do n = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC); while (n < 0 && errno == EINTR);
  tag = n == 1 ? byte : 0;
  cmsghdr* c = CMSG_FIRSTHDR(&msg);
  if (n != 1 || !c || c->cmsg_type != SCM_RIGHTS) return -1;
  int fd;
  memcpy(&fd, CMSG_DATA(c), sizeof fd);
  return fd;
}

// One byte (tag) carrying the descriptor fd (SCM_RIGHTS).
bool sendFd(int sock, int fd, char tag) {
  iovec iov{&tag, 1};
  union {
    cmsghdr h;
    char buf[CMSG_SPACE(sizeof(int))];
  } u{};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = u.buf;
  msg.msg_controllen = sizeof u.buf;
  cmsghdr* c = CMSG_FIRSTHDR(&msg);
  c->cmsg_level = SOL_SOCKET;
  c->cmsg_type = SCM_RIGHTS;
  c->cmsg_len = CMSG_LEN(sizeof(int));
  memcpy(CMSG_DATA(c), &fd, sizeof fd);
  ssize_t n;
  do n = sendmsg(sock, &msg, MSG_NOSIGNAL); while (n < 0 && errno == EINTR);
  return n == 1;
}

static int readErrno(int fd) {
  int e = 0;
  ssize_t n;
  do n = read(fd, &e, sizeof e); while (n < 0 && errno == EINTR);
  return n == sizeof e ? e : EIO;
}

void Domain::spawnKeeper(bool restore, pid_t wantPid) {
  int ctl[2], boot[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, ctl) < 0 ||
      socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, boot) < 0)
    throw std::system_error(errno, std::generic_category(), "socketpair");

  // The keeper gets its ends where they are, on free numbers from 100 on (dup2
  // onto itself clears CLOEXEC on the copies): the fds the command inherited
  // (cfg_.inherited) go to the keeper and the job at their own numbers (fd 3 of
  // `vdomain run -- job 3<file`), as the job's descriptions from outside.
  for (int* end : {&ctl[1], &boot[1]}) {
    int high = fcntl(*end, F_DUPFD_CLOEXEC, 100);
    if (high >= 0) {
      close(*end);
      *end = high;
    }
  }
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  // The job's stdio is the supervisor's: make sure it survives the exec even if
  // the runtime marked it close-on-exec (dup2 onto itself clears the flag).
  for (int fd = 0; fd <= 2; fd++)
    if (fcntl(fd, F_GETFD) >= 0) posix_spawn_file_actions_adddup2(&fa, fd, fd);
  for (int fd : cfg_.inherited)
    if (fd > 2 && fd != ctl[1] && fd != boot[1] && fcntl(fd, F_GETFD) >= 0) posix_spawn_file_actions_adddup2(&fa, fd, fd);
  posix_spawn_file_actions_adddup2(&fa, ctl[1], ctl[1]);
  posix_spawn_file_actions_adddup2(&fa, boot[1], boot[1]);
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t none, all;
  sigemptyset(&none);
  sigfillset(&all);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setsigdefault(&attr, &all);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  std::vector<std::string> args = {cfg_.keeperPath, std::to_string(ctl[1]), std::to_string(boot[1]), cfg_.hostIpc ? "host" : "own"};
  if (restore) {
    args.push_back("--restore");
    args.push_back(std::to_string(wantPid));
    if (!cfg_.sysvFile.empty()) args.push_back(cfg_.sysvFile);
  } else {
    args.insert(args.end(), cfg_.argv.begin(), cfg_.argv.end());
  }
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  // A restoring child must not have glibc's rseq area registered: the restorer
  // unmaps it, and the kernel would write into the hole.
  std::vector<std::string> envs;
  for (char** e = environ; *e; e++)
    if (!restore || strncmp(*e, "GLIBC_TUNABLES=", 15) != 0) envs.push_back(*e);
  if (restore) envs.push_back("GLIBC_TUNABLES=glibc.pthread.rseq=0");
  std::vector<char*> envp;
  for (auto& e : envs) envp.push_back(const_cast<char*>(e.c_str()));
  envp.push_back(nullptr);
  int rc = posix_spawn(&keeper_, cfg_.keeperPath.c_str(), &fa, &attr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&fa);
  posix_spawnattr_destroy(&attr);
  close(ctl[1]);
  close(boot[1]);
  ctlFd_ = ctl[0];
  bootFd_ = boot[0];
  if (rc != 0) throw std::system_error(rc, std::generic_category(), "cannot start vdomain-keeper");
}

namespace {
// The whole of len, through read() or write(), retrying what EINTR cut short.
template <class Io, class Ptr>
bool allOf(Io io, int fd, Ptr p, size_t len) {
  while (len) {
    ssize_t n = io(fd, p, len);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    p += n;
    len -= (size_t)n;
  }
  return true;
}
}  // namespace

bool writeAll(int fd, const void* p, size_t len) { return allOf(::write, fd, static_cast<const char*>(p), len); }
bool readAll(int fd, void* p, size_t len) { return allOf(::read, fd, static_cast<char*>(p), len); }

// Why the keeper or the job root vanished during the start, for the error message.
std::string Domain::whatHappened() {
  std::string out;
  siginfo_t si{};
  // WNOWAIT: the control thread reaps the keeper as usual
  if (waitid(P_PID, keeper_, &si, WEXITED | WNOHANG | WNOWAIT) == 0 && si.si_pid == keeper_)
    out += si.si_code == CLD_EXITED ? " (vdomain-keeper exited " + std::to_string(si.si_status) + ")"
                                    : " (vdomain-keeper killed by signal " + std::to_string(si.si_status) + ")";
  std::string status = rootReal_ > 0 ? readProcFile(rootReal_, "stat") : "";
  out += status.empty() ? " (the job root is gone)" : " (the job root: " + status.substr(0, 60) + ")";
  return out;
}

void Domain::readRootPid() {
  std::string first = readLine(ctlFd_, ctlBuf_);
  long a = 0, b = 0;
  if (first.size() > 2 && first[0] == 'V' && sscanf(first.c_str() + 2, "%ld %ld", &a, &b) == 2)
    throw std::runtime_error("cannot make SysV IPC object " + std::to_string(b + 1) + " of the image again: " +
                             strerror((int)a) + (a == ENOSYS ? " (no IPC namespace of its own here)" : ""));
  if (first.size() < 3 || first[0] != 'S' || sscanf(first.c_str() + 2, "%ld %ld", &a, &b) < 1)
    throw std::runtime_error("vdomain-keeper did not start the job");
  rootReal_ = (pid_t)a;
  ownIpc_ = b == 1;
  // From here on the keeper reports every reap and, by closing, the domain's end —
  // also when the start fails below (the root is then killed through terminate()).
  controlThread_ = std::thread([this] { controlLoop(); });
}

// One thread per listener: a fresh domain has one; a restored tree one per
// process (each restorer installs the filter for itself and what it will fork).
void Domain::setupListener(int fd) {
  // Measured: with synchronous wake-up a notification round trip falls from
  // ~60 µs (waking the idle CPU) to ~7 µs. Older kernels lack it; fine without.
  ioctl(fd, SECCOMP_IOCTL_NOTIF_SET_FLAGS, SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP, 0);
  std::thread([this, fd] { notifyLoop(fd); }).detach();
}

void Domain::start() {
  if (cfg_.restore) return startRestore();
  spawnKeeper(false, 0);
  readRootPid();

  if (table_.identity()) {
    rootVirt_ = rootReal_;
  } else {
    // The root must be traced before its filter (with TRACE actions) is installed.
    rootVirt_ = cfg_.vpidBase;
    table_.addWithVirt(rootReal_, rootReal_, rootVirt_);
    tracerThread_ = std::thread([this] { tracerLoop(); });
    while (seizeState_.load() == 0) usleep(50);
    if (seizeState_.load() < 0)
      throw std::system_error(-seizeState_.load(), std::generic_category(), "cannot trace the job");
  }

  // One write of length and program: the root of an identity domain (no filter)
  // may read the length and exec before a second write, which would then fail.
  uint32_t len = (uint32_t)cfg_.filter.size();
  std::vector<uint8_t> msg(sizeof len + len);
  memcpy(msg.data(), &len, sizeof len);
  if (len) memcpy(msg.data() + sizeof len, cfg_.filter.data(), len);
  if (!writeAll(bootFd_, msg.data(), msg.size()))
    throw std::runtime_error("cannot hand the filter to the job: " + std::string(strerror(errno)) + whatHappened());

  char tag = 0;
  int listener = recvFd(bootFd_, tag);
  if (listener >= 0) {
    setupListener(listener);
  } else if (tag != 'N' || !cfg_.filter.empty()) {
    int e = tag == 'F' ? readErrno(bootFd_) : EIO;
    throw std::system_error(e, std::generic_category(), "cannot install the seccomp filter");
  }

  // EOF: exec succeeded (the boot socket is close-on-exec); "E"+errno: it failed.
  char e = 0;
  ssize_t n;
  do n = read(bootFd_, &e, 1); while (n < 0 && errno == EINTR);
  int execErr = (n == 1 && e == 'E') ? readErrno(bootFd_) : 0;
  close(bootFd_);
  bootFd_ = -1;
  if (execErr) throw ExecError(execErr, std::generic_category(), "exec");
  if (table_.identity()) tellKeeper('I');  // nothing to translate: it may outlive us
}

void Domain::controlLoop() {
  for (;;) {
    std::string line = readLine(ctlFd_, ctlBuf_);
    if (line.empty()) break;
    if (line[0] == 'X') {
      long pid = 0, status = 0;
      sscanf(line.c_str(), "X %ld %ld", &pid, &status);
      if (!table_.identity()) table_.reaped((pid_t)pid);
      if (pid == rootReal_) {
        rootEnded();
        emit(Event{"exit", status, 0, ""});
      }
    } else if (line[0] == 'P') {
      std::shared_ptr<std::promise<int>> done;
      {
        std::lock_guard<std::mutex> g(sysvMu_);
        done.swap(sysvDone_);
      }
      if (done) done->set_value(atoi(line.c_str() + 2));
    }
  }
  {
    std::lock_guard<std::mutex> g(sysvMu_);
    if (sysvDone_) sysvDone_->set_value(ESRCH);  // the keeper is gone
    sysvDone_.reset();
  }
  // The keeper exits once the domain is empty (or after killing it).
  int st;
  while (waitpid(keeper_, &st, 0) < 0 && errno == EINTR) {
  }
  if (terminalTaken_ >= 0) takeTerminalBack(terminalTaken_);
  emit(Event{"empty", 0, 0, ""});
}

}  // namespace vdomain
