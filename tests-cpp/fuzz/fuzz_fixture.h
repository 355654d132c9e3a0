// The fixed stores the fuzzer works against, shared with the seed generator.
#pragma once

#include <random>

#include "random_ops.h"
#include "store.h"

namespace mycelium::fuzz {

inline Schema schema() { return testing::test_schema(); }

inline StoreOptions options(ActorId actor) {
  StoreOptions o;
  o.actor = actor;
  o.now = [] { return std::uint64_t{1'700'000'000'000}; };
  return o;
}

inline void writes(Store& s, std::uint64_t seed, int count) {
  std::mt19937_64 rng(seed);
  testing::random_writes(s, rng, count, 5);
}

// The store every input is applied to.
inline ByteVec target_snapshot() {
  auto s = std::move(Store::open(schema(), options(0x7a))).value();
  writes(*s, 1, 30);
  return s->save();
}

}  // namespace mycelium::fuzz
