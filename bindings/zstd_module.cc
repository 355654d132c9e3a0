// The compressor as a second WebAssembly module, loaded by the TypeScript
// layer next to the core: the StreamCompressor of the native engine
// (cpp/stream_compressor.h, the same threshold and level) behind a few C
// functions, so its frames match the native engine's byte for byte
// (js/tests/interop.test.ts). No Embind, no JS glue. The host copies a
// payload in, a slice at a time, through input(); the output stays here
// until the host has copied it out.
#include <cstddef>
#include <cstdint>

#include "stream_compressor.h"

namespace {
mycelium::StreamCompressor z;
std::uint8_t slice[mycelium::StreamCompressor::kSliceBytes];
std::span<const std::uint8_t> result;
}  // namespace

extern "C" {
// Starts a payload of `total` bytes; 0 when it stays as it is.
int myc_begin(std::size_t total);
// Where the host writes the next bytes (at most kSliceBytes), then feed(n).
std::uint8_t* myc_input();
// Compresses the n bytes written at input(); 0 once compression no longer pays.
int myc_feed(std::size_t n);
// Ends the payload: the compressed size, or 0 when it stays as it is.
std::size_t myc_end();
// The compressed bytes (until release()).
const std::uint8_t* myc_output();
// Frees the output (the context stays for the next payload).
void myc_release();
}

int myc_begin(std::size_t total) {
  result = {};
  return z.begin(total) ? 1 : 0;
}
std::uint8_t* myc_input() { return slice; }
int myc_feed(std::size_t n) { return n <= sizeof slice && z.feed({slice, n}) ? 1 : 0; }
std::size_t myc_end() {
  result = z.end();
  return result.size();
}
const std::uint8_t* myc_output() { return result.data(); }
void myc_release() {
  result = {};
  z.release();
}
