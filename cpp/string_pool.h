// StringPool: interns byte strings of a store into one arena.
//
// Each distinct string is stored once as [u32 length][bytes] and named by its
// offset. An open-addressing table of offsets finds duplicates. Offsets stay
// valid for the pool's life; string_views do not survive the next intern().
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

#include "status.h"

namespace mycelium {

class StringPool {
 public:
  StringPool();
  Result<std::uint32_t> intern(std::string_view s);
  // Stores s without looking for a duplicate (and without the table).
  Result<std::uint32_t> append(std::string_view s);
  void reserve(std::size_t strings, std::size_t bytes);
  std::string_view get(std::uint32_t offset) const;
  std::size_t size() const { return count_; }
  std::size_t bytes_used() const { return arena_.capacity() + table_.capacity() * sizeof(std::uint32_t); }

 private:
  void grow();
  Status check_room(std::size_t n) const;
  std::uint32_t put(std::string_view s);
  std::vector<char> arena_;
  std::vector<std::uint32_t> table_;  // offset + 1, 0 = empty
  std::size_t count_ = 0;
};

std::uint64_t hash_bytes(std::string_view s);

}  // namespace mycelium
