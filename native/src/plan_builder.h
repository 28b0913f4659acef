// Building the restorer's binary plan from a manifest's process (see plan_builder.cc).
#pragma once
#include <napi.h>

#include <cstdint>
#include <vector>

namespace vdomain {

std::vector<uint8_t> buildPlan(const Napi::Object& processImage);

}  // namespace vdomain
