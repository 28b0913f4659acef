// Threads' part of the plan: what each thread sets for itself, the main thread's
// (its fields are the process's own) and the others' (restore_threads.c takes
// them; registers: the supervisor).
#include "core/plan_builder.h"

namespace vdomain {

using namespace plan;

namespace {

// A thread's prctl attributes and credentials (absent in older images: left as
// the restoring process has them).
void threadAttrs(const Napi::Object& t, vd_thread& th, Builder& b) {
  if (t.Get("attrs").IsObject()) {
    Napi::Object a = t.Get("attrs").As<Napi::Object>();
    th.has_attrs = 1;
    th.pdeathsig = (int32_t)numIn(a, "pdeathsig", 0, VD_NSIG);
    th.timerslack = (uint64_t)numIn(a, "timerslack", 0, INT64_MAX);
    th.securebits = (uint32_t)numIn(a, "securebits", 0, 0xffff);
    th.mce_kill = (int32_t)numIn(a, "mceKill", 0, 3);
    th.spec_ssb = (int32_t)numIn(a, "specStoreBypass", -4095, 0xff);
    th.spec_ib = (int32_t)numIn(a, "specIndirectBranch", -4095, 0xff);
    th.io_flusher = a.Get("ioFlusher").ToBoolean().Value() ? 1 : 0;
  }
  if (!t.Get("creds").IsObject()) return;
  Napi::Object c = t.Get("creds").As<Napi::Object>();
  Napi::Value uid = c.Get("uid"), gid = c.Get("gid"), groups = c.Get("groups");
  // without groups (an unprivileged restore: its user namespace cannot set them) the process's stay
  const bool hasGroups = groups.IsArray();
  if (!uid.IsArray() || !gid.IsArray() || uid.As<Napi::Array>().Length() != 4 || gid.As<Napi::Array>().Length() != 4 ||
      (hasGroups && groups.As<Napi::Array>().Length() > 65536))
    throw std::runtime_error("manifest: bad credentials");
  th.has_creds = VD_CREDS_IDS | (hasGroups ? VD_CREDS_GROUPS : 0);
  auto id = [](Napi::Value v) {
    int64_t n = v.IsNumber() ? v.As<Napi::Number>().Int64Value() : -1;
    if (n < 0 || n > 0xfffffffe) throw std::runtime_error("manifest: a bad uid or gid");
    return (uint32_t)n;
  };
  for (uint32_t k = 0; k < 4; k++) {
    th.uid[k] = id(uid.As<Napi::Array>().Get(k));
    th.gid[k] = id(gid.As<Napi::Array>().Get(k));
  }
  std::vector<uint32_t> list;
  for (uint32_t k = 0; hasGroups && k < groups.As<Napi::Array>().Length(); k++) list.push_back(id(groups.As<Napi::Array>().Get(k)));
  th.nr_groups = (uint32_t)list.size();
  th.groups_off = b.array(list);
  th.cap_inh = hexStr(c, "CapInh");
  th.cap_prm = hexStr(c, "CapPrm");
  th.cap_eff = hexStr(c, "CapEff");
  th.cap_bnd = hexStr(c, "CapBnd");
  th.cap_amb = hexStr(c, "CapAmb");
}

// A thread's own state (ProcessImage's fields for the main thread, a ThreadImage
// for the others) as the blob's set_thread_state takes it.
vd_thread threadState(const Napi::Object& t, Builder& b) {
  vd_thread th{};
  if (t.Get("vtid").IsNumber()) th.vtid = (int32_t)num(t, "vtid");
  if (t.Get("rseq").IsObject()) {
    Napi::Object r = objOf(t.Get("rseq"), "rseq");
    th.rseq_addr = num(r, "addr");
    th.rseq_len = (uint32_t)num(r, "len");
    th.rseq_sig = (uint32_t)num(r, "sig");
  }
  if (t.Get("robustList").IsObject()) {
    Napi::Object r = objOf(t.Get("robustList"), "robustList");
    th.robust_head = num(r, "head");
    th.robust_len = num(r, "len");
  }
  th.clear_child_tid = num(t, "clearChildTid");
  Napi::Object a = objOf(t.Get("altstack"), "altstack");
  th.altstack_sp = num(a, "sp");
  th.altstack_size = num(a, "size");
  th.altstack_flags = (int32_t)num(a, "flags");
  strncpy(th.comm, str(t, "comm").c_str(), sizeof th.comm - 1);
  th.sched_policy = -1;
  if (t.Get("sched").IsObject()) {  // (images before scheduling was saved have none)
    Napi::Object s = objOf(t.Get("sched"), "sched");
    th.sched_policy = (int32_t)num(s, "policy");
    th.sched_priority = (int32_t)num(s, "priority");
    th.ioprio = (int32_t)num(s, "ioprio");
    if (s.Get("cpus").IsString()) {
      std::string mask = fromBase64(s.Get("cpus").As<Napi::String>().Utf8Value());
      if (mask.empty() || mask.size() > sizeof th.cpus) throw std::runtime_error("manifest: a bad CPU affinity mask");
      memcpy(th.cpus, mask.data(), mask.size());
      th.cpus_len = (uint32_t)mask.size();
    }
  }
  const std::string own = siginfos(arrOf(t.Get("pending"), "pending"));
  th.nr_pending = (uint32_t)(own.size() / 128);
  th.pending_off = b.raw(own);
  threadAttrs(t, th, b);
  return th;
}

}  // namespace

void planThreads(const Napi::Object& proc, PlanBuilder& b, vd_plan& h) {
  // what each thread sets for itself: the main thread's (its fields are the
  // process's own), then the others' (registers: the supervisor)
  h.main_thread = threadState(proc, b);
  std::vector<vd_thread> threads;
  Napi::Value threadList = proc.Get("threads");
  if (threadList.IsArray()) {
    Napi::Array list = threadList.As<Napi::Array>();
    if (list.Length() > VD_MAX_THREADS) throw std::runtime_error("manifest: more threads than a restore can make");
    for (uint32_t i = 0; i < list.Length(); i++) threads.push_back(threadState(objOf(list.Get(i), "threads[]"), b));
  }
  h.nr_threads = (uint32_t)threads.size();
  h.threads_off = b.array(threads);
}

}  // namespace vdomain
