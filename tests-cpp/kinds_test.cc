#include <gtest/gtest.h>

#include "kinds.h"

namespace mycelium {
namespace {

const std::vector<FieldSchema> kFields = {{"t", Kind::kLww}, {"n", Kind::kCounter}, {"s", Kind::kSet}};

Cell cell(std::uint8_t field, std::uint16_t actor, std::uint32_t seq, std::uint64_t aux, StringPool& pool,
          const ValueView& v = ValueView::null()) {
  Cell c;
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
  CellList cells = {cell(0, 1, 1, 50, pool, ValueView::integer(1)),
                             cell(0, 0, 1, 50, pool, ValueView::integer(2)),
                             cell(0, 1, 2, 40, pool, ValueView::integer(3))};
  const Cell* w = kinds::lww_winner(cells, 0, actors);
  ASSERT_NE(w, nullptr);
  EXPECT_EQ(load_value(w->value, pool).bits, 2u);
  EXPECT_EQ(kinds::lww_winner(cells, 2, actors), nullptr);
}

TEST(Kinds, AssignReplacesEveryEntryOfTheField) {
  StringPool pool;
  CellList cells = {cell(0, 0, 1, 1, pool), cell(0, 1, 1, 2, pool), cell(2, 0, 2, 0, pool)};
  kinds::assign(cells, cell(0, 0, 3, 9, pool));
  ASSERT_EQ(cells.size(), 2u);
  EXPECT_EQ(cells[1].seq, 3u);
}

TEST(Kinds, CounterKeepsOneEntryPerActorAndSubtractsOffsets) {
  StringPool pool;
  CellList cells;
  kinds::increment(cells, 1, 0, 1, 5);
  kinds::increment(cells, 1, 0, 2, 2);
  kinds::increment(cells, 1, 1, 1, -4);
  EXPECT_EQ(cells.size(), 2u);
  EXPECT_EQ(kinds::counter_value(cells, 1), 3);
  kinds::delete_record(cells, kFields);  // offsets: actor0 = 7, actor1 = -4
  EXPECT_FALSE(kinds::visible(cells));
  EXPECT_EQ(kinds::counter_value(cells, 1), 0);
  kinds::increment(cells, 1, 0, 3, 10);  // continues from the running total 7
  EXPECT_EQ(kinds::counter_value(cells, 1), 10);
  EXPECT_TRUE(kinds::visible(cells));
}

TEST(Kinds, SetAddRemoveAndDistinctSortedValues) {
  StringPool pool;
  CellList cells;
  kinds::set_add(cells, cell(2, 0, 1, 0, pool, ValueView::string("b")), pool);
  kinds::set_add(cells, cell(2, 1, 1, 0, pool, ValueView::string("a")), pool);
  kinds::set_add(cells, cell(2, 0, 2, 0, pool, ValueView::string("b")), pool);  // replaces its older add
  EXPECT_EQ(cells.size(), 2u);
  auto v = kinds::distinct_values(cells, 2, pool);
  ASSERT_EQ(v.size(), 2u);
  EXPECT_EQ(v[0].str, "a");
  kinds::set_remove(cells, 2, ValueView::string("a"), pool);
  v = kinds::distinct_values(cells, 2, pool);
  ASSERT_EQ(v.size(), 1u);
  EXPECT_EQ(v[0].str, "b");
}

}  // namespace
}  // namespace mycelium
