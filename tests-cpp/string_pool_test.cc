#include <gtest/gtest.h>

#include <string>

#include "string_pool.h"

namespace mycelium {
namespace {

TEST(StringPool, InternsOnceAndKeepsOffsetsStableAcrossGrowth) {
  StringPool pool;
  std::vector<std::uint32_t> offsets;
  for (int i = 0; i < 5000; ++i) offsets.push_back(*pool.intern("string number " + std::to_string(i)));
  EXPECT_EQ(pool.size(), 5000u);
  for (int i = 0; i < 5000; ++i) {
    EXPECT_EQ(pool.get(offsets[static_cast<std::size_t>(i)]), "string number " + std::to_string(i));
    EXPECT_EQ(*pool.intern("string number " + std::to_string(i)), offsets[static_cast<std::size_t>(i)]);
  }
  EXPECT_EQ(pool.size(), 5000u);
}

TEST(StringPool, EmptyAndBinaryStrings) {
  StringPool pool;
  auto e = *pool.intern("");
  auto b = *pool.intern(std::string("\0\0\1", 3));
  EXPECT_EQ(pool.get(e), "");
  EXPECT_EQ(pool.get(b), std::string("\0\0\1", 3));
  EXPECT_NE(e, b);
}

}  // namespace
}  // namespace mycelium

namespace mycelium {
namespace {

TEST(StringPool, StringsAddedUnindexedAreFoundByTheNextIntern) {
  StringPool pool;
  std::vector<std::uint32_t> added;
  for (int i = 0; i < 1000; ++i) added.push_back(*pool.intern_new("bulk string " + std::to_string(i)));
  EXPECT_EQ(pool.size(), 1000u);
  for (int i = 0; i < 1000; ++i) {
    EXPECT_EQ(*pool.intern("bulk string " + std::to_string(i)), added[static_cast<std::size_t>(i)]);
  }
  EXPECT_EQ(pool.size(), 1000u);
  EXPECT_NE(*pool.intern("a new one, not bulk"), added.back());
  EXPECT_EQ(pool.size(), 1001u);
}

}  // namespace
}  // namespace mycelium

namespace mycelium {
namespace {

TEST(StringPool, CompactKeepsTheLiveStringsFindableAndFreesTheRest) {
  StringPool pool;
  std::vector<std::uint32_t> offsets;
  for (int i = 0; i < 2000; ++i) offsets.push_back(*pool.intern("value number " + std::to_string(i) + std::string(50, 'x')));
  const std::size_t before = pool.bytes_used();
  std::vector<std::uint32_t> live;
  for (int i = 0; i < 2000; i += 10) live.push_back(offsets[static_cast<std::size_t>(i)]);
  std::vector<std::uint32_t> moved = live;
  pool.compact(moved);
  EXPECT_EQ(pool.size(), 200u);
  EXPECT_LT(pool.bytes_used() * 5, before);
  for (std::size_t k = 0; k < moved.size(); ++k) {
    const std::string want = "value number " + std::to_string(k * 10) + std::string(50, 'x');
    EXPECT_EQ(pool.get(moved[k]), want);
    EXPECT_EQ(*pool.intern(want), moved[k]);  // found again, not added
  }
  EXPECT_EQ(pool.size(), 200u);
  // A freed string comes back as a new one.
  const std::uint32_t again = *pool.intern("value number 1" + std::string(50, 'x'));
  EXPECT_EQ(pool.size(), 201u);
  EXPECT_EQ(pool.get(again), "value number 1" + std::string(50, 'x'));
  std::vector<std::uint32_t> none;
  pool.compact(none);
  EXPECT_EQ(pool.size(), 0u);
  EXPECT_EQ(pool.arena_bytes(), 0u);
}

}  // namespace
}  // namespace mycelium
