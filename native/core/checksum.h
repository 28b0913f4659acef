// CRC-32C (Castagnoli) with the SSE4.2 instruction: the checksum of every page
// file of an image. Not cryptographic: it catches truncation and flipped bits, at
// several GB/s, so checking an image costs little next to reading it.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>

namespace vdomain {

uint32_t crc32c(uint32_t crc, const void* data, size_t len);
// crc(A ‖ B) from crc(A), crc(B) and the length of B.
uint32_t crc32cCombine(uint32_t crc1, uint32_t crc2, size_t len2);
// The whole file's CRC-32C and size; false (errno set) when it cannot be read.
bool crc32cFile(const std::string& path, uint32_t& crc, uint64_t& size);

}  // namespace vdomain

namespace vdomain {

// SHA-256 (FIPS 180-4) as 64 lowercase hex digits: the image manifest's own
// checksum. Here rather than node:crypto, whose loading (5-6 ms) would be most
// of what `vdomain restore` spends before it reads the image.
std::string sha256Hex(const void* data, size_t len);

}  // namespace vdomain
