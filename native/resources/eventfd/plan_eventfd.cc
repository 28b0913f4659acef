// eventfd's record in the restorer's plan, from the fd's "state" in the manifest
// ("count": decimal string, "semaphore": boolean), checked: the image is untrusted.
#include "core/plan_builder.h"
#include "resources/eventfd/eventfd_plan.h"

#include <cerrno>
#include <cstdlib>

namespace vdomain {

using namespace plan;

void planFd_eventfd(const Napi::Object& f, PlanBuilder& b, vd_fd& d) {
  const std::string count = str(f, "count");
  char* end = nullptr;
  errno = 0;
  const unsigned long long value = strtoull(count.c_str(), &end, 10);
  if (count.empty() || count[0] == '-' || *end || errno || value > VD_EVENTFD_MAX)
    throw std::runtime_error("manifest: a bad eventfd counter '" + count + "'");
  if (!f.Get("semaphore").IsBoolean()) throw std::runtime_error("manifest: an eventfd without its semaphore flag");
  if ((d.flags & 3) != 2 /* O_RDWR */) throw std::runtime_error("manifest: an eventfd not open for reading and writing");
  vd_eventfd e{};
  e.count = value;
  e.semaphore = f.Get("semaphore").ToBoolean().Value() ? 1 : 0;
  d.data_off = b.raw(std::string(reinterpret_cast<const char*>(&e), sizeof e));
  d.data_len = sizeof e;
}

}  // namespace vdomain
