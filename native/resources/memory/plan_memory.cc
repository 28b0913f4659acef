// Memory's part of the plan: every mapping with its page runs, vDSO/vvar, the
// process's memory policy (restore_memory.c takes them).
#include "core/plan_builder.h"

#include <fcntl.h>
#include <sys/mman.h>

namespace vdomain {

using namespace plan;

namespace {

// The advice and locking a VMA's VmFlags (/proc/PID/smaps) show, as the plan's bits.
void vmFlagsInto(const std::string& flags, vd_vma& m) {
  size_t i = 0;
  while (i < flags.size()) {
    size_t e = flags.find(' ', i);
    if (e == std::string::npos) e = flags.size();
    const std::string f = flags.substr(i, e - i);
    i = e + 1;
    if (f == "dc") m.advice |= VD_ADVISE_DONTFORK;
    else if (f == "dd") m.advice |= VD_ADVISE_DONTDUMP;
    else if (f == "wf") m.advice |= VD_ADVISE_WIPEONFORK;
    else if (f == "hg") m.advice |= VD_ADVISE_HUGEPAGE;
    else if (f == "nh") m.advice |= VD_ADVISE_NOHUGEPAGE;
    else if (f == "sr") m.advice |= VD_ADVISE_SEQUENTIAL;
    else if (f == "rr") m.advice |= VD_ADVISE_RANDOM;
    else if (f == "mg") m.advice |= VD_ADVISE_MERGEABLE;
    else if (f == "nr") m.noreserve = 1;
    else if (f == "sl") m.sealed = 1;
    else if (f == "lo" && m.lock == VD_MLOCK_NONE) m.lock = VD_MLOCK_LOCKED;
    else if (f == "lf") m.lock = VD_MLOCK_ONFAULT;
    else if (f == "mw") m.open_flags = O_RDWR;  // (file-shared only, see the caller)
  }
}


uint32_t protOf(const std::string& perms) {
  uint32_t p = 0;
  if (perms.size() >= 3) {
    if (perms[0] == 'r') p |= PROT_READ;
    if (perms[1] == 'w') p |= PROT_WRITE;
    if (perms[2] == 'x') p |= PROT_EXEC;
  }
  return p;
}

}  // namespace

void planMemory(const Napi::Object& proc, PlanBuilder& b, vd_plan& h) {
  std::vector<vd_vma> vmas;
  std::vector<vd_run> runs;
  std::vector<vd_special> specials;
  Napi::Array vmaList = arrOf(proc.Get("vmas"), "vmas");
  for (uint32_t i = 0; i < vmaList.Length(); i++) {
    Napi::Object v = objOf(vmaList.Get(i), "vmas[]");
    std::string kind = str(v, "kind");
    if (kind == "vdso" || kind == "vvar" || kind == "vvar_vclock") {
      vd_special s{};
      s.old_start = num(v, "start");
      s.len = num(v, "end") - s.old_start;
      s.kind = kind == "vdso" ? 0 : kind == "vvar" ? 1 : 2;
      specials.push_back(s);
      continue;
    }
    vd_vma m{};
    m.start = num(v, "start");
    m.end = num(v, "end");
    std::string perms = str(v, "prot");
    m.prot = protOf(perms);
    m.growsdown = v.Get("growsdown").ToBoolean().Value() ? 1 : 0;
    if (kind == "anon") m.kind = VD_VMA_ANON;
    else if (kind == "shared-anon") m.kind = VD_VMA_SHARED_ANON;
    else if (kind == "file-private") m.kind = VD_VMA_FILE_PRIVATE;
    else if (kind == "file-shared") m.kind = VD_VMA_FILE_SHARED;
    else if (kind == "sysv-shm") m.kind = VD_VMA_SYSV_SHM;
    else throw std::runtime_error("manifest: unknown mapping kind '" + kind + "'");
    if (m.kind == VD_VMA_FILE_PRIVATE || m.kind == VD_VMA_FILE_SHARED) {
      m.path_off = b.string(str(v, "path"));
      m.pgoff = num(v, "offset");
      if (v.Has("shared")) m.shared_file = (uint32_t)numIn(v, "shared", 0, 1 << 20) + 1;  // (the blob checks it is one)
      m.open_flags = m.kind == VD_VMA_FILE_SHARED && (m.prot & PROT_WRITE) ? O_RDWR : O_RDONLY;
    }
    // (images before VmFlags were saved have none: no advice, no locks)
    vmFlagsInto(str(v, "vmFlags"), m);
    // a shared file mapping that may become writable (mw: the file was open for
    // writing) needs the file open for writing again; a private one never does
    if (m.kind != VD_VMA_FILE_SHARED) m.open_flags = O_RDONLY;
    if ((m.advice & VD_ADVISE_WIPEONFORK) && m.kind != VD_VMA_ANON)
      throw std::runtime_error("manifest: MADV_WIPEONFORK on a mapping that is not private anonymous");
    if (m.kind == VD_VMA_SYSV_SHM) {
      m.shmid = (int32_t)num(v, "shmid");
      m.pgoff = num(v, "offset");
    }
    if (m.kind == VD_VMA_SHARED_ANON && v.Has("object")) {
      m.object = (uint64_t)numIn(v, "object", 1, (int64_t)1 << 53);
      m.pgoff = (uint64_t)numIn(v, "offset", 0, (int64_t)1 << 46);
      if (m.pgoff % 4096) throw std::runtime_error("manifest: a shared mapping's offset is not page-aligned");
    }
    if (m.end <= m.start) throw std::runtime_error("manifest: an empty or reversed mapping");
    Napi::Array r = arrOf(v.Get("runs"), "runs");
    m.first_run = (uint32_t)runs.size();
    m.nr_runs = r.Length();
    for (uint32_t k = 0; k < r.Length(); k++) {
      Napi::Array t = arrOf(r.Get(k), "runs[]");
      if (t.Length() != 3) throw std::runtime_error("manifest: a page run is not [address, length, offset]");
      vd_run run{};
      run.addr = (uint64_t)numOf(t.Get(0u), "runs[][0]");
      run.len = (uint64_t)numOf(t.Get(1u), "runs[][1]");
      run.off = (uint64_t)numOf(t.Get(2u), "runs[][2]");
      if (run.addr < m.start || run.addr > m.end || run.len > m.end - run.addr) throw std::runtime_error("manifest: a page run lies outside its mapping");
      runs.push_back(run);
    }
    vmas.push_back(m);
  }

  // memory policy (absent in older images: none)
  if (proc.Get("thpDisable").IsNumber()) h.thp_disable = (uint32_t)num(proc, "thpDisable");
  if (proc.Get("mdwe").IsNumber()) h.mdwe = (uint32_t)num(proc, "mdwe");
  if (h.thp_disable > 0xff || h.mdwe > 3) throw std::runtime_error("manifest: a bad THP or MDWE setting");
  const std::string future = str(proc, "mlockFuture");
  if (!future.empty() && future != "none" && future != "locked" && future != "onfault")
    throw std::runtime_error("manifest: a bad mlockFuture");
  h.mlock_future = future == "onfault" ? VD_MLOCK_ONFAULT : future == "locked" ? VD_MLOCK_LOCKED : VD_MLOCK_NONE;
  h.nr_vmas = (uint32_t)vmas.size();
  h.vmas_off = b.array(vmas);
  h.nr_runs = (uint32_t)runs.size();
  h.runs_off = b.array(runs);
  h.nr_special = (uint32_t)specials.size();
  h.special_off = b.array(specials);
}

}  // namespace vdomain
