// Small readers of /proc/PID/* for the dumper.
#pragma once
#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

namespace vdomain {

std::string readProcFile(pid_t pid, const char* name);  // whole file; "" when unreadable
std::string readWholeFile(const char* path);            // any file, the same way
std::string readLink(pid_t pid, const std::string& name);
// The value of a "Name:\tvalue" line of /proc/PID/status, as it is; "" when missing.
std::string procStatusValue(pid_t pid, const char* name);
// The same from a status text read once (each read of /proc/PID/status costs
// tens of µs: the kernel makes the whole file).
std::string statusValue(const std::string& status, const char* name);
// The same as a number; -1 when missing.
long procStatusField(pid_t pid, const char* name, int base = 10);
uint64_t procStatusHex(pid_t pid, const char* name);
// The command name and the fields after it (stat[0] is field 3, the state).
bool readStat(pid_t pid, std::string& comm, std::vector<std::string>& fields);
bool endsWith(const std::string& s, const std::string& tail);
// A /proc link or maps name without its " (deleted)" mark.
std::string withoutDeleted(const std::string& s);

struct MapsEntry {
  uint64_t start, end, offset;
  std::string perms;  // "rw-p"
  unsigned devMajor, devMinor;
  uint64_t inode;
  std::string name;   // path, [heap], [stack], [vdso], "" …
};
std::vector<MapsEntry> readMaps(pid_t pid);
// The numbers of the fds a process has open (/proc/PID/fd), in order.
std::vector<int> openFdNumbers(pid_t pid);

}  // namespace vdomain
