// Signals' part of the plan: handlers, interval timers, the process's pending
// signals (restore_signals.c takes them; each thread's own: plan_threads.cc).
#include "core/plan_builder.h"

namespace vdomain {

using namespace plan;

void planSignals(const Napi::Object& proc, PlanBuilder& b, vd_plan& h) {
  Napi::Array acts = arrOf(proc.Get("sigactions"), "sigactions");
  for (uint32_t i = 0; i < acts.Length(); i++) {
    Napi::Object a = objOf(acts.Get(i), "sigactions[]");
    int sig = (int)num(a, "sig");
    if (sig < 1 || sig > VD_NSIG) continue;
    h.sigaction_set |= 1ULL << (sig - 1);
    h.sigactions[sig - 1] = {num(a, "handler"), num(a, "flags"), num(a, "restorer"), hexStr(a, "mask")};
  }
  Napi::Array timers = arrOf(proc.Get("itimers"), "itimers");
  for (uint32_t i = 0; i < timers.Length() && i < 3; i++) {
    Napi::Object t = objOf(timers.Get(i), "itimers[]");
    Napi::Array iv = arrOf(t.Get("interval"), "interval"), va = arrOf(t.Get("value"), "value");
    h.itimers[i] = {numOf(iv.Get(0u), "interval[0]"), numOf(iv.Get(1u), "interval[1]"), numOf(va.Get(0u), "value[0]"),
                    numOf(va.Get(1u), "value[1]")};
  }
  const std::string shared = siginfos(arrOf(proc.Get("pendingShared"), "pendingShared"));
  h.nr_pending_shared = (uint32_t)(shared.size() / 128);
  h.pending_shared_off = b.raw(shared);
}

}  // namespace vdomain
