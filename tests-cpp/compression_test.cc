#include <gtest/gtest.h>

#include <cstring>
#include <random>

#include "codec.h"
#include "compression.h"
#include "zstd.h"

namespace mycelium {
namespace {

ByteVec text(std::size_t n) {  // compressible: words from a small vocabulary
  static const char* words[] = {"milk ", "eggs ", "bread ", "todo ", "done "};
  std::mt19937 rng(7);
  ByteVec out;
  while (out.size() < n) {
    const char* w = words[rng() % 5];
    out.insert(out.end(), w, w + std::strlen(w));
  }
  out.resize(n);
  return out;
}

ByteVec noise(std::size_t n) {
  std::mt19937 rng(11);
  ByteVec out(n);
  for (auto& b : out) b = static_cast<std::uint8_t>(rng());
  return out;
}

TEST(Compression, NativeBuildHasTheCompressor) { EXPECT_TRUE(can_compress()); }

TEST(Compression, RoundTripsAndOnlyWhenItPays) {
  const ByteVec big = text(50'000);
  auto c = compress(big);
  ASSERT_TRUE(c.has_value());
  EXPECT_LT(c->size(), big.size() / 3);
  auto d = decompress(*c);
  ASSERT_TRUE(d.ok()) << d.status().to_string();
  EXPECT_TRUE(std::equal(d->data(), d->data() + d->size(), big.begin(), big.end()));
  EXPECT_FALSE(compress(text(kCompressMinBytes)).has_value()) << "1 KiB and less stays as is";
  EXPECT_TRUE(compress(text(kCompressMinBytes + 1)).has_value());
  EXPECT_FALSE(compress(noise(10'000)).has_value()) << "incompressible input is not grown";
}

TEST(Compression, DeterministicAcrossCalls) {
  const ByteVec big = text(200'000);
  EXPECT_EQ(*compress(big), *compress(big));
}

TEST(Compression, RejectsWhatIsNotOneSizedFrame) {
  const ByteVec big = text(5'000);
  ByteVec c = *compress(big);

  auto garbage = decompress(noise(100));
  ASSERT_FALSE(garbage.ok());
  EXPECT_EQ(garbage.status().code(), Code::kCorrupt);

  ByteVec trailing = c;
  trailing.push_back(0);
  auto t = decompress(trailing);
  ASSERT_FALSE(t.ok());
  EXPECT_NE(t.status().message().find("trailing"), std::string::npos) << t.status().to_string();

  ByteVec twice = c;  // two concatenated frames are not one payload
  twice.insert(twice.end(), c.begin(), c.end());
  EXPECT_FALSE(decompress(twice).ok());

  for (std::size_t n = 0; n < c.size(); ++n) {  // every truncation
    EXPECT_FALSE(decompress(std::span(c).first(n)).ok()) << n;
  }

  ZSTD_CCtx* cctx = ZSTD_createCCtx();  // a frame without its content size
  ZSTD_CCtx_setParameter(cctx, ZSTD_c_contentSizeFlag, 0);
  ByteVec unsized(ZSTD_compressBound(big.size()));
  unsized.resize(ZSTD_compress2(cctx, unsized.data(), unsized.size(), big.data(), big.size()));
  ZSTD_freeCCtx(cctx);
  auto u = decompress(unsized);
  ASSERT_FALSE(u.ok());
  EXPECT_NE(u.status().message().find("size"), std::string::npos) << u.status().to_string();
}

TEST(Compression, RefusesBombs) {
  const ByteVec zeros(8u << 20);  // 8 MiB of zeros compress to a few hundred bytes
  ByteVec c = *compress(zeros);
  ASSERT_LT(c.size() * kMaxRatio, zeros.size());
  auto d = decompress(c);
  ASSERT_FALSE(d.ok());
  EXPECT_EQ(d.status().code(), Code::kLimitExceeded) << d.status().to_string();
}

TEST(Compression, SmallPayloadsThatCompressVeryWellDecode) {
  // 2 MiB of one byte (a long repeated string in a record) compresses past
  // kMaxRatio, but stays under kRatioFloor: not a bomb.
  const ByteVec same(2u << 20, 'a');
  ByteVec c = *compress(same);
  ASSERT_LT(c.size() * kMaxRatio, same.size());
  auto d = decompress(c);
  ASSERT_TRUE(d.ok()) << d.status().to_string();
  EXPECT_EQ(d->size(), same.size());
}

TEST(Compression, FramesCompressLargePayloadsAndUnframeThem) {
  const ByteVec big = text(20'000);
  ByteVec f = frame(PayloadKind::kSnapshot, big);
  EXPECT_TRUE(f[4] & kFlagCompressed);
  EXPECT_LT(f.size(), big.size() / 3);
  auto u = unframe(f);
  ASSERT_TRUE(u.ok()) << u.status().to_string();
  EXPECT_EQ(u->kind, PayloadKind::kSnapshot);
  EXPECT_TRUE(std::equal(u->payload.begin(), u->payload.end(), big.begin(), big.end()));

  const ByteVec small = text(500);
  ByteVec g = frame(PayloadKind::kDelta, small);
  EXPECT_FALSE(g[4] & kFlagCompressed);

  ByteVec flipped = f;  // a flipped byte inside the compressed payload fails the checksum first
  flipped[flipped.size() / 2] ^= 0x10;
  auto bad = unframe(flipped);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("checksum"), std::string::npos) << bad.status().to_string();
}

}  // namespace
}  // namespace mycelium

namespace mycelium {
namespace {

TEST(Compression, APayloadInPiecesCompressesToTheBytesOfTheWhole) {
  // 1 MiB of text with a stretch of noise: full slices, a partial last one,
  // and pieces that straddle slice boundaries in every way.
  ByteVec payload = text(1 << 20);
  const ByteVec mess = noise(200'000);
  std::copy(mess.begin(), mess.end(), payload.begin() + 300'000);
  const ByteVec whole = *compress(payload);
  ASSERT_LT(whole.size(), payload.size());
  // The output is a plain zstd frame of the payload.
  auto back = decompress(whole);
  ASSERT_TRUE(back.ok());
  ASSERT_EQ(back->size(), payload.size());
  EXPECT_EQ(std::memcmp(back->data(), payload.data(), payload.size()), 0);
  std::mt19937 rng(5);
  for (int round = 0; round < 20; ++round) {
    std::vector<std::span<const std::uint8_t>> pieces;
    for (std::size_t at = 0; at < payload.size();) {
      const std::size_t n = std::min<std::size_t>(payload.size() - at, rng() % 3 == 0 ? rng() % 16 : rng() % 400'000);
      pieces.emplace_back(payload.data() + at, n);
      at += n;
    }
    EXPECT_EQ(*compress(pieces), whole) << "round " << round << ", " << pieces.size() << " pieces";
  }
  // Pieces of incompressible bytes stay as they are, as a whole would.
  const ByteVec random = noise(300'000);
  const std::span<const std::uint8_t> halves[] = {{random.data(), 150'000}, {random.data() + 150'000, 150'000}};
  EXPECT_FALSE(compress(halves).has_value());
}

TEST(Compression, AFrameOfPiecesIsTheFrameOfTheWhole) {
  const ByteVec payload = text(500'000);
  const std::span<const std::uint8_t> pieces[] = {{payload.data(), 1}, {payload.data() + 1, 0}, {payload.data() + 1, 499'999}};
  EXPECT_EQ(frame(PayloadKind::kSnapshot, pieces), frame(PayloadKind::kSnapshot, payload));
  const ByteVec small = text(600);  // stays uncompressed: the pieces are joined
  const std::span<const std::uint8_t> two[] = {{small.data(), 100}, {small.data() + 100, 500}};
  EXPECT_EQ(frame(PayloadKind::kDelta, two), frame(PayloadKind::kDelta, small));
}

}  // namespace
}  // namespace mycelium
