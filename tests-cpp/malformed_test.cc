// Malformed input never crashes the engine, never allocates more than the
// input justifies, always returns an error that names the problem, and leaves
// the store byte-identical.
#include <random>

#include "crc32c.h"
#include "test_util.h"

namespace mycelium::testing {
namespace {

// A store with some state and a few real deltas it has not joined. Each
// test runs twice: the target decodes deltas whole, then streamed (delta.h:
// every cell checked in a first pass, none kept).
constexpr std::size_t kModes[] = {kStreamCellsAbove, 0};

struct Fixture {
  std::unique_ptr<Store> target;
  std::vector<ByteVec> deltas;
  explicit Fixture(std::size_t stream_cells_above) {
    std::mt19937_64 rng(7);
    auto source = open_store(0x5e);
    target = open_store(0x7a, nullptr, test_schema(), stream_cells_above);
    random_writes(*source, rng, 25);
    random_writes(*target, rng, 10);
    deltas.push_back(source->delta_since(target->version()));
    deltas.push_back(source->save());
    auto v = source->version();
    random_writes(*source, rng, 40);
    deltas.push_back(source->delta_since(v));  // pending at target: base not covered
    deltas.push_back(target->save());
  }
};

void expect_rejected_unchanged(Store& s, std::span<const std::uint8_t> bytes, const ByteVec& before,
                               const char* what, std::size_t at) {
  auto r = s.apply(bytes);
  ASSERT_FALSE(r.ok()) << what << " " << at << " was accepted";
  ASSERT_FALSE(r.status().message().empty());
  ASSERT_TRUE(s.save() == before) << what << " " << at << " changed the store";
  ASSERT_EQ(s.pending_count(), 0u);
}

TEST(Malformed, EveryTruncationIsRejected) {
  for (std::size_t mode : kModes) {
    Fixture f(mode);
    const ByteVec before = f.target->save();
    for (const auto& d : f.deltas) {
      for (std::size_t n = 0; n < d.size(); ++n) {
        expect_rejected_unchanged(*f.target, std::span(d).first(n), before, "truncation at", n);
      }
    }
  }
}

TEST(Malformed, EverySingleBitFlipIsRejected) {
  for (std::size_t mode : kModes) {
    Fixture f(mode);
    const ByteVec before = f.target->save();
    for (const auto& d : f.deltas) {
      ByteVec m = d;
      for (std::size_t bit = 0; bit < m.size() * 8; ++bit) {
        m[bit / 8] ^= static_cast<std::uint8_t>(1u << (bit % 8));
        expect_rejected_unchanged(*f.target, m, before, "bit flip at", bit);
        m[bit / 8] ^= static_cast<std::uint8_t>(1u << (bit % 8));
      }
    }
  }
}

TEST(Malformed, TrailingBytesAreRejected) {
  Fixture f(kStreamCellsAbove);
  const ByteVec before = f.target->save();
  ByteVec d = f.deltas[0];
  d.push_back(0);
  expect_rejected_unchanged(*f.target, d, before, "trailing byte", 0);
}

// A frame around a crafted payload, with a correct checksum, so the payload
// parser itself is reached.
ByteVec framed(const ByteVec& payload) { return frame(PayloadKind::kDelta, payload); }

TEST(Malformed, OversizedCountsAndLengthsAreRejectedWithoutAllocating) {
  auto s = open_store(0x11);
  const ByteVec before = s->save();
  const std::uint64_t huge[] = {1ull << 20, 1ull << 32, 1ull << 62, ~0ull};
  for (std::uint64_t n : huge) {
    // String table count, a string length, actor count, record count.
    for (int where = 0; where < 4; ++where) {
      Writer w;
      if (where == 0) w.varint(n);
      if (where == 1) {
        w.varint(1);
        w.varint(n);
      }
      if (where >= 2) {
        w.varint(0);  // strings
        w.varint(0);  // collections
        if (where == 3) {
          w.varint(0);  // actors
          w.varint(0);  // base
          w.varint(0);  // context
        }
        w.varint(n);
      }
      w.u8(0);
      auto r = s->apply(frame(PayloadKind::kDelta, w.view()));
      ASSERT_FALSE(r.ok());
      EXPECT_EQ(r.status().code(), Code::kCorrupt) << r.status().to_string();
      ASSERT_TRUE(s->save() == before);
    }
  }
  // A frame that claims a longer payload than it has.
  ByteVec f = framed({1, 2, 3});
  f[5] = 0x7f;
  auto r = s->apply(f);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("length"), std::string::npos) << r.status().to_string();
}

TEST(Malformed, HeaderErrorsSayWhatIsWrong) {
  Fixture f(kStreamCellsAbove);
  ByteVec d = f.deltas[0];
  auto expect_msg = [&](ByteVec bytes, Code code, const char* text) {
    auto r = f.target->apply(bytes);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().code(), code) << r.status().to_string();
    EXPECT_NE(r.status().message().find(text), std::string::npos) << r.status().to_string();
  };
  ByteVec m = d;
  m[0] = 'X';
  expect_msg(m, Code::kCorrupt, "magic");
  m = d;
  m[3] = 9;
  expect_msg(m, Code::kUnsupportedVersion, "version 9");
  m = d;
  m[4] |= kFlagCompressed;  // claims compression, but the checksummed payload is no zstd frame
  expect_msg(m, Code::kCorrupt, "zstd");
  m = d;
  m.back() ^= 0x40;
  expect_msg(m, Code::kCorrupt, "checksum");
}

