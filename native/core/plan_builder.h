// Building the restorer's binary plan (native/restorer/plan.h) from a manifest's
// process: the container and the manifest accessors here, each resource kind's
// part in its folder (native/resources/KIND/plan_KIND.cc), run in turn by buildPlan
// (plan_builder.cc) from the kinds table (kPlanParts, native/resources/kinds.cc).
#pragma once
#include <napi.h>

#include <cctype>
#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <string>
#include <vector>

#include "restorer/plan.h"

namespace vdomain {

namespace plan {

// Checked access: the validator (supervisor/validate.ts) came first, but a wrong
// type here must be an error, never a crash.
[[noreturn]] inline void wrongType(const char* k, const char* what) {
  throw std::runtime_error(std::string("manifest: '") + k + "' is not " + what);
}
inline int64_t numOf(const Napi::Value& v, const char* k) {
  if (!v.IsNumber()) wrongType(k, "a number");
  return v.As<Napi::Number>().Int64Value();
}
inline uint64_t num(const Napi::Object& o, const char* k) { return (uint64_t)numOf(o.Get(k), k); }
inline Napi::Object objOf(const Napi::Value& v, const char* k) {
  if (!v.IsObject() || v.IsArray()) wrongType(k, "an object");
  return v.As<Napi::Object>();
}
inline Napi::Array arrOf(const Napi::Value& v, const char* k) {
  if (!v.IsArray()) wrongType(k, "a list");
  return v.As<Napi::Array>();
}
inline std::string strOf(const Napi::Value& v, const char* k) {
  if (!v.IsString()) wrongType(k, "a string");
  return v.As<Napi::String>().Utf8Value();
}
inline std::string str(const Napi::Object& o, const char* k) {
  Napi::Value v = o.Get(k);
  return v.IsString() ? v.As<Napi::String>().Utf8Value() : std::string();
}
inline uint64_t hexStr(const Napi::Object& o, const char* k) { return strtoull(str(o, k).c_str(), nullptr, 16); }
// A number of the image that must lie in [lo, hi] (an image is untrusted input).
inline int64_t numIn(const Napi::Object& o, const char* k, int64_t lo, int64_t hi) {
  int64_t v = (int64_t)num(o, k);
  if (v < lo || v > hi) throw std::runtime_error(std::string("manifest: '") + k + "' is out of range");
  return v;
}

// A 64-bit unsigned number the image holds as text (it may not fit a double):
// digits of `base` only, no sign, no overflow.
inline uint64_t u64Text(const Napi::Object& o, const char* k, int base) {
  const std::string text = strOf(o.Get(k), k);
  char* end = nullptr;
  errno = 0;
  const uint64_t v = strtoull(text.c_str(), &end, base);
  if (text.empty() || !isxdigit((unsigned char)text[0]) || *end || errno)
    throw std::runtime_error(std::string("manifest: '") + k + "' is not a 64-bit number");
  return v;
}

std::string fromBase64(const std::string& in);


// The plan's body: arrays and raw bytes (8-aligned) after the header, strings in
// one area at the end; offsets are from the plan's start.
class Builder {
 public:
  template <class T>
  uint32_t array(const std::vector<T>& items) {
    align();
    uint32_t off = (uint32_t)body_.size();
    body_.append(reinterpret_cast<const char*>(items.data()), items.size() * sizeof(T));
    return off;
  }
  uint32_t raw(const std::string& bytes) {
    align();
    uint32_t off = (uint32_t)body_.size();
    body_ += bytes;
    return off;
  }
  // strings live in one area; offset 0 means "none"
  uint32_t string(const std::string& s) {
    if (s.empty()) return 0;
    uint32_t off = (uint32_t)strings_.size();
    strings_ += s;
    strings_ += '\0';
    return off;
  }
  std::vector<uint8_t> finish(vd_plan& h) {
    align();
    h.strings_off = (uint32_t)body_.size();
    h.strings_len = (uint32_t)strings_.size();
    body_ += strings_;
    while (body_.size() % 8) body_ += '\0';
    h.size = (uint32_t)body_.size();
    memcpy(&body_[0], &h, sizeof h);
    return std::vector<uint8_t>(body_.begin(), body_.end());
  }
  Builder() : body_(sizeof(vd_plan), '\0'), strings_(1, '\0') {}

