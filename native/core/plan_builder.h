// Building the restorer's binary plan from a manifest's process (see plan_builder.cc).
#pragma once
#include <napi.h>

#include <cstdint>
#include <vector>

#include "restorer/plan.h"

namespace vdomain {

// A deleted file's saved shape (FdImage / SharedFileImage 'extents', 'size',
// 'mode', 'uid', 'gid'), range-checked: an image before these fields gives one
// extent of contentLen bytes and no attributes.
struct DeletedFile {
  std::vector<vd_extent> extents;
  uint64_t size = 0;
  uint32_t attrsSet = 0, mode = 0;
  int32_t uid = -1, gid = -1;
};
DeletedFile deletedFile(const Napi::Object& fdOrShared, uint64_t contentLen);

std::vector<uint8_t> buildPlan(const Napi::Object& processImage);

}  // namespace vdomain
