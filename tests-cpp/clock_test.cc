#include <gtest/gtest.h>

#include "clock.h"

namespace mycelium {
namespace {

TEST(Actor, HexRoundTripAndValidation) {
  EXPECT_EQ(actor_to_hex(0x00ab00cd00ef0012ull), "00ab00cd00ef0012");
  EXPECT_EQ(*actor_from_hex("00ab00cd00ef0012"), 0x00ab00cd00ef0012ull);
  EXPECT_FALSE(actor_from_hex("00AB00CD00EF0012").ok());  // lowercase only
  EXPECT_FALSE(actor_from_hex("abc").ok());
  EXPECT_FALSE(actor_from_hex("0000000000000000").ok());
  EXPECT_NE(random_actor(), 0u);
  EXPECT_NE(random_actor(), random_actor());
}

TEST(Hlc, IncreasesWhenTheWallClockStandsStillOrGoesBack) {
  HybridClock c;
  const auto a = c.now(1000);
  EXPECT_EQ(HybridClock::millis(a), 1000u);
  EXPECT_EQ(HybridClock::counter(a), 0u);
  const auto b = c.now(1000);
  EXPECT_GT(b, a);
  EXPECT_EQ(HybridClock::counter(b), 1u);
  const auto back = c.now(500);  // clock went backwards
  EXPECT_GT(back, b);
  EXPECT_EQ(HybridClock::millis(back), 1000u);
  const auto fwd = c.now(2000);
  EXPECT_EQ(fwd, HybridClock::pack(2000, 0));
}

TEST(Hlc, ObservingARemoteClockMovesPastIt) {
  HybridClock c;
  c.now(100);
  c.observe(HybridClock::pack(5000, 7));
  EXPECT_EQ(c.now(100), HybridClock::pack(5000, 8));
}

TEST(Hlc, CounterOverflowCarriesAndMaximumSaturates) {
  HybridClock c;
  c.observe(HybridClock::pack(10, 0xffff));
  EXPECT_EQ(c.now(0), HybridClock::pack(11, 0));
  c.observe(UINT64_MAX);
  EXPECT_EQ(c.now(0), UINT64_MAX);
  EXPECT_EQ(c.now(0), UINT64_MAX);
}

TEST(VersionVector, CoversMergesAndStaysSorted) {
  auto a = VersionVector::from_entries({{3, 2}, {1, 5}, {3, 4}, {9, 0}});
  EXPECT_EQ(a.entries().size(), 2u);  // zero dropped, duplicates keep the max
  EXPECT_EQ(a.get(3), 4u);
  EXPECT_EQ(a.get(1), 5u);
  EXPECT_EQ(a.get(2), 0u);
  EXPECT_TRUE(a.covers(1, 5));
  EXPECT_FALSE(a.covers(1, 6));
  auto b = VersionVector::from_entries({{2, 1}, {3, 1}});
  EXPECT_FALSE(a.covers(b));
  a.merge(b);
  EXPECT_TRUE(a.covers(b));
  EXPECT_EQ(a.total(), 10u);
  EXPECT_EQ(a.entries().front().first, 1u);
  EXPECT_EQ(to_string(VersionVector::from_entries({{1, 2}})), "{0000000000000001:2}");
  a.raise(1, 3);  // never lowers
  EXPECT_EQ(a.get(1), 5u);
}

}  // namespace
}  // namespace mycelium
