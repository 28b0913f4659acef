// signalfd's record in the restorer's plan, from the fd's "state" in the manifest
// ("mask": hex string), checked: the image is untrusted.
#include "core/plan_builder.h"
#include "resources/signalfd/signalfd_plan.h"

namespace vdomain {

using namespace plan;

void planFd_signalfd(const Napi::Object& f, PlanBuilder& b, vd_fd& d) {
  vd_signalfd s{};
  s.mask = u64Text(f, "mask", 16);
  if (str(f, "mask").size() > 18) throw std::runtime_error("manifest: a signalfd mask longer than 64 bits");
  if ((d.flags & 3) != 2 /* O_RDWR */) throw std::runtime_error("manifest: a signalfd not open for reading and writing");
  setFdRecord(b, d, s);
}

}  // namespace vdomain
