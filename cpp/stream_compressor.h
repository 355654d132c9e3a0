// StreamCompressor: zstd compression of a payload that arrives in pieces
// (DESIGN.md, Binary formats: payloads over kCompressMinBytes at
// kCompressLevel, kept as they are unless the result is smaller).
//
// A large snapshot is written as pieces (its string table, its head, six
// cell columns) and never assembled whole just to be compressed: the pieces
// go through a slice of kSliceBytes, and zstd sees the same calls whatever
// the pieces were (full slices, then the rest with the end of the frame),
// so the bytes depend on the payload alone. The native engine and the
// compressor module (bindings/zstd_module.cc) both compress through this
// class: their frames agree byte for byte.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "byte_vec.h"

struct ZSTD_CCtx_s;

namespace mycelium {

class StreamCompressor {
 public:
  static constexpr std::size_t kSliceBytes = std::size_t{128} << 10;

  StreamCompressor();
  ~StreamCompressor();
  StreamCompressor(const StreamCompressor&) = delete;
  StreamCompressor& operator=(const StreamCompressor&) = delete;

  // Starts a payload of exactly `total` bytes; false when it stays as it is
  // (not over kCompressMinBytes), and then feed() and end() do nothing.
  bool begin(std::size_t total);
  // Appends the next bytes of the payload; false once compressing no longer
  // pays (the output reached the payload's size) or zstd failed.
  bool feed(std::span<const std::uint8_t> in);
  // Ends the payload: the compressed bytes (valid until the next begin()),
  // or none when the payload stays as it is.
  std::span<const std::uint8_t> end();
  // Lets the output buffer go (the context stays for the next payload).
  void release();

 private:
  bool compress_slice(bool last);
  ZSTD_CCtx_s* ctx_ = nullptr;
  ByteVec slice_;      // kSliceBytes of input not compressed yet
  std::size_t slice_used_ = 0;
  ByteVec out_;        // its size is its capacity; produced_ bytes are written
  std::size_t produced_ = 0;
  std::size_t total_ = 0, fed_ = 0;
  bool active_ = false;
};

}  // namespace mycelium
