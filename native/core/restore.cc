// The supervisor's side of a restore: start the keeper in restore mode, decide
// between identity (the kernel gave back the old PID) and remapped, hand the plan
// and the page file to the keeper's child, and finish the task once the restorer
// blob stops (native/resources/registers/registers.cc). Also where checkpoints are dispatched to
// the thread allowed to ptrace the domain.
#include <errno.h>
#include <signal.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <stdexcept>
#include <system_error>

#include <linux/seccomp.h>

#include "restorer/plan.h"
#include "core/domain.h"
#include "core/procfs.h"
#include "core/task_regs.h"
#include "resources/memory/memory.h"

static_assert(VD_FILTER_FLAGS == (SECCOMP_FILTER_FLAG_NEW_LISTENER | SECCOMP_FILTER_FLAG_SPEC_ALLOW | (1u << 5)),
              "plan.h's filter flags are the kernel's");

namespace vdomain {

namespace {

// how a restore refused for a file lock another process holds begins (supervisor/run.ts: EXIT.LOCKED)
constexpr const char* kLockConflict = "restore refused: lock conflict: ";
constexpr int kWakeSignal = 40;  // SIGRTMIN+6: wakes the tracer thread out of waitpid

void onWake(int) {}

void installWakeHandler() {
  static std::once_flag once;
  std::call_once(once, [] {
    struct sigaction sa {};
    sa.sa_handler = onWake;  // no SA_RESTART: waitpid returns EINTR
    sigemptyset(&sa.sa_mask);
    sigaction(kWakeSignal, &sa, nullptr);
  });
}

const char* stepName(int step) {
  switch (step) {
    case VD_STEP_PLAN: return "reading the restore plan";
    case VD_STEP_UNMAP: return "clearing the address space";
    case VD_STEP_SPECIAL: return "placing the vDSO (the kernel differs from the checkpoint's?)";
    case VD_STEP_MAP: return "mapping memory";
    case VD_STEP_PAGES: return "reading pages";
    case VD_STEP_PROTECT: return "protecting memory";
    case VD_STEP_FD_OPEN: return "opening a file";
    case VD_STEP_FD_SEEK: return "seeking a file";
    case VD_STEP_FD_COPY: return "recreating a deleted file";
    case VD_STEP_CWD: return "entering the working directory";
    case VD_STEP_RLIMIT: return "setting resource limits";
    case VD_STEP_MM: return "setting the memory layout (PR_SET_MM_MAP)";
    case VD_STEP_SIGACTION: return "installing signal handlers";
    case VD_STEP_ALTSTACK: return "setting the signal stack";
    case VD_STEP_ITIMER: return "arming interval timers";
    case VD_STEP_RSEQ: return "registering rseq";
    case VD_STEP_ROBUST: return "setting the robust-futex list";
    case VD_STEP_PENDING: return "queueing pending signals";
    case VD_STEP_FILTER: return "installing the domain's seccomp filter";
    case VD_STEP_THREAD: return "making a thread";
    case VD_STEP_SEM_UNDO: return "giving back its SEM_UNDO adjustments";
    case VD_STEP_LOCK: return "taking a file lock";
    case VD_STEP_FIFO_CONTENTS: return "putting back a named FIFO's saved bytes (it holds bytes already, or is full: another process, e.g. the original job, has it open)";
    case VD_STEP_ADVISE: return "giving memory its madvise advice";
    case VD_STEP_MLOCK: return "locking or sealing memory (mlock, mseal; RLIMIT_MEMLOCK too low?)";
    case VD_STEP_MEMORY_POLICY: return "setting the THP or memory-deny-write-execute policy";
    case VD_STEP_ATTRS: return "setting";
    case VD_STEP_OOM: return "setting its oom_score_adj (lowering it needs CAP_SYS_RESOURCE)";
    case VD_STEP_LOGINUID: return "setting its login uid (/proc/self/loginuid needs CAP_AUDIT_CONTROL)";
    case VD_STEP_MEMBARRIER: return "registering for membarrier";
    case VD_STEP_CREDS: return "setting its credentials:";
    case VD_STEP_FD_FILL: return "adding an epoll's watches";
    case VD_STEP_PTY: return "making a pty pair again, or giving its session its controlling terminal";
    default: break;
  }
  // the process kinds': the text of their row of the kinds table
  static const char* const kindSteps[] = {
#define VD_KIND_STEP_TEXT(name, text) text,
      VD_PROCESS_KINDS(VD_KIND_STEP_TEXT)
#undef VD_KIND_STEP_TEXT
  };
  if (step >= VD_STEP_KINDS && step < VD_STEP_KINDS + VD_NR_PROCESS_KINDS) return kindSteps[step - VD_STEP_KINDS];
  return "restoring";
}

// "FILE bytes A-B (POSIX write lock, fd N)" of the plan's lock i.
std::string lockText(const std::vector<uint8_t>& planBuf, int i) {
  const vd_plan* plan = reinterpret_cast<const vd_plan*>(planBuf.data());
  const vd_lock* l = reinterpret_cast<const vd_lock*>(planBuf.data() + plan->locks_off) + i;
  std::string path = l->path_off && plan->strings_off + l->path_off < planBuf.size()
                         ? reinterpret_cast<const char*>(planBuf.data() + plan->strings_off + l->path_off) : "?";
  static const char* const kinds[] = {"POSIX", "OFD", "flock"};
  std::string range = l->kind == VD_LOCK_FLOCK ? "" : " bytes " + std::to_string(l->start) + "-" +
                      (l->len ? std::to_string(l->start + l->len - 1) : std::string("EOF"));
  return path + range + " (" + (l->kind < 3 ? kinds[l->kind] : "?") + (l->write ? " write" : " read") + " lock, fd " +
         std::to_string(l->fd) + ")";
}

// What failed, in the user's terms: the file or fd the blob's index points at.
std::string failureDetail(const std::vector<uint8_t>& planBuf, const vd_failure& f) {
  if (planBuf.size() < sizeof(vd_plan) || f.index < 0) return "";
  const vd_plan* plan = reinterpret_cast<const vd_plan*>(planBuf.data());
  auto str = [&](uint32_t off) -> std::string {
    if (off == 0 || plan->strings_off + off >= planBuf.size()) return "";
    return reinterpret_cast<const char*>(planBuf.data() + plan->strings_off + off);
  };
  if ((f.step == VD_STEP_MAP || f.step == VD_STEP_PAGES || f.step == VD_STEP_PROTECT || f.step == VD_STEP_ADVISE ||
       f.step == VD_STEP_MLOCK) &&
      (uint32_t)f.index < plan->nr_vmas) {
    const vd_vma* v = reinterpret_cast<const vd_vma*>(planBuf.data() + plan->vmas_off) + f.index;
    char b[64];
    snprintf(b, sizeof b, " at %llx", (unsigned long long)v->start);
    std::string p = str(v->path_off);
    return b + (p.empty() ? "" : " (" + p + ")");
  }
  if ((f.step == VD_STEP_FD_OPEN || f.step == VD_STEP_FD_SEEK || f.step == VD_STEP_FD_COPY || f.step == VD_STEP_FD_FILL) &&
      (uint32_t)f.index < plan->nr_fds) {
    const vd_fd* d = reinterpret_cast<const vd_fd*>(planBuf.data() + plan->fds_off) + f.index;
    std::string p = str(d->path_off);
    return " fd " + std::to_string(d->fd) + (p.empty() ? "" : " (" + p + ")");
  }
  if (f.step == VD_STEP_SIGACTION) return " signal " + std::to_string(f.index + 1);
  if (f.step == VD_STEP_LOCK && (uint32_t)f.index < plan->nr_locks) return " " + lockText(planBuf, f.index);
  // the index enums of restorer.c's attributes and credentials
  static const char* const attrs[] = {"timer slack", "MCE kill policy", "speculation control (store bypass)",
                                      "speculation control (indirect branch)", "the I/O flusher flag (needs CAP_SYS_RESOURCE)",
                                      "securebits", "parent death signal", "child subreaper flag", "dumpable flag"};
  static const char* const creds[] = {"bounding set", "groups", "gids", "uids", "filesystem uid/gid", "capabilities",
                                      "ambient capabilities"};
  if (f.step == VD_STEP_ATTRS && (size_t)f.index < sizeof attrs / sizeof *attrs) return std::string(" ") + attrs[f.index];
  if (f.step == VD_STEP_CREDS && (size_t)f.index < sizeof creds / sizeof *creds) return std::string(" ") + creds[f.index];
  return "";
}

// A thread's own pending SIGTRAPs (the blob left them, plan.h VD_SIGTRAP), queued
// by the thread itself now that it is past its int3: each siginfo is copied to
// `scratch` (in the blob's region, unmapped after) and sent with an injected
// rt_tgsigqueueinfo, which lets a task queue any si_code to itself.
bool requeueTraps(pid_t tgid, pid_t tid, const std::vector<uint8_t>& planBuf, const vd_thread& t,
                  const user_regs_struct& at, uint64_t insn, uint64_t scratch, std::string& err) {
  const uint64_t end = (uint64_t)t.pending_off + (uint64_t)t.nr_pending * 128;
  if (end > planBuf.size()) {
    err = "a restore plan's pending signals lie outside it";
    return false;
  }
  // every signal blocked until its own mask is loaded: none may stop it before
  // (its int3 unblocked SIGTRAP)
  const uint64_t all = ~0ULL;
  ptrace(PTRACE_SETSIGMASK, tid, sizeof all, &all);
  for (uint32_t k = 0; k < t.nr_pending; k++) {
    const uint8_t* si = planBuf.data() + t.pending_off + 128 * k;
    int32_t sig;
    memcpy(&sig, si, sizeof sig);
    if (sig != VD_SIGTRAP) continue;
    long rc = writeMem(tid, scratch, si, 128) ? injectSyscall(tid, insn, at, SYS_rt_tgsigqueueinfo, tgid, tid, sig, (long)scratch) : -EFAULT;
    if (rc < 0) {
      err = "cannot queue a pending SIGTRAP again in task " + std::to_string(tid) + ": " + strerror((int)-rc);
      return false;
    }
  }
  // back as it stopped at its int3: the main thread's registers there are the blob's last word (plan.h)
  return setRegs(tid, at);
}

}  // namespace

// ---- restore ------------------------------------------------------------------

std::string Domain::restoreFailure(const std::string& fallback) {
  vd_failure f{};
  {
    std::lock_guard<std::mutex> g(failureMu_);  // (not restoreMu_: failHeldLocked holds it to call us)
    if (!failureRead_) {
      ssize_t n;
      do n = recv(bootFd_, &failure_, sizeof failure_, MSG_DONTWAIT); while (n < 0 && errno == EINTR);
      failureRead_ = n == (ssize_t)sizeof failure_ && failure_.tag == 'R';
    }
    if (!failureRead_) return fallback;
    f = failure_;
  }
  const auto& procs = cfg_.restore->procs;
  const bool known = f.proc >= 0 && (size_t)f.proc < procs.size();
  std::string who = known && procs.size() > 1 ? " (pid " + std::to_string(procs[f.proc].vpid) + ")" : "";
  if (f.step == VD_STEP_TREE) {
    const bool other = f.index >= 0 && (size_t)f.index < procs.size();
    std::string what = other ? "making pid " + std::to_string(procs[f.index].vpid) : "making the process tree";
    if (other && f.err == EEXIST) return "restore failed " + what + ": that PID is taken now (restore again, or as a user without CAP_CHECKPOINT_RESTORE to translate it)";
    return "restore failed " + what + ": " + strerror(f.err);
  }
  std::string why = f.err ? strerror(f.err) : "refused";
  const std::vector<uint8_t>& plan = known && !procs[f.proc].zombie ? procs[f.proc].plan : procs[0].plan;
  // (the supervisor gives this one an exit status of its own: kLockConflict)
  if (f.step == VD_STEP_LOCK && f.err == EAGAIN && plan.size() >= sizeof(vd_plan) && f.index >= 0 &&
      (uint32_t)f.index < reinterpret_cast<const vd_plan*>(plan.data())->nr_locks)
    return std::string(kLockConflict) + lockText(plan, f.index) + who + " is held by another process now";
  return std::string("restore failed ") + stepName(f.step) + failureDetail(plan, f) + who + ": " + why;
}

void Domain::failHeldLocked(const std::string& err) {
  if (restoreReported_) return;
  restoreReported_ = true;
  for (pid_t t : heldTasks_) kill(t, SIGKILL);  // done with their blobs, held: never to run
  releaseGate_->openIt();
  restoreDone_.set_value(err.empty() ? restoreFailure("a restored process died") : err);
}

bool Domain::abortRestore(const std::string& reason) {
  {
    std::lock_guard<std::mutex> g(restoreMu_);
    if (restoreSucceeded_) return false;
    if (abortReason_.empty()) abortReason_ = reason;
    breakRestoreLocked(reason);
  }
  tellKeeper('K');  // (before the keeper exists: startRestore looks at abortReason_ once it does)
  return true;
}

void Domain::breakRestoreLocked(const std::string& reason) {
  failHeldLocked(reason);
  if (bootFd_ >= 0) shutdown(bootFd_, SHUT_RDWR);  // a recv on it returns at once
}

void Domain::rootEnded() {
  std::lock_guard<std::mutex> g(restoreMu_);
  // Before it reported the tree, nobody else would notice: the processes it made
  // wait for its go, holding the boot socket open. (After the go, a zombie root
  // ends by design and any other is the tracer's or a watcher's to report.)
  if (restoring_.load() && restoredReal_.empty() && !restoreReported_)
    breakRestoreLocked("the restoring process died making the tree");
}

std::string Domain::abortReason() {
  std::lock_guard<std::mutex> g(restoreMu_);
  return abortReason_;
}

void Domain::restoreFailed(const std::string& err) {
  std::lock_guard<std::mutex> g(restoreMu_);
  failHeldLocked(err);
}

int Domain::restoredIndex(pid_t real) {
  std::lock_guard<std::mutex> g(restoreMu_);
  for (size_t i = 0; i < restoredReal_.size(); i++)
    if (restoredReal_[i] == real) return (int)i;
  return -1;
}

int Domain::restoredProcessOf(pid_t tid) {
  int i = restoredIndex(tid);
  if (i >= 0) return i;
  long tgid = procStatusField(tid, "Tgid");
  return tgid > 0 && tgid != tid ? restoredIndex((pid_t)tgid) : -1;
}

// The TID a restored task's memory names it by (glibc's descriptor, where
// clear_child_tid points), when that is not its real one (remapped restores).
void Domain::noteStaleTid(pid_t real, uint64_t clearChildTid) {
  int32_t held = 0;
  if (!clearChildTid || !readMem(real, clearChildTid, &held, sizeof held) || held <= 0 || held == real) return;
  std::lock_guard<std::mutex> g(restoreMu_);
  staleTids_[real] = held;
}

pid_t Domain::takeStaleTid(pid_t real) {
  std::lock_guard<std::mutex> g(restoreMu_);
  auto it = staleTids_.find(real);
  if (it == staleTids_.end()) return 0;
  pid_t v = it->second;
  staleTids_.erase(it);
  return v;
}

bool Domain::restoredTaskStopped(pid_t tid, const std::function<void(pid_t)>& letGo) {
  const int i = restoredProcessOf(tid);
  if (i < 0) {
    kill(tid, SIGKILL);
    restoreFailed("restored task " + std::to_string(tid) + " is not one of the image's");
    return true;
  }
  const RestoredProcess& proc = cfg_.restore->procs[i];
  const pid_t mainTid = restoredReal_[i];
  StoppedTasks all;
  {
    std::lock_guard<std::mutex> g(restoreMu_);
    StoppedTasks& s = stopped_[i];
    if (tid == mainTid) s.main = true;
    else s.threads.push_back(tid);
    if (!s.main || s.threads.size() < proc.threads.size()) return false;  // held until the rest stop too
    all = s;
  }
  // Each thread said which of the image's it is (rax at its int3).
  std::string err;
  std::vector<bool> seen(proc.threads.size());
  // the main thread's int3 (plan.h): rbx, rcx the blob's region, rdx a syscall instruction in it
  const vd_plan* plan = reinterpret_cast<const vd_plan*>(proc.plan.data());
  user_regs_struct mainAt;
  bool ok = all.threads.size() == proc.threads.size() && getRegs(mainTid, mainAt);
  const uint64_t insn = mainAt.rdx, scratch = mainAt.rbx + mainAt.rcx - 4096;
  const vd_thread* planThreads = reinterpret_cast<const vd_thread*>(proc.plan.data() + plan->threads_off);
  for (pid_t t : all.threads) {
    user_regs_struct at;
    if (!ok || !getRegs(t, at) || at.rax >= proc.threads.size() || seen[at.rax]) {
      err = "restored thread " + std::to_string(t) + " of pid " + std::to_string(proc.vpid) + " is not one of the image's";
      ok = false;
      break;
    }
    seen[at.rax] = true;
    const RestoredProcess::Thread& image = proc.threads[at.rax];
    ok = requeueTraps(mainTid, t, proc.plan, planThreads[at.rax], at, insn, scratch, err) && loadRegisters(t, image.regs, err);
    if (ok && !identity()) {
      table_.addWithVirt(t, mainTid, image.vtid);
      noteStaleTid(t, image.clearChildTid);
    }
  }
  if (ok && !identity()) noteStaleTid(mainTid, reinterpret_cast<const vd_plan*>(proc.plan.data())->main_thread.clear_child_tid);
  ok = ok && requeueTraps(mainTid, mainTid, proc.plan, plan->main_thread, mainAt, insn, scratch, err);
  int listener = -1;
  ok = ok && finishRestore(mainTid, proc.regs, &listener, err);
  if (!ok) kill(mainTid, SIGKILL);
  // All are let go together, once the last process is done: a blob that fails
  // later (a file lock another process took meanwhile) must not find the job
  // running already. Counted and decided under one lock: two processes done at
  // once must not both think the other is the last. Before the supervisor goes
  // on: a checkpoint right after must be able to trace them.
  std::vector<pid_t> release;
  {
    std::lock_guard<std::mutex> g(restoreMu_);
    heldTasks_.insert(heldTasks_.end(), all.threads.begin(), all.threads.end());
    heldTasks_.push_back(mainTid);
    if (!ok || restoreReported_) {
      failHeldLocked(err);
      for (pid_t t : heldTasks_) kill(t, SIGKILL);  // (those held after the failure too)
      release.swap(heldTasks_);
      if (listener >= 0) close(listener);
    } else {
      if (listener >= 0) restoredListeners_.push_back(listener);
      if (--restoreLeft_ == 0) {
        release.swap(heldTasks_);
        restoreReported_ = true;
        restoreSucceeded_ = true;
        releaseGate_->openIt();
        restoreDone_.set_value("");
      }
    }
  }
  for (pid_t t : release) letGo(t);
  return true;
}

namespace {

size_t liveCount(const RestoreConfig& rc) {
  size_t n = 0;
  for (auto& p : rc.procs) n += !p.zombie;
  return n;
}

// The identity restore's stand-in for the tracer: one thread per process seizes
// it (and the threads its restorer makes), finishes them at their int3s and detaches.
void watchIdentityRestore(Domain& d, pid_t tid, std::promise<int>& seized) {
  if (ptrace(PTRACE_SEIZE, tid, 0, PTRACE_O_TRACESYSGOOD | PTRACE_O_TRACECLONE) < 0) {
    seized.set_value(-errno);
    return;
  }
  seized.set_value(1);
  const std::shared_ptr<Domain::ReleaseGate> gate = d.releaseGate();
  std::vector<pid_t> mine;  // its tasks at their int3s
  for (;;) {
    int st;
    // only this thread's tracees: each process of the tree has its own watcher
    pid_t r = waitpid(-1, &st, __WALL | __WNOTHREAD);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0 || ((WIFEXITED(st) || WIFSIGNALED(st)) && r == tid)) {
      d.restoreFailed("");
      return;
    }
    if (WIFEXITED(st) || WIFSIGNALED(st)) continue;  // the restorer's page-reading helper
    if (WIFSTOPPED(st) && (st >> 16) == 0 && WSTOPSIG(st) == SIGTRAP) {
      mine.push_back(r);
      // held stopped until the whole restore is decided: leaving this thread
      // would detach them, running, however another process's blob ends
      if (d.restoredTaskStopped(r, [](pid_t) {})) {
        gate->wait();
        for (pid_t t : mine) ptrace(PTRACE_DETACH, t, 0, 0L);
        return;
      }
      continue;
    }
    // anything else before the blob is done: let it pass (signals are blocked)
    int sig = (st >> 16) == 0 && WSTOPSIG(st) != (SIGTRAP | 0x80) ? WSTOPSIG(st) : 0;
    ptrace(PTRACE_CONT, r, 0, (long)sig);
  }
}

}  // namespace

