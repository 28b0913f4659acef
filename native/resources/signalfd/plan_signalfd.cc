// signalfd's record in the restorer's plan, from the fd's "state" in the manifest
// ("mask": hex string), checked: the image is untrusted.
#include "core/plan_builder.h"
#include "resources/signalfd/signalfd_plan.h"

#include <cstdlib>

namespace vdomain {

using namespace plan;

void planFd_signalfd(const Napi::Object& f, PlanBuilder& b, vd_fd& d) {
  const std::string mask = str(f, "mask");
  char* end = nullptr;
  vd_signalfd s{};
  s.mask = strtoull(mask.c_str(), &end, 16);
  if (mask.empty() || mask.size() > 18 || *end || mask[0] == '-')
    throw std::runtime_error("manifest: a bad signalfd mask '" + mask + "'");
  if ((d.flags & 3) != 2 /* O_RDWR */) throw std::runtime_error("manifest: a signalfd not open for reading and writing");
  d.data_off = b.raw(std::string(reinterpret_cast<const char*>(&s), sizeof s));
  d.data_len = sizeof s;
}

}  // namespace vdomain
