#include "string_pool.h"

#include <cstring>

namespace mycelium {

std::uint64_t hash_bytes(std::string_view s) {
  // FNV-1a, 64-bit, then a final mix so low bits are usable as a table index.
  std::uint64_t h = 1469598103934665603ull;
  for (unsigned char c : s) h = (h ^ c) * 1099511628211ull;
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdull;
  h ^= h >> 33;
  return h;
}

StringPool::StringPool() : table_(16, 0) {}

std::string_view StringPool::get(std::uint32_t offset) const {
  std::uint32_t len;
  std::memcpy(&len, arena_.data() + offset, 4);
  return {arena_.data() + offset + 4, len};
}

void StringPool::grow() {
  std::vector<std::uint32_t> old;
  old.swap(table_);
  table_.assign(old.size() * 2, 0);
  const std::size_t mask = table_.size() - 1;
  for (std::uint32_t slot : old) {
    if (slot == 0) continue;
    std::size_t i = hash_bytes(get(slot - 1)) & mask;
    while (table_[i] != 0) i = (i + 1) & mask;
    table_[i] = slot;
  }
}

Result<std::uint32_t> StringPool::intern(std::string_view s) {
  if (s.size() > 0x7fffffffu || arena_.size() + s.size() + 4 > 0xfffffff0u) {
    return LimitExceeded("string pool is full (4 GiB)");
  }
  if ((count_ + 1) * 2 > table_.size()) grow();
  const std::size_t mask = table_.size() - 1;
  std::size_t i = hash_bytes(s) & mask;
  while (table_[i] != 0) {
    if (get(table_[i] - 1) == s) return table_[i] - 1;
    i = (i + 1) & mask;
  }
  const auto offset = static_cast<std::uint32_t>(arena_.size());
  const auto len = static_cast<std::uint32_t>(s.size());
  arena_.resize(arena_.size() + 4 + s.size());
  std::memcpy(arena_.data() + offset, &len, 4);
  if (!s.empty()) std::memcpy(arena_.data() + offset + 4, s.data(), s.size());
  table_[i] = offset + 1;
  ++count_;
  return offset;
}

}  // namespace mycelium