void Domain::startRestore() {
  RestoreConfig& rc = *cfg_.restore;
  const RestoredProcess& root = rc.procs.at(0);
  // An identity restore needs every old PID: when one is taken now, ask for none
  // (the root's fork then gets any PID and the domain translates). A PID taken
  // between this look and the fork still fails the restore, naming it.
  bool allFree = true;
  auto isFree = [](pid_t id) { return kill(id, 0) < 0 && errno == ESRCH && procStatusField(id, "Tgid") < 0; };
  for (auto& p : rc.procs) {
    allFree = allFree && isFree(p.vpid);
    for (auto& t : p.threads) allFree = allFree && isFree(t.vtid);
  }
  spawnKeeper(true, allFree ? root.vpid : 0);
  if (!abortReason().empty()) {  // interrupted before there was a keeper to tell
    tellKeeper('K');
    throw std::runtime_error(abortReason());
  }
  readRootPid();
  const bool identity = allFree && rootReal_ == root.vpid;
  if (identity) {
    table_.setBase(0);
    rootVirt_ = rootReal_;
  } else {
    table_.setBase(rc.nextVpid > 0 ? rc.nextVpid : 1);
    rootVirt_ = root.vpid;
  }
  log("info", std::string(identity ? "identity" : "remapped") + " restore of " + std::to_string(rc.procs.size()) +
                  " process(es): virtual pid " + std::to_string(root.vpid) + " is real pid " + std::to_string(rootReal_));

  restoreLeft_ = liveCount(rc);
  restoring_.store(true);
  auto done = restoreDone_.get_future();
  // however this ends, no watcher is left holding a task: an early throw kills them
  struct KillHeldOnThrow {
    Domain* d;
    ~KillHeldOnThrow() { d->restoreFailed("the restore was abandoned"); }  // (no-op once decided)
  } killHeld{this};
  // A remapped tree is traced from its root on: the tracer follows the forks
  // that build it, and finishes each process at its int3.
  if (!identity) {
    tracerThread_ = std::thread([this] { tracerLoop(); });
    while (seizeState_.load() == 0) usleep(50);
    if (seizeState_.load() < 0)
      throw std::system_error(-seizeState_.load(), std::generic_category(), "cannot trace the restored process");
  }

  // The tree, then each live process's plan (with the domain's filter when the
  // domain translates) and page file.
  std::vector<uint8_t> msg;
  auto put = [&msg](const void* p, size_t n) {
    msg.insert(msg.end(), static_cast<const uint8_t*>(p), static_cast<const uint8_t*>(p) + n);
  };
  vd_tree tree{VD_TREE_MAGIC, (uint32_t)rc.procs.size(), (uint32_t)rc.shared.size(), identity ? 1u : 0u};
  put(&tree, sizeof tree);
  for (auto& p : rc.procs) {
    vd_tree_proc t{p.vpid, p.parent, p.groupOf, p.setsid ? 1 : 0, p.zombie ? 1 : 0, p.status, p.ctty, p.ttyForeground};
    put(&t, sizeof t);
  }
  for (auto& f : rc.shared) {
    vd_shared_file e{};
    e.kind = f.deleted  ? VD_SHARED_DELETED
             : f.mqueue ? VD_SHARED_MQUEUE
             : f.pty    ? VD_SHARED_PTY
             : !f.pipe  ? VD_SHARED_PATH
             : f.path.empty() ? VD_SHARED_PIPE
                              : VD_SHARED_FIFO;
    e.content_proc = f.contentProc;
    e.content_off = f.contentOff;
    e.content_len = f.contentLen;
    e.nr_extents = (uint32_t)f.shape.extents.size();
    e.file_size = f.shape.size;
    e.attrs_set = f.shape.attrsSet;
    e.mode = f.shape.mode;
    e.uid = f.shape.uid;
    e.gid = f.shape.gid;
    e.memfd = f.shape.memfd;
    e.seals = f.shape.seals;
    e.flags = f.flags;
    e.pos = f.pos;
    e.pipe = f.pipeId;
    e.write_end = f.writeEnd ? 1 : 0;
    e.pipe_size = f.pipeSize;
    e.path_len = (uint32_t)f.path.size();
    e.data_len = (uint32_t)f.data.size();
    put(&e, sizeof e);
    put(f.path.data(), f.path.size());
    put(f.data.data(), f.data.size());
    put(f.shape.extents.data(), f.shape.extents.size() * sizeof(vd_extent));
  }
  if (!writeAll(bootFd_, msg.data(), msg.size()))
    throw std::runtime_error(restoreFailure("the restoring process ended before it read the tree"));
  for (auto& p : rc.procs) {
    if (p.zombie) continue;
    std::vector<uint8_t> plan = p.plan;
    if (!identity) {
      while (plan.size() % 8) plan.push_back(0);
      uint32_t off = (uint32_t)plan.size();
      plan.insert(plan.end(), cfg_.filter.begin(), cfg_.filter.end());
      vd_plan* h = reinterpret_cast<vd_plan*>(plan.data());  // after the insert: it may move
      h->filter_off = off;
      h->filter_len = (uint32_t)cfg_.filter.size();
      h->filter_flags = VD_FILTER_FLAGS;
      if (cfg_.noNewPrivs) h->no_new_privs = 1;  // the kernel demands it for an unprivileged filter
      h->size = (uint32_t)plan.size();
    }
    uint32_t len = (uint32_t)plan.size();
    if (!writeAll(bootFd_, &len, sizeof len) || !writeAll(bootFd_, plan.data(), plan.size()) ||
        !sendFd(bootFd_, p.pagesFd))
      throw std::runtime_error(restoreFailure("the restoring process ended before it read its plan"));
    // the page files stay JavaScript's to close: the child has its own copies now
  }

  // The tree exists: its real PIDs ('T', count, PIDs), or why it could not be made.
  char tag = 0;
  ssize_t n;
  do n = recv(bootFd_, &tag, 1, MSG_PEEK); while (n < 0 && errno == EINTR);
  if (n != 1 || tag != 'T') throw std::runtime_error(restoreFailure("the restoring process died making the tree"));
  uint32_t nr = 0;
  if (!readAll(bootFd_, &tag, 1) || !readAll(bootFd_, &nr, sizeof nr) || nr != rc.procs.size())
    throw std::runtime_error("the restoring process reported a tree of the wrong size");
  std::vector<int32_t> real(nr);
  if (!readAll(bootFd_, real.data(), nr * sizeof(int32_t)))
    throw std::runtime_error(restoreFailure("the restoring process died making the tree"));
  {
    std::lock_guard<std::mutex> g(restoreMu_);
    restoredReal_.assign(real.begin(), real.end());
  }
  for (uint32_t i = 0; i < nr; i++) {
    if (identity && real[i] != rc.procs[i].vpid)
      throw std::runtime_error("pid " + std::to_string(rc.procs[i].vpid) + " came back as " + std::to_string(real[i]));
    if (!identity) table_.addWithVirt(real[i], real[i], rc.procs[i].vpid);
  }
  if (identity) {
    for (uint32_t i = 0; i < nr; i++) {
      if (rc.procs[i].zombie) continue;
      auto seized = std::make_shared<std::promise<int>>();
      auto f = seized->get_future();
      pid_t tid = real[i];
      std::thread([this, tid, seized] { watchIdentityRestore(*this, tid, *seized); }).detach();
      int s = f.get();
      if (s < 0) throw std::system_error(-s, std::generic_category(), "cannot trace the restored process");
    }
  }
  // the terminal as the job left it: its settings, and its foreground group
  // (the real group of whichever process of the tree is in it)
  pid_t fgGroup = 0;  // the real group of the job's that had the foreground
  if (rc.terminal.stdio >= 0) {
    for (uint32_t i = 0; i < nr && rc.terminal.foreground > 0; i++)
      if (rc.procs[i].vpid == rc.terminal.foreground) fgGroup = getpgid(real[i]);  // its leader's
    std::string terr;
    if (!applyTerminal(rc.terminal, fgGroup > 0 ? fgGroup : 0, terr)) log("warn", terr);
    else if (fgGroup > 0) terminalTaken_ = rc.terminal.stdio;
  }
  if (!writeAll(bootFd_, "G", 1)) throw std::runtime_error(restoreFailure("the restoring process died"));

  std::string err = done.get();
  restoring_.store(false);
  if (!err.empty()) throw std::runtime_error(err);
  {
    std::lock_guard<std::mutex> g(restoreMu_);  // (abortRestore may shut it down meanwhile)
    close(bootFd_);
    bootFd_ = -1;
  }
  if (!identity && restoredListeners_.size() != liveCount(rc))
    throw std::runtime_error("a restored process has no seccomp listener");
  for (int l : restoredListeners_) setupListener(l);
  tellKeeper('A');  // every process has its SysV attachments: the keeper lets go of its own
  if (rc.terminal.stdio >= 0) {  // running now: it can redraw
    std::vector<pid_t> live;
    for (uint32_t i = 0; i < nr; i++)
      if (!rc.procs[i].zombie) live.push_back(real[i]);
    tellRedraw(rc.terminal, live);
  }
  if (identity) tellKeeper('I');
}

