// Causality: actor ids, the hybrid logical clock and version vectors.
//
// Actor: a random 64-bit id, written as 16 lowercase hex digits.
// HLC:   48 bits of wall-clock milliseconds, 16 bits of counter, packed in a
//        uint64 so that integer order is clock order.
// VersionVector: actor -> highest seq seen. Under causal delivery (DESIGN.md)
//        every causal context is gap-free, so the vector *is* the context.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "status.h"

namespace mycelium {

using ActorId = std::uint64_t;

// A fresh random actor id (never 0).
ActorId random_actor();
std::string actor_to_hex(ActorId actor);
// Exactly 16 lowercase hex digits, not all zero.
Result<ActorId> actor_from_hex(std::string_view hex);

class HybridClock {
 public:
  static constexpr std::uint64_t kMaxMillis = (std::uint64_t{1} << 48) - 1;

  static std::uint64_t pack(std::uint64_t millis, std::uint32_t counter) {
    return (millis << 16) | (counter & 0xffffu);
  }
  static std::uint64_t millis(std::uint64_t hlc) { return hlc >> 16; }
  static std::uint32_t counter(std::uint64_t hlc) { return hlc & 0xffffu; }

  // Timestamp for a local event: greater than every timestamp issued or
  // observed before, also when the wall clock goes backwards. Saturates at
  // the maximum instead of wrapping.
  std::uint64_t now(std::uint64_t wall_millis);
  // Takes a remote timestamp into account (on join).
  void observe(std::uint64_t hlc) {
    if (hlc > last_) last_ = hlc;
  }
  std::uint64_t last() const { return last_; }

 private:
  std::uint64_t last_ = 0;
};

class VersionVector {
 public:
  using Entry = std::pair<ActorId, std::uint64_t>;

  VersionVector() = default;
  // Entries in any order; zero seqs are dropped, duplicate actors keep the max.
  static VersionVector from_entries(std::vector<Entry> entries);

  std::uint64_t get(ActorId actor) const;
  // Raises the entry for actor to seq (never lowers it).
  void raise(ActorId actor, std::uint64_t seq);
  bool covers(ActorId actor, std::uint64_t seq) const { return seq <= get(actor); }
  // True when every entry of other is covered by this vector.
  bool covers(const VersionVector& other) const;
  void merge(const VersionVector& other);

  const std::vector<Entry>& entries() const { return entries_; }  // sorted by actor
  bool empty() const { return entries_.empty(); }
  std::uint64_t total() const;  // sum of seqs: number of events covered

  friend bool operator==(const VersionVector&, const VersionVector&) = default;

 private:
  std::vector<Entry> entries_;
};

// "{a1b2…:3, …}" for logs and test failure messages.
std::string to_string(const VersionVector& vv);

}  // namespace mycelium
