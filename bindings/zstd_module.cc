// The compressor as a second WebAssembly module, loaded by the TypeScript
// layer next to the core: zstd's compressor behind one C function, with the
// threshold and level of cpp/compression.h, so its frames match the native
// engine's byte for byte (js/tests/interop.test.ts). No Embind, no JS glue.
#include <cstddef>
#include <cstdint>

#include "compression.h"
#include "zstd.h"

extern "C" {
// Compresses in[0..n) into out[0..cap) when that pays (compression.h);
// returns the compressed size, or 0 when the payload stays as it is.
std::size_t myc_compress(const std::uint8_t* in, std::size_t n, std::uint8_t* out, std::size_t cap);
}

std::size_t myc_compress(const std::uint8_t* in, std::size_t n, std::uint8_t* out, std::size_t cap) {
  if (n <= mycelium::kCompressMinBytes) return 0;
  const std::size_t m = ZSTD_compress(out, cap, in, n, mycelium::kCompressLevel);
  return ZSTD_isError(m) || m >= n ? 0 : m;
}
