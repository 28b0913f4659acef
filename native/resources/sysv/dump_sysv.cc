// System V IPC at checkpoint, on the supervisor's side.
//
// A domain with an IPC namespace of its own (the default): its keeper, which is in
// that namespace, writes every object to sysv.img (native/resources/sysv/keeper_sysv.c, where
// they are also made again); here the file is checked and summarised for the
// manifest. Attachments are mappings (dump_memory.cc, kind sysv-shm).
//
// A domain run with --host-ipc shares the host's objects, which are not the
// job's to take: those it visibly uses are refused by name, so no image silently
// lacks them: message queues it last sent to or received from, semaphore sets it
// last operated on, shared memory segments it created or last attached. The
// kernel keeps no per-process list of the objects a process uses; these are the
// PIDs /proc/sysvipc and semctl(GETPID) show, so an object the job has only
// created or looked up is not seen.
#include <fcntl.h>
#include <linux/kcmp.h>
#include <sched.h>
#include <sys/syscall.h>
#include <sys/ipc.h>
#include <sys/sem.h>
#include <sys/shm.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "resources/mqueue/mqueue_image.h"
#include "resources/sysv/sysv_image.h"
#include "core/dump.h"
#include "core/json.h"
#include "resources/memory/memory.h"
#include "core/procfs.h"
#include "core/task_regs.h"

