#include <gtest/gtest.h>

#include "kinds.h"

namespace mycelium {
namespace {

Cell cell(CellType type, std::uint8_t field, std::uint16_t actor, std::uint32_t seq, std::uint64_t aux,
          StringPool& pool, const ValueView& v = ValueView::null()) {
  Cell c;
  c.type = type;
  c.field = field;
  c.actor = actor;
  c.seq = seq;
  c.aux = aux;
  c.value = *store_value(v, pool);
  return c;
}

TEST(Kinds, LwwPicksGreatestHlcThenActorId) {
  StringPool pool;
  const std::vector<ActorId> actors = {0x900, 0x100};  // index 0 has the greater id
  CellList cells = {cell(CellType::kValue, 0, 1, 1, 50, pool, ValueView::integer(1)),
                    cell(CellType::kValue, 0, 0, 1, 50, pool, ValueView::integer(2)),
                    cell(CellType::kValue, 0, 1, 2, 40, pool, ValueView::integer(3))};
  const auto w = kinds::lww_winner(cells, 0, actors);
  ASSERT_TRUE(w.has_value());
  EXPECT_EQ(w->value(pool).bits, 2u);
  EXPECT_FALSE(kinds::lww_winner(cells, 2, actors).has_value());
}

TEST(Kinds, AssignReplacesEveryEntryOfTheField) {
  StringPool pool;
  CellList cells = {cell(CellType::kValue, 0, 0, 1, 1, pool), cell(CellType::kValue, 0, 1, 1, 2, pool),
                    cell(CellType::kElement, 2, 0, 2, 0, pool, ValueView::string("x"))};
  kinds::assign(cells, cell(CellType::kValue, 0, 0, 3, 9, pool), pool);
  ASSERT_EQ(cells.size(), 2u);
  std::uint32_t seq0 = 0;
  for (CellRef c : cells) {
    if (c.field() == 0) seq0 = c.seq();
  }
  EXPECT_EQ(seq0, 3u);
}

TEST(Kinds, CounterKeepsOneEntryPerActorAndSubtractsOffsets) {
  const StringPool pool;
  CellList cells;
  kinds::increment(cells, 1, 0, 1, 5);
  kinds::increment(cells, 1, 0, 2, 2);
  kinds::increment(cells, 1, 1, 1, -4);
  EXPECT_EQ(cells.size(), 2u);
  EXPECT_EQ(kinds::counter_value(cells, 1), 3);
  kinds::delete_record(cells, pool);  // offsets: actor0 = 7, actor1 = -4
  EXPECT_FALSE(kinds::visible(cells));
  EXPECT_EQ(kinds::counter_value(cells, 1), 0);
  kinds::increment(cells, 1, 0, 3, 10);  // continues from the running total 7
  EXPECT_EQ(kinds::counter_value(cells, 1), 10);
  EXPECT_TRUE(kinds::visible(cells));
  kinds::delete_record(cells, pool);  // replaces actor 0's offset
  EXPECT_EQ(cells.size(), 2u);
  EXPECT_EQ(kinds::counter_value(cells, 1), 0);
}

TEST(Kinds, SetAddRemoveAndDistinctSortedValues) {
  StringPool pool;
  CellList cells;
  kinds::set_add(cells, cell(CellType::kElement, 2, 0, 1, 0, pool, ValueView::string("b")), pool);
  kinds::set_add(cells, cell(CellType::kElement, 2, 1, 1, 0, pool, ValueView::string("a")), pool);
  kinds::set_add(cells, cell(CellType::kElement, 2, 0, 2, 0, pool, ValueView::string("b")), pool);  // replaces
  EXPECT_EQ(cells.size(), 2u);
  auto v = kinds::distinct_values(cells, 2, pool);
  ASSERT_EQ(v.size(), 2u);
  EXPECT_EQ(v[0].str, "a");
  EXPECT_TRUE(kinds::contains(cells, 2, ValueView::string("a"), pool));
  kinds::set_remove(cells, 2, ValueView::string("a"), pool);
  EXPECT_FALSE(kinds::contains(cells, 2, ValueView::string("a"), pool));
  v = kinds::distinct_values(cells, 2, pool);
  ASSERT_EQ(v.size(), 1u);
  EXPECT_EQ(v[0].str, "b");
}

}  // namespace
}  // namespace mycelium
