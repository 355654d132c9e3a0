// Algebraic laws of the state join, on random states. join(A, B) is A with
// B's snapshot applied (a snapshot has the empty base, so it always joins).
#include <random>

#include "test_util.h"

namespace mycelium::testing {
namespace {

ByteVec joined(const Store& a, const Store& b) {
  auto s = reopen(a);
  auto r = s->apply(b.save());
  EXPECT_TRUE(r.ok()) << r.status().to_string();
  return s->save();
}

// Three replicas with a shared past and concurrent writes since.
struct Trio {
  std::unique_ptr<Store> a, b, c;
  explicit Trio(std::uint64_t seed) {
    std::mt19937_64 rng(seed);
    a = open_store(0xa1);
    b = open_store(0xb2);
    c = open_store(0xc3);
    random_writes(*a, rng, 20);
    sync_pair(*a, *b);
    sync_pair(*b, *c);
    random_writes(*a, rng, 15);
    random_writes(*b, rng, 15);
    random_writes(*c, rng, 15);
    if (rng() % 2) sync_pair(*a, *c);
    random_writes(*c, rng, 5);
  }
};

TEST(Laws, JoinIsCommutative) {
  for (std::uint64_t seed = 1; seed <= 200; ++seed) {
    Trio t(seed);
    ASSERT_TRUE(joined(*t.a, *t.b) == joined(*t.b, *t.a)) << "seed " << seed;
  }
}

TEST(Laws, JoinIsAssociative) {
  for (std::uint64_t seed = 1; seed <= 200; ++seed) {
    Trio t(seed);
    auto ab = reopen(*t.a);
    ASSERT_TRUE(ab->apply(t.b->save()).ok());
    auto bc = reopen(*t.b);
    ASSERT_TRUE(bc->apply(t.c->save()).ok());
    ASSERT_TRUE(joined(*ab, *t.c) == joined(*t.a, *bc)) << "seed " << seed;
  }
}

TEST(Laws, JoinIsIdempotent) {
  for (std::uint64_t seed = 1; seed <= 200; ++seed) {
    Trio t(seed);
    ASSERT_TRUE(joined(*t.a, *t.a) == t.a->save()) << "seed " << seed;
    auto twice = reopen(*t.a);
    ASSERT_TRUE(twice->apply(t.b->save()).ok());
    const ByteVec once = twice->save();
    auto again = twice->apply(t.b->save());
    ASSERT_TRUE(again.ok());
    EXPECT_EQ(*again, ApplyOutcome::kAlreadyCovered);
    ASSERT_TRUE(twice->save() == once) << "seed " << seed;
  }
}

TEST(Laws, DeltaSinceVersionReachesTheSendersState) {
  for (std::uint64_t seed = 1; seed <= 300; ++seed) {
    std::mt19937_64 rng(seed);
    auto sender = open_store(0x51);
    random_writes(*sender, rng, 30);
    auto receiver = reopen(*sender);  // at the sender's past version
    StoreOptions o;
    o.actor = 0x52;
    receiver = std::move(Store::load(test_schema(), sender->save(), o)).value();
    random_writes(*sender, rng, 1 + static_cast<int>(rng() % 40));
    auto r = receiver->apply(sender->delta_since(receiver->version()));
    ASSERT_TRUE(r.ok()) << r.status().to_string();
    EXPECT_EQ(receiver->version(), sender->version());
    ASSERT_TRUE(receiver->save() == sender->save()) << "seed " << seed;
  }
}

TEST(Laws, SnapshotSaveLoadSaveIsByteIdentical) {
  for (std::uint64_t seed = 1; seed <= 200; ++seed) {
    Trio t(seed);
    for (const Store* s : {t.a.get(), t.b.get(), t.c.get()}) {
      const ByteVec bytes = s->save();
      auto loaded = Store::load(test_schema(), bytes);
      ASSERT_TRUE(loaded.ok()) << loaded.status().to_string();
      ASSERT_TRUE((*loaded)->save() == bytes) << "seed " << seed;
      EXPECT_EQ((*loaded)->version(), s->version());
    }
  }
}

}  // namespace
}  // namespace mycelium::testing
