#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

#include "id_index.h"

namespace mycelium {
namespace {

struct Keys {
  std::vector<std::pair<std::uint16_t, std::string>> keys;
  auto key_of() const {
    return [this](std::uint32_t i) { return std::pair{keys[i].first, std::string_view(keys[i].second)}; };
  }
};

TEST(IdIndex, FindsEveryKeyAcrossGrowthAndKeepsCollectionsApart) {
  Keys k;
  IdIndex index;
  for (std::uint32_t i = 0; i < 20000; ++i) {
    k.keys.emplace_back(static_cast<std::uint16_t>(i % 3), "id-" + std::to_string(i / 3));
    index.insert(k.keys.back().first, k.keys.back().second, i, k.key_of());
  }
  for (std::uint32_t i = 0; i < 20000; ++i) {
    EXPECT_EQ(index.find(k.keys[i].first, k.keys[i].second, k.key_of()), static_cast<std::int64_t>(i));
  }
  // Same id, other collection; and absent ids.
  EXPECT_EQ(index.find(0, "id-1", k.key_of()), 3);
  EXPECT_EQ(index.find(1, "id-1", k.key_of()), 4);
  EXPECT_EQ(index.find(5, "id-1", k.key_of()), -1);
  EXPECT_EQ(index.find(0, "nope", k.key_of()), -1);
  // At most 3/4 full: 20,000 keys fit in 32,768 slots.
  EXPECT_EQ(index.bytes_used(), 32768u * 4);
}

TEST(IdIndex, ReserveSizesOnce) {
  Keys k;
  IdIndex index;
  index.reserve(1000, k.key_of());
  const std::size_t sized = index.bytes_used();
  for (std::uint32_t i = 0; i < 1000; ++i) {
    k.keys.emplace_back(0, std::to_string(i));
    index.insert(0, k.keys.back().second, i, k.key_of());
  }
  EXPECT_EQ(index.bytes_used(), sized);
}

}  // namespace
}  // namespace mycelium
