// Pseudo-terminals the job opened itself (/dev/ptmx and its /dev/pts/N: what
// script, tmux, expect and terminal emulators hold), the dump side. What the
// kernel keeps of a pair (drivers/tty/pty.c, n_tty.c, tty_ioctl(2)), and how:
//   its number N (fdinfo "tty-index"; a restore takes N where it is free, else
//     the next: decision 0016)
//   the slave's settings (termios: a master's TCGETS reaches them), window size,
//     the lock (TIOCGPTLCK) and packet mode (TIOCGPKT) of the master
//   the slave's input not yet read, with its line structure (a canonical read
//     returns one line), and the unfinished line; the master's input not yet read
//     (the slave's output): read out frozen and put back at once (pty_image.h
//     vd_pty_put_back, the restore's way too)
//   the session it is the controlling terminal of, and its foreground group
//     (TIOCGSID, TIOCGPGRP through the master work from outside the session)
//   the slave's inode mode and owner
// Refused by name: a line discipline other than N_TTY, EXTPROC, an exclusive
// slave (TIOCEXCL), output stopped (^S, tcflow), a packet-mode status not yet
// read, a slave with no master in the domain, a pty whose slave was never
// opened (open and close from outside would make it "closed"), the controlling
// terminal of a session outside the domain. Not kept: the line discipline's
// column (tab expansion after a restore starts at column 0) and the pts
// inode's times. Made again by keeper_pty.c, as shared files (always: the pair
// is made once, its ends inherited).
#include <fcntl.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <termios.h>
#include <unistd.h>

#include <cstring>
#include <set>

#include "core/dump.h"
#include "core/procfs.h"
#include "resources/files/fd_kind.h"
#include "resources/pty/pty_image.h"

