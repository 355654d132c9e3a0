// The compressor as a second WebAssembly module, loaded by the TypeScript
// layer next to the core: cpp/compression.cc built with the compressor, behind
// two C functions. Plain exports, no Embind and no JS glue.
#include <cstdint>
#include <cstring>

#include "compression.h"

extern "C" {
// Compresses in[0..n) into out when it pays (compression.h); returns the
// compressed size, or 0 when the payload stays as it is.
std::size_t myc_compress(const std::uint8_t* in, std::size_t n, std::uint8_t* out, std::size_t cap);
}

std::size_t myc_compress(const std::uint8_t* in, std::size_t n, std::uint8_t* out, std::size_t cap) {
  const auto c = mycelium::compress({in, n});
  if (!c || c->size() > cap) return 0;
  std::memcpy(out, c->data(), c->size());
  return c->size();
}
