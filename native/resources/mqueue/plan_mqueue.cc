// A POSIX message queue fd's record in the restorer's plan, from the fd's
// "state" in the manifest ("name": "/NAME"), checked: the image is untrusted.
// (That the queue itself is in the image is checked with the image: validate.ts.)
#include <cstring>

#include "core/plan_builder.h"
#include "resources/mqueue/mqueue_plan.h"

namespace vdomain {

using namespace plan;

void planFd_mqueue(const Napi::Object& f, PlanBuilder& b, vd_fd& d) {
  const std::string name = str(f, "name");
  if (name.size() < 2 || name.size() > VD_MQUEUE_NAME_MAX + 1 || name[0] != '/' ||
      name.find('/', 1) != std::string::npos || name.find('\0') != std::string::npos)
    throw std::runtime_error("manifest: a POSIX message queue fd of a bad name");
  if ((d.flags & 3) == 3) throw std::runtime_error("manifest: a POSIX message queue fd of a bad access mode");
  vd_mqueue_fd q{};
  memcpy(q.name, name.data() + 1, name.size() - 1);
  setFdRecord(b, d, q);
}

}  // namespace vdomain
