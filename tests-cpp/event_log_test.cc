#include <gtest/gtest.h>

#include <tuple>
#include <vector>

#include "event_log.h"

namespace mycelium {
namespace {

using Runs = std::vector<std::tuple<std::uint32_t, KeyScope, std::uint32_t, std::uint32_t>>;  // record, scope, first, count

Runs after(const EventLog& log, std::uint32_t seq) {
  Runs out;
  log.for_each_after(seq, [&](std::uint32_t r, KeyScope s, std::uint32_t first, std::uint32_t n) {
    out.emplace_back(r, s, first, n);
  });
  return out;
}

constexpr KeyScope kF0 = 1, kF1 = 2;

TEST(EventLog, ConsecutiveEventsOnOneRecordShareARun) {
  EventLog log;
  log.append(7, kF0);
  log.append(7, kF0);
  log.append(7, kF0);
  log.append(2, kF0);
  log.append(7, kF0, 4);  // seqs 5..8
  EXPECT_EQ(log.size(), 8u);
  EXPECT_EQ(after(log, 0), (Runs{{7, kF0, 1, 3}, {2, kF0, 4, 1}, {7, kF0, 5, 4}}));
  EXPECT_EQ(log.bytes_used() >= 3 * sizeof(EventLog::Run), true);
}

TEST(EventLog, LocalFieldWritesToOneRecordMergeTheirMasksUntilADeltaReadsThem) {
  EventLog log;
  log.append(7, field_scope(kScopePresenceField), 1, true);  // an insert
  log.append(7, kF0, 1, true);
  log.append(7, kF1, 1, true);
  EXPECT_EQ(after(log, 0), (Runs{{7, kPresenceScopeBit | kF0 | kF1, 1, 3}}));
  // A record delete widens the run to the whole record.
  log.append(7, kWholeRecord, 1, true);
  EXPECT_EQ(after(log, 0), (Runs{{7, kWholeRecord, 1, 4}}));
  log.seal();  // a delta read them: the next write on another key starts a run
  log.append(7, kF0, 1, true);
  log.append(7, kF0, 1, true);
  EXPECT_EQ(after(log, 4), (Runs{{7, kF0, 5, 2}}));
}

TEST(EventLog, JoinedRunsMergeOnlyWithTheirOwnScope) {
  EventLog log;
  log.append(3, kF0, 2);
  log.append(3, kF1, 1);  // not local: another scope stays apart
  log.append(3, kF1, 4);
  EXPECT_EQ(after(log, 0), (Runs{{3, kF0, 1, 2}, {3, kF1, 3, 5}}));
}

TEST(EventLog, ElementEventsKeepTheirOwnRuns) {
  EventLog log;
  const KeyScope a = element_scope(3, ValueView::string("a"));
  const KeyScope b = element_scope(3, ValueView::string("b"));
  ASSERT_NE(a, b);
  log.append(1, a);
  log.append(1, a);  // the same element again: one run
  log.append(1, b);
  log.append(1, kF0);
  EXPECT_EQ(after(log, 0), (Runs{{1, a, 1, 2}, {1, b, 3, 1}, {1, kF0, 4, 1}}));
}

TEST(EventLog, ForEachAfterStartsInsideARun) {
  EventLog log;
  log.append(1, kF0, 10);  // 1..10
  log.append(2, kF0, 5);   // 11..15
  EXPECT_EQ(after(log, 4), (Runs{{1, kF0, 5, 6}, {2, kF0, 11, 5}}));
  EXPECT_EQ(after(log, 10), (Runs{{2, kF0, 11, 5}}));
  EXPECT_EQ(after(log, 14), (Runs{{2, kF0, 15, 1}}));
  EXPECT_TRUE(after(log, 15).empty());
  EXPECT_TRUE(after(log, 99).empty());
}

TEST(EventLog, AHugeClaimedRunCostsOneEntry) {
  EventLog log;
  log.append(3, kWholeRecord, 0xfffffff0u);
  EXPECT_EQ(log.size(), 0xfffffff0u);
  EXPECT_LE(log.bytes_used(), 64u);
  EXPECT_EQ(after(log, 0xffffffe0u), (Runs{{3, kWholeRecord, 0xffffffe1u, 0x10}}));
  log.append(3, kWholeRecord, 0);  // no-op
  EXPECT_EQ(log.size(), 0xfffffff0u);
}

}  // namespace
}  // namespace mycelium
