// POSIX timers (timer_create(2)), the dump side. What the kernel keeps of one
// (kernel/time/posix-timers.c; /proc/PID/timers): its id, clock ("ClockID"),
// notification ("notify": signal or none to the process, or signal to one
// thread) with its signal and sigev_value ("signal: SIGNO/VALUE"); the time left
// and the period, which only timer_gettime tells; the overrun of its last
// signal (timer_getoverrun); and the signal it has queued, if one is pending.
// The time is asked as the frozen process (injected timer_gettime, 32 bytes each
// into the scratch page). Time stops in an image: a timer keeps the time it had
// left (armed relative: whether it was armed TIMER_ABSTIME is shown nowhere).
// A notification to one thread (SIGEV_THREAD_ID, which glibc's SIGEV_THREAD
// uses: its helper thread takes the signal) names that thread by its virtual TID.
// Refused by name: a thread that has ended, a clock the restore cannot name again
// (another process's or a thread's CPU-time clock), a non-zero overrun or a
// queued signal of a timer (the kernel ties both to the timer, and a restore
// cannot). Made again by restore_posix_timers.c.
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <signal.h>
#include <time.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "core/dump.h"
#include "core/procfs.h"
#include "core/task_regs.h"
#include "resources/memory/memory.h"
#include "resources/posix_timers/posix_timers_plan.h"

namespace vdomain {

namespace {

struct Timer {
  int id, clock, signo;
  pid_t tid;  // "thread": the real TID it signals
  unsigned long long value;
  std::string notify;  // "signal", "none", "thread"
};

// /proc/PID/timers: "ID:", "signal: SIGNO/VALUE", "notify: KIND/pid.N" or
// "KIND/tid.N", "ClockID:" per timer. False when a record is not as expected.
bool timersOf(pid_t pid, std::vector<Timer>& out) {
  const std::string text = readProcFile(pid, "timers");
  Timer t{};
  int have = 0;
  for (size_t at = 0; at < text.size();) {
    size_t end = text.find('\n', at);
    if (end == std::string::npos) end = text.size();
    const std::string line = text.substr(at, end - at);
    at = end + 1;
    char kind[16], who[8];
    int n;
    if (sscanf(line.c_str(), "ID: %d", &t.id) == 1) have |= 1;
    else if (sscanf(line.c_str(), "signal: %d/%llx", &t.signo, &t.value) == 2) have |= 2;
    else if (sscanf(line.c_str(), "notify: %15[a-z]/%7[a-z].%d", kind, who, &n) == 3) {
      t.notify = !strcmp(who, "tid") ? "thread" : kind;
      t.tid = n;
      have |= 4;
    } else if (sscanf(line.c_str(), "ClockID: %d", &t.clock) == 1) {
      if (have != 7) return false;
      out.push_back(t);
      t = Timer{};
      have = 0;
    } else if (!line.empty()) {
      return false;
    }
  }
  return have == 0;
}

bool restorableClock(int c) { return c == 0 || c == 1 || c == 5 || c == 6 || c == 7 || c == 8 || c == 9 || c == -6; }

// The virtual TID of the thread of p whose real TID is `tid` (0: none).
pid_t threadOf(const ProcessDump& p, pid_t tid) {
  if (tid == p.main.tid) return p.ids.vpid;
  for (auto& t : p.threads)
    if (t.task->tid == tid) return t.vtid;
  return 0;
}

// What cannot come back of the process's timers, named.
void refusals(const std::vector<Timer>& ts, std::vector<std::string>& out) {
  for (auto& t : ts) {
    const std::string which = "POSIX timer " + std::to_string(t.id);
    if (t.notify != "signal" && t.notify != "none" && t.notify != "thread")
      out.push_back(which + ": notification '" + t.notify + "' — not supported");
    if (!restorableClock(t.clock))
      out.push_back(which + ": clock " + std::to_string(t.clock) + " (a thread's or another process's CPU-time clock) — not supported");
  }
}

void checkTimers(DumpRun& run, const ProcessIds& ids) {
  std::vector<Timer> ts;
  if (!timersOf(ids.real, ts)) return run.u.add(ids.vpid, "its POSIX timers (/proc/PID/timers) are not as expected — not supported");
  std::vector<std::string> no;
  refusals(ts, no);
  for (auto& w : no) run.u.add(ids.vpid, w);
}

bool dumpTimers(DumpRun& run, ProcessDump& p) {
  std::vector<Timer> ts;
  const pid_t tid = p.main.tid;
  if (!timersOf(p.ids.real, ts)) {
    run.u.add(p.ids.vpid, "its POSIX timers (/proc/PID/timers) are not as expected — not supported");
    return true;
  }
  std::vector<std::string> no;
  refusals(ts, no);
  for (auto& t : ts)
    if (t.notify == "thread" && !threadOf(p, t.tid))
      no.push_back("POSIX timer " + std::to_string(t.id) + ": its signal goes to thread " + std::to_string(t.tid) +
                   ", which has ended — not supported");
  for (auto& w : no) run.u.add(p.ids.vpid, w);
  // a timer's signal queued and not yet taken (the whole process's queue)
  for (uint64_t off = 0;; off++) {
    struct { uint64_t off; uint32_t flags; int32_t nr; } args{off, 1 /* PTRACE_PEEKSIGINFO_SHARED */, 1};
    siginfo_t si;
    if (ptrace((__ptrace_request)0x4209 /* PTRACE_PEEKSIGINFO */, tid, &args, &si) != 1) break;
    if (si.si_code == SI_TIMER) run.u.add(p.ids.vpid, "POSIX timer " + std::to_string(si.si_timerid) + ": its signal is pending — not supported yet");
  }
  p.kinds.key("posix_timers").beginArray();
  for (auto& t : ts) {
    struct itimerspec now{};
    long rc = injectSyscall(tid, p.syscallInsn, p.main.regs, SYS_timer_gettime, t.id, (long)p.scratch);
    long overrun = rc < 0 ? rc : injectSyscall(tid, p.syscallInsn, p.main.regs, SYS_timer_getoverrun, t.id);
    if (rc < 0 || overrun < 0 || !readMem(tid, p.scratch, &now, sizeof now)) {
      run.err = "pid " + std::to_string(p.ids.vpid) + ": cannot read POSIX timer " + std::to_string(t.id) + ": " +
                strerror(rc < 0 ? (int)-rc : overrun < 0 ? (int)-overrun : EIO);
      return false;
    }
    if (overrun > 0)
      run.u.add(p.ids.vpid, "POSIX timer " + std::to_string(t.id) + ": an overrun of " + std::to_string(overrun) +
                                " on its last signal (timer_getoverrun) — cannot be given back");
    char value[24];
    snprintf(value, sizeof value, "%llx", t.value);
    p.kinds.beginObject().field("id", t.id).field("clock", t.clock).field("notify", t.notify).field("signo", t.signo);
    p.kinds.field("value", value);
    if (t.notify == "thread") p.kinds.field("thread", (int64_t)threadOf(p, t.tid));
    p.kinds.key("interval").beginArray().num((int64_t)now.it_interval.tv_sec).num((int64_t)now.it_interval.tv_nsec).endArray();
    p.kinds.key("left").beginArray().num((int64_t)now.it_value.tv_sec).num((int64_t)now.it_value.tv_nsec).endArray();
    p.kinds.endObject();
  }
  p.kinds.endArray();
  return true;
}

}  // namespace

extern const DumpKind posixTimersKind = {"posixTimers", checkTimers, nullptr, nullptr, dumpTimers, nullptr};

}  // namespace vdomain
