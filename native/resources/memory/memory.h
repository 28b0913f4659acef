// Reading and writing a job task's memory from the supervisor.
#pragma once
#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <string>

namespace vdomain {

bool readMem(pid_t tid, uint64_t addr, void* buf, size_t len);
bool writeMem(pid_t tid, uint64_t addr, const void* buf, size_t len);
// A NUL-terminated string of at most `max` bytes; false when unreadable or too long.
bool readString(pid_t tid, uint64_t addr, std::string& out, size_t max = 4096);
// Field 4 (ppid), 5 (pgrp) or 6 (session) of /proc/TID/stat; -1 when unreadable.
long procStatField(pid_t tid, int field);

}  // namespace vdomain
