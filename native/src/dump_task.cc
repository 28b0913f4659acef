// The process as a whole: identity, command line, mm layout, cwd, umask, nice,
// rlimits, personality, no_new_privs. Restored by set_process_state in
// native/restorer/restorer.c. And each task's scheduling (dumpScheduling).
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <sys/syscall.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "dump.h"
#include "procfs.h"

namespace vdomain {

// The affinity mask is kept only when the task is held to fewer CPUs than are
// online: a job that never chose must get every CPU of the restoring machine,
// not those of this one. An I/O priority of 0 is none set (it follows nice).
void dumpScheduling(pid_t tid, Json& j) {
  cpu_set_t all, mine;
  CPU_ZERO(&all);
  const long online = sysconf(_SC_NPROCESSORS_ONLN);
  for (long c = 0; c < online && c < CPU_SETSIZE; c++) CPU_SET(c, &all);
  long got = syscall(SYS_sched_getaffinity, tid, sizeof mine, &mine);
  struct sched_param param{};
  int policy = sched_getscheduler(tid);
  if (policy < 0 || sched_getparam(tid, &param) < 0) policy = -1;
  long ioprio = syscall(SYS_ioprio_get, 1 /* IOPRIO_WHO_PROCESS */, tid);
  j.key("sched").beginObject();
  if (got > 0 && !CPU_EQUAL(&all, &mine)) j.key("cpus").base64(&mine, (size_t)got);
  else j.key("cpus").null();
  j.field("policy", policy).field("priority", param.sched_priority).field("ioprio", ioprio > 0 ? ioprio : 0L);
  j.endObject();
}

void checkTask(const ProcessIds& ids, int domainFilters, Unsupported& u) {
  std::string cwd = readLink(ids.real, "cwd");
  if (endsWith(cwd, " (deleted)")) u.add(ids.vpid, "cwd " + cwd + " — a deleted working directory is not supported");
  std::string comm;
  std::vector<std::string> stat;
  const std::string state = readStat(ids.real, comm, stat) && !stat.empty() ? stat[0] : "";
  if (state == "T") u.add(ids.vpid, "is stopped (job control) — continue it (fg, kill -CONT) and checkpoint again");
  long threads = procStatusField(ids.real, "Threads");
  if (state == "Z" && threads > 1)
    u.add(ids.vpid, "main thread has ended while " + std::to_string(threads - 1) +
                        " other thread(s) run on — not supported yet");
  if (!readProcFile(ids.real, "timers").empty())
    u.add(ids.vpid, "POSIX timers (timer_create) — not supported yet");
  // the filters the restored process gets again: those of vdomain itself (inherited
  // from outside, as the keeper has them) and the domain's own
  long filters = procStatusField(ids.real, "Seccomp_filters");
  if (filters > procStatusField(getpid(), "Seccomp_filters") + domainFilters)
    u.add(ids.vpid, "a seccomp filter of its own — not supported yet");
}

bool dumpTask(const ProcessIds& ids, int domainFilters, Json& j, Unsupported& u, std::string& err) {
  const pid_t pid = ids.real;
  checkTask(ids, domainFilters, u);  // again, now that it is frozen
  std::vector<std::string> stat;
  std::string comm;
  if (!readStat(pid, comm, stat)) {
    err = "cannot read /proc/" + std::to_string(pid) + "/stat";
    return false;
  }
  // stat fields after the command name, numbered as in proc(5): stat[0] is field 3
  auto field = [&](int n) -> uint64_t { return n - 3 < (int)stat.size() ? strtoull(stat[n - 3].c_str(), nullptr, 10) : 0; };
  j.field("vpid", ids.vpid).field("pid", ids.real).field("vppid", ids.vppid).field("vpgid", ids.vpgid).field("vsid", ids.vsid);
  j.field("comm", comm);
  j.field("exe", readLink(pid, "exe"));
  j.key("cmdline").beginArray();
  std::string cmd = readProcFile(pid, "cmdline");
  for (size_t i = 0; i < cmd.size();) {
    size_t e = cmd.find('\0', i);
    if (e == std::string::npos) e = cmd.size();
    j.str(cmd.substr(i, e - i));
    i = e + 1;
  }
  j.endArray();
  j.field("cwd", readLink(pid, "cwd"));
  j.field("umask", procStatusField(pid, "Umask", 8));
  j.field("nice", (long)(int64_t)field(19));
  std::string pers = readProcFile(pid, "personality");
  j.field("personality", strtoul(pers.c_str(), nullptr, 16));
  j.field("noNewPrivs", procStatusField(pid, "NoNewPrivs") == 1);
  j.key("rlimits").beginArray();
  for (int r = 0; r < 16; r++) {
    rlimit64 lim{};
    if (prlimit64(pid, (__rlimit_resource)r, nullptr, &lim) < 0) {
      err = "cannot read the limits of pid " + std::to_string(ids.vpid) + ": " + strerror(errno);
      return false;
    }
    j.beginArray().dec(lim.rlim_cur).dec(lim.rlim_max).endArray();
  }
  j.endArray();
  j.key("mm").beginObject();
  j.field("startCode", field(26)).field("endCode", field(27)).field("startStack", field(28));
  j.field("startData", field(45)).field("endData", field(46)).field("startBrk", field(47));
  j.field("argStart", field(48)).field("argEnd", field(49)).field("envStart", field(50)).field("envEnd", field(51));
  // the current brk is not in stat: the end of [heap], or start_brk when there is none
  uint64_t brk = field(47);
  for (auto& m : readMaps(pid))
    if (m.name == "[heap]") brk = m.end;
  j.field("brk", brk);
  j.endObject();
  std::string auxv = readProcFile(pid, "auxv");
  j.key("auxv").base64(auxv.data(), auxv.size());
  return true;
}

}  // namespace vdomain
