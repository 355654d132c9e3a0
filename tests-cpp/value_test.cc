#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "value.h"

namespace mycelium {
namespace {

TEST(Value, TotalOrderIsTagThenValue) {
  const std::vector<Value> ascending = {
      std::monostate{}, false, true, std::int64_t{-5}, std::int64_t{3},
      -std::numeric_limits<double>::infinity(), -0.0, 0.0, 2.5, std::nan(""),
      std::string(""), std::string("a"), std::string("ab"), std::string("b"),
      Bytes{""}, Bytes{std::string("\0", 1)}, Bytes{"\xff"}};
  for (std::size_t i = 0; i < ascending.size(); ++i) {
    for (std::size_t j = 0; j < ascending.size(); ++j) {
      EXPECT_TRUE(compare(ascending[i], ascending[j]) == (i <=> j)) << i << " vs " << j;
    }
  }
}

TEST(Value, QueryOrderComparesNumbersByValueAcrossIntegersAndDoubles) {
  // Groups in ascending query order; values within a group are equivalent.
  const std::int64_t max = std::numeric_limits<std::int64_t>::max();
  const std::int64_t min = std::numeric_limits<std::int64_t>::min();
  const std::vector<std::vector<Value>> groups = {
      {std::monostate{}},
      {false},
      {true},
      {-std::numeric_limits<double>::infinity()},
      {-1e19},
      {min, -9223372036854775808.0},
      {std::int64_t{-5}, -5.0},
      {-4.5},
      {std::int64_t{0}, 0.0, -0.0},
      {0.25},
      {std::int64_t{1}, 1.0},
      {1.5},
      {std::int64_t{9007199254740993}},  // 2^53 + 1: a double cannot hold it
      {9007199254740994.0, std::int64_t{9007199254740994}},
      {max},
      {9223372036854775808.0},  // 2^63: above every int64
      {std::numeric_limits<double>::infinity()},
      {std::nan(""), -std::nan("")},
      {std::string("")},
      {std::string("a")},
      {std::string("\xc3\xa9")},          // U+00E9
      {std::string("\xee\x80\x80")},      // U+E000
      {std::string("\xf0\x9f\x98\x80")},  // U+1F600: code point order, as UTF-8 bytes
      {Bytes{""}},
      {Bytes{"\x01"}},
  };
  for (std::size_t i = 0; i < groups.size(); ++i) {
    for (std::size_t j = 0; j < groups.size(); ++j) {
      for (const Value& a : groups[i]) {
        for (const Value& b : groups[j]) {
          const auto got = query_order(view_of(a), view_of(b));
          EXPECT_TRUE((got < 0) == (i < j) && (got > 0) == (i > j)) << to_string(a) << " vs " << to_string(b);
        }
      }
    }
  }
}

TEST(Value, StoredFormRoundTripsInlineAndPooled) {
  StringPool pool;
  const std::vector<Value> values = {std::monostate{}, true, std::int64_t{-1}, 1e300, std::string("12345678"),
                                     std::string("123456789"), Bytes{std::string("\0\1", 2)},
                                     Bytes{std::string(100, '\7')}};
  for (const Value& v : values) {
    auto s = store_value(view_of(v), pool);
    ASSERT_TRUE(s.ok());
    EXPECT_TRUE(compare(to_value(load_value(*s, pool)), v) == 0) << to_string(v);
  }
  EXPECT_EQ(pool.size(), 3u);  // only the three strings longer than 7 bytes
  auto inline_string = *store_value(ValueView::string("1234567"), pool);
  EXPECT_TRUE(inline_string.vtag & 8);
  EXPECT_FALSE(inline_string.vtag & 0x80) << "bit 7 belongs to the cell layout";
}

TEST(Value, Utf8Validation) {
  EXPECT_TRUE(valid_utf8("plain"));
  EXPECT_TRUE(valid_utf8("h\xc3\xa9llo \xf0\x9f\x8d\x84"));
  EXPECT_FALSE(valid_utf8("\xc3"));              // truncated
  EXPECT_FALSE(valid_utf8("\xc0\xaf"));          // overlong
  EXPECT_FALSE(valid_utf8("\xed\xa0\x80"));      // surrogate
  EXPECT_FALSE(valid_utf8("\xf4\x90\x80\x80"));  // past U+10FFFF
  EXPECT_FALSE(valid_utf8("\xff"));
}

TEST(Value, ToStringForHumans) {
  EXPECT_EQ(to_string(Value{}), "null");
  EXPECT_EQ(to_string(Value{std::int64_t{42}}), "42");
  EXPECT_EQ(to_string(Value{std::string("hi")}), "\"hi\"");
  EXPECT_EQ(to_string(Value{Bytes{"\x01"}}), "b\"\\x01\"");
}

}  // namespace
}  // namespace mycelium