TEST(Malformed, RandomBytesAreRejected) {
  auto s = open_store(0x22);
  std::mt19937_64 rng(99);
  random_writes(*s, rng, 20);
  const ByteVec before = s->save();
  for (int i = 0; i < 20'000; ++i) {
    ByteVec junk(rng() % 200);
    for (auto& b : junk) b = static_cast<std::uint8_t>(rng());
    if (i % 2) junk = framed(junk);  // reach the payload parser
    auto r = s->apply(junk);
    ASSERT_FALSE(r.ok());
    ASSERT_TRUE(s->save() == before);
  }
}

// Mutations inside a valid payload, re-framed with a valid checksum: the
// decoder's structural and semantic checks must hold without the CRC's help.
// A mutated delta may still be valid; then it must apply cleanly and keep
// the store loadable.
TEST(Malformed, MutatedPayloadsBehindValidChecksums) {
  for (std::size_t mode : kModes) {
    Fixture f(mode);
    std::mt19937_64 rng(5);
    int rejected = 0;
    for (const auto& d : f.deltas) {
      auto u = unframe(d);
      ASSERT_TRUE(u.ok());
      const ByteVec payload(u->payload.begin(), u->payload.end());
      for (int i = 0; i < 4000; ++i) {
        ByteVec p = payload;
        const int edits = 1 + static_cast<int>(rng() % 3);
        for (int e = 0; e < edits; ++e) {
          const std::size_t at = rng() % p.size();
          switch (rng() % 3) {
            case 0: p[at] ^= static_cast<std::uint8_t>(1u << (rng() % 8)); break;
            case 1: p[at] = static_cast<std::uint8_t>(rng()); break;
            default: p.erase(p.begin() + static_cast<std::ptrdiff_t>(at)); break;
          }
        }
        auto target = reopen(*f.target, mode);
        const ByteVec before = target->save();
        auto r = target->apply(frame(u->kind, p));
        if (!r.ok()) {
          ++rejected;
          ASSERT_TRUE(target->save() == before) << r.status().to_string();
        } else {
          auto again = Store::load(test_schema(), target->save());
          ASSERT_TRUE(again.ok()) << "an accepted delta left a store that does not load: "
                                  << again.status().to_string();
        }
      }
    }
    EXPECT_GT(rejected, 10'000);
  }
}

}  // namespace
}  // namespace mycelium::testing
