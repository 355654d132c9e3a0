#include <gtest/gtest.h>

#include "dot_store.h"

namespace mycelium {
namespace {

Cell entry(std::uint8_t field, std::uint16_t actor, std::uint32_t seq) {
  Cell c;
  c.field = field;
  c.actor = actor;
  c.seq = seq;
  return c;
}

bool has(const CellList& cells, std::uint16_t actor, std::uint32_t seq) {
  for (const Cell& c : cells) {
    if (!c.is_offset() && c.actor == actor && c.seq == seq) return true;
  }
  return false;
}

TEST(JoinRecord, KeepsLocalDotsTheSenderHasNotSeen) {
  CellList local = {entry(0, 0, 5)};
  join_record(local, {}, /*sender=*/{4, 0}, /*receiver=*/{5, 0});
  EXPECT_TRUE(has(local, 0, 5));
}

TEST(JoinRecord, DropsLocalDotsTheSenderSawAndRemoved) {
  CellList local = {entry(0, 0, 5)};
  join_record(local, {}, {5, 0}, {5, 0});
  EXPECT_TRUE(local.empty());
}

TEST(JoinRecord, AddsOnlyDotsTheReceiverHasNotSeen) {
  CellList local;
  const std::vector<Cell> incoming = {entry(0, 1, 2), entry(0, 1, 3)};
  // The receiver saw seq 2 of actor 1 already (and removed it): it stays removed.
  join_record(local, incoming, {0, 3}, {0, 2});
  EXPECT_FALSE(has(local, 1, 2));
  EXPECT_TRUE(has(local, 1, 3));
}

TEST(JoinRecord, SharedDotsAreKeptOnce) {
  CellList local = {entry(0, 0, 1)};
  join_record(local, std::vector<Cell>{entry(0, 0, 1)}, {1}, {1});
  EXPECT_EQ(local.size(), 1u);
}

TEST(JoinRecord, OffsetsJoinByTheGreaterSeq) {
  Cell old_off = entry(1, 2, 3);
  old_off.mark_offset();
  old_off.aux = 10;
  Cell new_off = entry(1, 2, 6);
  new_off.mark_offset();
  new_off.aux = 15;
  CellList local = {old_off};
  join_record(local, std::vector<Cell>{new_off}, {0, 0, 6}, {0, 0, 3});
  ASSERT_EQ(local.size(), 1u);
  EXPECT_EQ(local[0].aux, 15u);
  CellList other = {new_off};
  join_record(other, std::vector<Cell>{old_off}, {0, 0, 3}, {0, 0, 6});
  ASSERT_EQ(other.size(), 1u);
  EXPECT_EQ(other[0].aux, 15u);
}

}  // namespace
}  // namespace mycelium
