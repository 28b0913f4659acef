// File descriptors: regular files (path, flags, position), deleted files (their
// contents saved in the page file), directories, the harmless character devices,
// and the standard streams, which a restore binds to the restoring command's own.
// Restored by open_files in native/restorer/restorer.c.
#include <dirent.h>
#include <fcntl.h>
#include <linux/kcmp.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <map>

#include "dump.h"
#include "procfs.h"

namespace vdomain {

namespace {

struct FdInfo {
  int fd;
  std::string target;
  struct stat st;
  uint64_t pos = 0;
  unsigned flags = 0;
};

enum class FdKind { Path, Stdio, Copy, Unsupported };

// /dev/null, zero, full, random, urandom: reopened by path, nothing to keep
bool harmlessDevice(dev_t rdev) {
  unsigned ma = major(rdev), mi = minor(rdev);
  return ma == 1 && (mi == 3 || mi == 5 || mi == 7 || mi == 8 || mi == 9);
}

std::vector<FdInfo> listFds(pid_t pid) {
  std::vector<FdInfo> out;
  std::string dir = "/proc/" + std::to_string(pid) + "/fd";
  DIR* d = opendir(dir.c_str());
  if (!d) return out;
  while (dirent* e = readdir(d)) {
    if (e->d_name[0] == '.') continue;
    FdInfo f{};
    f.fd = atoi(e->d_name);
    f.target = readLink(pid, "fd/" + std::string(e->d_name));
    if (stat((dir + "/" + e->d_name).c_str(), &f.st) < 0) continue;  // closed meanwhile
    std::string info = readProcFile(pid, ("fdinfo/" + std::string(e->d_name)).c_str());
    const char* p = strstr(info.c_str(), "pos:");
    if (p) f.pos = strtoull(p + 4, nullptr, 10);
    p = strstr(info.c_str(), "flags:");
    if (p) f.flags = (unsigned)strtoul(p + 6, nullptr, 8);
    out.push_back(std::move(f));
  }
  closedir(d);
  std::sort(out.begin(), out.end(), [](const FdInfo& a, const FdInfo& b) { return a.fd < b.fd; });
  return out;
}

// How fd is restored; for Stdio, *stdio is which standard stream. The standard
// streams are the descriptions the job got from vdomain (the keeper holds them
// too: stdioPid): wherever the job has them (0-2, a dup, a child's), a restore
// binds the restoring command's. A pipe or file the job put on 0-2 itself is
// not one.
FdKind classify(pid_t pid, pid_t stdioPid, const FdInfo& f, int* stdio, std::string& why) {
  for (int k = 0; k <= 2; k++) {
    long r = syscall(SYS_kcmp, pid, stdioPid, KCMP_FILE, f.fd, k);
    if (r == 0 || (r < 0 && f.fd == k)) {  // without kcmp: 0-2 are what they were
      *stdio = k;
      return FdKind::Stdio;
    }
  }
  const mode_t t = f.st.st_mode & S_IFMT;
  if (t == S_IFREG) {
    if (f.target.rfind("/memfd:", 0) == 0) {
      why = "memfd " + f.target + " — not supported yet";
      return FdKind::Unsupported;
    }
    if (f.st.st_nlink == 0) return FdKind::Copy;
    struct stat now;
    if (stat(f.target.c_str(), &now) < 0 || now.st_ino != f.st.st_ino || now.st_dev != f.st.st_dev) {
      why = f.target + ": renamed or replaced since it was opened — not supported";
      return FdKind::Unsupported;
    }
    return FdKind::Path;
  }
  if (t == S_IFDIR) return FdKind::Path;
  if (t == S_IFCHR && harmlessDevice(f.st.st_rdev)) return FdKind::Path;
  std::string what = f.target;
  if (what.rfind("socket:", 0) == 0 || t == S_IFSOCK) what = "socket";
  else if (what.rfind("pipe:", 0) == 0) what = "pipe " + f.target;
  else if (t == S_IFIFO) what = "FIFO " + f.target;
  else if (what.rfind("anon_inode:", 0) == 0) what = what.substr(11);
  else if (t == S_IFCHR) what = "device " + f.target;
  why = what + " — not supported yet";
  return FdKind::Unsupported;
}

}  // namespace

void checkFiles(const ProcessIds& ids, pid_t stdioPid, Unsupported& u) {
  for (auto& f : listFds(ids.real)) {
    int stdio;
    std::string why;
    if (classify(ids.real, stdioPid, f, &stdio, why) == FdKind::Unsupported)
      u.add(ids.vpid, "fd " + std::to_string(f.fd) + ": " + why);
  }
}

void checkSharedFiles(const std::vector<ProcessIds>& processes, pid_t stdioPid, Unsupported& u) {
  // candidates first by inode, then kcmp: one open file description or two opens
  struct Held {
    const ProcessIds* ids;
    int fd;
  };
  std::map<std::pair<dev_t, ino_t>, std::vector<Held>> byInode;
  for (auto& p : processes)
    for (auto& f : listFds(p.real)) {
      int stdio;
      std::string why;
      FdKind k = classify(p.real, stdioPid, f, &stdio, why);
      if (k != FdKind::Stdio && k != FdKind::Unsupported)  // (those are refused by name already)
        byInode[{f.st.st_dev, f.st.st_ino}].push_back({&p, f.fd});
    }
  for (auto& [inode, held] : byInode)
    for (size_t a = 0; a < held.size(); a++)
      for (size_t b = a + 1; b < held.size(); b++) {
        if (held[a].ids == held[b].ids) continue;
        long r = syscall(SYS_kcmp, held[a].ids->real, held[b].ids->real, KCMP_FILE, held[a].fd, held[b].fd);
        if (r == 0 || r < 0)
          u.add(held[a].ids->vpid, "fd " + std::to_string(held[a].fd) + ": one open file with pid " +
                                       std::to_string(held[b].ids->vpid) + " fd " + std::to_string(held[b].fd) +
                                       " (opened before a fork) — not supported yet");
      }
}

bool dumpFiles(const ProcessIds& ids, pid_t stdioPid, PagesWriter& w, Json& j, Unsupported& u, std::string& err) {
  j.key("fds").beginArray();
  for (auto& f : listFds(ids.real)) {
    int stdio = -1;
    std::string why;
    FdKind k = classify(ids.real, stdioPid, f, &stdio, why);
    if (k == FdKind::Unsupported) {
      u.add(ids.vpid, "fd " + std::to_string(f.fd) + ": " + why);
      continue;
    }
    j.beginObject();
    j.field("fd", f.fd).field("target", f.target);
    j.field("flags", f.flags & ~(unsigned)O_CLOEXEC).field("cloexec", (f.flags & O_CLOEXEC) != 0);
    j.field("pos", f.pos);
    if (k == FdKind::Stdio) {
      j.field("kind", "stdio").field("stdio", stdio);
    } else if (k == FdKind::Path) {
      j.field("kind", "path").field("path", f.target);
    } else {
      // a deleted file: keep what it holds now
      std::string proc = "/proc/" + std::to_string(ids.real) + "/fd/" + std::to_string(f.fd);
      int fd = open(proc.c_str(), O_RDONLY | O_CLOEXEC);
      if (fd < 0) {
        err = "pid " + std::to_string(ids.vpid) + " fd " + std::to_string(f.fd) + ": cannot read the deleted file " +
              f.target + ": " + strerror(errno);
        return false;
      }
      struct stat st;
      fstat(fd, &st);
      uint64_t off = w.offset();
      bool ok = w.appendFd(fd, (uint64_t)st.st_size);
      close(fd);
      if (!ok) {
        err = "pid " + std::to_string(ids.vpid) + " fd " + std::to_string(f.fd) + ": cannot save " + f.target + ": " +
              strerror(w.error());
        return false;
      }
      j.field("kind", "copy").field("path", withoutDeleted(f.target));
      j.key("content").beginObject().field("off", off).field("len", (uint64_t)st.st_size).endObject();
    }
    j.endObject();
  }
  j.endArray();
  return true;
}

}  // namespace vdomain
