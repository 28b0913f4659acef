// eventfd's record in the restorer's plan, from the fd's "state" in the manifest
// ("count": decimal string, "semaphore": boolean), checked: the image is untrusted.
#include "core/plan_builder.h"
#include "resources/eventfd/eventfd_plan.h"

namespace vdomain {

using namespace plan;

void planFd_eventfd(const Napi::Object& f, PlanBuilder& b, vd_fd& d) {
  const uint64_t value = u64Text(f, "count", 10);
  if (value > VD_EVENTFD_MAX) throw std::runtime_error("manifest: an eventfd counter above 2^64 - 2");
  if (!f.Get("semaphore").IsBoolean()) throw std::runtime_error("manifest: an eventfd without its semaphore flag");
  if ((d.flags & 3) != 2 /* O_RDWR */) throw std::runtime_error("manifest: an eventfd not open for reading and writing");
  vd_eventfd e{};
  e.count = value;
  e.semaphore = f.Get("semaphore").ToBoolean().Value() ? 1 : 0;
  setFdRecord(b, d, e);
}

}  // namespace vdomain
