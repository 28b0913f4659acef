#include "resources/memory/memory.h"

#include <fcntl.h>
#include <sys/uio.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace vdomain {

bool readMem(pid_t tid, uint64_t addr, void* buf, size_t len) {
  iovec local{buf, len}, remote{reinterpret_cast<void*>(addr), len};
  return process_vm_readv(tid, &local, 1, &remote, 1, 0) == (ssize_t)len;
}

bool writeMem(pid_t tid, uint64_t addr, const void* buf, size_t len) {
  iovec local{const_cast<void*>(buf), len}, remote{reinterpret_cast<void*>(addr), len};
  if (process_vm_writev(tid, &local, 1, &remote, 1, 0) == (ssize_t)len) return true;
  // read-only mappings: /proc/PID/mem writes with FOLL_FORCE, as a debugger does
  char path[64];
  snprintf(path, sizeof path, "/proc/%d/mem", tid);
  int fd = open(path, O_WRONLY | O_CLOEXEC);
  if (fd < 0) return false;
  bool ok = pwrite(fd, buf, len, (off_t)addr) == (ssize_t)len;
  close(fd);
  return ok;
}

bool readString(pid_t tid, uint64_t addr, std::string& out, size_t max) {
  out.clear();
  char chunk[256];
  while (out.size() < max) {
    // never cross a page boundary in one read: the next page may be unmapped
    size_t toPage = 4096 - (addr & 4095);
    size_t n = toPage < sizeof chunk ? toPage : sizeof chunk;
    if (!readMem(tid, addr, chunk, n)) return false;
    void* nul = memchr(chunk, 0, n);
    if (nul) {
      out.append(chunk, static_cast<char*>(nul) - chunk);
      return true;
    }
    out.append(chunk, n);
    addr += n;
  }
  return false;
}

long procStatField(pid_t tid, int field) {
  char path[64], buf[512];
  snprintf(path, sizeof path, "/proc/%d/stat", tid);
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  ssize_t n = read(fd, buf, sizeof buf - 1);
  close(fd);
  if (n <= 0) return -1;
  buf[n] = 0;
  // the command name (field 2) may hold spaces and parentheses: parse after the last ')'
  char* p = strrchr(buf, ')');
  if (!p) return -1;
  p += 2;  // now at field 3 (state)
  for (int f = 3; f < field; f++) {
    p = strchr(p, ' ');
    if (!p) return -1;
    p++;
  }
  return strtol(p, nullptr, 10);
}

}  // namespace vdomain
