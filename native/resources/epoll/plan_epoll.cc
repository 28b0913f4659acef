// epoll's record in the restorer's plan, from the fd's "state" in the manifest
// (dump_epoll.cc writes it), checked: the image is untrusted.
#include "core/plan_builder.h"
#include "resources/epoll/epoll_plan.h"

namespace vdomain {

using namespace plan;

namespace {

constexpr uint32_t kExclusive = 1u << 28;
constexpr int64_t kMaxFd = 1 << 20;  // the kernel's fs.nr_open ceiling
constexpr uint32_t kMaxWatches = 1u << 20;

}  // namespace

void planFd_epoll(const Napi::Object& f, PlanBuilder& b, vd_fd& d) {
  vd_epoll head{};
  head.level = (uint32_t)numIn(f, "level", 0, VD_EPOLL_MAX_NEST);
  Napi::Array list = arrOf(f.Get("watches"), "watches");
  if (list.Length() > kMaxWatches) throw std::runtime_error("manifest: an epoll with too many watches");
  head.nr_watches = list.Length();
  std::string record(reinterpret_cast<const char*>(&head), sizeof head);
  for (uint32_t i = 0; i < list.Length(); i++) {
    Napi::Object o = objOf(list.Get(i), "watches[]");
    vd_epoll_watch w{};
    w.tfd = (int32_t)numIn(o, "tfd", 0, kMaxFd);
    w.via = (int32_t)numIn(o, "via", 0, kMaxFd);
    w.events = (uint32_t)numIn(o, "events", 0, UINT32_MAX);
    w.data = u64Text(o, "data", 16);
    if (!o.Get("pending").IsBoolean()) wrongType("pending", "true or false");
    w.pending = o.Get("pending").ToBoolean().Value();
    if (w.pending && !(w.events & VD_EPOLLET)) throw std::runtime_error("manifest: a pending epoll watch that is not edge-triggered");
    if ((w.events & kExclusive) && (w.events & VD_EPOLLONESHOT))
      throw std::runtime_error("manifest: an epoll watch both exclusive and one-shot");
    record.append(reinterpret_cast<const char*>(&w), sizeof w);
  }
  if ((d.flags & 3) != 2 /* O_RDWR */) throw std::runtime_error("manifest: an epoll not open for reading and writing");
  d.data_off = b.raw(record);
  d.data_len = (uint32_t)record.size();
}

}  // namespace vdomain