 private:
  void align() {
    while (body_.size() % 8) body_ += '\0';
  }
  std::string body_;
  std::string strings_;
};

// siginfo_t records (base64 in the manifest), 128 bytes each
std::string siginfos(const Napi::Array& list);

}  // namespace plan

using PlanBuilder = plan::Builder;

// A kind of the kinds table's own record for fd d (vd_fd.data_off, data_len).
template <class T>
void setFdRecord(PlanBuilder& b, vd_fd& d, const T& record) {
  d.data_off = b.raw(std::string(reinterpret_cast<const char*>(&record), sizeof record));
  d.data_len = sizeof record;
}

// A resource kind's part of the plan: fields of h, arrays and strings through b.
// (manifest: one ProcessImage; JavaScript validated it, these refuse what does not fit)
using PlanPart = void (*)(const Napi::Object& proc, PlanBuilder& b, vd_plan& h);
extern const PlanPart kPlanParts[];  // native/resources/kinds.cc
extern const size_t kPlanPartCount;
void planMemory(const Napi::Object& proc, PlanBuilder& b, vd_plan& h);   // resources/memory/plan_memory.cc
void planFiles(const Napi::Object& proc, PlanBuilder& b, vd_plan& h);    // resources/files/plan_files.cc
void planTask(const Napi::Object& proc, PlanBuilder& b, vd_plan& h);     // resources/task/plan_task.cc
void planSignals(const Napi::Object& proc, PlanBuilder& b, vd_plan& h);  // resources/signals/plan_signals.cc
void planThreads(const Napi::Object& proc, PlanBuilder& b, vd_plan& h);  // resources/threads/plan_threads.cc
void planSysv(const Napi::Object& proc, PlanBuilder& b, vd_plan& h);     // resources/sysv/plan_sysv.cc
void planLocks(const Napi::Object& proc, PlanBuilder& b, vd_plan& h);    // resources/locks/plan_locks.cc
void planProcessKinds(const Napi::Object& proc, PlanBuilder& b, vd_plan& h);  // plan_builder.cc
// the process kinds' (resources/kinds.h VD_PROCESS_KINDS): resources/NAME/plan_NAME.cc,
// given the process's "kinds"."NAME" of the manifest and the process's entry
#define VD_KIND_PLAN_DECL(name, text) \
  void planKind_##name(const Napi::Value& state, const Napi::Object& proc, PlanBuilder& b, vd_kind_part& part);
VD_PROCESS_KINDS(VD_KIND_PLAN_DECL)
#undef VD_KIND_PLAN_DECL

// A deleted file's saved shape (FdImage / SharedFileImage 'extents', 'size',
// 'mode', 'uid', 'gid', 'memfd', 'seals'), range-checked: an image before these fields gives one
// extent of contentLen bytes and no attributes. (resources/files/plan_files.cc)
struct DeletedFile {
  std::vector<vd_extent> extents;
  uint64_t size = 0;
  uint32_t attrsSet = 0, mode = 0;
  int32_t uid = -1, gid = -1;
  uint32_t memfd = 0, seals = 0;  // a memfd ('memfd', 'seals'), its path "/memfd:NAME"
};
DeletedFile deletedFile(const Napi::Object& fdOrShared, uint64_t contentLen);

std::vector<uint8_t> buildPlan(const Napi::Object& processImage);

// A pty master's shared entry "pty" object, as the keeper's child takes its pair
// (resources/pty/pty_image.h; resources/pty/plan_pty.cc).
std::vector<uint8_t> packPtyImage(const Napi::Object& pty);

}  // namespace vdomain
