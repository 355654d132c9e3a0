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
