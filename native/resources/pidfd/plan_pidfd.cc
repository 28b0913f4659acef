// pidfd's record in the restorer's plan, from the fd's "state" in the manifest
// (dump_pidfd.cc writes it), checked: the image is untrusted. (Which process of
// the tree it names is the keeper's child's to find: keeper_pidfd.c.)
#include "core/plan_builder.h"
#include "resources/pidfd/pidfd_plan.h"

namespace vdomain {

using namespace plan;

void planFd_pidfd(const Napi::Object& f, PlanBuilder& b, vd_fd& d) {
  vd_pidfd p{};
  p.vpid = (int32_t)numIn(f, "vpid", 1, 0x3fffffff);
  p.real = -1;
  if ((d.flags & 3) != 2 /* O_RDWR */) throw std::runtime_error("manifest: a pidfd not open for reading and writing");
  setFdRecord(b, d, p);
}

}  // namespace vdomain
