// What a kind of fd of the kinds table (native/resources/kinds.h) implements on
// the dump side: the files kind lists a process's fds, offers each to the table's
// kinds in turn, and writes the fields every fd has (fd, target, flags, cloexec,
// pos, desc); the kind that takes it adds its own, in the fd's "state" object.
#pragma once
#include <sys/stat.h>
#include <sys/types.h>

#include <string>

#include "core/json.h"

namespace vdomain {

struct DumpRun;

// One open fd of a process, as /proc shows it from outside.
struct OpenFd {
  pid_t pid;           // the process (real PID)
  int fd;
  std::string target;  // readlink of /proc/PID/fd/FD ("anon_inode:[eventfd]")
  struct stat st;      // stat of it
  unsigned flags;      // its status flags (fdinfo "flags:", O_CLOEXEC included)
  std::string fdinfo;  // /proc/PID/fdinfo/FD, whole
  const DumpRun* run = nullptr;  // the checkpoint (its tree; once frozen, what injected parts found)
};

struct FdKindDump {
  const char* name;  // the manifest's fd kind, and its folder
  // is fd one of this kind
  bool (*takes)(const OpenFd& fd);
  // Its fields, or false and why it cannot be restored exactly ("…— not supported").
  // Called before the freeze (with a scratch j) to refuse early, and frozen.
  bool (*dump)(const OpenFd& fd, Json& j, std::string& why);
  // one held by several fds (dup, fork) is made once by the keeper and inherited
  // (a kind of the shared files: keeper_files.c); else that is refused
  bool shareable = false;
};

// The file itself, as a descriptor of ours (pidfd_getfd: the tracer may), or -1
// with errno: for a kind whose state a call on the file tells more exactly than
// fdinfo. Close it after.
int takeFd(const OpenFd& fd);
// /proc/self/fdinfo/FD of one of ours, whole.
std::string ownFdinfo(int fd);

// The value of "key:" in an fdinfo text (its first line that begins so), or "".
std::string fdinfoValue(const std::string& fdinfo, const char* key);

}  // namespace vdomain
