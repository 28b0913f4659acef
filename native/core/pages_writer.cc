#include "core/pages_writer.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <sys/mman.h>
#include <sys/vfs.h>
#include <sys/uio.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>

#include "core/checksum.h"

namespace vdomain {

namespace {

// Small enough to checksum a buffer while its bytes are still in cache, and to
// keep the first and the last buffer (not overlapped) short; large enough for
// few syscalls. Measured on a 100 MB job (memory phase, six interleaved runs,
// with the spinning hand-over): ring of 2 x 2 MB 36-47 ms, 3 x 2 MB 34-52 ms
// (steadiest over two rounds), 4 x 1 MB 34-49 ms, 8 x 512 KB 34-52 ms; a plain
// write of the same memory 35-47 ms. Before the spin (sleeping hand-overs) 2 x
// 2 MB took 44-58 ms: a wake-up per buffer cost ~10 ms per 100 MB.
constexpr size_t kBufSize = 2 << 20;
constexpr int kRing = 3;
constexpr uint64_t kSyncStep = 8 << 20;
static_assert(kRing <= 4, "PagesWriter::lens_ holds four");

// Faulting fresh memory in costs milliseconds on this VM: done once,
// before the first freeze, and kept.
char* buffers[kRing];

}  // namespace

bool PagesWriter::prepareBuffers() {
  static bool ready = [] {
    void* p = mmap(nullptr, kRing * kBufSize, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
    if (p == MAP_FAILED) return false;
    for (int i = 0; i < kRing; i++) buffers[i] = static_cast<char*>(p) + i * kBufSize;
    return true;
  }();
  return ready;
}

PagesWriter::PagesWriter(std::string path) : path_(std::move(path)) {
  fd_ = open(path_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd_ < 0) err_ = errno;
  if (!prepareBuffers()) err_ = ENOMEM;
  // the writer thread starts with the first full buffer: most processes of a
  // tree store less than one, and a thread started and joined for each cost
  // ~0.7 ms of the freeze per process (16 small processes: 11.5 ms)
}

PagesWriter::~PagesWriter() {
  if (writer_.joinable()) {
    stop_ = true;
    wake();
    writer_.join();
  }
  if (fd_ >= 0) close(fd_);
  if (memFd_ >= 0) close(memFd_);
}

template <class Ready>
void PagesWriter::await(Ready ready) {
  for (int spin = 0; spin < 20000; spin++) {  // ~20-50 us
    if (ready()) return;
    __builtin_ia32_pause();
  }
  std::unique_lock<std::mutex> lock(mu_);
  cv_.wait(lock, ready);
}

void PagesWriter::wake() {
  std::lock_guard<std::mutex> g(mu_);  // orders the count's change before a waiter's check
  cv_.notify_all();
}

void PagesWriter::writerLoop() {
  for (uint64_t n = 0;; n++) {
    await([&] { return filled_.load(std::memory_order_acquire) > n || stop_.load(); });
    if (filled_.load(std::memory_order_acquire) <= n) return;  // stopped, nothing left
    size_t len = lens_[n % kRing];
    writeOut(buffers[n % kRing], len);
    // On a disk, start writing back what is written so far while the dump goes
    // on: the fsync at the end then has little left to wait for. (100 MB to
    // ext4, freeze to fsynced image: 88-136 ms without, 64-75 ms with; a plain
    // write and fsync 81-91 ms. No change on tmpfs.)
    syncFrom_ += len;
    if (syncFrom_ >= kSyncStep) {
      sync_file_range(fd_, (off_t)synced_, (off_t)syncFrom_, SYNC_FILE_RANGE_WRITE);
      synced_ += syncFrom_;
      syncFrom_ = 0;
    }
    written_.store(n + 1, std::memory_order_release);
    wake();
  }
}

void PagesWriter::writeOut(const char* p, size_t len) {
  for (size_t done = 0; done < len && err_.load() == 0;) {
    ssize_t w = write(fd_, p + done, len - done);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) err_ = w < 0 ? errno : EIO;
    else done += (size_t)w;
  }
}

void PagesWriter::submit() {
  if (!writer_.joinable()) writer_ = std::thread([this] { writerLoop(); });
  uint64_t n = filled_.load(std::memory_order_relaxed);
  lens_[n % kRing] = used_;
  filled_.store(n + 1, std::memory_order_release);
  wake();
  used_ = 0;
  // the next buffer is free once the writer is done with what it held
  await([&] { return written_.load(std::memory_order_acquire) + kRing > n + 1; });
}

size_t PagesWriter::room() const { return kBufSize - used_; }
char* PagesWriter::tail() { return buffers[filled_.load(std::memory_order_relaxed) % kRing] + used_; }

bool PagesWriter::filled(size_t n) {
  crc_ = crc32c(crc_, tail(), n);
  used_ += n;
  off_ += n;
  if (used_ == kBufSize) submit();
  return ok();
}

bool PagesWriter::appendMemory(pid_t tid, uint64_t addr, uint64_t len) {
  while (len && ok()) {
    size_t n = room();
    if (n > len) n = (size_t)len;
    iovec local{tail(), n}, remote{reinterpret_cast<void*>(addr), n};
    ssize_t got = process_vm_readv(tid, &local, 1, &remote, 1, 0);
    if (got < (ssize_t)n) {
      // PROT_NONE pages (guard pages that were once written, mprotect'ed data):
      // /proc/PID/mem reads them as a debugger would
      if (got < 0) got = 0;
      if (memTid_ != tid) {
        if (memFd_ >= 0) close(memFd_);
        char p[64];
        snprintf(p, sizeof p, "/proc/%d/mem", tid);
        memFd_ = open(p, O_RDONLY | O_CLOEXEC);
        memTid_ = tid;
      }
      ssize_t more = memFd_ < 0 ? -1 : pread(memFd_, tail() + got, n - got, (off_t)(addr + got));
      if (more != (ssize_t)(n - got)) {
        err_ = more < 0 ? errno : EFAULT;
        return false;
      }
    }
    addr += n;
    len -= n;
    if (!filled(n)) return false;
  }
  return ok();
}

bool PagesWriter::appendBytes(const void* data, size_t len) {
  const char* p = static_cast<const char*>(data);
  while (len && ok()) {
    size_t n = room() < len ? room() : len;
    memcpy(tail(), p, n);
    p += n;
    len -= n;
    if (!filled(n)) return false;
  }
  return ok();
}

bool PagesWriter::appendFd(int fd, uint64_t len, uint64_t from) {
  uint64_t pos = from;
  while (len && ok()) {
    size_t n = room();
    if (n > len) n = (size_t)len;
    ssize_t got = pread(fd, tail(), n, (off_t)pos);
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) {
      err_ = got < 0 ? errno : EIO;  // the file shrank under us
      return false;
    }
    pos += (uint64_t)got;
    len -= (uint64_t)got;
    if (!filled((size_t)got)) return false;
  }
  return ok();
}

void PagesWriter::reserve(uint64_t bytes) {
  // tmpfs only: on ext4 the unwritten extents made the writeback started while
  // dumping (see writerLoop) wait inside the freeze (100 MB job frozen 34 ->
  // 206 ms). KEEP_SIZE: the file's size stays what is written.
  struct statfs fs;
  if (!ok() || !bytes || fstatfs(fd_, &fs) < 0 || fs.f_type != TMPFS_MAGIC) return;
  if (fallocate(fd_, FALLOC_FL_KEEP_SIZE, 0, (off_t)bytes) == 0) reserved_ = bytes;
}

bool PagesWriter::finish() {
  if (finished_ || fd_ < 0) return false;
  finished_ = true;
  if (!writer_.joinable()) {
    writeOut(tail() - used_, used_);  // less than a buffer in all: written here
  } else {
    if (used_) submit();
    const uint64_t all = filled_.load();
    await([&] { return written_.load(std::memory_order_acquire) == all; });
    stop_ = true;
    wake();
    writer_.join();
  }
  if (reserved_ > off_)  // the job's memory shrank meanwhile: the rest back
    fallocate(fd_, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, (off_t)off_, (off_t)(reserved_ - off_));
  return ok();
}

}  // namespace vdomain
