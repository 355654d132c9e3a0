// Key-level deltas (DESIGN.md, Keys and events; issue 14): a delta carries
// the complete dot stores of the keys its events touched, not whole records.
#include <gtest/gtest.h>

#include <fstream>
#include <iterator>
#include <map>
#include <string>

#include "key_scope.h"
#include "test_util.h"

namespace mycelium {
namespace {

using testing::must;
using testing::open_store;
using testing::reopen;
using testing::same;
using testing::sync_pair;

struct Fields {
  CollectionRef items;
  FieldRef title, votes, tags, owner;
  explicit Fields(const Store& s)
      : items(*s.collection("items")),
        title(*s.field(items, "title")),
        votes(*s.field(items, "votes")),
        tags(*s.field(items, "tags")),
        owner(*s.field(items, "owner")) {}
};

// Two different strings whose element hashes collide (found by search: the
// hash has 23 bits, so a few thousand candidates suffice).
std::pair<std::string, std::string> colliding_elements() {
  std::map<std::uint32_t, std::string> seen;
  for (int i = 0;; ++i) {
    std::string s = "e" + std::to_string(i);
    auto [it, fresh] = seen.emplace(element_hash(ValueView::string(s)), s);
    if (!fresh) return {it->second, s};
  }
}

TEST(KeyScope, ElementHashDependsOnTagAndBytes) {
  EXPECT_EQ(element_hash(ValueView::string("a")), element_hash(ValueView::string("a")));
  EXPECT_NE(element_hash(ValueView::string("a")), element_hash(ValueView::bytes("a")));
  EXPECT_NE(element_hash(ValueView::integer(1)), element_hash(ValueView::integer(2)));
  EXPECT_LT(element_hash(ValueView::string("anything")), 1u << 23);
  EXPECT_TRUE(is_element_scope(element_scope(4, ValueView::integer(7))));
  EXPECT_FALSE(is_element_scope(field_scope(4)));
  EXPECT_EQ(field_scope(40), kWholeRecord);  // fields past the mask widen to the record
  EXPECT_EQ(merge_scopes(field_scope(1), field_scope(2)), field_scope(1) | field_scope(2));
  EXPECT_EQ(merge_scopes(field_scope(1), element_scope(2, ValueView::integer(1))), 0u);
  // An element added in the batch that inserted its record joins as its field.
  EXPECT_EQ(merge_scopes(kPresenceScopeBit | field_scope(1), element_scope(2, ValueView::integer(1))),
            kPresenceScopeBit | field_scope(1) | field_scope(2));
  EXPECT_EQ(merge_scopes(element_scope(2, ValueView::integer(1)), field_scope(1)), 0u);
  EXPECT_FALSE(valid_scope(0));
  EXPECT_FALSE(valid_scope(kElementScopeBit | 255));
}

// One write's delta does not grow with the rest of its record: a counter
// increment, an lww set and a set add on a record whose set holds 1, 1,000
// or 10,000 elements cost the same bytes.
TEST(KeyScope, MapFieldsRenumbersEachFieldOfAMask) {
  // A store whose field numbers differ from the delta's: 0 -> 4, 1 left
  // out, 2 -> 29, 3 -> 30 (past the mask: the whole record), 29 -> 0.
  auto map = [](unsigned f) { return f == 0 ? 4 : f == 1 ? -1 : f == 2 ? 29 : f == 3 ? 30 : f == 29 ? 0 : -1; };
  EXPECT_EQ(map_fields(field_scope(0) | field_scope(29), map), field_scope(4) | field_scope(0));
  EXPECT_EQ(map_fields(field_scope(1), map), KeyScope{0});
  EXPECT_EQ(map_fields(field_scope(2) | kPresenceScopeBit, map), field_scope(29) | kPresenceScopeBit);
  EXPECT_EQ(map_fields(field_scope(3), map), kWholeRecord);
  EXPECT_EQ(map_fields(kPresenceScopeBit, map), kPresenceScopeBit);
  EXPECT_EQ(map_fields(kWholeRecord, map), kWholeRecord);
  // Every single field through the identity, and all of them at once.
  auto same_field = [](unsigned f) { return static_cast<int>(f); };
  for (unsigned f = 0; f < kMaskedFields; ++f) EXPECT_EQ(map_fields(field_scope(static_cast<std::uint8_t>(f)), same_field), field_scope(static_cast<std::uint8_t>(f)));
  EXPECT_EQ(map_fields(KeyScope{(1u << kMaskedFields) - 1}, same_field), KeyScope{(1u << kMaskedFields) - 1});
  // An element keeps its hash and takes the field's new number.
  const KeyScope e = element_scope(2, ValueView::string("x"));
  EXPECT_EQ(map_fields(e, map), (e & ~KeyScope{0xff}) | 29u);
  EXPECT_EQ(map_fields(element_scope(1, ValueView::string("x")), map), KeyScope{0});
}

TEST(KeyScope, AFieldWritesDeltaIsIndependentOfTheRecordsSetSize) {
  std::vector<std::size_t> incr, set, add;
  // (100,000 is the bench's: bench/native_bench.cc; each add scans the set.)
  for (int n : {1, 1000, 10000}) {
    auto s = open_store(0xa1);
    const Fields f(*s);
    must(s->insert(f.items, "big"));
    for (int i = 0; i < n; ++i) must(s->add(f.tags, "big", ValueView::integer(i)));
    VersionVector before = s->version();
    must(s->increment(f.votes, "big", 1));
    incr.push_back(s->delta_since(before).size());
    before = s->version();
    must(s->set(f.title, "big", ValueView::string("renamed")));
    set.push_back(s->delta_since(before).size());
    before = s->version();
    must(s->add(f.tags, "big", ValueView::string("one more")));
    add.push_back(s->delta_since(before).size());
  }
  std::printf("delta bytes at 1 / 1,000 / 10,000 set elements: increment %zu %zu %zu, set %zu %zu %zu, add %zu %zu %zu\n",
              incr[0], incr[1], incr[2], set[0], set[1], set[2], add[0], add[1], add[2]);
  for (auto* sizes : {&incr, &set, &add}) {
    // Only the seq varints (base, context, cell) grow, a byte each per 7 bits.
    EXPECT_LE((*sizes)[2], (*sizes)[0] + 6);
    EXPECT_LT((*sizes)[2], 120u);
  }
}

// DESIGN.md case 1 at key level: removing an element the peer received long
// ago still removes it there, and leaves the other elements (and fields)
// alone, also those the remover has not seen.
TEST(KeyScope, ARemoveTravelsAsItsElementsKeyOnly) {
  auto a = open_store(0xa1), b = open_store(0xb2);
  const Fields f(*a);
  must(a->insert(f.items, "r"));
  must(a->add(f.tags, "r", ValueView::string("old")));
  must(a->add(f.tags, "r", ValueView::string("keep")));
  sync_pair(*a, *b);
  must(b->add(f.tags, "r", ValueView::string("b-only")));  // concurrent, unseen by a
  must(b->set(f.title, "r", ValueView::string("b title")));
  const VersionVector b_had = b->version();
  must(a->remove(f.tags, "r", ValueView::string("old")));
  const ByteVec d = a->delta_since(b_had);
  ASSERT_TRUE(b->apply(d).ok());
  auto tags = *b->values(f.tags, "r");
  ASSERT_EQ(tags.size(), 2u);
  EXPECT_TRUE(same(tags[0], Value{std::string("b-only")}));
  EXPECT_TRUE(same(tags[1], Value{std::string("keep")}));
  EXPECT_TRUE(same(*b->lww(f.title, "r"), Value{std::string("b title")}));
  sync_pair(*a, *b);
  EXPECT_EQ(a->save(), b->save());
}

// Elements whose hashes collide travel together, each complete: removing one
// removes only it, on both sides.
TEST(KeyScope, CollidingElementsTravelTogetherAndStayDistinct) {
  const auto [x, y] = colliding_elements();
  ASSERT_NE(x, y);
  auto a = open_store(0xa1), b = open_store(0xb2);
  const Fields f(*a);
  must(a->insert(f.items, "r"));
  must(a->add(f.tags, "r", ValueView::string(x)));
  must(a->add(f.tags, "r", ValueView::string(y)));
  sync_pair(*a, *b);
  must(b->add(f.tags, "r", ValueView::string(y)));  // a fresh dot for y at b
  const VersionVector before = b->version();
  must(a->remove(f.tags, "r", ValueView::string(x)));
  must(a->remove(f.tags, "r", ValueView::string(y)));  // removes only the y dot a saw
  ASSERT_TRUE(b->apply(a->delta_since(before)).ok());
  auto tags = *b->values(f.tags, "r");
  ASSERT_EQ(tags.size(), 1u);  // y survives: b's add was concurrent (add wins)
  EXPECT_TRUE(same(tags[0], Value{y}));
  sync_pair(*a, *b);
  EXPECT_EQ(a->save(), b->save());
}

// A delete touches every key of its record, so it still travels whole and
// removes what the deleter saw.
TEST(KeyScope, ADeleteCarriesTheWholeRecord) {
  auto a = open_store(0xa1), b = open_store(0xb2);
  const Fields f(*a);
  must(a->insert(f.items, "r"));
  must(a->set(f.title, "r", ValueView::string("t")));
  must(a->add(f.tags, "r", ValueView::string("x")));
  must(a->increment(f.votes, "r", 5));
  sync_pair(*a, *b);
  const VersionVector before = b->version();
  must(a->remove_record(f.items, "r"));
  ASSERT_TRUE(b->apply(a->delta_since(before)).ok());
  EXPECT_FALSE(b->exists(f.items, "r"));
  EXPECT_EQ(a->save(), b->save());
}

// A snapshot written by the first format (events without scopes, before
// issue 14) still opens, reads the same, and syncs with today's stores.
TEST(KeyScope, AFormatVersion1SnapshotStillOpens) {
  std::ifstream in(MYC_TEST_DATA "/format_v1_snapshot.bin", std::ios::binary);
  ASSERT_TRUE(in) << "missing " MYC_TEST_DATA "/format_v1_snapshot.bin";
  const ByteVec v1((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  ASSERT_EQ(v1[3], 1);
  const Schema schema = *Schema::create(
      {{"todos", {{"title", Kind::kLww}, {"votes", Kind::kCounter}, {"tags", Kind::kSet}, {"notes", Kind::kMvr}}}});
  StoreOptions o;
  o.actor = 0x3333333333333333ull;
  auto loaded = Store::load(schema, v1, o);
  ASSERT_TRUE(loaded.ok()) << loaded.status().to_string();
  Store& s = **loaded;
  const auto todos = *s.collection("todos");
  EXPECT_EQ(s.version(), VersionVector::from_entries({{0x1111111111111111ull, 8}, {0x2222222222222222ull, 4}}));
  EXPECT_TRUE(same(*s.lww(*s.field(todos, "title"), "t1"), Value{std::string("buy milk")}));
  EXPECT_EQ(*s.counter(*s.field(todos, "votes"), "t1"), 3);
  auto tags = *s.values(*s.field(todos, "tags"), "t1");
  ASSERT_EQ(tags.size(), 1u);
  EXPECT_TRUE(same(tags[0], Value{std::string("home")}));
  EXPECT_EQ(s.values(*s.field(todos, "notes"), "t1")->size(), 2u);
  EXPECT_FALSE(s.exists(todos, "t2"));
  // Saved again in today's format, it reads back to the same state.
  const ByteVec v2 = s.save();
  EXPECT_EQ(v2[3], kPlainFormatVersion);
  auto again = Store::load(schema, v2, o);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ((*again)->save(), v2);
  // Its old events (whole-record scope) still travel to a new replica.
  StoreOptions p;
  p.actor = 0x4444444444444444ull;
  auto opened = Store::open(schema, p);
  auto fresh = std::move(*opened);
  ASSERT_TRUE(fresh->apply(s.delta_since(VersionVector())).ok());
  EXPECT_EQ(fresh->save(), v2);
}

// --- detached deltas ------------------------------------------------------

// A store that has heard from `n` actors, each with a few writes.
std::unique_ptr<Store> crowded(int n, ActorId self) {
  auto hub = open_store(self);
  const Fields f(*hub);
  must(hub->insert(f.items, "shared"));
  for (int i = 0; i < n; ++i) {
    // Spread over 64 bits, as random actors are.
    auto s = open_store((static_cast<ActorId>(i) + 1) * 0x9e3779b97f4a7c15ull);
    EXPECT_TRUE(s->apply(hub->delta_since(VersionVector()), ApplyLimits{true, 0, {}}).ok());
    EXPECT_TRUE(s->increment(f.votes, "shared", 1).ok());
    EXPECT_TRUE(hub->apply(s->delta_since(hub->version()), ApplyLimits{true, 0, {}}).ok());
  }
  return hub;
}

TEST(DetachedDelta, OneWriteAmongAThousandActorsCostsBytesForWhatChanged) {
  std::vector<std::size_t> whole, detached;
  for (int n : {3, 1000}) {
    auto a = crowded(n, 0xa1);
    auto b = open_store(0xb2);
    ASSERT_TRUE(b->apply(a->save(), ApplyLimits{true, 0, {}}).ok());
    const Fields f(*a);
    const VersionVector before = b->version();
    must(a->set(f.title, "shared", ValueView::string("hello")));
    whole.push_back(a->delta_since(before).size());
    const ByteVec d = a->delta_since(before, /*detached=*/true);
    detached.push_back(d.size());
    const VersionVector ctx = a->version();
    ASSERT_EQ(*b->apply(d, {}, &ctx), ApplyOutcome::kApplied);
    EXPECT_EQ(b->save(), a->save());
  }
  std::printf("one write among 3 / 1,000 other actors: whole delta %zu / %zu bytes, detached %zu / %zu bytes\n",
              whole[0], whole[1], detached[0], detached[1]);
  EXPECT_GT(whole[1], 8000u);  // 8 bytes per actor id, at least
  EXPECT_LE(detached[1], detached[0] + 2);  // an actor position may take a second byte
  EXPECT_LE(detached[1], 80u);
}

TEST(DetachedDelta, NeedsItsExactContext) {
  auto a = open_store(0xa1), b = open_store(0xb2), c = open_store(0xc3);
  const Fields f(*a);
  must(c->insert(f.items, "c"));
  sync_pair(*a, *c);
  must(a->insert(f.items, "r"));
  const ByteVec d = a->delta_since(VersionVector(), true);
  EXPECT_EQ(b->apply(d).status().code(), Code::kInvalidArgument);  // no context given
  VersionVector wrong = a->version();
  wrong.raise(0xc3, 5);  // claims more of c than a has
  EXPECT_EQ(b->apply(d, {}, &wrong).status().code(), Code::kCorrupt);
  VersionVector less = VersionVector::from_entries({{0xa1, a->version().get(0xa1)}});  // c's entry left out
  EXPECT_EQ(b->apply(d, {}, &less).status().code(), Code::kCorrupt);
  // An actor the delta does not name, at another seq, is caught too.
  VersionVector other = a->version();
  other.raise(0xd4, 1);
  EXPECT_EQ(b->apply(d, {}, &other).status().code(), Code::kCorrupt);
  EXPECT_TRUE(b->version().empty());
  const VersionVector right = a->version();
  ASSERT_TRUE(b->apply(d, {}, &right).ok());
  EXPECT_EQ(b->save(), a->save());
}

// A detached delta that must wait is held whole (its context does not come
// again) and joins when the gap fills.
TEST(DetachedDelta, AHeldDetachedDeltaJoinsLater) {
  auto a = open_store(0xa1), b = open_store(0xb2);
  const Fields f(*a);
  must(a->insert(f.items, "r"));
  const ByteVec first = a->delta_since(VersionVector(), true);
  const VersionVector ctx1 = a->version();
  must(a->set(f.title, "r", ValueView::string("second")));
  const ByteVec second = a->delta_since(ctx1, true);
  const VersionVector ctx2 = a->version();
  ASSERT_EQ(*b->apply(second, {}, &ctx2), ApplyOutcome::kPending);
  ASSERT_EQ(*b->apply(first, {}, &ctx1), ApplyOutcome::kApplied);
  EXPECT_EQ(b->pending_count(), 0u);
  EXPECT_EQ(b->save(), a->save());
  EXPECT_TRUE(b->take_dropped_errors().empty());
}

}  // namespace
}  // namespace mycelium
