#include "compression.h"

#include <algorithm>
#include <string>

#include "zstd.h"

#ifdef MYC_WITH_COMPRESSOR
#include "stream_compressor.h"
#elif defined(MYC_HOST_COMPRESSOR)
// The WebAssembly core: the host compresses (bindings/mycelium_wasm.cc hands
// the pieces, (pointer, size) pairs, to the compressor module, which runs
// the same StreamCompressor) and holds the result. Returns its size, or 0 to
// keep the payload as it is; then myc_host_compressed() copies it to out
// (null: drops it).
extern "C" std::size_t myc_host_compress(const std::uint32_t* pieces, std::size_t count, std::size_t total);
extern "C" void myc_host_compressed(std::uint8_t* out);
#endif

namespace mycelium {

bool can_compress() {
#if defined(MYC_WITH_COMPRESSOR) || defined(MYC_HOST_COMPRESSOR)
  return true;
#else
  return false;
#endif
}

std::optional<ByteVec> compress(std::span<const std::span<const std::uint8_t>> pieces) {
  std::size_t total = 0;
  for (auto p : pieces) total += p.size();
  if (total <= kCompressMinBytes) return std::nullopt;
#ifdef MYC_WITH_COMPRESSOR
  static StreamCompressor z;  // its context is reused (the engine is single-threaded)
  if (!z.begin(total)) return std::nullopt;
  for (auto p : pieces) {
    if (!z.feed(p)) return std::nullopt;
  }
  const auto out = z.end();
  if (out.empty()) return std::nullopt;
  ByteVec result(out.begin(), out.end());
  z.release();
  return result;
#elif defined(MYC_HOST_COMPRESSOR)
  std::vector<std::uint32_t> refs;
  refs.reserve(2 * pieces.size());
  for (auto p : pieces) {
    refs.push_back(static_cast<std::uint32_t>(reinterpret_cast<std::uintptr_t>(p.data())));
    refs.push_back(static_cast<std::uint32_t>(p.size()));
  }
  // No buffer the payload's size here: only the result's, once known.
  const std::size_t n = myc_host_compress(refs.data(), pieces.size(), total);
  if (n == 0 || n >= total) {
    myc_host_compressed(nullptr);
    return std::nullopt;
  }
  ByteVec out(n);
  myc_host_compressed(out.data());
  return out;
#else
  return std::nullopt;
#endif
}

std::optional<ByteVec> compress(std::span<const std::uint8_t> in) {
  const std::span<const std::uint8_t> one[] = {in};
  return compress(one);
}

Result<Buffer> decompress(std::span<const std::uint8_t> in, std::size_t max_bytes) {
  const std::size_t frame = ZSTD_findFrameCompressedSize(in.data(), in.size());
  if (ZSTD_isError(frame)) return Corrupt("compressed payload is not a zstd frame");
  if (frame != in.size()) return Corrupt("trailing bytes after the compressed payload");
  const unsigned long long size = ZSTD_getFrameContentSize(in.data(), in.size());
  if (size == ZSTD_CONTENTSIZE_UNKNOWN || size == ZSTD_CONTENTSIZE_ERROR) {
    return Corrupt("compressed payload does not declare its size");
  }
  if (size > kMaxDecompressedBytes || size > max_bytes || size > std::max(in.size() * kMaxRatio, kRatioFloor)) {
    return LimitExceeded(cat({"compressed payload declares ", size, " bytes, more than its size justifies"}));
  }
  Buffer out(static_cast<std::size_t>(size));
  const std::size_t n = ZSTD_decompress(out.data(), out.size(), in.data(), in.size());
  if (ZSTD_isError(n)) return Corrupt(std::string("compressed payload: ") + ZSTD_getErrorName(n));
  if (n != out.size()) return Corrupt("compressed payload is shorter than it declares");
  return out;
}

}  // namespace mycelium
