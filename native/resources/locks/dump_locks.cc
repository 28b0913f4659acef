// File locks the job holds: POSIX record locks (owned by the process), OFD locks
// and flock() locks (owned by the open file description). Read from the "lock:"
// lines of /proc/PID/fdinfo/N, which list the locks owned by that fd's
// description or, for POSIX locks, by this process through that description.
// Restored by set_locks in restore_locks.c (beside this file), through the fd named here:
// a POSIX lock in its process, an OFD or flock lock once per description (in
// the process of its first holder; any fd of the description owns it).
//
// Refused: leases and delegations (their break is announced to the fd's
// F_SETOWN owner, which is not restored, and a break in progress cannot be made
// again), locks on the standard streams (a restore binds the restoring command's
// own), and any POSIX lock of a job process /proc/locks lists but no fd shows.
#include <fcntl.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <dirent.h>
#include <map>
#include <set>
#include <sstream>
#include <tuple>

#include "core/dump.h"
#include "core/procfs.h"

namespace vdomain {

// A file lock the process holds, taken again through fd by set_locks
// (restore_locks.c, beside this file). len 0: to the end of the file.
struct HeldLock {
  enum Kind { Posix, Ofd, Flock };
  int fd;
  Kind kind;
  bool write;
  uint64_t start, len;
};

namespace {

struct LockLine {
  std::string kind;  // POSIX, OFDLCK, FLOCK, LEASE, DELEG, ...
  std::string mode;  // ADVISORY, ACTIVE, BREAKING, ...
  std::string type;  // READ, WRITE, ...
  long pid = 0;
  std::string inode; // MAJ:MIN:INO
  uint64_t start = 0, len = 0;  // len 0: to the end of the file (EOF)
};

// "1: POSIX  ADVISORY  WRITE 1234 08:01:5678 0 EOF" (after "lock:" in fdinfo;
// a whole line of /proc/locks). Waiters ("1: -> POSIX ...") are not locks.
bool parseLockLine(const std::string& text, LockLine& l) {
  std::istringstream in(text);
  std::string id, end, start;
  if (!(in >> id >> l.kind) || l.kind == "->") return false;
  if (!(in >> l.mode >> l.type >> l.pid >> l.inode >> start >> end)) return false;
  l.start = strtoull(start.c_str(), nullptr, 10);
  if (end == "EOF") l.len = 0;
  else l.len = strtoull(end.c_str(), nullptr, 10) - l.start + 1;
  return true;
}

std::string rangeText(const LockLine& l) {
  return "bytes " + std::to_string(l.start) + (l.len ? "-" + std::to_string(l.start + l.len - 1) : "-EOF");
}

}  // namespace

// Its POSIX locks, and the OFD/flock locks of descriptions not met before in d
// (each is saved once, with its first holder); what cannot be restored goes to u.
std::vector<HeldLock> collectLocks(const ProcessIds& ids, Descriptions& d, Unsupported& u) {
  std::vector<HeldLock> out;
  // POSIX: one per (inode, type, range) of this process; every fd of the
  // description it was taken through shows it
  std::set<std::tuple<std::string, std::string, uint64_t, uint64_t>> posixSeen;
  for (int fd : openFdNumbers(ids.real)) {
    std::string info = readProcFile(ids.real, ("fdinfo/" + std::to_string(fd)).c_str());
    std::istringstream lines(info);
    auto key = d.of.find({ids.real, fd});
    const std::string where = "fd " + std::to_string(fd) + " (" + readLink(ids.real, "fd/" + std::to_string(fd)) + ")";
    for (std::string line; std::getline(lines, line);) {
      if (line.rfind("lock:", 0) != 0) continue;
      LockLine l;
      if (!parseLockLine(line.substr(5), l)) continue;
      const std::string what = l.kind + " " + l.type + " lock on " + where + " " + rangeText(l);
      if (l.kind == "LEASE" || l.kind == "DELEG") {
        u.add(ids.vpid, where + ": " + (l.kind == "LEASE" ? "a lease" : "a delegation") +
                            " — not supported (its break notice goes to the fd's F_SETOWN owner, not restored)");
        continue;
      }
      if ((l.kind != "POSIX" && l.kind != "OFDLCK" && l.kind != "FLOCK") || (l.type != "READ" && l.type != "WRITE")) {
        u.add(ids.vpid, what + " — not supported");
        continue;
      }
      HeldLock h{fd, l.kind == "POSIX" ? HeldLock::Posix : l.kind == "OFDLCK" ? HeldLock::Ofd : HeldLock::Flock,
                 l.type == "WRITE", l.start, l.len};
      if (h.kind == HeldLock::Posix) {
        if (l.pid != ids.real) {  // owned by a process that shares this one's fd table
          u.add(ids.vpid, what + ": owned by pid " + std::to_string(l.pid) + " — not supported");
          continue;
        }
        if (!posixSeen.insert({l.inode, l.type, l.start, l.len}).second) continue;
      }
      if (key == d.of.end()) {
        u.add(ids.vpid, what + " — a lock on a standard stream is not supported");
        continue;
      }
      if (h.kind != HeldLock::Posix && !d.locksSaved.insert({key->second, (int)h.kind, h.write, h.start, h.len}).second)
        continue;  // the description's: saved with its first holder
      out.push_back(h);
    }
  }
  // every POSIX lock /proc/locks gives this process must be one found above
  size_t listed = 0;
  std::istringstream all(readWholeFile("/proc/locks"));
  for (std::string line; std::getline(all, line);) {
    LockLine l;
    if (parseLockLine(line, l) && l.kind == "POSIX" && l.pid == ids.real) listed++;
  }
  if (listed > posixSeen.size())
    u.add(ids.vpid, "holds " + std::to_string(listed - posixSeen.size()) +
                        " POSIX lock(s) no open fd shows (its fd table shared with another process?) — not supported");
  return out;
}

// what would be refused, the descriptions as the files kind found them (a copy:
// collecting marks the locks saved)
void checkLocks(DumpRun& run, const std::vector<ProcessIds>& processes) {
  Descriptions d = run.descs;
  for (auto& p : processes) collectLocks(p, d, run.u);
}

// "locks": [...], when any
bool dumpLocks(DumpRun& run, ProcessDump& p) {
  const std::vector<HeldLock> locks = collectLocks(p.ids, run.descs, run.u);
  Json& j = p.j;
  if (locks.empty()) return true;
  static const char* const kinds[] = {"posix", "ofd", "flock"};
  j.key("locks").beginArray();
  for (auto& l : locks) {
    // offsets as decimal strings: they may not fit a double
    j.beginObject().field("fd", l.fd).field("kind", kinds[l.kind]).field("type", l.write ? "w" : "r");
    j.field("start", std::to_string(l.start)).field("len", std::to_string(l.len)).endObject();
  }
  j.endArray();
  return true;
}


extern const DumpKind locksKind = {"locks", nullptr, checkLocks, nullptr, nullptr, dumpLocks};

}  // namespace vdomain
