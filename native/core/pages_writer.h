// A page file being written: the job's pages and saved file contents, with its
// CRC-32C. Reading (from the frozen job, checksummed as it comes in) and writing
// (to the file) overlap: the caller fills the buffers of a small ring while a
// thread of the writer writes the ones already full, so a checkpoint costs about
// the larger of the two, not their sum.
#pragma once
#include <sys/types.h>

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>

namespace vdomain {

class PagesWriter {
 public:
  explicit PagesWriter(std::string path);
  ~PagesWriter();
  bool ok() const { return fd_ >= 0 && err_.load() == 0; }
  int error() const { return err_.load(); }
  uint64_t offset() const { return off_; }  // bytes appended so far
  // Copies [addr, addr+len) of the task's memory to the file; false (and error())
  // on failure.
  bool appendMemory(pid_t tid, uint64_t addr, uint64_t len);
  bool appendFd(int fd, uint64_t len, uint64_t from = 0);  // len bytes read from fd at offset from
  bool appendBytes(const void* data, size_t len);
  // Allocates about `bytes` of the file ahead (before the job is frozen), on tmpfs:
  // writing into allocated tmpfs pages is a third faster than a plain write,
  // which allocates as it goes. What is not used is given back by finish().
  void reserve(uint64_t bytes);
  // Writes what is buffered and waits for the writer (no fsync: the caller decides).
  bool finish();
  uint32_t crc() const { return crc_; }
  const std::string& path() const { return path_; }
  // The ring's buffers, one set per supervisor, faulted in once and kept.
  static bool prepareBuffers();

 private:
  size_t room() const;   // free bytes in the current buffer
  char* tail();          // where the next bytes go
  bool filled(size_t n); // n bytes were put at tail(); hands a full buffer over
  void submit();         // the current buffer to the writer thread; take the next
  void writerLoop();
  void writeOut(const char* p, size_t len);  // all of it to the file (err_ on failure)
  // Waits until ready() holds: spins a little first, as the other side usually
  // answers within microseconds and a sleep and wake-up costs more.
  template <class Ready>
  void await(Ready ready);
  void wake();

  std::string path_;
  int fd_ = -1;
  int memFd_ = -1;  // /proc/PID/mem, for what process_vm_readv cannot read (PROT_NONE)
  pid_t memTid_ = 0;
  std::atomic<int> err_{0};
  uint64_t off_ = 0;
  uint64_t reserved_ = 0;
  bool finished_ = false;
  uint32_t crc_ = 0;
  size_t used_ = 0;  // bytes in the buffer the caller fills (number filled_ % ring)

  // Buffers handed over so far, and written so far: the writer owns the ones in
  // between. Each side only moves its own count.
  std::atomic<uint64_t> filled_{0}, written_{0};
  std::atomic<bool> stop_{false};
  size_t lens_[4] = {};  // bytes in each buffer of the ring (kRing ≤ 4)
  std::mutex mu_;
  std::condition_variable cv_;
  std::thread writer_;
  uint64_t synced_ = 0, syncFrom_ = 0;  // the writer's: sent to writeback / since
};

}  // namespace vdomain
