// Shared helpers for the engine tests.
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "random_ops.h"
#include "store.h"

namespace mycelium::testing {

// A deterministic clock: each call advances by `step` ms (0 = stands still).
struct FakeClock {
  std::uint64_t ms = 1'700'000'000'000;
  std::int64_t step = 1;
  std::uint64_t operator()() { return ms += static_cast<std::uint64_t>(step); }
};

// stream_cells_above: 0 joins every delta streamed (delta.h).
inline std::unique_ptr<Store> open_store(ActorId actor, std::shared_ptr<FakeClock> clock = nullptr,
                                         Schema schema = test_schema(),
                                         std::size_t stream_cells_above = kStreamCellsAbove) {
  if (!clock) clock = std::make_shared<FakeClock>();
  StoreOptions o;
  o.actor = actor;
  o.stream_cells_above = stream_cells_above;
  o.now = [clock] { return (*clock)(); };
  auto s = Store::open(std::move(schema), o);
  EXPECT_TRUE(s.ok());
  return std::move(s).value();
}

inline std::unique_ptr<Store> reopen(const Store& s, std::size_t stream_cells_above = kStreamCellsAbove) {
  StoreOptions o;
  o.actor = s.actor();
  o.stream_cells_above = stream_cells_above;
  auto bytes = s.save();
  auto r = Store::load(s.schema(), bytes, o);
  EXPECT_TRUE(r.ok()) << r.status().to_string();
  return std::move(r).value();
}

inline bool same(const Value& a, const Value& b) { return compare(a, b) == 0; }

inline void must(const Status& st) { ASSERT_TRUE(st.ok()) << st.to_string(); }

// Applies every delta until both have each other's events.
inline void sync_pair(Store& a, Store& b) {
  auto ab = b.apply(a.delta_since(b.version()));
  ASSERT_TRUE(ab.ok()) << ab.status().to_string();
  auto ba = a.apply(b.delta_since(a.version()));
  ASSERT_TRUE(ba.ok()) << ba.status().to_string();
}

}  // namespace mycelium::testing
