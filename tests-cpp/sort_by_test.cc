#include "sort_by.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <string>
#include <vector>

namespace mycelium {
namespace {

struct Item {
  int key;
  int tag;  // which input position it came from
};

// Every length around the switch from insertion to the shared index sort,
// with many equal keys: the same keys as std::sort gives, and every item
// kept exactly once.
TEST(SortBy, SortsShortAndLongRangesLikeStdSortAndKeepsEveryItem) {
  std::mt19937 rng(7);
  for (std::size_t n : {0u, 1u, 2u, 3u, 15u, 16u, 17u, 33u, 1000u, 20000u}) {
    std::vector<Item> items(n);
    for (std::size_t i = 0; i < n; ++i) items[i] = {static_cast<int>(rng() % (n / 3 + 1)) - 5, static_cast<int>(i)};
    std::vector<int> expected;
    for (const Item& x : items) expected.push_back(x.key);
    std::sort(expected.begin(), expected.end());
    sort_by(std::span(items), [](const Item& a, const Item& b) { return a.key < b.key; });
    std::vector<int> keys, tags;
    for (const Item& x : items) {
      keys.push_back(x.key);
      tags.push_back(x.tag);
    }
    EXPECT_EQ(keys, expected) << n;
    std::sort(tags.begin(), tags.end());
    for (std::size_t i = 0; i < n; ++i) ASSERT_EQ(tags[i], static_cast<int>(i)) << n;
  }
}

TEST(SortBy, UsesTheCallersOrderAndSortsAPartOfAVector) {
  std::vector<std::string> words = {"pear", "fig", "apple", "kiwi", "banana", "date", "cherry", "lime", "plum", "grape",
                                    "melon", "lemon", "mango", "olive", "peach", "quince", "raisin", "sloe", "yuzu", "ugli"};
  auto by_length_then_text = [](const std::string& a, const std::string& b) {
    return a.size() != b.size() ? a.size() < b.size() : a < b;
  };
  std::vector<std::string> expected(words.begin() + 2, words.end());
  std::sort(expected.begin(), expected.end(), by_length_then_text);
  sort_by(std::span(words).subspan(2), by_length_then_text);
  EXPECT_EQ(words[0], "pear");  // before the part: untouched
  EXPECT_EQ(words[1], "fig");
  EXPECT_EQ(std::vector<std::string>(words.begin() + 2, words.end()), expected);
}

}  // namespace
}  // namespace mycelium
