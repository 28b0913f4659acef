// The process's part of the plan: its memory layout as /proc shows it, cwd, exe,
// umask, nice, personality, no_new_privs, process attributes, rlimits
// (restore_task.c takes them).
#include "core/plan_builder.h"

namespace vdomain {

using namespace plan;

void planTask(const Napi::Object& proc, PlanBuilder& b, vd_plan& h) {
  Napi::Object mm = objOf(proc.Get("mm"), "mm");
  h.mm.start_code = num(mm, "startCode");
  h.mm.end_code = num(mm, "endCode");
  h.mm.start_data = num(mm, "startData");
  h.mm.end_data = num(mm, "endData");
  h.mm.start_brk = num(mm, "startBrk");
  h.mm.brk = num(mm, "brk");
  h.mm.start_stack = num(mm, "startStack");
  h.mm.arg_start = num(mm, "argStart");
  h.mm.arg_end = num(mm, "argEnd");
  h.mm.env_start = num(mm, "envStart");
  h.mm.env_end = num(mm, "envEnd");
  std::string auxv = fromBase64(str(proc, "auxv"));
  if (auxv.size() > sizeof h.auxv) throw std::runtime_error("manifest: auxv too long");
  memcpy(h.auxv, auxv.data(), auxv.size());
  h.mm.auxv_size = (uint32_t)auxv.size();

  h.cwd_off = b.string(str(proc, "cwd"));
  h.exe_path_off = b.string(str(proc, "exe"));
  h.umask = (uint32_t)num(proc, "umask");
  h.nice = (int32_t)(int64_t)num(proc, "nice");
  h.personality = (uint32_t)num(proc, "personality");
  h.no_new_privs = proc.Get("noNewPrivs").ToBoolean().Value() ? 1 : 0;
  if (proc.Get("subreaper").IsBoolean()) {  // (absent in older images: leave them)
    h.has_attrs = 1;
    h.subreaper = proc.Get("subreaper").ToBoolean().Value() ? 1 : 0;
    // 2 (suid_dumpable's "root only") cannot be asked for with prctl
    h.dumpable = (int32_t)numIn(proc, "dumpable", 0, 1);
    h.oom_score_adj = (int32_t)numIn(proc, "oomScoreAdj", -1000, 1000);
    // the register commands of MEMBARRIER_CMD_GET_REGISTRATIONS's answer
    h.membarrier = proc.Get("membarrier").IsNumber() ? (uint32_t)numIn(proc, "membarrier", 0, 0x3ff) & 0x154 : 0;
    if (proc.Get("loginuid").IsNumber()) {
      h.has_loginuid = 1;
      h.loginuid = (uint32_t)numIn(proc, "loginuid", 0, 0xffffffffLL);
    }
  }
  Napi::Array lim = arrOf(proc.Get("rlimits"), "rlimits");
  h.has_rlimits = lim.Length() == 16;
  for (uint32_t r = 0; r < lim.Length() && r < 16; r++) {
    Napi::Array pair = arrOf(lim.Get(r), "rlimits[]");
    h.rlimits[r][0] = strtoull(strOf(pair.Get(0u), "rlimits[][0]").c_str(), nullptr, 10);
    h.rlimits[r][1] = strtoull(strOf(pair.Get(1u), "rlimits[][1]").c_str(), nullptr, 10);
  }
}

}  // namespace vdomain
