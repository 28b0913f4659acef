// Memory: every mapping of the process and the pages worth storing, found with
// /proc/PID/pagemap (present or swapped; in private file mappings only the pages
// copied on write). Restored by map_memory and read_pages in
// restore_memory.c (beside this file).
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <map>
#include <vector>

#include "core/dump.h"
#include "core/procfs.h"
#include "core/task_regs.h"
#include "resources/files/deleted_file.h"
#include "resources/memory/memory.h"

namespace vdomain {

namespace {

constexpr uint64_t kPage = 4096;
constexpr uint64_t kPresent = 1ULL << 63, kSwapped = 1ULL << 62, kFileOrShared = 1ULL << 61;

enum class Kind { Skip, Anon, FilePrivate, FileShared, SharedAnon, SysvShm, Vdso, Vvar, VvarVclock, Unsupported };

// *st: the mapped file's status, for file kinds. ownIpc: see dumpMemory.
Kind classify(const MapsEntry& m, bool ownIpc, std::string& why, struct stat* st) {
  if (m.name == "[vsyscall]") return Kind::Skip;
  if (m.name == "[vdso]") return Kind::Vdso;
  if (m.name == "[vvar]") return Kind::Vvar;
  if (m.name == "[vvar_vclock]") return Kind::VvarVclock;
  const bool shared = m.perms[3] == 's';
  if (m.name.rfind("/SYSV", 0) == 0) {
    // its contents are the keeper's to dump; the inode is the segment's id
    if (ownIpc) return Kind::SysvShm;
    why = "System V shared memory " + withoutDeleted(m.name) + " of the host's (a domain run with --host-ipc)";
    return Kind::Unsupported;
  }
  if (m.inode == 0) return shared ? Kind::SharedAnon : Kind::Anon;
  if (m.name.rfind("/dev/zero", 0) == 0)
    return shared ? Kind::SharedAnon : Kind::Anon;
  if (m.name.empty() || m.name[0] != '/') {
    why = "mapping " + m.name + " — not supported";
    return Kind::Unsupported;
  }
  // a deleted file: made again (unlinked) from its saved contents (deletedFileContents)
  if (endsWith(m.name, " (deleted)")) return shared ? Kind::FileShared : Kind::FilePrivate;
  if (stat(m.name.c_str(), st) < 0 || st->st_ino != m.inode || major(st->st_dev) != m.devMajor ||
      minor(st->st_dev) != m.devMinor) {
    why = "mapping of " + m.name + ", replaced since it was mapped — not supported";
    return Kind::Unsupported;
  }
  if (S_ISCHR(st->st_mode) || S_ISBLK(st->st_mode)) {
    why = "mapping of device " + m.name + " — not supported";
    return Kind::Unsupported;
  }
  return shared ? Kind::FileShared : Kind::FilePrivate;
}

const char* kindName(Kind k) {
  switch (k) {
    case Kind::Anon: return "anon";
    case Kind::FilePrivate: return "file-private";
    case Kind::FileShared: return "file-shared";
    case Kind::SharedAnon: return "shared-anon";
    case Kind::SysvShm: return "sysv-shm";
    case Kind::Vdso: return "vdso";
    case Kind::Vvar: return "vvar";
    case Kind::VvarVclock: return "vvar_vclock";
    default: return "?";
  }
}

std::string hexAddr(uint64_t a) {
  char b[24];
  snprintf(b, sizeof b, "%lx", a);
  return b;
}

// Kinds whose pages go to the page file (a shared file mapping's are the file's).
bool storesPages(Kind k) { return k == Kind::Anon || k == Kind::FilePrivate || k == Kind::SharedAnon; }

// The pages of mapping m worth storing (present or swapped; in a private file
// mapping only those copied on write), in runs: onRun(start, len) for each, until
// it returns false. keep(page index, what pagemap says) has the last word.
// False when pagemap cannot be read (errno).
inline bool pagemapSays(uint64_t, bool says) { return says; }
template <class OnRun, class Keep = bool (*)(uint64_t, bool)>
bool storedRuns(int pagemap, const MapsEntry& m, Kind k, std::vector<uint64_t>& entries, OnRun onRun,
                Keep keep = pagemapSays) {
  const uint64_t pages = (m.end - m.start) / kPage;
  entries.resize(pages);
  ssize_t want = (ssize_t)(pages * 8);
  if (pread(pagemap, entries.data(), (size_t)want, (off_t)(m.start / kPage * 8)) != want) return false;
  // in a private file mapping a page that is still the file's holds nothing new
  const bool onlyCopied = k == Kind::FilePrivate;
  uint64_t runStart = 0, runLen = 0;
  for (uint64_t p = 0; p < pages; p++) {
    uint64_t e = entries[p];
    if (!keep(p, (e & kSwapped) || ((e & kPresent) && !(onlyCopied && (e & kFileOrShared))))) continue;
    uint64_t addr = m.start + p * kPage;
    if (runLen && runStart + runLen == addr) {
      runLen += kPage;
      continue;
    }
    if (runLen && !onRun(runStart, runLen)) return true;
    runStart = addr;
    runLen = kPage;
  }
  if (runLen) onRun(runStart, runLen);
  return true;
}

// What /proc/PID/smaps adds to maps for one mapping: its VmFlags ("rd wr mr mw
// me ac dc lo ..." — advice, locks, may-write) and its x86 protection key.
struct VmaFlags {
  std::string flags;
  int pkey = 0;
  uint64_t swapKb = 0;  // "Swap:" (of a shmem mapping: its object's pages swapped out in its range)
  bool has(const char* f) const { return (" " + flags + " ").find(std::string(" ") + f + " ") != std::string::npos; }
};

// Every mapping's, by start address.
std::map<uint64_t, VmaFlags> vmFlagsByStart(pid_t pid) {
  std::map<uint64_t, VmaFlags> out;
  const std::string s = readProcFile(pid, "smaps");
  uint64_t start = 0;
  size_t i = 0;
  while (i < s.size()) {
    size_t e = s.find('\n', i);
    if (e == std::string::npos) e = s.size();
    const std::string line = s.substr(i, e - i);
    i = e + 1;
    unsigned long lo, hi;
    if (line.compare(0, 8, "VmFlags:") == 0) {
      size_t a = line.find_first_not_of(' ', 8), b = line.find_last_not_of(' ');
      out[start].flags = a == std::string::npos ? "" : line.substr(a, b - a + 1);
    } else if (line.compare(0, 14, "ProtectionKey:") == 0) {
      out[start].pkey = atoi(line.c_str() + 14);
    } else if (line.compare(0, 5, "Swap:") == 0) {
      out[start].swapKb = strtoull(line.c_str() + 5, nullptr, 10);
    } else if (sscanf(line.c_str(), "%lx-%lx ", &lo, &hi) == 2 && line.find('-') < line.find(' ')) {
      start = lo;
    }
  }
  return out;
}

// Why a mapping's VmFlags cannot come back ("" when they all can: the advice,
// locks, seals, MAP_NORESERVE and may-write are restored; the rest follow from
// the kind and protection, or mean nothing to the job: ac, sd).
std::string unrestorableFlags(const MapsEntry& m, const VmaFlags& f) {
  if (f.pkey) return "protection key " + std::to_string(f.pkey) + " (pkey_mprotect) — not supported";
  // an aio context's ring (io_setup): the kernel shows no request in flight from outside
  if (m.name == "/[aio] (deleted)") return "an aio context's ring (io_setup) — not supported yet";
  static const std::map<std::string, std::string> refused = {
      {"ht", "a hugetlb mapping"}, {"ss", "a shadow stack"}, {"um", "registered with userfaultfd"},
      {"uw", "registered with userfaultfd"}, {"ui", "registered with userfaultfd"}, {"sf", "MAP_SYNC"},
      {"dp", "MAP_DROPPABLE"}, {"gu", "with guard regions (MADV_GUARD_INSTALL)"}, {"pf", "a special mapping"},
      {"io", "a special mapping"}, {"mm", "a special mapping"}, {"de", "a special mapping"}, {"ar", "a special mapping"},
  };
  static const char* restored[] = {"rd", "wr", "ex", "sh", "mr", "mw", "me", "ms", "gd", "lo", "lf", "dc", "dd",
                                   "wf", "hg", "nh", "sr", "rr", "mg", "nr", "sl", "ac", "sd"};
  size_t i = 0;
  while (i < f.flags.size()) {
    size_t e = f.flags.find(' ', i);
    if (e == std::string::npos) e = f.flags.size();
    const std::string flag = f.flags.substr(i, e - i);
    i = e + 1;
    if (flag.empty() || std::find(std::begin(restored), std::end(restored), flag) != std::end(restored)) continue;
    auto r = refused.find(flag);
    return (r != refused.end() ? r->second : "VmFlags " + flag) + " (" + f.flags + ") — not supported";
  }
  if (f.has("gd") && m.name != "[stack]") return "a MAP_GROWSDOWN mapping besides the stack — not supported";
  return "";
}

// classify, and refuse what the mapping's VmFlags cannot bring back (kernel-made
// mappings aside: the kernel makes them again as they were).
Kind classifyWithFlags(const MapsEntry& m, const VmaFlags& f, bool ownIpc, std::string& why, struct stat* st) {
  Kind k = classify(m, ownIpc, why, st);
  if (k == Kind::Skip || k == Kind::Vdso || k == Kind::Vvar || k == Kind::VvarVclock) return k;
  std::string flagsWhy = unrestorableFlags(m, f);
  if (flagsWhy.empty()) return k;
  why = "mapping " + (m.name.empty() ? std::string("(anonymous)") : m.name) + ": " + flagsWhy;
  return Kind::Unsupported;
}


// The process's memory policy (THP disable, MDWE, mlockall MCL_FUTURE), read by
// syscalls injected into its main thread.
bool dumpMemoryPolicy(DumpRun& run, ProcessDump& p) {
  FrozenTask& t = p.main;
  const uint64_t insn = p.syscallInsn, scratch = p.scratch;
  Json& j = p.j;
  std::string& err = run.err;
  auto failed = [&](const char* what, long rc) {
    err = "pid " + std::to_string(t.tid) + ": cannot read its " + what + ": " + strerror((int)-rc);
    return false;
  };
  long thp = injectSyscall(t.tid, insn, t.regs, SYS_prctl, 42 /* PR_GET_THP_DISABLE */);
  if (thp < 0) return failed("THP setting", thp);
  long mdwe = injectSyscall(t.tid, insn, t.regs, SYS_prctl, 66 /* PR_GET_MDWE */);
  if (mdwe == -EINVAL) mdwe = 0;  // a kernel without MDWE
  if (mdwe < 0) return failed("memory-deny-write-execute setting", mdwe);
  // mlockall(MCL_FUTURE) shows nowhere but in new mappings: the scratch page,
  // mapped by an injected mmap, was locked (and on fault) if the job's are
  // (the page may have merged with a neighbour of the same flags: the VMA holding it)
  const std::map<uint64_t, VmaFlags> flags = vmFlagsByStart(t.tid);
  auto holding = flags.upper_bound(scratch);
  const VmaFlags scratchFlags = holding == flags.begin() ? VmaFlags{} : std::prev(holding)->second;
  auto has = [&](const char* f) { return scratchFlags.has(f); };
  j.field("thpDisable", (uint64_t)thp).field("mdwe", (uint64_t)mdwe);
  j.field("mlockFuture", has("lf") ? "onfault" : has("lo") ? "locked" : "none");
  return true;
}

// Which pages the objects of the process's shared anonymous mappings hold, as
// mincore tells the process itself (into its scratch page, 4096 pages a call): a
// page written and then dropped from every page table (MADV_DONTNEED, or never
// touched by this process since its fork) is in no pagemap, yet the object holds
// it. mincore does not see a page swapped out; where smaps counts any of the
// object's pages in the mapping's range as swapped, every page is stored.
bool shmemResidency(DumpRun& run, ProcessDump& p) {
  FrozenTask& t = p.main;
  const std::map<uint64_t, VmaFlags> flags = vmFlagsByStart(t.tid);
  for (auto& m : readMaps(p.ids.real)) {
    std::string why;
    struct stat st;
    if (classify(m, run.ownIpc, why, &st) != Kind::SharedAnon) continue;
    std::vector<uint8_t>& inCore = run.shmemInCore[{p.ids.real, m.start}];
    const uint64_t pages = (m.end - m.start) / kPage;
    auto f = flags.find(m.start);
    if (f != flags.end() && f->second.swapKb) {
      inCore.assign(pages, 1);
      continue;
    }
    inCore.assign(pages, 0);
    for (uint64_t at = 0; at < pages; at += kPage) {
      const uint64_t n = std::min<uint64_t>(kPage, pages - at);
      long rc = injectSyscall(t.tid, p.syscallInsn, t.regs, SYS_mincore, (long)(m.start + at * kPage), (long)(n * kPage),
                              (long)p.scratch);
      if (rc < 0 || !readMem(t.tid, p.scratch, inCore.data() + at, n)) {
        run.err = "pid " + std::to_string(p.ids.vpid) + ": cannot tell which pages of its shared memory at " +
                  hexAddr(m.start) + " are held (mincore): " + strerror(rc < 0 ? (int)-rc : EIO);
        return false;
      }
    }
  }
  return true;
}

// The memory kind's injected part.
bool dumpMemoryInjected(DumpRun& run, ProcessDump& p) { return shmemResidency(run, p) && dumpMemoryPolicy(run, p); }

// ---- deleted files mapped --------------------------------------------------------
// A deleted file some process maps is made again (unlinked, where it was) once
// for the tree, every mapping of it and every fd holding it one file
// (domains/descriptions.ts). Its contents are read, exactly, from:
//  - an fd of the tree that holds it: the files kind saves them (as for any
//    deleted file held open);
//  - else /proc/PID/map_files (CAP_CHECKPOINT_RESTORE, or root);
//  - else, when every mapping of it is shared, through the mappings: each page
//    any process maps (read as the frozen process, /proc/PID/mem), all-zero
//    pages left as holes, its size the farthest byte mapped (or where a read
//    finds its end). What lies beyond every mapping no process can reach (no fd
//    holds it, no name leads to it; growing a mapping with mremap could).
//    A private mapping's changed pages hide the file's own, which MADV_DONTNEED
//    would bring back: such a file is refused.

bool isDeleted(const MapsEntry& m) { return m.inode && endsWith(m.name, " (deleted)"); }
std::string keyOf(const MapsEntry& m) { return fileKey(m.devMajor, m.devMinor, m.inode); }

// Does an fd of one of the processes hold file m maps?
bool heldByFd(const std::vector<ProcessIds>& procs, const MapsEntry& m) {
  for (auto& p : procs)
    for (int fd : openFdNumbers(p.real)) {
      struct stat st;
      const std::string path = "/proc/" + std::to_string(p.real) + "/fd/" + std::to_string(fd);
      if (stat(path.c_str(), &st) == 0 && st.st_ino == m.inode && major(st.st_dev) == m.devMajor &&
          minor(st.st_dev) == m.devMinor)
        return true;
    }
  return false;
}

// The mapped file itself (/proc/PID/map_files: privileged), or -1.
int openMapFile(pid_t pid, const MapsEntry& m) {
  char path[96];
  snprintf(path, sizeof path, "/proc/%d/map_files/%lx-%lx", pid, (unsigned long)m.start, (unsigned long)m.end);
  return open(path, O_RDONLY | O_CLOEXEC);
}

// Why a mapping of a deleted file cannot be saved exactly ("" when it can).
std::string deletedRefusal(const std::vector<ProcessIds>& procs, pid_t pid, const MapsEntry& m) {
  if (m.perms[3] == 's' || heldByFd(procs, m)) return "";
  int fd = openMapFile(pid, m);
  if (fd >= 0) return close(fd), "";
  return "private mapping of deleted file " + withoutDeleted(m.name) +
         ": no fd holds it, and the file's pages under the changed ones cannot be read without CAP_CHECKPOINT_RESTORE"
         " — not supported";
}

// Saves the contents of the deleted file m maps (see above) into j's
// "fileContent", unless an fd holds it or they are saved already.
bool deletedFileContents(DumpRun& run, pid_t pid, const MapsEntry& m, PagesWriter& w, Json& j) {
  const std::vector<ProcessIds>& procs = run.req.processes;
  if (!run.deletedSaved.insert(keyOf(m)).second || heldByFd(procs, m)) return true;
  int fd = openMapFile(pid, m);
  if (fd >= 0) {
    j.key("fileContent").beginObject();
    std::string refused;
    const bool ok = saveDeletedFile(fd, w, j, run.err);
    if (ok && !memfdFields(fd, withoutDeleted(m.name), j, refused)) run.u.add(run.req.virtualize(pid), "at " + hexAddr(m.start) + ": " + refused);
    close(fd);
    j.endObject();
    return ok;
  }
  // every process's shared mappings of it: [file offset, end) → (pid, address)
  struct Mapped { uint64_t from, to, addr; pid_t pid; };
  std::vector<Mapped> mapped;
  for (auto& p : procs)
    for (auto& o : readMaps(p.real))
      if (o.inode == m.inode && o.devMajor == m.devMajor && o.devMinor == m.devMinor && isDeleted(o))
        mapped.push_back({o.offset, o.offset + (o.end - o.start), o.start, p.real});
  std::sort(mapped.begin(), mapped.end(), [](const Mapped& a, const Mapped& b) { return a.from < b.from; });
  uint64_t size = 0, eof = UINT64_MAX, off = w.offset(), saved = 0;
  std::vector<std::pair<uint64_t, uint64_t>> extents;
  std::vector<char> page(kPage), zero(kPage);
  std::map<pid_t, int> mems;
  for (auto& r : mapped)
    for (uint64_t at = std::max(r.from, size); at < r.to && at < eof; at += kPage) {
      int& mem = mems[r.pid];
      if (!mem) mem = open(("/proc/" + std::to_string(r.pid) + "/mem").c_str(), O_RDONLY | O_CLOEXEC);
      if (mem < 0 || pread(mem, page.data(), kPage, (off_t)(r.addr + (at - r.from))) != (ssize_t)kPage) {
        eof = at;  // (past the file's end: a read there is the SIGBUS a touch would be)
        break;
      }
      size = at + kPage;
      if (!memcmp(page.data(), zero.data(), kPage)) continue;
      if (!w.appendBytes(page.data(), kPage)) {
        for (auto& [pid, f] : mems) if (f > 0) close(f);
        run.err = std::string("cannot save the deleted file ") + withoutDeleted(m.name) + ": " + strerror(w.error());
        return false;
      }
      saved += kPage;
      if (!extents.empty() && extents.back().first + extents.back().second == at) extents.back().second += kPage;
      else extents.push_back({at, kPage});
    }
  for (auto& [pid, f] : mems) if (f > 0) close(f);
  j.key("fileContent").beginObject().field("size", size).key("extents").beginArray();
  for (auto& [from, len] : extents) j.beginArray().num(from).num(len).endArray();
  j.endArray().key("content").beginObject().field("off", off).field("len", saved).endObject();
  std::string never;
  memfdFields(-1, withoutDeleted(m.name), j, never);  // (no fd holds it: its seals are out of reach and of use)
  j.endObject();
  return true;
}

// What dumpMemory would refuse, and about how many bytes it would store now (to
// reserve the page file before the freeze).
void checkMemory(DumpRun& run, const ProcessIds& ids) {
  const bool ownIpc = run.ownIpc;
  Unsupported& u = run.u;
  uint64_t total = 0;
  const std::string pmPath = "/proc/" + std::to_string(ids.real) + "/pagemap";
  int pm = open(pmPath.c_str(), O_RDONLY | O_CLOEXEC);
  std::vector<uint64_t> entries;
  std::map<uint64_t, VmaFlags> vmFlags = vmFlagsByStart(ids.real);
  for (auto& m : readMaps(ids.real)) {
    std::string why;
    struct stat st;
    Kind k = classifyWithFlags(m, vmFlags[m.start], ownIpc, why, &st);
    if (k == Kind::Unsupported) u.add(ids.vpid, "at " + hexAddr(m.start) + ": " + why);
    if (k == Kind::FilePrivate && isDeleted(m) && !(why = deletedRefusal(run.req.processes, ids.real, m)).empty())
      u.add(ids.vpid, "at " + hexAddr(m.start) + ": " + why);
    if (pm >= 0 && storesPages(k))
      storedRuns(pm, m, k, entries, [&](uint64_t, uint64_t len) { return (total += len), true; });
  }
  if (pm >= 0) close(pm);
  run.toStore[ids.real] = total;
}

// ownIpc: the domain has an IPC namespace of its own, so SysV shared memory it
// attached is dumped (its contents by the keeper) instead of refused.
bool dumpMemory(DumpRun& run, ProcessDump& p) {
  const ProcessIds& ids = p.ids;
  const bool ownIpc = run.ownIpc;
  PagesWriter& w = p.pages;
  Json& j = p.j;
  Unsupported& u = run.u;
  std::string& err = run.err;
  const pid_t pid = ids.real;
  std::string pmPath = "/proc/" + std::to_string(pid) + "/pagemap";
  int pm = open(pmPath.c_str(), O_RDONLY | O_CLOEXEC);
  if (pm < 0) {
    err = "cannot read " + pmPath + ": " + strerror(errno);
    return false;
  }
  std::vector<uint64_t> entries;
  uint64_t prevEnd = 0, prevInode = 0;  // the last sysv-shm mapping
  std::map<uint64_t, VmaFlags> vmFlags = vmFlagsByStart(pid);
  j.key("vmas").beginArray();
  for (auto& m : readMaps(pid)) {
    std::string why;
    struct stat st{};
    Kind k = classifyWithFlags(m, vmFlags[m.start], ownIpc, why, &st);
    if (k == Kind::Skip) continue;
    if (k == Kind::SysvShm) {
      // restored by one shmat of the whole segment at its first page
      if (m.offset && !(prevEnd == m.start && prevInode == m.inode)) {
        k = Kind::Unsupported;
        why = "SysV shared memory " + withoutDeleted(m.name) + " attached and then partly unmapped — not supported";
      }
      prevEnd = m.end;
      prevInode = m.inode;
    }
    if (k == Kind::Unsupported) {
      u.add(ids.vpid, "at " + hexAddr(m.start) + ": " + why);
      continue;
    }
    j.beginObject();
    j.field("start", m.start).field("end", m.end).field("prot", m.perms).field("kind", kindName(k));
    j.field("growsdown", m.name == "[stack]").field("name", m.name).field("vmFlags", vmFlags[m.start].flags);
    if ((k == Kind::FilePrivate || k == Kind::FileShared) && isDeleted(m)) {
      if (k == Kind::FilePrivate && !(why = deletedRefusal(run.req.processes, pid, m)).empty()) {
        u.add(ids.vpid, "at " + hexAddr(m.start) + ": " + why);
        j.endObject();
        continue;
      }
      j.field("path", withoutDeleted(m.name)).field("offset", m.offset).field("deletedFile", keyOf(m));
      if (!deletedFileContents(run, pid, m, w, j)) {
        err = "pid " + std::to_string(ids.vpid) + " at " + hexAddr(m.start) + ": " + err;
        close(pm);
        return false;
      }
    } else if (k == Kind::FilePrivate || k == Kind::FileShared) {
      j.field("path", m.name).field("offset", m.offset).field("fileSize", (uint64_t)st.st_size);
      j.key("fileMtimeNs").dec((uint64_t)st.st_mtim.tv_sec * 1000000000ULL + (uint64_t)st.st_mtim.tv_nsec);
    }
    if (k == Kind::SysvShm) j.field("shmid", m.inode).field("offset", m.offset);
    // a shared anonymous mapping's object (several processes, or several
    // mappings, may share it): its shmem inode and where in it this one starts
    if (k == Kind::SharedAnon) j.field("object", m.inode).field("offset", m.offset);
    // its pages: those the object holds (shmemResidency), each stored by the
    // first mapping of it that has it
    const std::vector<uint8_t>* inCore = nullptr;
    std::vector<bool>* stored = nullptr;
    if (k == Kind::SharedAnon) {
      auto c = run.shmemInCore.find({pid, m.start});
      if (c == run.shmemInCore.end() || c->second.size() != (m.end - m.start) / kPage) {
        err = "pid " + std::to_string(ids.vpid) + ": its shared memory at " + hexAddr(m.start) + " changed while frozen";
        close(pm);
        return false;
      }
      inCore = &c->second;
      stored = &run.shmemStored[m.inode];
      const uint64_t last = m.offset / kPage + (m.end - m.start) / kPage;
      if (stored->size() < last) stored->resize(last);
    }
    auto keep = [&](uint64_t page, bool mapped) {
      if (!inCore) return mapped;
      const uint64_t at = m.offset / kPage + page;
      if ((*stored)[at] || !(mapped || ((*inCore)[page] & 1))) return false;
      (*stored)[at] = true;
      return true;
    };
    j.key("runs").beginArray();
    if (storesPages(k)) {
      bool copied = true;
      bool read = storedRuns(pm, m, k, entries, [&](uint64_t start, uint64_t len) {
        uint64_t off = w.offset();
        if (!w.appendMemory(pid, start, len)) return copied = false;
        j.beginArray().num(start).num(len).num(off).endArray();
        return true;
      }, keep);
      if (!read) {
        err = "cannot read " + pmPath + ": " + strerror(errno);
        close(pm);
        return false;
      }
      if (!copied || !w.ok()) {
        err = "cannot copy the memory of pid " + std::to_string(ids.vpid) + " at " + hexAddr(m.start) + ": " +
              strerror(w.error());
        close(pm);
        return false;
      }
    }
    j.endArray();
    j.endObject();
  }
  j.endArray();
  close(pm);
  return true;
}

}  // namespace

extern const DumpKind memoryKind = {"memory", checkMemory, nullptr, nullptr, dumpMemoryInjected, dumpMemory};

}  // namespace vdomain
