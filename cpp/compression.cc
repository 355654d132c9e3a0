#include "compression.h"

#include <string>

#include "zstd.h"

#if !defined(MYC_WITH_COMPRESSOR) && defined(MYC_HOST_COMPRESSOR)
// The WebAssembly core: the host compresses (bindings/mycelium_wasm.cc hands
// the bytes to the compressor module, same zstd sources and level) and holds
// the result. Returns its size, or 0 to keep the payload as it is; then
// myc_host_compressed() copies it to out (null: drops it).
extern "C" std::size_t myc_host_compress(const std::uint8_t* in, std::size_t n);
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

std::optional<ByteVec> compress(std::span<const std::uint8_t> in) {
#ifdef MYC_WITH_COMPRESSOR
  if (in.size() <= kCompressMinBytes) return std::nullopt;
  ByteVec out(ZSTD_compressBound(in.size()));
  const std::size_t n = ZSTD_compress(out.data(), out.size(), in.data(), in.size(), kCompressLevel);
  if (ZSTD_isError(n) || n >= in.size()) return std::nullopt;
  out.resize(n);
  out.shrink_to_fit();
  return out;
#elif defined(MYC_HOST_COMPRESSOR)
  if (in.size() <= kCompressMinBytes) return std::nullopt;
  // No buffer the payload's size here: only the result's, once known.
  const std::size_t n = myc_host_compress(in.data(), in.size());
  if (n == 0 || n >= in.size()) {
    myc_host_compressed(nullptr);
    return std::nullopt;
  }
  ByteVec out(n);
  myc_host_compressed(out.data());
  return out;
#else
  (void)in;
  return std::nullopt;
#endif
}

Result<Buffer> decompress(std::span<const std::uint8_t> in, std::size_t max_bytes) {
  const std::size_t frame = ZSTD_findFrameCompressedSize(in.data(), in.size());
  if (ZSTD_isError(frame)) return Corrupt("compressed payload is not a zstd frame");
  if (frame != in.size()) return Corrupt("trailing bytes after the compressed payload");
  const unsigned long long size = ZSTD_getFrameContentSize(in.data(), in.size());
  if (size == ZSTD_CONTENTSIZE_UNKNOWN || size == ZSTD_CONTENTSIZE_ERROR) {
    return Corrupt("compressed payload does not declare its size");
  }
  if (size > kMaxDecompressedBytes || size > max_bytes || size > in.size() * kMaxRatio) {
    return LimitExceeded(cat({"compressed payload declares ", size, " bytes, more than its size justifies"}));
  }
  Buffer out(static_cast<std::size_t>(size));
  const std::size_t n = ZSTD_decompress(out.data(), out.size(), in.data(), in.size());
  if (ZSTD_isError(n)) return Corrupt(std::string("compressed payload: ") + ZSTD_getErrorName(n));
  if (n != out.size()) return Corrupt("compressed payload is shorter than it declares");
  return out;
}

}  // namespace mycelium
