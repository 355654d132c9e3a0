#include "key_scope.h"

#include "crc32c.h"

namespace mycelium {

std::uint32_t element_hash(const ValueView& v) {
  std::uint8_t head[9];
  head[0] = static_cast<std::uint8_t>(v.tag);
  std::size_t n = 1;
  switch (v.tag) {
    case ValueTag::kNull: break;
    case ValueTag::kBool: head[n++] = v.bits != 0; break;
    case ValueTag::kInt:
    case ValueTag::kDouble:
      for (int i = 0; i < 8; ++i) head[n++] = static_cast<std::uint8_t>(v.bits >> (8 * i));
      break;
    case ValueTag::kString:
    case ValueTag::kBytes: break;
  }
  std::uint32_t crc = crc32c(head, n);
  if (v.tag == ValueTag::kString || v.tag == ValueTag::kBytes) {
    crc = crc32c(reinterpret_cast<const std::uint8_t*>(v.str.data()), v.str.size(), crc);
  }
  return crc & 0x7fffffu;
}

}  // namespace mycelium
