// CRC32C (Castagnoli): the SSE4.2 instruction on x86-64 when the CPU has it,
// else a portable slice-by-8 table (also what WebAssembly runs).
#pragma once

#include <cstddef>
#include <cstdint>

namespace mycelium {

std::uint32_t crc32c(const std::uint8_t* data, std::size_t size, std::uint32_t crc = 0);
// The portable table version, whatever the CPU.
std::uint32_t crc32c_table(const std::uint8_t* data, std::size_t size, std::uint32_t crc = 0);

}  // namespace mycelium
