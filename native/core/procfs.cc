#include "core/procfs.h"

#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace vdomain {

std::string readProcFile(pid_t pid, const char* name) {
  char path[96];
  snprintf(path, sizeof path, "/proc/%d/%s", pid, name);
  return readWholeFile(path);
}

std::string readWholeFile(const char* path) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return "";
  std::string out;
  char buf[65536];
  for (;;) {
    ssize_t n = read(fd, buf, sizeof buf);
    if (n <= 0) break;
    out.append(buf, (size_t)n);
  }
  close(fd);
  return out;
}

std::string readLink(pid_t pid, const std::string& name) {
  std::string path = "/proc/" + std::to_string(pid) + "/" + name;
  char buf[PATH_MAX + 32];
  ssize_t n = readlink(path.c_str(), buf, sizeof buf - 1);
  return n < 0 ? std::string() : std::string(buf, (size_t)n);
}

std::string procStatusValue(pid_t pid, const char* name) { return statusValue(readProcFile(pid, "status"), name); }

std::string statusValue(const std::string& s, const char* name) {
  std::string key = std::string("\n") + name + ":";
  size_t at = s.find(key);
  if (at == std::string::npos) return "";
  at += key.size();
  size_t e = s.find('\n', at);
  std::string v = s.substr(at, e - at);
  size_t b = v.find_first_not_of(" \t");
  return b == std::string::npos ? "" : v.substr(b);
}

long procStatusField(pid_t pid, const char* name, int base) {
  std::string v = procStatusValue(pid, name);
  return v.empty() ? -1 : strtol(v.c_str(), nullptr, base);
}

uint64_t procStatusHex(pid_t pid, const char* name) { return strtoull(procStatusValue(pid, name).c_str(), nullptr, 16); }

bool readStat(pid_t pid, std::string& comm, std::vector<std::string>& fields) {
  std::string s = readProcFile(pid, "stat");
  size_t open = s.find('('), close = s.rfind(')');
  if (open == std::string::npos || close == std::string::npos) return false;
  comm = s.substr(open + 1, close - open - 1);
  fields.clear();
  size_t i = close + 2;
  while (i < s.size()) {
    size_t e = s.find_first_of(" \n", i);
    if (e == std::string::npos) e = s.size();
    fields.push_back(s.substr(i, e - i));
    i = e + 1;
  }
  return true;
}

bool endsWith(const std::string& s, const std::string& tail) {
  return s.size() >= tail.size() && s.compare(s.size() - tail.size(), tail.size(), tail) == 0;
}

std::string withoutDeleted(const std::string& s) {
  return endsWith(s, " (deleted)") ? s.substr(0, s.size() - 10) : s;
}

std::vector<MapsEntry> readMaps(pid_t pid) {
  std::vector<MapsEntry> out;
  std::string s = readProcFile(pid, "maps");
  size_t i = 0;
  while (i < s.size()) {
    size_t e = s.find('\n', i);
    if (e == std::string::npos) e = s.size();
    std::string line = s.substr(i, e - i);
    i = e + 1;
    MapsEntry m{};
    char perms[8] = {};
    int nameAt = 0;
    if (sscanf(line.c_str(), "%lx-%lx %4s %lx %x:%x %lu %n", &m.start, &m.end, perms, &m.offset, &m.devMajor,
               &m.devMinor, &m.inode, &nameAt) < 7)
      continue;
    m.perms = perms;
    if (nameAt > 0 && (size_t)nameAt <= line.size()) m.name = line.substr((size_t)nameAt);
    out.push_back(std::move(m));
  }
  return out;
}

std::vector<int> openFdNumbers(pid_t pid) {
  std::vector<int> out;
  std::string dir = "/proc/" + std::to_string(pid) + "/fd";
  if (DIR* d = opendir(dir.c_str())) {
    while (dirent* e = readdir(d))
      if (e->d_name[0] != '.') out.push_back(atoi(e->d_name));
    closedir(d);
  }
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace vdomain
