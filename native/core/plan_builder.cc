// Turns one process of an image manifest (supervisor/manifest.ts ProcessImage)
// into the restorer's binary plan (native/restorer/plan.h): the header, then each
// resource kind's part (kPlanParts, in native/resources/kinds.cc). JavaScript has verified the image before;
// this only translates, and refuses what does not fit.
#include "core/plan_builder.h"

namespace vdomain {

namespace plan {

std::string fromBase64(const std::string& in) {
  auto val = [](char c) -> int {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
  };
  std::string out;
  uint32_t acc = 0;
  int bits = 0;
  for (char c : in) {
    int v = val(c);
    if (v < 0) continue;
    acc = acc << 6 | (uint32_t)v;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += (char)(acc >> bits & 0xff);
    }
  }
  return out;
}

std::string siginfos(const Napi::Array& list) {
  std::string out;
  for (uint32_t i = 0; i < list.Length(); i++) {
    std::string si = fromBase64(strOf(list.Get(i), "pending"));
    si.resize(128, '\0');
    out += si;
  }
  return out;
}


}  // namespace plan

std::vector<uint8_t> buildPlan(const Napi::Object& proc) {
  vd_plan h{};
  h.magic = VD_PLAN_MAGIC;
  h.version = VD_PLAN_VERSION;
  h.pages_fd = h.boot_fd = h.stdio_base = -1;
  PlanBuilder b;
  for (size_t i = 0; i < kPlanPartCount; i++) kPlanParts[i](proc, b, h);
  planProcessKinds(proc, b, h);
  return b.finish(h);
}

// The process's "kinds": each the state of a process kind of the kinds table,
// handed to its plan part. A kind this build does not know is refused: its
// state would be lost.
void planProcessKinds(const Napi::Object& proc, PlanBuilder& b, vd_plan& h) {
  if (!proc.Has("kinds")) return;
  Napi::Object kinds = plan::objOf(proc.Get("kinds"), "kinds");
  Napi::Array names = kinds.GetPropertyNames();
  for (uint32_t i = 0; i < names.Length(); i++) {
    const std::string name = names.Get(i).As<Napi::String>().Utf8Value();
#define VD_KIND_PLAN(kind, text) \
    if (name == #kind) { planKind_##kind(kinds.Get(name), proc, b, h.kinds[VD_KIND_##kind]); continue; }
    VD_PROCESS_KINDS(VD_KIND_PLAN)
#undef VD_KIND_PLAN
    throw std::runtime_error("manifest: the state of a kind this vdomain does not know: " + name.substr(0, 64) +
                             " (an image of a newer version?)");
  }
}

}  // namespace vdomain
