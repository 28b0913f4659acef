// File descriptors: regular files (path, flags, position), deleted files (their
// contents saved in the page file), directories, the harmless character devices,
// pipes (with the bytes in flight), and the standard streams, which a restore
// binds to the restoring command's own. Which fds are one open file description
// (dup, fork) is found with kcmp. Restored by open_files in
// restore_files.c (beside this file); descriptions held more than once, and pipes, are
// made once before the tree forks (make_shared_files in keeper_files.c, beside this file).
// Kinds of fd with a folder of their own (native/resources/kinds.h) are offered
// each fd in turn (fd_kind.h): eventfd, epoll…
#include <dirent.h>
#include <fcntl.h>
#include <linux/kcmp.h>
#include <sys/ioctl.h>
#include <linux/magic.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <map>

#include "core/dump.h"
#include "core/procfs.h"
#include "resources/files/deleted_file.h"
#include "resources/files/fd_kind.h"
#include "resources/kinds.h"

namespace vdomain {

#define VD_FD_KIND_DECLARE(name) extern const FdKindDump name##FdKind;
VD_FD_KINDS(VD_FD_KIND_DECLARE)
VD_FD_KINDS_BY_KEEPER(VD_FD_KIND_DECLARE)
#undef VD_FD_KIND_DECLARE

std::string fdinfoValue(const std::string& fdinfo, const char* key) {
  const size_t n = strlen(key);
  for (size_t at = 0; at < fdinfo.size();) {
    size_t end = fdinfo.find('\n', at);
    if (end == std::string::npos) end = fdinfo.size();
    if (fdinfo.compare(at, n, key) == 0 && at + n < end && fdinfo[at + n] == ':') {
      size_t v = fdinfo.find_first_not_of(" \t", at + n + 1);
      return v < end ? fdinfo.substr(v, end - v) : "";
    }
    at = end + 1;
  }
  return "";
}

int takeFd(const OpenFd& f) {
  int pidfd = (int)syscall(SYS_pidfd_open, f.pid, 0);
  if (pidfd < 0) return -1;
  int fd = (int)syscall(SYS_pidfd_getfd, pidfd, f.fd, 0);
  int e = errno;
  close(pidfd);
  errno = e;
  return fd;
}

std::string ownFdinfo(int fd) { return readWholeFile(("/proc/self/fdinfo/" + std::to_string(fd)).c_str()); }

namespace {

// The kinds of fd with a folder of their own (native/resources/kinds.h), tried in turn.
#define VD_FD_KIND_ROW(name) &name##FdKind,
const FdKindDump* const kFdKinds[] = {VD_FD_KINDS(VD_FD_KIND_ROW) VD_FD_KINDS_BY_KEEPER(VD_FD_KIND_ROW)};
#undef VD_FD_KIND_ROW

struct FdInfo : OpenFd {
  uint64_t pos = 0;
};

enum class FdKind { Path, Stdio, Copy, Pipe, Table, Unsupported };

// /dev/null, zero, full, random, urandom: reopened by path, nothing to keep;
// /dev/tty too: it is the process's controlling terminal, whichever it has then
// (restored before its fds are: restore_child.c)
bool harmlessDevice(dev_t rdev) {
  unsigned ma = major(rdev), mi = minor(rdev);
  return (ma == 1 && (mi == 3 || mi == 5 || mi == 7 || mi == 8 || mi == 9)) || (ma == 5 && mi == 0);
}

std::vector<FdInfo> listFds(pid_t pid) {
  std::vector<FdInfo> out;
  std::string dir = "/proc/" + std::to_string(pid) + "/fd";
  DIR* d = opendir(dir.c_str());
  if (!d) return out;
  while (dirent* e = readdir(d)) {
    if (e->d_name[0] == '.') continue;
    FdInfo f{};
    f.pid = pid;
    f.fd = atoi(e->d_name);
    f.target = readLink(pid, "fd/" + std::string(e->d_name));
    if (stat((dir + "/" + e->d_name).c_str(), &f.st) < 0) continue;  // closed meanwhile
    f.fdinfo = readProcFile(pid, ("fdinfo/" + std::string(e->d_name)).c_str());
    f.pos = strtoull(fdinfoValue(f.fdinfo, "pos").c_str(), nullptr, 10);
    f.flags = (unsigned)strtoul(fdinfoValue(f.fdinfo, "flags").c_str(), nullptr, 8);
    out.push_back(std::move(f));
  }
  closedir(d);
  std::sort(out.begin(), out.end(), [](const FdInfo& a, const FdInfo& b) { return a.fd < b.fd; });
  return out;
}

// How fd is restored; for Stdio, *stdio is which of the restoring command's fds,
// for Table, *table the kind that takes it.
// The descriptions the job got from vdomain (the keeper holds them too:
// stdioPid) are outside the domain: its standard streams and any fd it
// inherited. Wherever the job has them (their number, a dup, a child's), a
// restore binds the restoring command's fd of that number. A pipe or file the
// job put on 0-2 itself is not one.
FdKind classify(pid_t stdioPid, const FdInfo& f, int* stdio, std::string& why,
                const FdKindDump** table = nullptr) {
  if (f.flags & O_ASYNC) {  // its owner (F_SETOWN) cannot be read from outside
    why = f.target + ": O_ASYNC (signal-driven I/O) — not supported";
    return FdKind::Unsupported;
  }
  // the fd numbers the keeper holds: 0-2 and whatever else the job inherited from
  // `vdomain run` (native/core/domain.cc spawnKeeper passes them on at their numbers)
  for (int k : openFdNumbers(stdioPid)) {
    long r = syscall(SYS_kcmp, f.pid, stdioPid, KCMP_FILE, f.fd, k);
    if (r == 0 || (r < 0 && k <= 2 && f.fd == k)) {  // without kcmp: 0-2 are what they were
      *stdio = k;
      return FdKind::Stdio;
    }
  }
  // the kinds of the kinds table first: some are files of a filesystem (a mqueue)
  for (const FdKindDump* k : kFdKinds)
    if (k->takes(f)) {
      if (table) *table = k;
      return FdKind::Table;
    }
  const bool deleted = f.st.st_nlink == 0;
  if (f.flags & O_PATH) {
    // a place, not an open file: whatever it names, reopened by path as O_PATH
    if (S_ISREG(f.st.st_mode) && deleted) return FdKind::Copy;
    struct stat now;
    if (!deleted && f.target.rfind("/", 0) == 0 && stat(f.target.c_str(), &now) == 0 && now.st_ino == f.st.st_ino &&
        now.st_dev == f.st.st_dev)
      return FdKind::Path;
    why = "O_PATH " + f.target + ": removed or replaced since it was opened (or a symlink itself) — not supported";
    return FdKind::Unsupported;
  }
  const mode_t t = f.st.st_mode & S_IFMT;
  if (t == S_IFREG) {
    if (f.st.st_nlink == 0) return FdKind::Copy;  // (a memfd too: made again by memfd_create)
    struct stat now;
    if (stat(f.target.c_str(), &now) < 0 || now.st_ino != f.st.st_ino || now.st_dev != f.st.st_dev) {
      why = f.target + ": renamed or replaced since it was opened — not supported";
      return FdKind::Unsupported;
    }
    return FdKind::Path;
  }
  if (t == S_IFDIR) {
    if (!deleted) return FdKind::Path;
    why = "directory " + f.target + ": deleted while open — not supported";
    return FdKind::Unsupported;
  }
  if (t == S_IFIFO && f.target.rfind("pipe:", 0) == 0) return FdKind::Pipe;
  if (t == S_IFIFO && f.target.rfind("/", 0) == 0) {  // a FIFO: reopened by its path
    struct stat now;
    if (stat(f.target.c_str(), &now) == 0 && S_ISFIFO(now.st_mode) && now.st_ino == f.st.st_ino && now.st_dev == f.st.st_dev)
      return FdKind::Pipe;
    why = "FIFO " + f.target + ": removed or replaced since it was opened — not supported";
    return FdKind::Unsupported;
  }
  if (t == S_IFCHR && harmlessDevice(f.st.st_rdev)) {
    if (!deleted) return FdKind::Path;
    why = "device node " + f.target + ": deleted while open — not supported";
    return FdKind::Unsupported;
  }
  std::string what = f.target;
  if (what == "anon_inode:[fanotify]") {
    // its marks (fdinfo) could be added again, but a group of any use (FAN_CLASS_CONTENT,
    // mount and filesystem marks, permission events) needs CAP_SYS_ADMIN to make
    why = "fanotify — not supported (making its group again needs CAP_SYS_ADMIN for all but inode marks)";
    return FdKind::Unsupported;
  }
  if (what.rfind("socket:", 0) == 0 || t == S_IFSOCK) what = "socket";
  else if (t == S_IFIFO) what = "FIFO " + f.target;
  else if (what.rfind("anon_inode:", 0) == 0) what = what.substr(11);
  else if (t == S_IFCHR) what = "device " + f.target;
  why = what + " — not supported yet";
  return FdKind::Unsupported;
}

}  // namespace

void checkFiles(DumpRun& run, const ProcessIds& ids) {
  for (auto& f : listFds(ids.real)) {
    int stdio;
    std::string why;
    const FdKindDump* table = nullptr;
    FdKind k = classify(run.req.stdioPid, f, &stdio, why, &table);
    Json scratch;
    scratch.beginObject();
    f.run = &run;
    if (k == FdKind::Table && !table->dump(f, scratch, why)) k = FdKind::Unsupported;
    if (k == FdKind::Unsupported) run.u.add(ids.vpid, "fd " + std::to_string(f.fd) + ": " + why);
  }
}

// How an fd names its open file description: "VPID:FD" of its first holder.
static std::string descriptionKey(pid_t vpid, int fd) { return std::to_string(vpid) + ":" + std::to_string(fd); }

// Which fds are one open file description (run.descs), found anew each time:
// candidates by inode first, then kcmp.
void mapDescriptions(DumpRun& run, const std::vector<ProcessIds>& processes) {
  const pid_t stdioPid = run.req.stdioPid;
  Descriptions& d = run.descs;
  d = Descriptions{};
  d.stdioPid = stdioPid;
  struct Held {
    const ProcessIds* ids;
    int fd;
    std::string key;
  };
  // candidates by inode first, then kcmp: one description, or two opens of a file
  std::map<std::pair<dev_t, ino_t>, std::vector<Held>> byInode;
  // the descriptions of the kinds table's kinds: their first holder and kind
  struct TableHeld {
    pid_t vpid;
    int fd;
    const FdKindDump* kind;
  };
  std::map<std::string, TableHeld> tableKind;
  for (auto& p : processes)
    for (auto& f : listFds(p.real)) {
      int stdio;
      std::string why;
      const FdKindDump* table = nullptr;
      FdKind k = classify(stdioPid, f, &stdio, why, &table);
      if (k == FdKind::Stdio || k == FdKind::Unsupported) continue;  // (those are refused by name already)
      auto& held = byInode[{f.st.st_dev, f.st.st_ino}];
      const std::string own = descriptionKey(p.vpid, f.fd);
      std::string key = own;
      for (auto& h : held)
        if (syscall(SYS_kcmp, h.ids->real, p.real, KCMP_FILE, h.fd, f.fd) == 0) {
          key = h.key;
          break;
        }
      held.push_back({&p, f.fd, key});
      d.of[{p.real, f.fd}] = key;
      d.holders[key]++;
      if (table && key == own) tableKind[key] = {p.vpid, f.fd, table};
    }
  // the kinds of the kinds table are made by each process's blob, one
  // description per fd: one held twice (dup, fork) cannot be made so yet, but
  // by the keeper for the kinds it makes (shareable)
  for (auto& [key, first] : tableKind)
    if (d.holders[key] > 1 && !first.kind->shareable)
      run.u.add(first.vpid, "fd " + std::to_string(first.fd) + ": " + first.kind->name + " held by " +
                                std::to_string(d.holders[key]) + " fds (dup or fork) — sharing it is not supported yet");
}

std::string fileKey(unsigned major, unsigned minor, uint64_t inode) {
  return std::to_string(major) + ":" + std::to_string(minor) + ":" + std::to_string(inode);
}

bool memfdFields(int fd, const std::string& path, Json& j, std::string& why) {
  if (path.rfind("/memfd:", 0) != 0) return true;
  struct statfs fs{};
  if (fd >= 0 && fstatfs(fd, &fs) == 0 && fs.f_type == HUGETLBFS_MAGIC) {
    why = "memfd " + path + " on hugetlbfs (MFD_HUGETLB) — not supported";
    return false;
  }
  const int seals = fd >= 0 ? fcntl(fd, F_GET_SEALS) : 0;
  if (seals > 0 && (seals & F_SEAL_FUTURE_WRITE)) {
    why = "memfd " + path + " sealed F_SEAL_FUTURE_WRITE — not supported yet";
    return false;
  }
  j.field("memfd", true).field("seals", seals > 0 ? seals : 0);
  return true;
}

bool saveDeletedFile(int fd, PagesWriter& w, Json& j, std::string& why) {
  struct stat st;
  if (fstat(fd, &st) < 0) return why = strerror(errno), false;
  uint64_t off = w.offset(), saved = 0;
  bool ok = true;
  j.field("size", (uint64_t)st.st_size).field("mode", (uint64_t)(st.st_mode & 07777));
  j.field("uid", (uint64_t)st.st_uid).field("gid", (uint64_t)st.st_gid);
  j.key("extents").beginArray();
  for (off_t at = 0; ok && at < st.st_size;) {
    off_t data = lseek(fd, at, SEEK_DATA);
    if (data < 0) break;  // (ENXIO: only a hole from here on)
    off_t hole = lseek(fd, data, SEEK_HOLE);
    if (hole < 0 || hole > st.st_size) hole = st.st_size;
    ok = w.appendFd(fd, (uint64_t)(hole - data), (uint64_t)data);
    j.beginArray().num((uint64_t)data).num((uint64_t)(hole - data)).endArray();
    saved += (uint64_t)(hole - data);
    at = hole;
  }
  j.endArray();
  if (!ok) return why = strerror(w.error()), false;
  j.key("content").beginObject().field("off", off).field("len", saved).endObject();
  return true;
}

namespace {

// A pipe's bytes in flight, copied without taking them (tee) through a second
// reader opened on it; appended to the page file. *size: its capacity.
bool savePipe(pid_t pid, int fd, PagesWriter& w, uint64_t* len, int* size, std::string& err) {
  std::string proc = "/proc/" + std::to_string(pid) + "/fd/" + std::to_string(fd);
  int in = open(proc.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  if (in < 0) {
    err = "cannot open " + proc + ": " + strerror(errno);
    return false;
  }
  *size = fcntl(in, F_GETPIPE_SZ);
  int n = 0;
  ioctl(in, FIONREAD, &n);
  *len = 0;
  bool ok = true;
  if (n > 0) {
    int t[2];
    if (pipe2(t, O_CLOEXEC | O_NONBLOCK) < 0) {
      close(in);
      err = std::string("pipe: ") + strerror(errno);
      return false;
    }
    fcntl(t[1], F_SETPIPE_SZ, *size);
    ssize_t got = tee(in, t[1], (size_t)n, SPLICE_F_NONBLOCK);
    std::vector<char> buf(got > 0 ? (size_t)got : 0);
    size_t have = 0;
    while (got > 0 && have < buf.size()) {
      ssize_t r = read(t[0], buf.data() + have, buf.size() - have);
      if (r <= 0) break;
      have += (size_t)r;
    }
    ok = got == n && have == buf.size() && w.appendBytes(buf.data(), have);
    if (!ok) err = "cannot copy the bytes in " + proc + ": " + strerror(got < 0 ? errno : w.error() ? w.error() : EIO);
    *len = have;
    close(t[0]);
    close(t[1]);
  }
  close(in);
  return ok;
}

}  // namespace

bool dumpFiles(DumpRun& run, ProcessDump& p) {
  const ProcessIds& ids = p.ids;
  Descriptions& d = run.descs;
  PagesWriter& w = p.pages;
  Json& j = p.j;
  Unsupported& u = run.u;
  std::string& err = run.err;
  j.key("fds").beginArray();
  for (auto& f : listFds(ids.real)) {
    int stdio = -1;
    std::string why;
    const FdKindDump* table = nullptr;
    FdKind k = classify(d.stdioPid, f, &stdio, why, &table);
    if (k == FdKind::Unsupported) {
      u.add(ids.vpid, "fd " + std::to_string(f.fd) + ": " + why);
      continue;
    }
    j.beginObject();
    j.field("fd", f.fd).field("target", f.target);
    j.field("flags", f.flags & ~(unsigned)O_CLOEXEC).field("cloexec", (f.flags & O_CLOEXEC) != 0);
    j.field("pos", f.pos);
    auto desc = d.of.find({ids.real, f.fd});
    if (desc != d.of.end()) j.field("desc", desc->second);
    if (k == FdKind::Stdio) {
      j.field("kind", "stdio").field("stdio", stdio);
    } else if (k == FdKind::Table) {
      f.run = &run;
      j.field("kind", table->name).key("state").beginObject();
      if (!table->dump(f, j, why)) u.add(ids.vpid, "fd " + std::to_string(f.fd) + ": " + why);
      j.endObject();
    } else if (k == FdKind::Pipe) {
      j.field("kind", "pipe").field("pipe", (uint64_t)f.st.st_ino).field("end", (f.flags & O_ACCMODE) == O_WRONLY ? "w" : "r");
      if (f.target[0] == '/') j.field("fifo", f.target);
      if (d.pipesSaved.insert({f.st.st_dev, f.st.st_ino}).second) {
        uint64_t off = w.offset(), len = 0;
        int size = 0;
        if (!savePipe(ids.real, f.fd, w, &len, &size, err)) {
          err = "pid " + std::to_string(ids.vpid) + " fd " + std::to_string(f.fd) + ": " + err;
          return false;
        }
        j.field("pipeSize", (uint64_t)size);
        j.key("content").beginObject().field("off", off).field("len", len).endObject();
      }
    } else if (k == FdKind::Path) {
      j.field("kind", "path").field("path", f.target);
    } else if (desc != d.of.end() && desc->second != descriptionKey(ids.vpid, f.fd)) {
      // a deleted file whose description an fd before this one holds: saved there
      j.field("kind", "copy").field("path", withoutDeleted(f.target));
    } else {
      // a deleted file: keep what it holds now
      std::string proc = "/proc/" + std::to_string(ids.real) + "/fd/" + std::to_string(f.fd);
      int fd = open(proc.c_str(), O_RDONLY | O_CLOEXEC);
      std::string why;
      j.field("kind", "copy").field("path", withoutDeleted(f.target));
      j.field("file", fileKey(major(f.st.st_dev), minor(f.st.st_dev), f.st.st_ino));
      const bool ok = fd >= 0 ? saveDeletedFile(fd, w, j, why) : (why = strerror(errno), false);
      std::string refused;
      if (ok && !memfdFields(fd, withoutDeleted(f.target), j, refused)) u.add(ids.vpid, "fd " + std::to_string(f.fd) + ": " + refused);
      if (fd >= 0) close(fd);
      if (!ok) {
        err = "pid " + std::to_string(ids.vpid) + " fd " + std::to_string(f.fd) + ": cannot save the deleted file " +
              f.target + ": " + why;
        return false;
      }
    }
    j.endObject();
  }
  j.endArray();
  return true;
}


extern const DumpKind filesKind = {"files", checkFiles, mapDescriptions, nullptr, nullptr, dumpFiles};

}  // namespace vdomain
