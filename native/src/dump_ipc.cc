// System V IPC (issue 5): not checkpointed yet. What the job visibly uses is
// refused by name, so no image silently lacks it: message queues it last sent
// to or received from, semaphore sets it last operated on, shared memory
// segments it created or last attached (attached ones are also refused per
// mapping, in dump_memory.cc). The kernel keeps no per-process list of the
// objects a process uses; these are the PIDs /proc/sysvipc and semctl(GETPID)
// show, so an object the job has only created or looked up is not seen.
#include <sys/ipc.h>
#include <sys/sem.h>

#include <cstdio>
#include <cstdlib>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "dump.h"
#include "procfs.h"

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

}  // namespace

void checkSysvIpc(const std::vector<ProcessIds>& processes, Unsupported& u) {
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
        u.add(vpidOf(r[col]), "SysV message queue " + hexKey(r[0]) + " (id " + std::to_string(r[1]) + ") — SysV IPC is not supported yet");
        break;
      }
  // shm: key shmid perms size cpid lpid ...
  for (auto& r : sysvRows("shm"))
    for (int col : {4, 5})
      if (r.size() > 5 && real.count((pid_t)r[col])) {
        u.add(vpidOf(r[col]), "SysV shared memory " + hexKey(r[0]) + " (id " + std::to_string(r[1]) + ") — SysV IPC is not supported yet");
        break;
      }
  // sem: key semid perms nsems ...: the last process that operated on each semaphore
  for (auto& r : sysvRows("sem")) {
    if (r.size() < 4) continue;
    for (long long k = 0; k < r[3]; k++) {
      int pid = semctl((int)r[1], (int)k, GETPID);
      if (pid > 0 && real.count(pid)) {
        u.add(vpidOf(pid), "SysV semaphore set " + hexKey(r[0]) + " (id " + std::to_string(r[1]) + ") — SysV IPC is not supported yet");
        break;
      }
    }
  }
}

}  // namespace vdomain
