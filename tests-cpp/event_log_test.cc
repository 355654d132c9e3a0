#include <gtest/gtest.h>

#include <tuple>
#include <vector>

#include "event_log.h"

namespace mycelium {
namespace {

using Runs = std::vector<std::tuple<std::uint32_t, std::uint32_t, std::uint32_t>>;  // record, first, count

Runs after(const EventLog& log, std::uint32_t seq) {
  Runs out;
  log.for_each_after(seq, [&](std::uint32_t r, std::uint32_t first, std::uint32_t n) { out.emplace_back(r, first, n); });
  return out;
}

TEST(EventLog, ConsecutiveEventsOnOneRecordShareARun) {
  EventLog log;
  log.append(7);
  log.append(7);
  log.append(7);
  log.append(2);
  log.append(7, 4);  // seqs 5..8
  EXPECT_EQ(log.size(), 8u);
  EXPECT_EQ(after(log, 0), (Runs{{7, 1, 3}, {2, 4, 1}, {7, 5, 4}}));
  EXPECT_EQ(log.bytes_used() >= 3 * sizeof(EventLog::Run), true);
}

TEST(EventLog, ForEachAfterStartsInsideARun) {
  EventLog log;
  log.append(1, 10);  // 1..10
  log.append(2, 5);   // 11..15
  EXPECT_EQ(after(log, 4), (Runs{{1, 5, 6}, {2, 11, 5}}));
  EXPECT_EQ(after(log, 10), (Runs{{2, 11, 5}}));
  EXPECT_EQ(after(log, 14), (Runs{{2, 15, 1}}));
  EXPECT_TRUE(after(log, 15).empty());
  EXPECT_TRUE(after(log, 99).empty());
}

TEST(EventLog, AHugeClaimedRunCostsOneEntry) {
  EventLog log;
  log.append(3, 0xfffffff0u);
  EXPECT_EQ(log.size(), 0xfffffff0u);
  EXPECT_LE(log.bytes_used(), 64u);
  EXPECT_EQ(after(log, 0xffffffe0u), (Runs{{3, 0xffffffe1u, 0x10}}));
  log.append(3, 0);  // no-op
  EXPECT_EQ(log.size(), 0xfffffff0u);
}

}  // namespace
}  // namespace mycelium
