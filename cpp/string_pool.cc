#include "string_pool.h"

#include <algorithm>
#include <cstring>

namespace mycelium {

std::uint64_t hash_bytes(std::string_view s) {
  // 8 bytes per step, multiply-xorshift mixing; not for adversarial keys
  // (an attacker who floods one store with colliding ids only slows it).
  constexpr std::uint64_t k = 0x9e3779b97f4a7c15ull;
  std::uint64_t h = 0x243f6a8885a308d3ull ^ (s.size() * k);
  const char* p = s.data();
  std::size_t n = s.size();
  while (n >= 8) {
    std::uint64_t w;
    std::memcpy(&w, p, 8);
    h = (h ^ w) * k;
    h ^= h >> 29;
    p += 8;
    n -= 8;
  }
  std::uint64_t w = 0;
  if (n) std::memcpy(&w, p, n);
  h = (h ^ w) * k;
  h ^= h >> 32;
  h *= 0xff51afd7ed558ccdull;
  h ^= h >> 33;
  return h;
}

StringPool::StringPool() : table_(16, 0) {}

std::string_view StringPool::get(std::uint32_t offset) const {
  // [varint length][bytes]
  const auto* p = reinterpret_cast<const unsigned char*>(arena_.data() + offset);
  std::uint32_t len = 0;
  int shift = 0;
  while (*p & 0x80) {
    len |= static_cast<std::uint32_t>(*p++ & 0x7f) << shift;
    shift += 7;
  }
  len |= static_cast<std::uint32_t>(*p++) << shift;
  return {reinterpret_cast<const char*>(p), len};
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

Status StringPool::check_room(std::size_t n) const {
  if (n > 0x7fffffffu || arena_.size() + n + 5 > 0xfffffff0u) return LimitExceeded("string pool is full (4 GiB)");
  return Status::Ok();
}

std::uint32_t StringPool::put(std::string_view s) {
  const auto offset = static_cast<std::uint32_t>(arena_.size());
  char prefix[5];
  std::size_t n = 0;
  for (std::size_t len = s.size(); ; len >>= 7) {
    prefix[n++] = static_cast<char>((len & 0x7f) | (len >= 0x80 ? 0x80 : 0));
    if (len < 0x80) break;
  }
  const std::size_t need = arena_.size() + n + s.size();
  if (need > arena_.capacity()) arena_.reserve(std::max(need, arena_.capacity() + arena_.capacity() / 4));
  arena_.insert(arena_.end(), prefix, prefix + n);
  arena_.insert(arena_.end(), s.begin(), s.end());
  return offset;
}

void StringPool::reserve(std::size_t strings, std::size_t bytes) {
  arena_.reserve(arena_.size() + bytes + 2 * strings);
}

Result<std::uint32_t> StringPool::append(std::string_view s) {
  MYC_TRY(check_room(s.size()));
  return put(s);
}

Result<std::uint32_t> StringPool::intern_new(std::string_view s) {
  MYC_TRY(check_room(s.size()));
  const std::uint32_t offset = put(s);
  unindexed_.push_back(offset);
  return offset;
}

void StringPool::rebuild() {
  while ((count_ + unindexed_.size()) * 4 > table_.size() * 3) grow();
  const std::size_t mask = table_.size() - 1;
  for (std::uint32_t offset : unindexed_) {
    std::size_t i = hash_bytes(get(offset)) & mask;
    while (table_[i] != 0) i = (i + 1) & mask;
    table_[i] = offset + 1;
  }
  count_ += unindexed_.size();
  std::vector<std::uint32_t>().swap(unindexed_);  // (= {} would keep the capacity)
}

void StringPool::compact(std::vector<std::uint32_t>& live) {
  // Moving strings toward the front in offset order never overwrites one
  // not moved yet.
  std::size_t out = 0;
  for (std::uint32_t& offset : live) {
    const std::string_view s = get(offset);
    const std::size_t start = offset;
    const std::size_t end = static_cast<std::size_t>(s.data() - arena_.data()) + s.size();
    if (out != start) std::memmove(arena_.data() + out, arena_.data() + start, end - start);
    offset = static_cast<std::uint32_t>(out);
    out += end - start;
  }
  arena_.resize(out);
  // (A copy, not shrink_to_fit(), which libstdc++ ignores without exceptions.)
  if (arena_.capacity() > out + out / 4 + 64) std::vector<char>(arena_.begin(), arena_.end()).swap(arena_);
  std::size_t slots = 16;
  while (live.size() * 4 > slots * 3) slots *= 2;
  std::vector<std::uint32_t>(slots, 0).swap(table_);
  count_ = 0;
  std::vector<std::uint32_t>(live).swap(unindexed_);
  rebuild();
}

Result<std::uint32_t> StringPool::intern(std::string_view s) {
  MYC_TRY(check_room(s.size()));
  if (!unindexed_.empty()) rebuild();
  if ((count_ + 1) * 4 > table_.size() * 3) grow();
  const std::size_t mask = table_.size() - 1;
  std::size_t i = hash_bytes(s) & mask;
  while (table_[i] != 0) {
    if (get(table_[i] - 1) == s) return table_[i] - 1;
    i = (i + 1) & mask;
  }
  const std::uint32_t offset = put(s);
  table_[i] = offset + 1;
  ++count_;
  return offset;
}

}  // namespace mycelium
