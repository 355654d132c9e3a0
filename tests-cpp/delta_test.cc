#include <gtest/gtest.h>

#include "delta.h"

namespace mycelium {
namespace {

// A small hand-built delta: one record with an lww entry and a presence.
DeltaData sample() {
  DeltaData d;
  d.collections.push_back({"todos", {{"title", Kind::kLww}, {"votes", Kind::kCounter}}});
  d.actors = {0x10, 0x20};
  d.base = {{0, 1}};
  d.context = {{0, 3}, {1, 1}};
  d.records.push_back({0, "milk", 0, 3});
  // events: actor 0 seqs 2,3; actor 1 seq 1 — all on record 0
  d.events = {{0, 0, 2, 2}, {1, 0, 1, 1}};
  d.cells.push_back(d.make_cell(0, false, 0, 3, 77, ValueView::string("buy milk today")));
  d.cells.push_back(d.make_cell(1, false, 1, 1, 5, ValueView::null()));
  d.cells.push_back(d.make_cell(kPresenceField, false, 0, 2, 0, ValueView::null()));
  return d;
}

TEST(Delta, EncodeDecodeRoundTrip) {
  const DeltaData d = sample();
  const ByteVec bytes = encode_delta(d);
  auto back = decode_delta(bytes);
  ASSERT_TRUE(back.ok()) << back.status().to_string();
  EXPECT_EQ(back->actors, d.actors);
  EXPECT_EQ(back->base, d.base);
  EXPECT_EQ(back->context, d.context);
  ASSERT_EQ(back->cells.size(), 3u);
  EXPECT_EQ(back->value(back->cells[0]).str, "buy milk today");
  EXPECT_EQ(back->cells[0].aux, 77u);
  EXPECT_EQ(back->records[0].id, "milk");
  EXPECT_EQ(encode_delta(*back), bytes);  // canonical
}

TEST(Delta, AStreamedDeltaKeepsNoCellAndDecodesTheSameCellsAgain) {
  const DeltaData d = sample();
  const ByteVec bytes = encode_delta(d);
  auto whole = decode_delta(bytes);
  auto streamed = decode_delta(bytes, nullptr, 0);
  ASSERT_TRUE(whole.ok() && streamed.ok());
  ASSERT_TRUE(streamed->streamed.has_value());
  EXPECT_TRUE(streamed->cells.empty());
  EXPECT_EQ(streamed->cell_total, 3u);
  const auto cells = streamed->all_cells();
  ASSERT_EQ(cells.size(), whole->cells.size());
  for (std::size_t i = 0; i < cells.size(); ++i) {
    EXPECT_EQ(cells[i].field, whole->cells[i].field);
    EXPECT_EQ(cells[i].actor, whole->cells[i].actor);
    EXPECT_EQ(cells[i].seq, whole->cells[i].seq);
    EXPECT_EQ(cells[i].aux, whole->cells[i].aux);
    EXPECT_EQ(streamed->value(cells[i]).str, whole->value(whole->cells[i]).str);
  }
  // for_each_record hands each record its own cells, in order, twice alike.
  for (int pass = 0; pass < 2; ++pass) {
    std::uint32_t seen = 0;
    streamed->for_each_record([&](std::uint32_t r, std::span<const DeltaData::Cell> c) {
      EXPECT_EQ(r, seen++);
      EXPECT_EQ(c.size(), streamed->records[r].cell_count);
    });
    EXPECT_EQ(seen, 1u);
  }
  EXPECT_EQ(encode_delta(*streamed), bytes);
}

ByteVec encoded_with(void (*edit)(DeltaData&)) {
  DeltaData d = sample();
  edit(d);
  return encode_delta(d);
}

// Refused the same way whether decoded whole or streamed.
void expect_corrupt(void (*edit)(DeltaData&), const char* text) {
  for (std::size_t stream_above : {kStreamCellsAbove, std::size_t{0}}) {
    auto r = decode_delta(encoded_with(edit), nullptr, stream_above);
    ASSERT_FALSE(r.ok()) << "accepted: " << text;
    EXPECT_EQ(r.status().code(), Code::kCorrupt);
    EXPECT_NE(r.status().message().find(text), std::string::npos) << r.status().to_string();
  }
}

TEST(Delta, SemanticChecksNameTheProblem) {
  expect_corrupt([](DeltaData& d) { d.cells[0].seq = 4; }, "not covered by the context");
  expect_corrupt([](DeltaData& d) { d.base = {{0, 4}}; }, "base vector is ahead");
  expect_corrupt([](DeltaData& d) { std::swap(d.cells[0], d.cells[1]); }, "canonical order");
  expect_corrupt([](DeltaData& d) { d.actors = {0x20, 0x10}; }, "strictly increasing");
  expect_corrupt([](DeltaData& d) { d.set_value(d.cells[1], ValueView::integer(3)); }, "valueless");
  expect_corrupt([](DeltaData& d) { d.cells[0].offset = true; }, "offset cell outside a counter");
  expect_corrupt([](DeltaData& d) { d.set_value(d.cells[0], ValueView::string("\xff")); }, "UTF-8");
  expect_corrupt([](DeltaData& d) { d.records[0].id = ""; }, "1 to 256 bytes");
  expect_corrupt([](DeltaData& d) { d.kind = PayloadKind::kSnapshot; }, "empty base");
  expect_corrupt(
      [](DeltaData& d) {
        d.records.push_back({0, "zzz", 3, 0});  // no event touches it
      },
      "not touched by any event");
  expect_corrupt(
      [](DeltaData& d) {
        d.records.push_back({0, "zzz", 3, 0});
        // actor 0 seq 3 now targets "zzz" but its cell is in "milk"
        d.events = {{0, 0, 2, 1}, {0, 1, 3, 1}, {1, 0, 1, 1}};
      },
      "another record's event");
  expect_corrupt(
      [](DeltaData& d) {
        d.cells[2] = d.cells[0];
        d.cells[2].field = 1;  // the same dot on two keys
        d.set_value(d.cells[2], ValueView::null());
        std::swap(d.cells[1], d.cells[2]);
        d.cells[2].field = 1;
      },
      "");
  expect_corrupt(
      [](DeltaData& d) {
        d.cells[1].offset = true;  // offset at seq 1, then an entry of the same actor at seq 1
        d.cells.insert(d.cells.begin() + 1, d.make_cell(1, false, 1, 1, 5, ValueView::null()));
        d.records[0].cell_count = 4;
      },
      "older than its offset");
}

TEST(Delta, UnknownKindAndFieldOutOfRange) {
  expect_corrupt([](DeltaData& d) { d.cells[1].field = 5; }, "field out of range");
  ByteVec b = encode_delta(sample());
  // Find the kind byte of "title" (0) right after the name index: patch via
  // decode -> re-encode is not possible for an invalid kind, so scan.
  auto u = unframe(b);
  ASSERT_TRUE(u.ok());
  ByteVec p(u->payload.begin(), u->payload.end());
  // strings: count=4 ("todos","title","votes","milk"...), so collection section
  // starts after them; the first field's kind follows its name index.
  std::size_t at = 1;
  for (int i = 0; i < 5; ++i) at += 1 + p[at];
  // at -> collections count(1), name(1), field count(1), field name(1), kind
  ASSERT_EQ(p[at], 1);
  p[at + 4] = 9;
  auto r = decode_delta(frame(PayloadKind::kDelta, p));
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("unknown field kind"), std::string::npos) << r.status().to_string();
}


// --- allocation bounded by the input (issue 13) -------------------------------

// A payload of `n` strings, mostly empty, every 512th one byte of noise: it
// compresses 20-200x, and its string table would take 16 bytes per
// input byte.
ByteVec string_bomb(std::size_t n) {
  Writer w;
  w.varint(n);
  std::uint32_t x = 12345;
  for (std::size_t i = 0; i < n; ++i) {
    if (i % 512 == 0) {
      x = x * 1103515245u + 12345u;
      w.varint(1);
      w.u8(static_cast<std::uint8_t>(x >> 16));
    } else {
      w.varint(0);
    }
  }
  return frame(PayloadKind::kDelta, w.view());
}

TEST(DeltaBudget, ACompressedInputThatWouldDecodeIntoMoreThanItsBudgetIsLimitExceeded) {
  if (!can_compress()) GTEST_SKIP() << "this build has no compressor";
  const ByteVec bomb = string_bomb(std::size_t{24} << 20);
  ASSERT_EQ(bomb[4] & kFlagCompressed, kFlagCompressed);
  const std::size_t decoded_tables = (std::size_t{24} << 20) * sizeof(std::string_view);
  ASSERT_GT(decoded_tables, decode_budget(bomb.size())) << "the bomb must outgrow its budget";
  auto r = decode_delta(bomb);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kLimitExceeded) << r.status().to_string();
}

TEST(DeltaBudget, TheBudgetIsAFloorOrAConstantTimesTheInputWithAHardCap) {
  EXPECT_EQ(decode_budget(0), kDecodeFloorBytes);
  EXPECT_EQ(decode_budget(std::size_t{1} << 20), (std::size_t{1} << 20) * kDecodeBytesPerInputByte);
  EXPECT_EQ(decode_budget(std::size_t{1} << 40), kDecodeMaxBytes);
}

}  // namespace
}  // namespace mycelium
