// File locks' part of the plan (restore_locks.c takes them).
#include "core/plan_builder.h"

namespace vdomain {

using namespace plan;

namespace {

// The process's file locks (ProcessImage "locks", dump_locks.cc): each through
// one of its fds, with a range the kernel can take (start + len within off_t).
std::vector<vd_lock> fileLocks(const Napi::Object& proc, const Napi::Array& fdList, Builder& b) {
  std::vector<vd_lock> out;
  if (!proc.Get("locks").IsArray()) return out;  // (images before locks were saved have none)
  Napi::Array list = proc.Get("locks").As<Napi::Array>();
  const uint64_t maxOff = (uint64_t)INT64_MAX;
  for (uint32_t i = 0; i < list.Length(); i++) {
    Napi::Object l = objOf(list.Get(i), "locks[]");
    vd_lock k{};
    k.fd = (int32_t)num(l, "fd");
    std::string kind = str(l, "kind"), type = str(l, "type"), start = str(l, "start"), len = str(l, "len");
    if (kind == "posix") k.kind = VD_LOCK_POSIX;
    else if (kind == "ofd") k.kind = VD_LOCK_OFD;
    else if (kind == "flock") k.kind = VD_LOCK_FLOCK;
    else throw std::runtime_error("manifest: unknown lock kind '" + kind + "'");
    if (type != "r" && type != "w") throw std::runtime_error("manifest: a lock of unknown type '" + type + "'");
    k.write = type == "w";
    auto decimal = [](const std::string& s, uint64_t* v) {
      if (s.empty() || s.size() > 19 || s.find_first_not_of("0123456789") != std::string::npos) return false;
      *v = strtoull(s.c_str(), nullptr, 10);
      return *v <= (uint64_t)INT64_MAX;
    };
    if (!decimal(start, &k.start) || !decimal(len, &k.len) || k.len > maxOff - k.start)
      throw std::runtime_error("manifest: a lock with a bad range");
    if (k.kind == VD_LOCK_FLOCK && (k.start || k.len)) throw std::runtime_error("manifest: a flock lock with a range");
    std::string path;
    for (uint32_t f = 0; f < fdList.Length() && path.empty(); f++) {
      Napi::Object o = objOf(fdList.Get(f), "fds[]");
      if ((int32_t)num(o, "fd") != k.fd) continue;
      if (str(o, "kind") == "stdio") throw std::runtime_error("manifest: a lock on a standard stream");
      path = str(o, "target").empty() ? "?" : str(o, "target");
    }
    if (path.empty()) throw std::runtime_error("manifest: a lock on fd " + std::to_string(k.fd) + ", which is not open");
    k.path_off = b.string(path);
    out.push_back(k);
  }
  return out;
}

}  // namespace

void planLocks(const Napi::Object& proc, PlanBuilder& b, vd_plan& h) {
  std::vector<vd_lock> locks = fileLocks(proc, arrOf(proc.Get("fds"), "fds"), b);
  h.nr_locks = (uint32_t)locks.size();
  h.locks_off = b.array(locks);
}

}  // namespace vdomain
