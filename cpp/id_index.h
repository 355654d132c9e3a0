// IdIndex: (collection, record id) -> record index, open addressing over
// 32-bit slots. The keys live in the records themselves; the index stores
// only record indexes, so it costs 8 bytes per record at most.
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

#include "string_pool.h"

namespace mycelium {

class IdIndex {
 public:
  IdIndex() : slots_(16, 0) {}

  // key_of(record index) -> (collection, id)
  template <typename KeyOf>
  std::int64_t find(std::uint16_t collection, std::string_view id, const KeyOf& key_of) const {
    const std::size_t mask = slots_.size() - 1;
    for (std::size_t i = hash(collection, id) & mask;; i = (i + 1) & mask) {
      const std::uint32_t s = slots_[i];
      if (s == 0) return -1;
      const auto [c, k] = key_of(s - 1);
      if (c == collection && k == id) return s - 1;
    }
  }

  // The key must not be present yet.
  template <typename KeyOf>
  void insert(std::uint16_t collection, std::string_view id, std::uint32_t record, const KeyOf& key_of) {
    if ((count_ + 1) * 4 > slots_.size() * 3) grow(key_of);
    place(hash(collection, id), record);
    ++count_;
  }

  // Inserts records first..first+n-1 (all new keys) in one pass, hashing a
  // few records ahead and prefetching their slots so the cache misses of
  // random slots overlap instead of queueing.
  template <typename KeyOf>
  void insert_all(std::uint32_t first, std::uint32_t n, const KeyOf& key_of) {
    reserve(n, key_of);
    constexpr std::uint32_t kAhead = 8;
    std::uint64_t ring[kAhead];
    const std::size_t mask = slots_.size() - 1;
    auto hash_of = [&](std::uint32_t r) {
      const auto [c, k] = key_of(r);
      return hash(c, k);
    };
    for (std::uint32_t i = 0; i < n && i < kAhead; ++i) {
      ring[i] = hash_of(first + i);
      __builtin_prefetch(&slots_[ring[i] & mask]);
    }
    for (std::uint32_t i = 0; i < n; ++i) {
      const std::uint64_t h = ring[i % kAhead];
      if (i + kAhead < n) {
        ring[i % kAhead] = hash_of(first + i + kAhead);
        __builtin_prefetch(&slots_[ring[i % kAhead] & mask]);
      }
      place(h, first + i);
    }
    count_ += n;
  }

  template <typename KeyOf>
  void reserve(std::size_t n, const KeyOf& key_of) {
    while ((count_ + n) * 4 > slots_.size() * 3) grow(key_of);
  }

  std::size_t bytes_used() const { return slots_.capacity() * sizeof(std::uint32_t); }

 private:
  static std::uint64_t hash(std::uint16_t collection, std::string_view id) {
    return hash_bytes(id) ^ (std::uint64_t{collection} * 0x9e3779b97f4a7c15ull);
  }
  void place(std::uint64_t h, std::uint32_t record) {
    const std::size_t mask = slots_.size() - 1;
    std::size_t i = h & mask;
    while (slots_[i] != 0) i = (i + 1) & mask;
    slots_[i] = record + 1;
  }
  template <typename KeyOf>
  void grow(const KeyOf& key_of) {
    std::vector<std::uint32_t> old(slots_.size() * 2, 0);
    old.swap(slots_);
    for (std::uint32_t s : old) {
      if (s == 0) continue;
      const auto [c, k] = key_of(s - 1);
      place(hash(c, k), s - 1);
    }
  }

  std::vector<std::uint32_t> slots_;
  std::size_t count_ = 0;
};

}  // namespace mycelium
