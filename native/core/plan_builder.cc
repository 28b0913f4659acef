// Turns one process of an image manifest (supervisor/manifest.ts ProcessImage)
// into the restorer's binary plan (native/restorer/plan.h). JavaScript has
// verified the image before; this only translates, and refuses what does not fit.
#include "core/plan_builder.h"

#include <fcntl.h>
#include <sys/mman.h>

#include <cstdint>
#include <cstring>
#include <stdexcept>

#include "restorer/plan.h"

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
// A number of the image that must lie in [lo, hi] (an image is untrusted input).
int64_t numIn(const Napi::Object& o, const char* k, int64_t lo, int64_t hi) {
  int64_t v = (int64_t)num(o, k);
  if (v < lo || v > hi) throw std::runtime_error(std::string("manifest: '") + k + "' is out of range");
  return v;
}

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
  return del;
}

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
  // memory policy (absent in older images: none)
  if (proc.Get("thpDisable").IsNumber()) h.thp_disable = (uint32_t)num(proc, "thpDisable");
  if (proc.Get("mdwe").IsNumber()) h.mdwe = (uint32_t)num(proc, "mdwe");
  if (h.thp_disable > 0xff || h.mdwe > 3) throw std::runtime_error("manifest: a bad THP or MDWE setting");
  const std::string future = str(proc, "mlockFuture");
  if (!future.empty() && future != "none" && future != "locked" && future != "onfault")
    throw std::runtime_error("manifest: a bad mlockFuture");
  h.mlock_future = future == "onfault" ? VD_MLOCK_ONFAULT : future == "locked" ? VD_MLOCK_LOCKED : VD_MLOCK_NONE;
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

  std::vector<vd_lock> locks = fileLocks(proc, fdList, b);
  h.nr_locks = (uint32_t)locks.size();
  h.locks_off = b.array(locks);

  h.nr_vmas = (uint32_t)vmas.size();
  h.vmas_off = b.array(vmas);
  h.nr_runs = (uint32_t)runs.size();
  h.runs_off = b.array(runs);
  h.nr_special = (uint32_t)specials.size();
  h.special_off = b.array(specials);
  const uint32_t extentsAt = b.array(extents);
  for (auto& d : fds)
    if (d.kind == VD_FD_COPY) d.extents_off = extentsAt + d.extents_off * (uint32_t)sizeof(vd_extent);
  h.nr_fds = (uint32_t)fds.size();
  h.fds_off = b.array(fds);
  h.nr_threads = (uint32_t)threads.size();
  h.threads_off = b.array(threads);
  return b.finish(h);
}

}  // namespace vdomain
