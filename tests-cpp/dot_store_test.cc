#include <gtest/gtest.h>

#include "dot_store.h"

namespace mycelium {
namespace {

Cell entry(std::uint8_t field, std::uint16_t actor, std::uint32_t seq, CellType type = CellType::kPresence) {
  Cell c;
  c.type = type;
  c.field = field;
  c.actor = actor;
  c.seq = seq;
  return c;
}

Cell offset(std::uint8_t field, std::uint16_t actor, std::uint32_t seq, std::uint64_t total) {
  Cell c = entry(field, actor, seq, CellType::kOffset);
  c.aux = total;
  return c;
}

const StringPool kNoStrings;

bool has(const CellList& cells, std::uint16_t actor, std::uint32_t seq) {
  for (CellRef c : cells) {
    if (!c.is_offset() && c.actor() == actor && c.seq() == seq) return true;
  }
  return false;
}

TEST(CellList, EveryCellTypeRoundTripsThroughTheCompactLayout) {
  StringPool pool;
  Cell value = entry(3, 7, 99, CellType::kValue);
  value.aux = 0x123456789abcdefull;
  value.value = *store_value(ValueView::string("inline"), pool);
  Cell element = entry(4, 8, 100, CellType::kElement);
  element.value = *store_value(ValueView::string("a pooled element"), pool);
  Cell counter = entry(5, 9, 101, CellType::kCounter);
  counter.aux = static_cast<std::uint64_t>(-3);
  const Cell cells[] = {value, element, counter, offset(5, 10, 7, 42), entry(255, 65535, 0xffffffffu)};
  CellList list;
  for (const Cell& c : cells) list.push_back(c);
  EXPECT_EQ(list.size(), 5u);
  EXPECT_EQ(list.bytes_used() >= (3 + 2 + 2 + 2 + 1) * 8u, true);
  std::size_t i = 0;
  for (CellRef r : list) {
    const Cell& want = cells[i++];
    EXPECT_EQ(r.type(), want.type);
    EXPECT_EQ(r.seq(), want.seq);
    EXPECT_EQ(r.actor(), want.actor);
    EXPECT_EQ(r.field(), want.field);
    EXPECT_EQ(r.aux(), want.aux);
    if (want.type == CellType::kValue || want.type == CellType::kElement) {
      EXPECT_TRUE(equal(r.value(pool), load_value(want.value, pool)));
    }
  }
  list.erase_if([](CellRef r) { return r.type() == CellType::kElement || r.is_offset(); });
  EXPECT_EQ(list.size(), 3u);
  EXPECT_EQ((*list.begin()).value(pool).str, "inline");
}

TEST(CellList, EraseCountsThePooledBytesItDropsAndGivesCapacityBack) {
  StringPool pool;
  CellList list;
  const std::string long_value(40, 'v');  // pooled: 40 bytes and a 1-byte length
  for (std::uint32_t s = 1; s <= 100; ++s) {
    Cell c = entry(1, 0, s, CellType::kValue);
    c.value = *store_value(ValueView::string(s % 2 ? long_value : "short"), pool);
    list.push_back(c);
  }
  const std::size_t full = list.bytes_used();
  // 50 pooled cells (one shared string) and 49 inline ones go; one stays.
  const std::size_t dropped = list.erase_if([](CellRef r) { return r.seq() != 100; }, &pool);
  EXPECT_EQ(dropped, 50u * 41);
  EXPECT_EQ(list.size(), 1u);
  EXPECT_LT(list.bytes_used() * 4, full);
  EXPECT_EQ((*list.begin()).value(pool).str, "short");
  // Without a pool nothing is counted.
  CellList other;
  Cell c = entry(1, 0, 1, CellType::kValue);
  c.value = *store_value(ValueView::string(long_value), pool);
  other.push_back(c);
  EXPECT_EQ(other.erase_if([](CellRef) { return true; }), 0u);
  EXPECT_TRUE(other.empty());
}

TEST(CellList, PooledOffsetsCanBeRewrittenInPlace) {
  StringPool pool;
  Cell value = entry(1, 0, 1, CellType::kValue);
  value.aux = 77;
  value.value = *store_value(ValueView::string("first pooled string"), pool);
  Cell element = entry(2, 0, 2, CellType::kElement);
  element.value = *store_value(ValueView::string("second pooled string"), pool);
  Cell inline_value = entry(3, 0, 3, CellType::kValue);
  inline_value.value = *store_value(ValueView::string("inline"), pool);
  CellList list = {value, element, inline_value, entry(4, 0, 4, CellType::kCounter)};
  const std::uint32_t swapped = *pool.intern("a third one");
  std::size_t seen = 0;
  list.for_each_pooled([&](std::uint64_t& offset) {
    ++seen;
    if (offset == element.value.bits()) offset = swapped;
  });
  EXPECT_EQ(seen, 2u);
  std::vector<std::string> values;
  for (CellRef r : list) {
    if (r.type() == CellType::kValue || r.type() == CellType::kElement) values.emplace_back(r.value(pool).str);
  }
  EXPECT_EQ(values, (std::vector<std::string>{"first pooled string", "a third one", "inline"}));
  EXPECT_EQ((*list.begin()).aux(), 77u);  // the aux word is not the payload
}

TEST(JoinRecord, KeepsLocalDotsTheSenderHasNotSeen) {
  CellList local = {entry(0, 0, 5)};
  join_record(local, {}, /*sender=*/{4, 0}, /*receiver=*/{5, 0}, kNoStrings);
  EXPECT_TRUE(has(local, 0, 5));
}

TEST(JoinRecord, DropsLocalDotsTheSenderSawAndRemoved) {
  CellList local = {entry(0, 0, 5)};
  join_record(local, {}, {5, 0}, {5, 0}, kNoStrings);
  EXPECT_TRUE(local.empty());
}

TEST(JoinRecord, AddsOnlyDotsTheReceiverHasNotSeen) {
  CellList local;
  const std::vector<Cell> incoming = {entry(0, 1, 2), entry(0, 1, 3)};
  // The receiver saw seq 2 of actor 1 already (and removed it): it stays removed.
  join_record(local, incoming, {0, 3}, {0, 2}, kNoStrings);
  EXPECT_FALSE(has(local, 1, 2));
  EXPECT_TRUE(has(local, 1, 3));
}

TEST(JoinRecord, SharedDotsAreKeptOnce) {
  CellList local = {entry(0, 0, 1)};
  join_record(local, std::vector<Cell>{entry(0, 0, 1)}, {1}, {1}, kNoStrings);
  EXPECT_EQ(local.size(), 1u);
}

TEST(JoinRecord, LargeRecordsUseTheSameRule) {
  // 40 local elements; the sender saw all of them, kept the even ones and
  // added 10 of its own.
  CellList local;
  std::vector<Cell> incoming;
  for (std::uint32_t s = 1; s <= 40; ++s) {
    local.push_back(entry(2, 0, s, CellType::kPresence));
    if (s % 2 == 0) incoming.push_back(entry(2, 0, s, CellType::kPresence));
  }
  for (std::uint32_t s = 1; s <= 10; ++s) incoming.push_back(entry(2, 1, s, CellType::kPresence));
  join_record(local, incoming, {40, 10}, {40, 0}, kNoStrings);
  EXPECT_EQ(local.size(), 30u);
  EXPECT_FALSE(has(local, 0, 1));
  EXPECT_TRUE(has(local, 0, 2));
  EXPECT_TRUE(has(local, 1, 10));
}

TEST(JoinRecord, OffsetsJoinByTheGreaterSeq) {
  const Cell old_off = offset(1, 2, 3, 10);
  const Cell new_off = offset(1, 2, 6, 15);
  CellList local = {old_off};
  join_record(local, std::vector<Cell>{new_off}, {0, 0, 6}, {0, 0, 3}, kNoStrings);
  ASSERT_EQ(local.size(), 1u);
  EXPECT_EQ((*local.begin()).aux(), 15u);
  CellList other = {new_off};
  join_record(other, std::vector<Cell>{old_off}, {0, 0, 3}, {0, 0, 6}, kNoStrings);
  ASSERT_EQ(other.size(), 1u);
  EXPECT_EQ((*other.begin()).aux(), 15u);
}

}  // namespace
}  // namespace mycelium