namespace vdomain {

namespace {

constexpr int kNTty = 0;  // N_TTY

bool isMaster(const struct stat& st) { return S_ISCHR(st.st_mode) && major(st.st_rdev) == 5 && minor(st.st_rdev) == 2; }
bool isSlave(const struct stat& st) {
  return S_ISCHR(st.st_mode) && major(st.st_rdev) >= 136 && major(st.st_rdev) <= 143;
}
unsigned slaveIndex(const struct stat& st) { return (major(st.st_rdev) - 136) * 256 + minor(st.st_rdev); }
int masterIndex(const std::string& fdinfo) {
  const std::string v = fdinfoValue(fdinfo, "tty-index");
  return v.empty() ? -1 : atoi(v.c_str());
}

struct OwnFd {
  int fd = -1;
  ~OwnFd() {
    if (fd >= 0) close(fd);
  }
};

// Each process's fds that are a pty master: (process, fd, index).
struct MasterFd {
  const ProcessIds* ids;
  int fd;
  unsigned index;
};
std::vector<MasterFd> domainMasters(const std::vector<ProcessIds>& processes) {
  std::vector<MasterFd> out;
  for (auto& p : processes)
    for (int fd : openFdNumbers(p.real)) {
      struct stat st;
      const std::string link = "/proc/" + std::to_string(p.real) + "/fd/" + std::to_string(fd);
      if (stat(link.c_str(), &st) < 0 || !isMaster(st)) continue;
      int index = masterIndex(readProcFile(p.real, ("fdinfo/" + std::to_string(fd)).c_str()));
      if (index >= 0) out.push_back({&p, fd, (unsigned)index});
    }
  return out;
}

bool readable(int fd, short what = POLLIN) {
  struct pollfd p = {fd, what, 0};
  return poll(&p, 1, 0) > 0 && (p.revents & what);
}

// Everything fd (ours, non-blocking, or the job's when poll says so) has to read;
// packet: drop each read's status byte. A poll that finds nothing first waits
// for the bytes still on their way (n_tty_poll flushes the tty's buffer work).
bool readAll(int fd, int packet, std::string& out) {
  char buf[4096 + 1];
  while (readable(fd)) {
    ssize_t n = read(fd, buf, sizeof buf);
    if (n < 0 && (errno == EAGAIN || errno == EIO)) return true;  // (EIO: the slave is closed, all read)
    if (n < 0) return false;
    if (n == 0) return true;
    if (n > packet) out.append(buf + packet, (size_t)(n - packet));
  }
  return true;
}

struct Chunk {
  std::string bytes;
  uint32_t end;
};

// The slave's input, read through s: line by line when canonical (each read
// returns one), then the unfinished line (readable once ICANON is off; put back
// on at once: the buffer is empty then, so no line is made of it).
bool takeInput(int s, const struct termios& t, std::vector<Chunk>& chunks) {
  if (!(t.c_lflag & ICANON)) {
    Chunk c{"", VD_PTY_RAW};
    for (;;) {
      readable(s);  // (flushes what is on its way)
      int queued = 0;
      if (ioctl(s, FIONREAD, &queued) < 0) return false;
      if (queued <= 0) break;
      std::vector<char> buf((size_t)queued);
      ssize_t n = read(s, buf.data(), buf.size());
      if (n <= 0) break;
      c.bytes.append(buf.data(), (size_t)n);
    }
    if (!c.bytes.empty()) chunks.push_back(std::move(c));
    return true;
  }
  auto isEnd = [&](unsigned char b) {
    return b == '\n' || (t.c_cc[VEOL] != _POSIX_VDISABLE && b == t.c_cc[VEOL]) ||
           ((t.c_lflag & IEXTEN) && t.c_cc[VEOL2] != _POSIX_VDISABLE && b == t.c_cc[VEOL2]);
  };
  char buf[4096 + 1];
  while (readable(s)) {
    ssize_t n = read(s, buf, sizeof buf);
    if (n < 0 && errno == EAGAIN) break;
    if (n < 0) return false;
    const bool line = n > 0 && isEnd((unsigned char)buf[n - 1]);
    chunks.push_back({std::string(buf, (size_t)n), line ? (uint32_t)VD_PTY_LINE : (uint32_t)VD_PTY_EOF});
  }
  struct termios raw = t;
  raw.c_lflag &= ~(tcflag_t)ICANON;
  raw.c_cc[VMIN] = 0;
  raw.c_cc[VTIME] = 0;
  if (tcsetattr(s, TCSANOW, &raw) < 0) return false;
  Chunk partial{"", VD_PTY_PARTIAL};
  const bool ok = readAll(s, 0, partial.bytes);
  if (tcsetattr(s, TCSANOW, &t) < 0 || !ok) return false;
  if (!partial.bytes.empty()) chunks.push_back(std::move(partial));
  return true;
}

// A byte the put-back would read as something else (a line end inside a line,
// only possible through ^V; a flow character under IXON): "" or what it is.
std::string unreplayable(const std::vector<Chunk>& chunks, const struct termios& t) {
  const bool canonical = t.c_lflag & ICANON;
  for (auto& c : chunks)
    for (size_t i = 0; i < c.bytes.size(); i++) {
      const unsigned char b = (unsigned char)c.bytes[i];
      if ((t.c_iflag & IXON) && b != _POSIX_VDISABLE && (b == t.c_cc[VSTART] || b == t.c_cc[VSTOP]))
        return "a flow-control character (IXON) in its input";
      const bool last = i + 1 == c.bytes.size() && c.end == VD_PTY_LINE;
      if (canonical && !last &&
          (b == '\n' || (b != _POSIX_VDISABLE && (b == t.c_cc[VEOL] || b == t.c_cc[VEOL2] || b == t.c_cc[VEOF]))))
        return "a quoted (^V) line end in its input";
    }
  return "";
}

// The pair of master m (ours: the job's description), frozen: its state as a
// JSON object, its bytes taken out and put back. "" and why when refused.
std::string readPair(const DumpRun& run, int m, unsigned index, bool slaveInDomain, std::string& why) {
  const std::string name = "pty /dev/pts/" + std::to_string(index);
  auto refuse = [&](const std::string& what) {
    why = name + ": " + what;
    return std::string();
  };
  int locked = 0, packet = 0, zero = 0, one = 1;
  if (ioctl(m, TIOCGPTLCK, &locked) < 0 || ioctl(m, TIOCGPKT, &packet) < 0)
    return refuse(std::string("cannot read its lock or packet mode (") + strerror(errno) + ")");
  packet = packet ? 1 : 0;
  // a slave of our own, to read and put back its input without the job's flags
  if (!slaveInDomain && !readable(m, POLLHUP))
    return refuse("its slave is held outside the domain, or was never opened — not supported");
  if (locked && ioctl(m, TIOCSPTLCK, &zero) < 0) return refuse(std::string("cannot unlock it (") + strerror(errno) + ")");
  OwnFd s{(int)ioctl(m, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC)};
  const int peerErr = errno;
  if (locked) ioctl(m, TIOCSPTLCK, &one);
  if (s.fd < 0)
    return refuse(peerErr == EBUSY ? "its slave is exclusive (TIOCEXCL) — not supported"
                                   : std::string("cannot open its slave (") + strerror(peerErr) + ")");
  int ldisc = -1;
  struct termios t;
  struct winsize ws{};
  struct stat st;
  if (ioctl(s.fd, TIOCGETD, &ldisc) < 0 || tcgetattr(s.fd, &t) < 0 || ioctl(m, TIOCGWINSZ, &ws) < 0 || fstat(s.fd, &st) < 0)
    return refuse(std::string("cannot read its settings (") + strerror(errno) + ")");
  if (ldisc != kNTty) return refuse("line discipline " + std::to_string(ldisc) + " — not supported");
  if (t.c_lflag & EXTPROC) return refuse("external processing (EXTPROC) — not supported");
  if (packet && readable(m, POLLPRI)) return refuse("a packet-mode status not yet read — not supported");
  // the session it is the controlling terminal of, and its foreground group
  pid_t sid = 0, fg = 0, vsid = 0, vfg = 0;
  if (ioctl(m, TIOCGSID, &sid) < 0) sid = 0;  // (ENOTTY: nobody's)
  if (sid > 0) {
    for (auto& p : run.res.processes)
      if (p.real == sid && p.vsid == p.vpid) vsid = p.vpid;
    if (!vsid) return refuse("the controlling terminal of session " + std::to_string(sid) + ", outside the domain — not supported");
    if (ioctl(m, TIOCGPGRP, &fg) < 0) fg = 0;
    vfg = fg > 0 && run.req.virtualize ? run.req.virtualize(fg) : fg;
    bool member = false;
    for (auto& p : run.res.processes) member = member || (vfg && p.vpgid == vfg);
    if (fg > 0 && !member) return refuse("its foreground group " + std::to_string(fg) + " has no process in the domain — not supported");
  }

  // Its bytes out, then back. First a byte written at the slave, unprocessed,
  // tells whether its output flows (stopped, it would not be taken, and neither
  // would the echoes the put-back waits for): refused before anything is taken.
  // Then the master's bytes, that one last.
  std::string output;
  std::vector<Chunk> input;
  struct termios direct = t;
  direct.c_oflag &= ~(tcflag_t)OPOST;
  const char probe = '\n';
  if (tcsetattr(s.fd, TCSANOW, &direct) < 0) return refuse(std::string("cannot set its settings (") + strerror(errno) + ")");
  const bool flows = write(s.fd, &probe, 1) == 1;
  if (tcsetattr(s.fd, TCSANOW, &t) < 0) return refuse(std::string("cannot set its settings (") + strerror(errno) + ")");
  if (!flows) return refuse("its output is stopped (^S, tcflow), or the master has not read 64 KiB of it — not supported");
  if (run.req.altering) run.req.altering(true);
  bool ok = readAll(m, packet, output) && !output.empty() && output.back() == probe;
  if (ok) output.pop_back();
  ok = ok && takeInput(s.fd, t, input);
  std::string blob;
  for (auto& c : input) {
    vd_pty_chunk h{(uint32_t)c.bytes.size(), c.end};
    blob.append(reinterpret_cast<const char*>(&h), sizeof h).append(c.bytes);
  }
  const bool back = vd_pty_put_back(m, s.fd, &t, packet, reinterpret_cast<const unsigned char*>(blob.data()), blob.size(),
                                    (uint32_t)input.size(), reinterpret_cast<const unsigned char*>(output.data()),
                                    output.size()) == 0;
  if (run.req.altering) run.req.altering(false);
  if (!ok || !back) return refuse(std::string("cannot read its buffered bytes (") + strerror(errno) + ")");
  const std::string odd = unreplayable(input, t);
  if (!odd.empty()) return refuse(odd + " — not supported");

  Json j;
  j.beginObject();
  j.field("locked", locked != 0).field("packet", packet != 0);
  j.key("termios").base64(&t, sizeof t);
  j.field("rows", ws.ws_row).field("cols", ws.ws_col).field("xpixel", ws.ws_xpixel).field("ypixel", ws.ws_ypixel);
  j.field("mode", (unsigned)(st.st_mode & 07777)).field("uid", (unsigned)st.st_uid).field("gid", (unsigned)st.st_gid);
  if (vsid) j.field("session", vsid).field("foreground", vfg);
  j.key("input").beginArray();
  static const char* const kEnds[] = {"line", "eof", "partial", "raw"};
  for (auto& c : input) {
    j.beginObject().field("end", kEnds[c.end]);
    j.key("data").base64(c.bytes.data(), c.bytes.size());
    j.endObject();
  }
  j.endArray();
  j.key("output").base64(output.data(), output.size());
  j.endObject();
  return j.text();
}

// Frozen, once: every pair whose master the domain holds.
bool dumpPtys(DumpRun& run) {
  run.ptyPairs.clear();
  const std::vector<MasterFd> masters = domainMasters(run.res.processes);
  if (masters.empty()) return true;
  std::set<unsigned> slaves;  // the indexes of the slaves the domain holds
  for (auto& p : run.res.processes)
    for (int fd : openFdNumbers(p.real)) {
      struct stat st;
      if (stat(("/proc/" + std::to_string(p.real) + "/fd/" + std::to_string(fd)).c_str(), &st) == 0 && isSlave(st))
        slaves.insert(slaveIndex(st));
    }
  for (auto& mf : masters) {
    if (run.ptyPairs.count(mf.index)) continue;  // (a dup of one read already)
    OpenFd f{};
    f.pid = mf.ids->real;
    f.fd = mf.fd;
    OwnFd m{takeFd(f)};
    std::string why;
    std::string state = m.fd < 0 ? "" : readPair(run, m.fd, mf.index, slaves.count(mf.index) > 0, why);
    if (m.fd < 0) why = "pty /dev/pts/" + std::to_string(mf.index) + ": cannot take its master (" + strerror(errno) + ")";
    if (state.empty()) {
      run.u.add(mf.ids->vpid, "fd " + std::to_string(mf.fd) + ": " + why);
      continue;
    }
    run.ptyPairs[mf.index] = state;
  }
  return true;
}

bool takes(const OpenFd& f) { return isMaster(f.st) || isSlave(f.st); }

bool dump(const OpenFd& f, Json& j, std::string& why) {
  const bool master = isMaster(f.st);
  const int index = master ? masterIndex(f.fdinfo) : (int)slaveIndex(f.st);
  if (index < 0) {
    why = f.target + ": a pty master whose fdinfo shows no tty-index — not supported";
    return false;
  }
  j.field("index", index).field("master", master);
  const DumpRun& run = *f.run;
  if (!master) {
    // its master must be the domain's: made with it
    bool found = false;
    for (auto& mf : domainMasters(run.frozen ? run.res.processes : run.req.processes))
      found = found || mf.index == (unsigned)index;
    if (!found) why = f.target + ": a pty slave whose master is outside the domain — not supported";
    return found;
  }
  auto pair = run.ptyPairs.find((unsigned)index);
  if (pair != run.ptyPairs.end()) j.key("pair").raw(pair->second);
  return true;
}

}  // namespace

extern const FdKindDump ptyFdKind = {"pty", takes, dump, true};
extern const DumpKind ptyKind = {"pty", nullptr, nullptr, dumpPtys, nullptr, nullptr};

}  // namespace vdomain
