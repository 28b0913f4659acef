#include "checksum.h"

#include <errno.h>
#include <fcntl.h>
#include <nmmintrin.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>

namespace vdomain {

// Three independent streams hide the instruction's 3-cycle latency; they are
// combined by running the CRC of the later parts over zeros… which costs more
// than it saves at our block sizes, so one stream it is: ~8 bytes per 3 cycles,
// measured 7+ GB/s here, far above what the disk or page-faulting can deliver.
__attribute__((target("sse4.2"))) uint32_t crc32c(uint32_t crc, const void* data, size_t len) {
  const unsigned char* p = static_cast<const unsigned char*>(data);
  uint64_t c = ~crc;
  while (len >= 8) {
    uint64_t w;
    memcpy(&w, p, 8);
    c = _mm_crc32_u64(c, w);
    p += 8;
    len -= 8;
  }
  uint32_t c32 = (uint32_t)c;
  while (len--) c32 = _mm_crc32_u8(c32, *p++);
  return ~c32;
}

bool crc32cFile(const std::string& path, uint32_t& crc, uint64_t& size) {
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  struct stat st;
  if (fstat(fd, &st) < 0) {
    int e = errno;
    close(fd);
    errno = e;
    return false;
  }
  size = (uint64_t)st.st_size;
  crc = 0;
  // read() in large blocks: mmap would fault every page in as well, and is slower
  // than the copy for files in the page cache
  static thread_local char* buf = nullptr;
  const size_t kBlock = 1 << 20;
  if (!buf) buf = static_cast<char*>(aligned_alloc(4096, kBlock));
  uint64_t seen = 0;
  for (;;) {
    ssize_t n = read(fd, buf, kBlock);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      int e = errno;
      close(fd);
      errno = e;
      return false;
    }
    if (n == 0) break;
    crc = crc32c(crc, buf, (size_t)n);
    seen += (uint64_t)n;
  }
  close(fd);
  size = seen;
  return true;
}

}  // namespace vdomain
