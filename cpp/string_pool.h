// StringPool: interns byte strings of a store into one arena.
//
// Each distinct string is stored once as [varint length][bytes] and named by
// its offset. An open-addressing table of offsets (at most 3/4 full) finds
// duplicates. Offsets stay valid until compact(); string_views do not
// survive the next intern().
//
// The pool does not count references: its owner knows which offsets are
// live and calls compact() with them, which moves those strings to the
// front (in offset order), frees the rest and says where each one went.
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
  // Adds s, which the caller knows is not in the pool yet, without indexing
  // it: the table is rebuilt on the next intern() (loading a snapshot adds
  // many distinct strings at once and may never intern again).
  Result<std::uint32_t> intern_new(std::string_view s);
  // Stores s without looking for a duplicate (and without the table).
  Result<std::uint32_t> append(std::string_view s);
  void reserve(std::size_t strings, std::size_t bytes);
  // Whether strings totalling `bytes` (lengths included) still fit.
  bool has_room(std::size_t bytes) const { return arena_.size() + bytes + 5 <= 0xfffffff0u; }  // arena room for strings totalling bytes
  std::string_view get(std::uint32_t offset) const;
  std::size_t size() const { return count_ + unindexed_.size(); }
  std::size_t arena_bytes() const { return arena_.size(); }  // strings and their length prefixes
  // Keeps only the strings at `live` (offsets of strings in the pool,
  // strictly increasing), freeing the rest and the arena's spare capacity;
  // afterwards live[i] is the string's new offset. Offsets not in `live`
  // are invalid.
  void compact(std::vector<std::uint32_t>& live);
  std::size_t bytes_used() const {
    return arena_.capacity() + (table_.capacity() + unindexed_.capacity()) * sizeof(std::uint32_t);
  }

 private:
  void grow();
  void rebuild();
  Status check_room(std::size_t n) const;
  std::uint32_t put(std::string_view s);
  std::vector<char> arena_;
  std::vector<std::uint32_t> table_;  // offset + 1, 0 = empty
  std::size_t count_ = 0;
  std::vector<std::uint32_t> unindexed_;  // offsets added by intern_new, not yet in table_
};

std::uint64_t hash_bytes(std::string_view s);

}  // namespace mycelium
