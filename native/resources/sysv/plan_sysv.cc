// SysV's part of the plan: the process's SEM_UNDO adjustments (made again by
// the keeper's child, native/keeper/restore_child.c make_sem_undo).
#include "core/plan_builder.h"

namespace vdomain {

using namespace plan;

void planSysv(const Napi::Object& proc, PlanBuilder& b, vd_plan& h) {
  std::vector<vd_sem_undo> semUndo;
  if (proc.Get("semUndo").IsArray()) {
    Napi::Array list = proc.Get("semUndo").As<Napi::Array>();
    for (uint32_t i = 0; i < list.Length(); i++) {
      Napi::Array e = arrOf(list.Get(i), "semUndo[]");
      auto at = [&](uint32_t k) { return (int32_t)numOf(e.Get(k), "semUndo[][]"); };
      if (e.Length() != 3 || at(1) < 0 || at(2) == 0 || at(2) < -32767 || at(2) > 32767)
        throw std::runtime_error("manifest: a bad SEM_UNDO adjustment");
      semUndo.push_back({at(0), at(1), at(2), 0});
    }
  }
  h.nr_sem_undo = (uint32_t)semUndo.size();
  h.sem_undo_off = b.array(semUndo);
  h.nr_sem_undo = (uint32_t)semUndo.size();
  h.sem_undo_off = b.array(semUndo);
}

}  // namespace vdomain
