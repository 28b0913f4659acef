// inotify(7), the dump side. What the kernel keeps of an instance (fdinfo, one
// "inotify" line per watch): each watch's descriptor (wd, hex), the watched
// inode (ino, and sdev: its superblock's device) and mask (the events, with
// IN_ONESHOT and IN_EXCL_UNLINK; IN_MASK_ADD, IN_ONLYDIR and IN_DONT_FOLLOW act
// only when a watch is added), the events queued and not yet read (FIONREAD),
// its status flags and close-on-exec (the files kind's). The kernel names the
// inode, not a path: the path is found exactly or the watch is refused —
//   with CAP_DAC_READ_SEARCH (root): open_by_handle_at of fdinfo's file handle;
//   otherwise among the paths the process shows (its fds, cwd and its entries,
//   root, exe, mapped files, its TMPDIR or /tmp and HOME, their directories up to /, and the entries of
//   every watched directory, for recursive watchers), then among the entries
//   of every directory looked at, each taken only where lstat gives that very
//   inode (decision 0017).
// Refused by name: events not yet read (they cannot be queued again), a watch
// whose inode no path names now (deleted, or out of reach), an ignored mask.
// Made again by restore_inotify.c, each watch at its descriptor.
#include <dirent.h>
#include <fcntl.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <set>
#include <vector>

#include "core/dump.h"
#include "core/procfs.h"
#include "resources/files/fd_kind.h"