namespace vdomain {

namespace {

// The rows of /proc/sysvipc/WHAT, as numbers (the header line skipped).
std::vector<std::vector<long long>> sysvRows(const char* what) {
  std::vector<std::vector<long long>> rows;
  std::string text = readWholeFile((std::string("/proc/sysvipc/") + what).c_str());
  std::istringstream in(text);
  std::string line;
  std::getline(in, line);  // header
  while (std::getline(in, line)) {
    std::istringstream f(line);
    std::vector<long long> row;
    long long v;
    while (f >> v) row.push_back(v);
    if (!row.empty()) rows.push_back(row);
  }
  return rows;
}

std::string hexKey(long long key) {
  char b[24];
  snprintf(b, sizeof b, "0x%08llx", (unsigned long long)(unsigned int)key);
  return b;
}

const char* const kHostIpc = " (the domain shares the host's IPC namespace: run without --host-ipc)";

}  // namespace

// System V IPC objects of the host's that the processes visibly use (a domain
// run with --host-ipc): refused. A domain of its own IPC namespace has its own dumped.
void checkSysvIpc(DumpRun& run, const std::vector<ProcessIds>& processes) {
  if (run.ownIpc) return;
  Unsupported& u = run.u;
  std::set<pid_t> real;
  for (auto& p : processes) real.insert(p.real);
  auto vpidOf = [&](long long pid) {
    for (auto& p : processes)
      if (p.real == pid) return p.vpid;
    return (pid_t)0;
  };
  // msg: key msqid perms cbytes qnum lspid lrpid ...
  for (auto& r : sysvRows("msg"))
    for (int col : {5, 6})
      if (r.size() > 6 && real.count((pid_t)r[col])) {
        u.add(vpidOf(r[col]), "SysV message queue " + hexKey(r[0]) + " (id " + std::to_string(r[1]) + ") of the host's" + kHostIpc);
        break;
      }
  // shm: key shmid perms size cpid lpid ...
  for (auto& r : sysvRows("shm"))
    for (int col : {4, 5})
      if (r.size() > 5 && real.count((pid_t)r[col])) {
        u.add(vpidOf(r[col]), "SysV shared memory " + hexKey(r[0]) + " (id " + std::to_string(r[1]) + ") of the host's" + kHostIpc);
        break;
      }
  // sem: key semid perms nsems ...: the last process that operated on each semaphore
  for (auto& r : sysvRows("sem")) {
    if (r.size() < 4) continue;
    for (long long k = 0; k < r[3]; k++) {
      int pid = semctl((int)r[1], (int)k, GETPID);
      if (pid > 0 && real.count(pid)) {
        u.add(vpidOf(pid), "SysV semaphore set " + hexKey(r[0]) + " (id " + std::to_string(r[1]) + ") of the host's" + kHostIpc);
        break;
      }
    }
  }
}

// The domain's own SysV objects, dumped by its keeper into sysv.img (removed when
// there are none): their summary for the manifest, and the semaphore sets' values.
bool dumpSysv(DumpRun& run) {
  if (!run.ownIpc) return true;
  std::string& err = run.err;
  const std::function<int(int)>& keeperDump = run.req.dumpSysv;
  const std::string path = run.req.dir + "/" + VD_SYSV_FILE;
  int fd = open(path.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) return err = path + ": " + strerror(errno), false;
  int e = keeperDump(fd);
  if (e) {
    close(fd);
    return err = "cannot dump the domain's SysV IPC objects: " + std::string(strerror(e)), false;
  }
  // read back: the keeper wrote it, the manifest describes it
  vd_sysv_header h{};
  off_t at = sizeof h;
  bool whole = pread(fd, &h, sizeof h, 0) == (ssize_t)sizeof h && h.magic == VD_SYSV_MAGIC;
  Json j;
  j.beginArray();
  int queues = 0;
  for (uint32_t i = 0; whole && i < h.nr_objects; i++) {
    vd_sysv_object o{};
    if (pread(fd, &o, sizeof o, at) != (ssize_t)sizeof o) whole = false;
    if (!whole) break;
    if (o.kind == VD_SYSV_SEM) {
      SemSet set{o.id, std::vector<uint16_t>(o.count)};
      whole = o.data_len == o.count * 2 &&
              pread(fd, set.values.data(), o.data_len, at + (off_t)sizeof o) == (ssize_t)o.data_len;
      run.semSets.push_back(std::move(set));
    }
    std::string mqName;
    if (o.kind == VD_SYSV_MQUEUE) {  // a POSIX message queue: its name, and whether it can come back
      vd_mqueue_head q{};
      char name[VD_MQUEUE_NAME_MAX + 1] = {};
      whole = o.data_len >= sizeof q && pread(fd, &q, sizeof q, at + (off_t)sizeof o) == (ssize_t)sizeof q &&
              q.name_len >= 1 && q.name_len <= VD_MQUEUE_NAME_MAX &&
              pread(fd, name, q.name_len, at + (off_t)(sizeof o + sizeof q)) == (ssize_t)q.name_len;
      mqName = std::string("/") + name;
      if (whole && q.notified)
        run.u.items.push_back("mqueue " + mqName + ": a process is registered for its notification (mq_notify) — not supported yet");
      o.id = queues++;
    }
    at += (off_t)(sizeof o + o.data_len);
    const char* kind = o.kind == VD_SYSV_SHM ? "shm" : o.kind == VD_SYSV_SEM ? "sem" : o.kind == VD_SYSV_MSG ? "msg"
                     : o.kind == VD_SYSV_MQUEUE ? "mqueue" : "limits";
    j.beginObject().field("kind", kind).field("key", hexKey(o.key)).field("id", o.id).field("mode", o.mode & 0777);
    if (!mqName.empty()) j.field("name", mqName);
    j.field("uid", o.uid).field("gid", o.gid).field("count", o.count).field("bytes", o.data_len);
    if (o.kind == VD_SYSV_SHM) j.field("removed", (o.mode & SHM_DEST) != 0);
    j.endObject();
  }
  j.endArray();
  struct stat st{};
  whole = whole && fstat(fd, &st) == 0 && st.st_size == at;
  close(fd);
  if (!whole) return err = "the keeper's SysV IPC dump is incomplete", false;
  if (h.nr_objects == 0) unlink(path.c_str());
  run.res.sysvJson = h.nr_objects ? j.text() : "";
  return true;
}

// SEM_UNDO adjustments are kept by the kernel per process and shown nowhere. They
// are read by applying them: unshare(CLONE_SYSVSEM) in the process does what its
// exit would (each semaphore moves by the process's adjustment), the values are
// read from inside, and a semop with SEM_UNDO of the opposite amounts puts the
// values back and gives the process the same adjustments again. While the domain
// is frozen nothing waits on its semaphores (every blocked semop was interrupted,
// to restart), and the namespace is the domain's, so no other process sees the
// values move. kcmp tells beforehand whether the process has adjustments at all.
// Limits: the kernel clamps a semaphore at 0 and at SEMVMX when it applies them,
// so an adjustment below -value is read as -value. The threads of a process
// share its adjustments (one undo list); reading them parts the threads (every
// one must let go before the kernel applies them) and only the main thread gets
// them back, which the restored process undoes (its threads are made sharing
// them) but the original could not: so only a checkpoint that ends the job
// (--kill) reads them in a multithreaded process, and others are refused.
bool dumpSemUndo(DumpRun& run, ProcessDump& p) {
  FrozenTask& main = p.main;
  const std::vector<ThreadToDump>& threads = p.threads;
  const bool ending = run.req.hold;  // the checkpoint ends the job (--kill)
  const pid_t vpid = p.ids.vpid;
  const uint64_t insn = p.syscallInsn, scratch = p.scratch;
  const std::vector<SemSet>& sets = run.semSets;
  Json& j = p.j;
  Unsupported& u = run.u;
  std::string& err = run.err;
  if (sets.empty()) return true;
  const pid_t tid = main.tid;
  long same = syscall(SYS_kcmp, getpid(), tid, KCMP_SYSVSEM, 0, 0);
  if (same == 0) return true;  // no undo list: ours is none too
  if (same < 0) {
    u.add(vpid, std::string("cannot tell whether it has SEM_UNDO adjustments (kcmp: ") + strerror(errno) + ")");
    return true;
  }
  if (!threads.empty() && !ending) {
    u.add(vpid, "SEM_UNDO adjustments in a multithreaded process — kept only by a checkpoint that ends the job (--kill)");
    return true;
  }
  for (auto& t : threads)
    if (syscall(SYS_kcmp, tid, t.task->tid, KCMP_SYSVSEM, 0, 0) != 0) {
      u.add(vpid, "thread " + std::to_string(t.vtid) + " has SEM_UNDO adjustments of its own (not its process's) — not supported");
      return true;
    }
  constexpr size_t kMaxSems = 2048;  // GETALL's answer fits the scratch page
  auto readValues = [&](const SemSet& s, std::vector<uint16_t>& v) {
    v.resize(s.values.size());
    long r = injectSyscall(tid, insn, main.regs, SYS_semctl, s.id, 0, GETALL, (long)scratch);
    if (r < 0) return r;
    return readMem(tid, scratch, v.data(), v.size() * 2) ? 0L : -(long)EFAULT;
  };
  // everything must be readable from inside before anything changes
  std::vector<uint16_t> now;
  for (auto& s : sets) {
    if (s.values.size() > kMaxSems) {
      u.add(vpid, "SEM_UNDO adjustments with a semaphore set (id " + std::to_string(s.id) + ") of more than 2048 semaphores — not supported");
      return true;
    }
    long r = readValues(s, now);
    if (r < 0) {
      u.add(vpid, "cannot read semaphore set id " + std::to_string(s.id) + " as the process: " + strerror((int)-r) +
                      " (for its SEM_UNDO adjustments)");
      return true;
    }
  }
  long r = 0;
  for (size_t i = 0; i < threads.size() && r >= 0; i++)  // the others let go first: the main thread's is the last
    r = injectSyscall(threads[i].task->tid, insn, threads[i].task->regs, SYS_unshare, CLONE_SYSVSEM);
  if (r >= 0) r = injectSyscall(tid, insn, main.regs, SYS_unshare, CLONE_SYSVSEM);
  if (r < 0) return err = "pid " + std::to_string(vpid) + ": cannot read its SEM_UNDO adjustments: " + strerror((int)-r), false;
  j.key("semUndo").beginArray();
  for (auto& s : sets) {
    if ((r = readValues(s, now)) < 0) break;
    std::vector<struct sembuf> back;
    for (size_t k = 0; k < now.size(); k++) {
      int adj = (int)now[k] - (int)s.values[k];
      if (!adj) continue;
      j.beginArray().num(s.id).num((int)k).num(adj).endArray();
      back.push_back({(unsigned short)k, (short)-adj, (short)(SEM_UNDO | IPC_NOWAIT)});
    }
    // the adjustments back, as they were: a page holds 680 operations at a time
    for (size_t from = 0; from < back.size() && r >= 0; from += 680) {
      size_t n = std::min<size_t>(680, back.size() - from);
      r = writeMem(tid, scratch, back.data() + from, n * sizeof(struct sembuf))
              ? injectSyscall(tid, insn, main.regs, SYS_semop, s.id, (long)scratch, (long)n)
              : -(long)EFAULT;
    }
    if (r < 0) break;
  }
  j.endArray();
  if (r < 0) return err = "pid " + std::to_string(vpid) + ": cannot put back its SEM_UNDO adjustments: " + strerror((int)-r), false;
  return true;
}


extern const DumpKind sysvKind = {"sysv", nullptr, checkSysvIpc, dumpSysv, dumpSemUndo, nullptr};

}  // namespace vdomain
