// inotify's record in the restorer's plan, from the fd's "state" in the manifest
// (dump_inotify.cc writes it), checked: the image is untrusted.
#include "core/plan_builder.h"
#include "resources/inotify/inotify_plan.h"

namespace vdomain {

using namespace plan;

void planFd_inotify(const Napi::Object& f, PlanBuilder& b, vd_fd& d) {
  Napi::Array list = arrOf(f.Get("watches"), "watches");
  if (list.Length() > 1u << 16) throw std::runtime_error("manifest: an inotify instance with too many watches");
  vd_inotify head{list.Length(), 0};
  std::string record(reinterpret_cast<const char*>(&head), sizeof head);
  uint32_t last = 0;
  for (uint32_t i = 0; i < list.Length(); i++) {
    Napi::Object o = objOf(list.Get(i), "watches[]");
    vd_inotify_watch w{};
    w.wd = (uint32_t)numIn(o, "wd", 1, VD_INOTIFY_MAX_WD);
    w.mask = (uint32_t)numIn(o, "mask", 1, UINT32_MAX);
    const std::string path = strOf(o.Get("path"), "path");
    if (w.wd <= last) throw std::runtime_error("manifest: inotify watches not in increasing wd order");
    if (w.mask & ~VD_INOTIFY_MASK) throw std::runtime_error("manifest: an inotify watch's mask holds unknown bits");
    if (path.empty() || path[0] != '/' || path.size() > 4095 || path.find('\0') != std::string::npos)
      throw std::runtime_error("manifest: an inotify watch without an absolute path");
    if (o.Get("dontFollow").ToBoolean().Value()) w.mask |= VD_IN_DONT_FOLLOW;
    last = w.wd;
    w.path_len = (uint32_t)path.size();
    record.append(reinterpret_cast<const char*>(&w), sizeof w).append(path).append(1, '\0');
    record.append((8 - record.size() % 8) % 8, '\0');
  }
  if ((d.flags & 3) != 0 /* O_RDONLY */) throw std::runtime_error("manifest: an inotify instance not open for reading only");
  d.data_off = b.raw(record);
  d.data_len = (uint32_t)record.size();
}

}  // namespace vdomain
