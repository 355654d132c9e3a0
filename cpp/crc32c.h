// CRC32C (Castagnoli), portable slice-by-8; the same code runs natively and
// in WebAssembly.
#pragma once

#include <cstddef>
#include <cstdint>

namespace mycelium {

std::uint32_t crc32c(const std::uint8_t* data, std::size_t size, std::uint32_t crc = 0);

}  // namespace mycelium
