// A deleted file's contents, saved for the restore to make it again (unlinked):
// its data extents only (holes stay holes), its size, mode and owner. The files
// kind saves those of a deleted file an fd holds; the memory kind those of one
// only mapped (resources/memory/dump_memory.cc).
#pragma once
#include <sys/types.h>

#include <cstdint>
#include <string>

#include "core/json.h"
#include "core/pages_writer.h"

namespace vdomain {

// Writes "size", "mode", "uid", "gid", "extents" ([file offset, length] each) and
// "content" ({off, len} in w) into the open object j, the data appended to w.
// False with why (errno's text) when the file cannot be read or w written.
bool saveDeletedFile(int fd, PagesWriter& w, Json& j, std::string& why);

// A memfd's own (path "/memfd:NAME"): "memfd": true and "seals" (F_GET_SEALS of
// fd, 0 when fd is -1: a memfd no fd holds has no use for them). False with why
// for one vdomain cannot make again: on hugetlbfs (MFD_HUGETLB), or sealed
// F_SEAL_FUTURE_WRITE (its writable mappings could not be made after the seal).
// Nothing is written for another file.
bool memfdFields(int fd, const std::string& path, Json& j, std::string& why);

// "MAJOR:MINOR:INODE": which file, the same for an fd's and a mapping's.
std::string fileKey(unsigned major, unsigned minor, uint64_t inode);

}  // namespace vdomain
