// timerfd's record in the restorer's plan, from the fd's "state" in the manifest
// (dump_timerfd.cc writes it), checked: the image is untrusted.
#include "core/plan_builder.h"
#include "resources/timerfd/timerfd_plan.h"

namespace vdomain {

using namespace plan;

namespace {

vd_timespec timespecOf(const Napi::Object& f, const char* key) {
  Napi::Array a = arrOf(f.Get(key), key);
  if (a.Length() != 2) throw std::runtime_error(std::string("manifest: a bad timerfd ") + key);
  const int64_t sec = numOf(a.Get(0u), key), nsec = numOf(a.Get(1u), key);
  if (sec < 0 || sec > (int64_t)1 << 40 || nsec < 0 || nsec >= 1000000000)
    throw std::runtime_error(std::string("manifest: a bad timerfd ") + key);
  return {sec, nsec};
}

}  // namespace

void planFd_timerfd(const Napi::Object& f, PlanBuilder& b, vd_fd& d) {
  vd_timerfd t{};
  const int64_t clock = numOf(f.Get("clock"), "clock");
  if (clock != 0 && clock != 1 && clock != 7 && clock != 8 && clock != 9)
    throw std::runtime_error("manifest: a timerfd of an unknown clock");
  t.clock = (uint32_t)clock;
  if (!f.Get("abstime").IsBoolean() || !f.Get("cancelOnSet").IsBoolean())
    throw std::runtime_error("manifest: a timerfd without its settime flags");
  const bool abstime = f.Get("abstime").ToBoolean().Value(), cancel = f.Get("cancelOnSet").ToBoolean().Value();
  if (cancel && (!abstime || (t.clock != 0 && t.clock != 8)))
    throw std::runtime_error("manifest: TFD_TIMER_CANCEL_ON_SET on a timer that is not absolute CLOCK_REALTIME");
  t.settime_flags = (abstime ? VD_TFD_TIMER_ABSTIME : 0) | (cancel ? VD_TFD_TIMER_CANCEL_ON_SET : 0);
  t.value = timespecOf(f, "value");
  t.interval = timespecOf(f, "interval");
  t.ticks = u64Text(f, "ticks", 10);
  if (f.Has("deadline")) {
    if (!abstime || (t.clock != 0 && t.clock != 8)) throw std::runtime_error("manifest: a wall-clock deadline on a timer of another kind");
    t.wall_deadline = 1;
    t.deadline = timespecOf(f, "deadline");
  }
  if ((d.flags & 3) != 2 /* O_RDWR */) throw std::runtime_error("manifest: a timerfd not open for reading and writing");
  setFdRecord(b, d, t);
}

}  // namespace vdomain