namespace vdomain {

namespace {

struct Watch {
  unsigned wd = 0, mask = 0, ignored = 0;
  unsigned long ino = 0;
  unsigned sdev = 0;  // the kernel's dev_t: major << 20 | minor
  std::string handle; // hex
  int handleType = 0;
  std::string path;
  bool symlink = false;
};

// fdinfo's watch lines, in its order; ok false when one is not as expected (the
// handle is absent where the filesystem cannot encode one).
std::vector<Watch> parseWatches(const std::string& fdinfo, bool& ok) {
  std::vector<Watch> out;
  ok = true;
  for (size_t at = 0; at < fdinfo.size();) {
    size_t end = fdinfo.find('\n', at);
    if (end == std::string::npos) end = fdinfo.size();
    if (fdinfo.compare(at, 8, "inotify ") == 0) {
      Watch w;
      unsigned bytes = 0;
      char handle[257] = "";
      const int n = sscanf(fdinfo.c_str() + at, "inotify wd:%x ino:%lx sdev:%x mask:%x ignored_mask:%x fhandle-bytes:%x fhandle-type:%x f_handle:%256s",
                           &w.wd, &w.ino, &w.sdev, &w.mask, &w.ignored, &bytes, &w.handleType, handle);
      if (n < 5) ok = false;
      if (n == 8) w.handle = handle;
      out.push_back(w);
    }
    at = end + 1;
  }
  return out;
}

bool isInode(const struct stat& st, const Watch& w) {
  return st.st_ino == w.ino && major(st.st_dev) == (w.sdev >> 20) && minor(st.st_dev) == (w.sdev & 0xfffff);
}

// With CAP_DAC_READ_SEARCH: the inode through its handle, opened from a mount
// of its filesystem; its path if that path still names it.
std::string pathByHandle(const Watch& w) {
  if (w.handle.empty() || w.handle.size() % 2 || w.handle.size() > 256) return "";
  // a mount of that filesystem (mountinfo's third field is MAJOR:MINOR)
  const std::string want = std::to_string(w.sdev >> 20) + ":" + std::to_string(w.sdev & 0xfffff);
  std::string mountPoint;
  const std::string info = readWholeFile("/proc/self/mountinfo");
  for (size_t at = 0; at < info.size() && mountPoint.empty();) {
    size_t end = info.find('\n', at);
    if (end == std::string::npos) end = info.size();
    char id[32], parent[32], dev[64], root[4096], point[4096];
    if (sscanf(info.substr(at, end - at).c_str(), "%31s %31s %63s %4095s %4095s", id, parent, dev, root, point) == 5 && want == dev)
      mountPoint = point;
    at = end + 1;
  }
  if (mountPoint.empty()) return "";
  int mount = open(mountPoint.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);  // (an O_PATH one: EBADF)
  if (mount < 0) return "";
  std::vector<unsigned char> buf(sizeof(struct file_handle) + w.handle.size() / 2);
  auto* fh = reinterpret_cast<struct file_handle*>(buf.data());
  fh->handle_bytes = (unsigned)w.handle.size() / 2;
  fh->handle_type = w.handleType;
  for (size_t i = 0; i < fh->handle_bytes; i++) fh->f_handle[i] = (unsigned char)std::stoul(w.handle.substr(2 * i, 2), nullptr, 16);
  int fd = open_by_handle_at(mount, fh, O_PATH | O_CLOEXEC);
  close(mount);
  if (fd < 0) return "";
  std::string path = readLink(getpid(), "fd/" + std::to_string(fd));
  close(fd);
  struct stat st;
  return path.rfind("/", 0) == 0 && lstat(path.c_str(), &st) == 0 && isInode(st, w) ? path : "";
}

// The paths in directory dir (at most `most` of them), . and .. left out.
std::vector<std::string> entriesOf(const std::string& dir, size_t most = SIZE_MAX) {
  std::vector<std::string> out;
  DIR* d = opendir(dir.c_str());
  if (!d) return out;
  while (dirent* e = out.size() < most ? readdir(d) : nullptr)
    if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) out.push_back((dir == "/" ? "" : dir) + "/" + e->d_name);
  closedir(d);
  return out;
}

// The paths the process shows, and the directories above them.
std::set<std::string> candidatePaths(pid_t pid) {
  std::set<std::string> out;
  auto add = [&](std::string p) {
    p = withoutDeleted(p);
    while (p.rfind("/", 0) == 0 && out.insert(p).second && p != "/") {
      const size_t slash = p.rfind('/');
      p = slash == 0 ? "/" : p.substr(0, slash);
    }
  };
  for (int fd : openFdNumbers(pid)) add(readLink(pid, "fd/" + std::to_string(fd)));
  // what it names relative to its working directory: that directory's entries
  const std::string cwd = readLink(pid, "cwd");
  if (cwd.rfind("/", 0) == 0)
    for (auto& e : entriesOf(cwd, 4096)) out.insert(e);
  for (const char* link : {"cwd", "root", "exe"}) add(readLink(pid, link));
  // where programs make their own directories: its TMPDIR (else /tmp) and HOME
  const std::string environ = readProcFile(pid, "environ");
  std::string tmp = "/tmp";
  for (size_t at = 0; at < environ.size();) {
    const size_t end = environ.find('\0', at);
    const std::string var = environ.substr(at, end == std::string::npos ? std::string::npos : end - at);
    if (var.rfind("TMPDIR=/", 0) == 0) tmp = var.substr(7);
    if (var.rfind("HOME=/", 0) == 0) add(var.substr(5));
    if (end == std::string::npos) break;
    at = end + 1;
  }
  add(tmp);
  for (auto& m : readMaps(pid)) add(m.name);
  return out;
}

// Each watch's path, found among the candidates (and the entries of each watched
// directory found, in turn); then, for what is still missing, among the entries
// of every directory looked at (a directory watched beside the program's files,
// in /tmp or its home); at most 20000 paths in all. A watch not found keeps "".
void findPaths(pid_t pid, std::vector<Watch>& watches) {
  size_t left = 0;
  for (auto& w : watches)
    if (w.path.empty()) left++;
  if (!left) return;
  std::set<std::string> tried;
  std::vector<std::string> dirs;  // directories looked at, for the second round
  std::vector<std::string> queue;
  size_t budget = 20000;
  auto entries = [&](const std::string& dir) {
    for (auto& e : entriesOf(dir)) queue.push_back(std::move(e));
  };
  auto search = [&]() {
    while (!queue.empty() && left && budget) {
      const std::string p = queue.back();
      queue.pop_back();
      if (!tried.insert(p).second) continue;
      budget--;
      struct stat st;
      if (lstat(p.c_str(), &st) < 0) continue;
      if (S_ISDIR(st.st_mode)) dirs.push_back(p);
      for (auto& w : watches) {
        if (!w.path.empty() || !isInode(st, w)) continue;
        w.path = p;
        w.symlink = S_ISLNK(st.st_mode);
        left--;
        // a watched directory: its subdirectories may be watched too (recursive watchers)
        if (S_ISDIR(st.st_mode)) entries(p);
      }
    }
  };
  for (auto& p : candidatePaths(pid)) queue.push_back(p);
  search();
  // the second round: shallow directories first (/tmp before /usr/lib/…)
  std::vector<std::string> round = dirs;
  std::stable_sort(round.begin(), round.end(), [](const std::string& a, const std::string& b) {
    return std::count(a.begin(), a.end(), '/') < std::count(b.begin(), b.end(), '/');
  });
  for (auto it = round.rbegin(); it != round.rend(); ++it) entries(*it);  // (the queue is taken from its back)
  search();
}

bool takes(const OpenFd& f) { return f.target == "anon_inode:inotify"; }

bool dump(const OpenFd& f, Json& j, std::string& why) {
  bool ok;
  std::vector<Watch> watches = parseWatches(f.fdinfo, ok);
  if (!ok) {
    why = "inotify: its fdinfo shows watches without their inode or mask — not supported";
    return false;
  }
  for (auto& w : watches)
    if (w.ignored) {
      why = "inotify: a watch with an ignored mask — not supported";
      return false;
    }
  // events queued: only once frozen does it count (a running job may read them yet)
  if (f.run && f.run->frozen) {
    int own = takeFd(f), queued = 0;
    if (own < 0 || ioctl(own, FIONREAD, &queued) < 0) queued = -1;
    if (own >= 0) close(own);
    if (queued != 0) {
      why = queued < 0 ? std::string("inotify: cannot ask it for its queued events (") + strerror(errno) + ")"
                       : "inotify: " + std::to_string(queued) + " bytes of events not yet read — not supported";
      return false;
    }
  }
  // (fdinfo lists the newest first; a restore adds them in the kernel's order)
  std::sort(watches.begin(), watches.end(), [](const Watch& x, const Watch& y) { return x.wd < y.wd; });
  for (auto& w : watches) w.path = pathByHandle(w);
  findPaths(f.pid, watches);
  j.key("watches").beginArray();
  for (auto& w : watches) {
    if (w.path.empty()) {
      why = "inotify: watch " + std::to_string(w.wd) + " (inode " + std::to_string(w.ino) +
            "): no path names its file now (deleted, or out of the process's sight) — not supported";
      return false;
    }
    j.beginObject().field("wd", w.wd).field("mask", w.mask).field("path", w.path);
    if (w.symlink) j.field("dontFollow", true);
    j.endObject();
  }
  j.endArray();
  return true;
}

}  // namespace

extern const FdKindDump inotifyFdKind = {"inotify", takes, dump};

}  // namespace vdomain
