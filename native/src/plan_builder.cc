// Turns one process of an image manifest (supervisor/manifest.ts ProcessImage)
// into the restorer's binary plan (native/restorer/plan.h). JavaScript has
// verified the image before; this only translates, and refuses what does not fit.
#include "plan_builder.h"

#include <fcntl.h>
#include <sys/mman.h>

#include <cstring>
#include <stdexcept>

#include "../restorer/plan.h"

namespace vdomain {

namespace {

// Checked access: the validator (supervisor/validate.ts) came first, but a wrong
// type here must be an error, never a crash.
[[noreturn]] void wrongType(const char* k, const char* what) {
  throw std::runtime_error(std::string("manifest: '") + k + "' is not " + what);
}
int64_t numOf(const Napi::Value& v, const char* k) {
  if (!v.IsNumber()) wrongType(k, "a number");
  return v.As<Napi::Number>().Int64Value();
}
uint64_t num(const Napi::Object& o, const char* k) { return (uint64_t)numOf(o.Get(k), k); }
Napi::Object objOf(const Napi::Value& v, const char* k) {
  if (!v.IsObject() || v.IsArray()) wrongType(k, "an object");
  return v.As<Napi::Object>();
}
Napi::Array arrOf(const Napi::Value& v, const char* k) {
  if (!v.IsArray()) wrongType(k, "a list");
  return v.As<Napi::Array>();
}
std::string strOf(const Napi::Value& v, const char* k) {
  if (!v.IsString()) wrongType(k, "a string");
  return v.As<Napi::String>().Utf8Value();
}
std::string str(const Napi::Object& o, const char* k) {
  Napi::Value v = o.Get(k);
  return v.IsString() ? v.As<Napi::String>().Utf8Value() : std::string();
}
uint64_t hexStr(const Napi::Object& o, const char* k) { return strtoull(str(o, k).c_str(), nullptr, 16); }

std::string fromBase64(const std::string& in) {
  auto val = [](char c) -> int {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
  };
  std::string out;
  uint32_t acc = 0;
  int bits = 0;
  for (char c : in) {
    int v = val(c);
    if (v < 0) continue;
    acc = acc << 6 | (uint32_t)v;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += (char)(acc >> bits & 0xff);
    }
  }
  return out;
}

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

uint32_t protOf(const std::string& perms) {
  uint32_t p = 0;
  if (perms.size() >= 3) {
    if (perms[0] == 'r') p |= PROT_READ;
    if (perms[1] == 'w') p |= PROT_WRITE;
    if (perms[2] == 'x') p |= PROT_EXEC;
  }
  return p;
}

// siginfo_t records (base64 in the manifest), 128 bytes each
std::string siginfos(const Napi::Array& list) {
  std::string out;
  for (uint32_t i = 0; i < list.Length(); i++) {
    std::string si = fromBase64(strOf(list.Get(i), "pending"));
    si.resize(128, '\0');
    out += si;
  }
  return out;
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
  return th;
}

}  // namespace

std::vector<uint8_t> buildPlan(const Napi::Object& proc) {
  vd_plan h{};
  h.magic = VD_PLAN_MAGIC;
  h.version = VD_PLAN_VERSION;
  h.pages_fd = h.boot_fd = h.stdio_base = -1;
  Builder b;

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
      m.open_flags = m.kind == VD_VMA_FILE_SHARED && (m.prot & PROT_WRITE) ? O_RDWR : O_RDONLY;
    }
    if (m.kind == VD_VMA_SYSV_SHM) {
      m.shmid = (int32_t)num(v, "shmid");
      m.pgoff = num(v, "offset");
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

  std::vector<vd_fd> fds;
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
    } else if (kind == "path") {
      d.kind = VD_FD_PATH;
      d.path_off = b.string(str(f, "path"));
    } else if (kind == "copy") {
      d.kind = VD_FD_COPY;
      d.path_off = b.string(str(f, "path"));
      Napi::Object c = objOf(f.Get("content"), "content");
      d.content_off = num(c, "off");
      d.content_len = num(c, "len");
    } else if (kind == "shared") {
      d.kind = VD_FD_SHARED;
      d.stdio_index = (uint32_t)num(f, "shared");
    } else {
      throw std::runtime_error("manifest: unknown fd kind '" + kind + "'");
    }
    fds.push_back(d);
  }

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
  Napi::Array lim = arrOf(proc.Get("rlimits"), "rlimits");
  h.has_rlimits = lim.Length() == 16;
  for (uint32_t r = 0; r < lim.Length() && r < 16; r++) {
    Napi::Array pair = arrOf(lim.Get(r), "rlimits[]");
    h.rlimits[r][0] = strtoull(strOf(pair.Get(0u), "rlimits[][0]").c_str(), nullptr, 10);
    h.rlimits[r][1] = strtoull(strOf(pair.Get(1u), "rlimits[][1]").c_str(), nullptr, 10);
  }
  Napi::Array acts = arrOf(proc.Get("sigactions"), "sigactions");
  for (uint32_t i = 0; i < acts.Length(); i++) {
    Napi::Object a = objOf(acts.Get(i), "sigactions[]");
    int sig = (int)num(a, "sig");
    if (sig < 1 || sig > VD_NSIG) continue;
    h.sigaction_set |= 1ULL << (sig - 1);
    h.sigactions[sig - 1] = {num(a, "handler"), num(a, "flags"), num(a, "restorer"), hexStr(a, "mask")};
  }
  Napi::Array timers = arrOf(proc.Get("itimers"), "itimers");
  for (uint32_t i = 0; i < timers.Length() && i < 3; i++) {
    Napi::Object t = objOf(timers.Get(i), "itimers[]");
    Napi::Array iv = arrOf(t.Get("interval"), "interval"), va = arrOf(t.Get("value"), "value");
    h.itimers[i] = {numOf(iv.Get(0u), "interval[0]"), numOf(iv.Get(1u), "interval[1]"), numOf(va.Get(0u), "value[0]"),
                    numOf(va.Get(1u), "value[1]")};
  }
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
  const std::string shared = siginfos(arrOf(proc.Get("pendingShared"), "pendingShared"));
  h.nr_pending_shared = (uint32_t)(shared.size() / 128);
  h.pending_shared_off = b.raw(shared);

  h.nr_vmas = (uint32_t)vmas.size();
  h.vmas_off = b.array(vmas);
  h.nr_runs = (uint32_t)runs.size();
  h.runs_off = b.array(runs);
  h.nr_special = (uint32_t)specials.size();
  h.special_off = b.array(specials);
  h.nr_fds = (uint32_t)fds.size();
  h.fds_off = b.array(fds);
  h.nr_threads = (uint32_t)threads.size();
  h.threads_off = b.array(threads);
  return b.finish(h);
}

}  // namespace vdomain
