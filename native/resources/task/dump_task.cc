// The process as a whole: identity, command line, mm layout, cwd, umask, nice,
// rlimits, personality, no_new_privs, oom_score_adj, loginuid. Restored by
// set_process_state in restore_task.c (beside this file). And each task's scheduling
// (dumpScheduling) and credentials (dumpCreds).
#include <errno.h>
#include <dirent.h>
#include <fcntl.h>
#include <sched.h>
#include <sys/syscall.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "core/dump.h"
#include "core/procfs.h"

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

// The credential lines of /proc/PID/status, in the order dumpCreds writes them.
static const char* const kCredLines[] = {"Uid", "Gid", "Groups", "CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"};

// A task's credentials, read from outside (no capability needed): real,
// effective, saved and filesystem uid and gid, supplementary groups, capability sets.
void dumpCreds(pid_t tid, Json& j) {
  const std::string status = readProcFile(tid, "status");
  auto ids = [&](const char* line) {
    j.key(line[0] == 'U' ? "uid" : "gid").beginArray();
    std::string v = statusValue(status, line);
    char* at = &v[0];
    for (int k = 0; k < 4; k++) j.num(strtoul(at, &at, 10));
    j.endArray();
  };
  j.key("creds").beginObject();
  ids("Uid");
  ids("Gid");
  j.key("groups").beginArray();
  std::string g = statusValue(status, "Groups");
  for (char* at = &g[0]; *at;) {
    char* end;
    unsigned long v = strtoul(at, &end, 10);
    if (end == at) break;
    j.num(v);
    at = end;
  }
  j.endArray();
  for (int k = 3; k < 8; k++) j.key(kCredLines[k]).hex(strtoull(statusValue(status, kCredLines[k]).c_str(), nullptr, 16));
  j.endObject();
}

// Unprivileged, a restore can only give a task the restoring user's own
// credentials: a task of the job with others (say, the job was started by root
// and dropped some) could not be restored by this user either. (Not the bounding
// set: in the domain's user namespace it is that namespace's, and the blob
// gives it back there.)
static void checkCreds(const ProcessIds& ids, Unsupported& u) {
  if (geteuid() == 0) return;
  // a process that is not dumpable has its /proc/PID files (not the directory) owned by root: its memory
  // cannot be read, nor could a restore trace it again
  struct stat st;
  char self[32];
  snprintf(self, sizeof self, "/proc/%d/mem", ids.real);
  if (stat(self, &st) == 0 && st.st_uid != geteuid()) {
    u.add(ids.vpid, "is not dumpable (PR_SET_DUMPABLE 0, or its credentials changed) — only root can checkpoint it");
    return;
  }
  std::vector<pid_t> tids;
  char dir[64];
  snprintf(dir, sizeof dir, "/proc/%d/task", ids.real);
  if (DIR* d = opendir(dir)) {
    while (dirent* e = readdir(d))
      if (e->d_name[0] != '.') tids.push_back((pid_t)atoi(e->d_name));
    closedir(d);
  }
  const std::string mine = readProcFile(getpid(), "status");
  for (pid_t tid : tids) {
    const std::string its = readProcFile(tid, "status");
    for (const char* line : kCredLines)
      if (strcmp(line, "CapBnd") && statusValue(its, line) != statusValue(mine, line)) {
        u.add(ids.vpid, std::string(tid == ids.real ? "" : "(a thread of it) ") + "runs with " + line +
                            " " + statusValue(its, line) + ", not the checkpointing user's — only root can restore that");
        return;
      }
  }
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
  // the filters the restored process gets again: those of vdomain itself (inherited
  // from outside, as the keeper has them) and the domain's own
  long filters = procStatusField(ids.real, "Seccomp_filters");
  if (filters > procStatusField(getpid(), "Seccomp_filters") + domainFilters)
    u.add(ids.vpid, "a seccomp filter of its own — not supported yet");
  checkCreds(ids, u);
}

// /proc/PID/limits, readable without the CAP_SYS_RESOURCE that prlimit64 needs
// over a task with other credentials: one line per RLIMIT_*, in their order,
// soft and hard limit in the columns after the 26-character name.
static bool readLimits(pid_t pid, uint64_t (&lim)[16][2]) {
  std::string text = readProcFile(pid, "limits");
  size_t at = text.find('\n');  // past the heading
  for (int r = 0; r < 16; r++) {
    if (at == std::string::npos || at + 27 > text.size()) return false;
    size_t end = text.find('\n', at + 1);
    std::string line = text.substr(at + 27, end == std::string::npos ? std::string::npos : end - at - 27);
    char* p = &line[0];
    for (int k = 0; k < 2; k++) {
      while (*p == ' ') p++;
      if (!strncmp(p, "unlimited", 9)) {
        lim[r][k] = RLIM64_INFINITY;
        p += 9;
      } else {
        char* e;
        lim[r][k] = strtoull(p, &e, 10);
        if (e == p) return false;
        p = e;
      }
    }
    at = end;
  }
  return true;
}

void checkTaskOf(DumpRun& run, const ProcessIds& ids) { checkTask(ids, run.domainFilters, run.u); }

bool dumpTask(DumpRun& run, ProcessDump& p) {
  const ProcessIds& ids = p.ids;
  Json& j = p.j;
  std::string& err = run.err;
  const pid_t pid = ids.real;
  checkTask(ids, run.domainFilters, run.u);  // again, now that it is frozen
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
  uint64_t lim[16][2];
  if (!readLimits(pid, lim)) {
    err = "cannot read the limits of pid " + std::to_string(ids.vpid) + " (/proc/" + std::to_string(pid) + "/limits)";
    return false;
  }
  j.key("rlimits").beginArray();
  for (auto& l : lim) j.beginArray().dec(l[0]).dec(l[1]).endArray();
  j.endArray();
  j.field("oomScoreAdj", strtol(readProcFile(pid, "oom_score_adj").c_str(), nullptr, 10));
  // absent where the kernel has no audit (no /proc/PID/loginuid)
  std::string loginuid = readProcFile(pid, "loginuid");
  if (!loginuid.empty()) j.field("loginuid", strtoul(loginuid.c_str(), nullptr, 10));
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


extern const DumpKind taskKind = {"task", checkTaskOf, nullptr, nullptr, nullptr, dumpTask};

}  // namespace vdomain
