#include <gtest/gtest.h>

#include <limits>

#include "codec.h"
#include "delta.h"

namespace mycelium {
namespace {

TEST(Codec, VarintsAndZigzagRoundTrip) {
  const std::uint64_t u[] = {0, 1, 127, 128, 300, 1ull << 35, ~0ull};
  const std::int64_t z[] = {0, -1, 1, -64, 64, std::numeric_limits<std::int64_t>::min(),
                            std::numeric_limits<std::int64_t>::max()};
  Writer w;
  for (auto v : u) w.varint(v);
  for (auto v : z) w.zigzag(v);
  w.fixed64(0x0102030405060708ull);
  w.bytes("abc");
  ByteVec b = w.take();
  Reader r(b);
  for (auto v : u) {
    std::uint64_t got;
    ASSERT_TRUE(r.varint(got, "u"));
    EXPECT_EQ(got, v);
  }
  for (auto v : z) {
    std::int64_t got;
    ASSERT_TRUE(r.zigzag(got, "z"));
    EXPECT_EQ(got, v);
  }
  std::uint64_t f;
  ASSERT_TRUE(r.fixed64(f, "f"));
  EXPECT_EQ(f, 0x0102030405060708ull);
  std::string_view s;
  ASSERT_TRUE(r.bytes(s, "s"));
  EXPECT_EQ(s, "abc");
  EXPECT_EQ(r.remaining(), 0u);
  Writer x;
  x.varint(128);
  EXPECT_EQ(x.take(), (ByteVec{0x80, 0x01}));  // LEB128, low group first
}

TEST(Codec, ReaderReportsTheFirstProblemWithItsOffset) {
  const ByteVec b = {0x80, 0x80};
  Reader r(b);
  std::uint64_t v;
  EXPECT_FALSE(r.varint(v, "record count"));
  EXPECT_EQ(r.status().code(), Code::kCorrupt);
  EXPECT_NE(r.status().message().find("record count"), std::string::npos);
  EXPECT_NE(r.status().message().find("at byte 2"), std::string::npos);
  EXPECT_FALSE(r.u8(reinterpret_cast<std::uint8_t&>(v), "later"));
  EXPECT_NE(r.status().message().find("record count"), std::string::npos);  // first error kept
}

TEST(Codec, RejectsOverlongVarintsAndCountsPastTheInput) {
  ByteVec eleven(10, 0xff);
  eleven.push_back(0x01);
  Reader r1(eleven);
  std::uint64_t v;
  EXPECT_FALSE(r1.varint(v, "x"));
  ByteVec overflow(9, 0xff);
  overflow.push_back(0x02);  // bit 64 set
  Reader r2(overflow);
  EXPECT_FALSE(r2.varint(v, "x"));
  const ByteVec count = {0x05, 1, 2, 3};
  Reader r3(count);
  EXPECT_FALSE(r3.count(v, "items"));
  Reader r4(count);
  EXPECT_TRUE(r4.count(v, "items", 0));
  const ByteVec idx = {0x03};
  Reader r5(idx);
  EXPECT_FALSE(r5.index(v, 3, "actor"));
}

TEST(Codec, FrameRoundTripAndChecks) {
  const ByteVec payload = {9, 8, 7};
  ByteVec f = frame(PayloadKind::kSnapshot, payload);
  EXPECT_EQ(f[0], 'M');
  EXPECT_EQ(f[3], kPlainFormatVersion);
  auto u = unframe(f);
  ASSERT_TRUE(u.ok());
  EXPECT_EQ(u->kind, PayloadKind::kSnapshot);
  EXPECT_EQ(ByteVec(u->payload.begin(), u->payload.end()), payload);
  EXPECT_EQ(u->version, kPlainFormatVersion);
  ByteVec bad = f;
  bad[4] = 0x60;  // unknown payload kind 6
  EXPECT_EQ(unframe(bad).status().code(), Code::kCorrupt);
  bad = f;
  bad[4] = 0x50;  // a detached delta: a kind of format version 2
  EXPECT_TRUE(unframe(bad).ok());
  bad[3] = 1;
  EXPECT_EQ(unframe(bad).status().code(), Code::kCorrupt);
  bad = f;
  bad[3] = 1;  // the first format version is still read
  ASSERT_TRUE(unframe(bad).ok());
  EXPECT_EQ(unframe(bad)->version, 1);
  bad[3] = kFormatVersion + 1;
  EXPECT_EQ(unframe(bad).status().code(), Code::kUnsupportedVersion);
  bad[3] = 0;
  EXPECT_EQ(unframe(bad).status().code(), Code::kUnsupportedVersion);
  bad = f;
  bad[4] |= 0x02;  // reserved flag bit
  EXPECT_EQ(unframe(bad).status().code(), Code::kCorrupt);
  bad = f;
  bad.push_back(0);
  EXPECT_NE(unframe(bad).status().message().find("trailing"), std::string::npos);
}

TEST(Codec, SyncFramesAreVersionOneAndNeverCompressed) {
  const ByteVec payload(4096, 7);  // would compress well
  for (PayloadKind kind : {PayloadKind::kSyncMessage, PayloadKind::kSyncChunk}) {
    const ByteVec f = frame(kind, payload);
    EXPECT_EQ(f[3], kSyncFormatVersion);
    EXPECT_EQ(f[4], static_cast<std::uint8_t>(kind) << 4);
    auto u = unframe(f);
    ASSERT_TRUE(u.ok()) << u.status().to_string();
    EXPECT_EQ(u->kind, kind);
    EXPECT_EQ(ByteVec(u->payload.begin(), u->payload.end()), payload);
    ByteVec bad = f;
    bad[3] = kFormatVersion;  // the payload's layout is the protocol's: only version 1 frames it
    EXPECT_EQ(unframe(bad).status().code(), Code::kUnsupportedVersion);
    bad = f;
    bad[4] |= kFlagCompressed;
    EXPECT_EQ(unframe(bad).status().code(), Code::kCorrupt);
    // Not something a store applies.
    EXPECT_EQ(decode_delta(f).status().code(), Code::kCorrupt);
  }
}

}  // namespace
}  // namespace mycelium
