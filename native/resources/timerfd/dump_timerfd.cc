// timerfd_create(2), the dump side. What the kernel keeps of one (fs/timerfd.c and
// its fdinfo): the clock ("clockid"), the flags of its last timerfd_settime
// ("settime flags": TFD_TIMER_ABSTIME, TFD_TIMER_CANCEL_ON_SET), the time left to
// its next expiry ("it_value") and its period ("it_interval"), the expirations
// not yet read ("ticks"), the status flags (O_NONBLOCK) and close-on-exec (the
// files kind records those for every fd).
// fdinfo alone is not exact for a periodic timer that expired unread: the kernel
// counts the periods missed since only when the timer is read or asked
// (timerfd_gettime). So the file is taken (pidfd_getfd) and asked first: its
// ticks and time left are then exact, as a read would see them, and nothing is
// consumed.
// Time stops for the job while it is an image: a timer restored has the time
// left it had (for an absolute timer: now + that, in its clock), except an
// absolute CLOCK_REALTIME one, which keeps its wall-clock deadline.
// Not kept: the "cancelled" state a TFD_TIMER_CANCEL_ON_SET timer enters when
// the wall clock is set (needs CAP_SYS_TIME; shown nowhere but by a read).
// Made again by restore_timerfd.c.
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "resources/files/fd_kind.h"

namespace vdomain {

namespace {

bool takes(const OpenFd& f) { return f.target == "anon_inode:[timerfd]"; }

// "(sec, nsec)"
bool pair(const std::string& text, long long& sec, long long& nsec) {
  return sscanf(text.c_str(), "(%lld, %lld)", &sec, &nsec) == 2 && sec >= 0 && nsec >= 0 && nsec < 1000000000;
}

bool dump(const OpenFd& f, Json& j, std::string& why) {
  int fd = takeFd(f);
  if (fd < 0) {
    why = std::string("timerfd: cannot take it to read it (pidfd_getfd: ") + strerror(errno) + ") — not supported";
    return false;
  }
  struct itimerspec now{};
  const bool asked = timerfd_gettime(fd, &now) == 0;  // brings its ticks up to date
  const std::string info = ownFdinfo(fd);
  close(fd);
  long long vs, vns, is, ins;
  char* end = nullptr;
  const std::string clock = fdinfoValue(info, "clockid"), ticks = fdinfoValue(info, "ticks");
  const std::string flags = fdinfoValue(info, "settime flags");
  const long clockId = strtol(clock.c_str(), &end, 10);
  if (!asked || clock.empty() || *end || ticks.empty() || flags.empty() || !pair(fdinfoValue(info, "it_value"), vs, vns) ||
      !pair(fdinfoValue(info, "it_interval"), is, ins)) {
    why = "timerfd: its fdinfo is not as expected — not supported";
    return false;
  }
  const unsigned long settime = strtoul(flags.c_str(), nullptr, 8);
  j.field("clock", clockId).field("abstime", (settime & TFD_TIMER_ABSTIME) != 0);
  j.field("cancelOnSet", (settime & TFD_TIMER_CANCEL_ON_SET) != 0);
  j.key("value").beginArray().num(vs).num(vns).endArray();
  j.key("interval").beginArray().num(is).num(ins).endArray();
  j.field("ticks", std::to_string(strtoull(ticks.c_str(), nullptr, 10)));
  if ((settime & TFD_TIMER_ABSTIME) && (clockId == CLOCK_REALTIME || clockId == CLOCK_REALTIME_ALARM) && (vs || vns)) {
    struct timespec wall{};
    clock_gettime(CLOCK_REALTIME, &wall);
    long long ds = wall.tv_sec + vs, dns = wall.tv_nsec + vns;
    if (dns >= 1000000000) ds++, dns -= 1000000000;
    j.key("deadline").beginArray().num(ds).num(dns).endArray();
  }
  return true;
}

}  // namespace

extern const FdKindDump timerfdFdKind = {"timerfd", takes, dump};

}  // namespace vdomain
