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
  return b.finish(h);
}

}  // namespace vdomain
