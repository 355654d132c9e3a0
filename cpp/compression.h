// zstd compression of frame payloads (DESIGN.md, Binary formats).
//
// Payloads over kCompressMinBytes are compressed at kCompressLevel when the
// result is smaller. The decompressor is in every build; the compressor only
// where MYC_WITH_COMPRESSOR is defined (native builds). The WebAssembly core
// (MYC_HOST_COMPRESSOR) asks its host instead, which runs a second module
// (bindings/zstd_module.cc) when the page loaded it; frames are still
// written here (codec.cc). Both compile the same pinned zstd sources, so the
// bytes agree.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <vector>

#include "byte_vec.h"
#include "status.h"

namespace mycelium {

inline constexpr std::size_t kCompressMinBytes = 1024;
inline constexpr int kCompressLevel = 1;
// A decompressed payload is at most this large, and at most kMaxRatio times
// its compressed size or kRatioFloor, whichever is more: a decoder never
// allocates more than its input justifies, and a small payload that
// compresses very well (a long repeated string in one record) still decodes.
inline constexpr std::size_t kMaxDecompressedBytes = std::size_t{256} << 20;
inline constexpr std::size_t kMaxRatio = 256;
inline constexpr std::size_t kRatioFloor = std::size_t{4} << 20;

// Bytes that are not zero-filled first (std::vector(n) is): a decompressed
// payload overwrites all of them.
class Buffer {
 public:
  Buffer() = default;
  explicit Buffer(std::size_t n) : data_(new std::uint8_t[n]), size_(n) {}
  std::uint8_t* data() { return data_.get(); }
  const std::uint8_t* data() const { return data_.get(); }
  std::size_t size() const { return size_; }
  std::span<const std::uint8_t> span() const { return {data_.get(), size_}; }

 private:
  std::unique_ptr<std::uint8_t[]> data_;
  std::size_t size_ = 0;
};

// True when this build links the compressor.
bool can_compress();

// The compressed form of `in`, or nothing when compression is not built in,
// `in` is not over kCompressMinBytes, or the result would not be smaller.
std::optional<ByteVec> compress(std::span<const std::uint8_t> in);
// The same for a payload given as pieces, never put together (the bytes
// are those of compress() of the pieces joined: stream_compressor.h).
std::optional<ByteVec> compress(std::span<const std::span<const std::uint8_t>> pieces);

// Decompresses exactly one zstd frame that declares its content size; a
// declared size over max_bytes (or the limits above) is limit_exceeded.
Result<Buffer> decompress(std::span<const std::uint8_t> in, std::size_t max_bytes = kMaxDecompressedBytes);

}  // namespace mycelium
