// POSIX timers' part of the restorer's plan, from the process's
// "kinds"."posix_timers" in the manifest (dump_posix_timers.cc writes them), checked: the image is untrusted.
#include "core/plan_builder.h"
#include "resources/posix_timers/posix_timers_plan.h"

namespace vdomain {

using namespace plan;

namespace {

void timespecInto(const Napi::Object& t, const char* key, int64_t& sec, int64_t& nsec) {
  Napi::Array a = arrOf(t.Get(key), key);
  if (a.Length() != 2) throw std::runtime_error(std::string("manifest: a bad POSIX timer ") + key);
  sec = numOf(a.Get(0u), key);
  nsec = numOf(a.Get(1u), key);
  if (sec < 0 || sec > (int64_t)1 << 40 || nsec < 0 || nsec >= 1000000000)
    throw std::runtime_error(std::string("manifest: a bad POSIX timer ") + key);
}

}  // namespace

// The index in the plan's threads of the thread of proc whose TID is vtid (-1:
// the main thread).
int32_t threadIndex(const Napi::Object& proc, int64_t vtid) {
  if (vtid == numOf(proc.Get("vpid"), "vpid")) return -1;
  Napi::Value list = proc.Get("threads");
  for (uint32_t i = 0; list.IsArray() && i < list.As<Napi::Array>().Length(); i++)
    if (numOf(objOf(list.As<Napi::Array>().Get(i), "threads[]").Get("vtid"), "vtid") == vtid) return (int32_t)i;
  throw std::runtime_error("manifest: a POSIX timer signals a thread the process does not have");
}

void planKind_posix_timers(const Napi::Value& state, const Napi::Object& proc, PlanBuilder& b, vd_kind_part& part) {
  Napi::Array list = arrOf(state, "posix_timers");
  if (list.Length() > 1 << 16) throw std::runtime_error("manifest: too many POSIX timers");
  std::vector<vd_posix_timer> out;
  for (uint32_t i = 0; i < list.Length(); i++) {
    Napi::Object t = objOf(list.Get(i), "posix_timers[]");
    vd_posix_timer v{};
    v.id = (int32_t)numIn(t, "id", 0, 0x7fffffff);
    v.clock = (int32_t)numIn(t, "clock", -6, 9);
    if (!(v.clock == -6 || (v.clock >= 0 && v.clock != 2 && v.clock != 3 && v.clock != 4)))
      throw std::runtime_error("manifest: a POSIX timer of a clock that cannot be restored");
    const std::string notify = str(t, "notify");
    if (notify != "signal" && notify != "none" && notify != "thread")
      throw std::runtime_error("manifest: a POSIX timer of an unknown notification");
    v.notify = notify == "signal" ? VD_TIMER_SIGNAL : notify == "none" ? VD_TIMER_NONE : VD_TIMER_THREAD;
    v.thread = v.notify == VD_TIMER_THREAD ? threadIndex(proc, numIn(t, "thread", 1, 0x3fffffff)) : -1;
    v.signo = (int32_t)numIn(t, "signo", 0, 64);
    if (v.notify != VD_TIMER_NONE && v.signo < 1) throw std::runtime_error("manifest: a POSIX timer's signal is not one");
    v.value = u64Text(t, "value", 16);
    timespecInto(t, "interval", v.interval_sec, v.interval_nsec);
    timespecInto(t, "left", v.value_sec, v.value_nsec);
    for (auto& o : out)
      if (o.id == v.id) throw std::runtime_error("manifest: two POSIX timers of one id");
    out.push_back(v);
  }
  part.nr = (uint32_t)out.size();
  part.off = b.array(out);
}

}  // namespace vdomain