// ---- checkpoints ----------------------------------------------------------------

std::shared_ptr<CheckpointJob> Domain::takeJob() {
  std::lock_guard<std::mutex> g(jobMu_);
  if (jobs_.empty()) return nullptr;
  auto j = jobs_.front();
  jobs_.pop_front();
  jobPending_.store(!jobs_.empty());
  return j;
}

void runCheckpointJob(StopHandler* handler, CheckpointJob& job) {
  Checkpointer c(handler);
  CheckpointResult res = c.run(job.req);
  const bool held = res.ok && job.req.hold;
  std::future<bool> decision = job.release.get_future();
  job.result.set_value(std::move(res));
  if (held) c.release(decision.get());
}

void Domain::checkpoint(std::shared_ptr<CheckpointJob> job) {
  job->req.altering = [this](bool on) { tellKeeper(on ? 'C' : 'c'); };
  job->req.virtualize = [this](pid_t real) { return table_.toVirt(real); };
  if (ownIpc_) job->req.dumpSysv = [this](int fd) { return dumpSysv(fd); };
  if (table_.identity()) {
    // nothing traces an identity domain: a thread of its own seizes and detaches
    std::thread([job] { runCheckpointJob(nullptr, *job); }).detach();
    return;
  }
  if (!tracerAlive_.load()) {
    CheckpointResult r;
    r.error = "the domain's tracer has ended";
    job->result.set_value(std::move(r));
    return;
  }
  installWakeHandler();
  {
    std::lock_guard<std::mutex> g(jobMu_);
    jobs_.push_back(job);
    jobPending_.store(true);
  }
  // The tracer may be blocked in waitpid: interrupt it until it has taken the job.
  std::thread([this] {
    while (jobPending_.load() && tracerAlive_.load()) {
      pid_t t = tracerTid_.load();
      if (t > 0) syscall(SYS_tgkill, getpid(), t, kWakeSignal);
      usleep(2000);
    }
  }).detach();
}

}  // namespace vdomain
