// Files' part of the plan: each fd with its kind, flags and position; a deleted
// file's extents and attributes (restore_files.c takes them).
#include "core/plan_builder.h"

#include <fcntl.h>

namespace vdomain {

using namespace plan;

// The kinds of fd with a folder of their own (native/resources/kinds.h): each
// fills d's record from the fd's "state" (its own fields), checking what it reads.
#define VD_FD_KIND_DECLARE(name) void planFd_##name(const Napi::Object& fd, PlanBuilder& b, vd_fd& d);
VD_FD_KINDS(VD_FD_KIND_DECLARE)
#undef VD_FD_KIND_DECLARE

namespace {
struct FdKindPlan {
  const char* name;
  uint32_t kind;  // VD_FD_NAME
  void (*plan)(const Napi::Object& fd, PlanBuilder& b, vd_fd& d);
};
#define VD_FD_KIND_ROW(name) {#name, VD_FD_##name, planFd_##name},
const FdKindPlan kFdKindPlans[] = {VD_FD_KINDS(VD_FD_KIND_ROW)};
#undef VD_FD_KIND_ROW

const FdKindPlan* fdKindPlan(const std::string& kind) {
  for (auto& k : kFdKindPlans)
    if (kind == k.name) return &k;
  return nullptr;
}
}  // namespace

void planFiles(const Napi::Object& proc, PlanBuilder& b, vd_plan& h) {
  std::vector<vd_fd> fds;
  std::vector<vd_extent> extents;  // the deleted files', each fd's its own slice
  Napi::Array fdList = arrOf(proc.Get("fds"), "fds");
  for (uint32_t i = 0; i < fdList.Length(); i++) {
    Napi::Object f = objOf(fdList.Get(i), "fds[]");
    vd_fd d{};
    d.fd = (int32_t)num(f, "fd");
    std::string kind = str(f, "kind");
    d.flags = (uint32_t)num(f, "flags") & ~(uint32_t)(O_CREAT | O_TRUNC | O_EXCL | O_CLOEXEC);
    d.cloexec = f.Get("cloexec").ToBoolean().Value() ? 1 : 0;
    d.pos = num(f, "pos");
    if (kind == "stdio") {
      d.kind = VD_FD_STDIO;
      d.stdio_index = (uint32_t)num(f, "stdio");
      if (d.stdio_index > VD_MAX_EXTERNAL_FD) throw std::runtime_error("manifest: a bad inherited fd number");
    } else if (kind == "path") {
      d.kind = VD_FD_PATH;
      d.path_off = b.string(str(f, "path"));
    } else if (kind == "copy") {
      d.kind = VD_FD_COPY;
      d.path_off = b.string(str(f, "path"));
      Napi::Object c = objOf(f.Get("content"), "content");
      d.content_off = num(c, "off");
      d.content_len = num(c, "len");
      DeletedFile del = deletedFile(f, d.content_len);
      d.nr_extents = (uint32_t)del.extents.size();
      d.extents_off = (uint32_t)extents.size();  // made an offset below, once the array is placed
      extents.insert(extents.end(), del.extents.begin(), del.extents.end());
      d.file_size = del.size;
      d.attrs_set = del.attrsSet;
      d.mode = del.mode;
      d.uid = del.uid;
      d.gid = del.gid;
      d.memfd = del.memfd;
      d.seals = del.seals;
    } else if (kind == "shared") {
      d.kind = VD_FD_SHARED;
      d.stdio_index = (uint32_t)num(f, "shared");
    } else if (const FdKindPlan* k = fdKindPlan(kind)) {
      d.kind = k->kind;
      k->plan(objOf(f.Get("state"), "fds[].state"), b, d);
    } else {
      throw std::runtime_error("manifest: unknown fd kind '" + kind + "'");
    }
    fds.push_back(d);
  }

  const uint32_t extentsAt = b.array(extents);
  for (auto& d : fds)
    if (d.kind == VD_FD_COPY) d.extents_off = extentsAt + d.extents_off * (uint32_t)sizeof(vd_extent);
  h.nr_fds = (uint32_t)fds.size();
  h.fds_off = b.array(fds);
}

DeletedFile deletedFile(const Napi::Object& f, uint64_t contentLen) {
  DeletedFile del;
  Napi::Value ext = f.Get("extents");
  if (!ext.IsArray()) {  // (images before sparse files were kept: the bytes from 0 on)
    if (contentLen) del.extents.push_back({0, contentLen});
    del.size = contentLen;
  } else {
    Napi::Array list = ext.As<Napi::Array>();
    if (list.Length() > VD_MAX_EXTENTS) throw std::runtime_error("manifest: a deleted file of too many extents");
    del.size = num(f, "size");
    uint64_t end = 0, total = 0;
    for (uint32_t i = 0; i < list.Length(); i++) {
      Napi::Array e = arrOf(list.Get(i), "extents[]");
      vd_extent x{(uint64_t)numOf(e.Get(0u), "extents[][0]"), (uint64_t)numOf(e.Get(1u), "extents[][1]")};
      // in order, not overlapping, inside the file, adding up to the saved bytes
      if (x.file_off < end || x.len == 0 || x.len > del.size || x.file_off > del.size - x.len)
        throw std::runtime_error("manifest: a bad extent of a deleted file");
      end = x.file_off + x.len;
      total += x.len;
      del.extents.push_back(x);
    }
    if (total != contentLen) throw std::runtime_error("manifest: a deleted file's extents do not add up to its contents");
  }
  if (del.size > (1ull << 50)) throw std::runtime_error("manifest: a bad size of a deleted file");
  if (f.Get("mode").IsNumber()) {
    del.attrsSet = 1;
    del.mode = (uint32_t)num(f, "mode");
    del.uid = (int32_t)num(f, "uid");
    del.gid = (int32_t)num(f, "gid");
    if (del.mode > 07777) throw std::runtime_error("manifest: a bad mode of a deleted file");
  }
  if (f.Get("memfd").ToBoolean().Value()) {
    del.memfd = 1;
    del.seals = (uint32_t)numIn(f, "seals", 0, 0x2f);  // F_SEAL_SEAL..F_SEAL_EXEC, not FUTURE_WRITE
    const std::string path = str(f, "path");
    if (path.rfind("/memfd:", 0) != 0 || path.size() > 7 + 249)
      throw std::runtime_error("manifest: a memfd without its name");
  }
  return del;
}

}  // namespace vdomain
