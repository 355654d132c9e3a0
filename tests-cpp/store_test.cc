#include "test_util.h"

namespace mycelium::testing {
namespace {

class StoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    a = open_store(0xaaaa);
    b = open_store(0xbbbb);
    items = *a->collection("items");
    title = *a->field(items, "title");
    votes = *a->field(items, "votes");
    tags = *a->field(items, "tags");
    owner = *a->field(items, "owner");
  }
  std::vector<Value> strs(std::initializer_list<const char*> l) {
    std::vector<Value> v;
    for (const char* s : l) v.emplace_back(std::string(s));
    return v;
  }
  static bool same_values(const std::vector<Value>& x, const std::vector<Value>& y) {
    if (x.size() != y.size()) return false;
    for (std::size_t i = 0; i < x.size(); ++i) {
      if (!same(x[i], y[i])) return false;
    }
    return true;
  }
  std::unique_ptr<Store> a, b;
  CollectionRef items;
  FieldRef title, votes, tags, owner;
};

TEST_F(StoreTest, WritesAndReadsEveryKind) {
  must(a->insert(items, "milk"));
  must(a->set(title, "milk", ValueView::string("Milk")));
  must(a->increment(votes, "milk", 3));
  must(a->increment(votes, "milk", -1));
  must(a->add(tags, "milk", ValueView::string("home")));
  must(a->add(tags, "milk", ValueView::string("dairy")));
  must(a->set(owner, "milk", ValueView::string("ann")));
  EXPECT_TRUE(same(*a->lww(title, "milk"), Value{std::string("Milk")}));
  EXPECT_EQ(*a->counter(votes, "milk"), 2);
  EXPECT_TRUE(same_values(*a->values(tags, "milk"), strs({"dairy", "home"})));
  EXPECT_TRUE(same_values(*a->values(owner, "milk"), strs({"ann"})));
  EXPECT_EQ(a->ids(items), std::vector<std::string>{"milk"});
  EXPECT_EQ(a->size(items), 1u);
  EXPECT_EQ(a->version().get(0xaaaa), 7u);
}

TEST_F(StoreTest, ErrorsAreTypedAndChangeNothing) {
  must(a->insert(items, "x"));
  const ByteVec before = a->save();
  EXPECT_EQ(a->increment(title, "x", 1).code(), Code::kWrongKind);
  EXPECT_EQ(a->set(votes, "x", ValueView::integer(1)).code(), Code::kWrongKind);
  EXPECT_EQ(a->add(owner, "x", ValueView::integer(1)).code(), Code::kWrongKind);
  EXPECT_EQ(a->lww(votes, "x").status().code(), Code::kWrongKind);
  EXPECT_EQ(a->field(items, "nope").status().code(), Code::kUnknownField);
  EXPECT_EQ(a->collection("nope").status().code(), Code::kUnknownField);
  EXPECT_EQ(a->set(title, "missing", ValueView::integer(1)).code(), Code::kNotFound);
  EXPECT_EQ(a->insert(items, "x").code(), Code::kAlreadyExists);
  EXPECT_EQ(a->insert(items, "").code(), Code::kInvalidArgument);
  EXPECT_EQ(a->insert(items, std::string(257, 'i')).code(), Code::kInvalidArgument);
  EXPECT_EQ(a->set(title, "x", ValueView::string("\xc3")).code(), Code::kInvalidArgument);
  ValueView bad;
  bad.tag = static_cast<ValueTag>(7);
  EXPECT_EQ(a->set(title, "x", bad).code(), Code::kInvalidArgument);
  FieldRef forged = title;
  forged.kind = Kind::kCounter;
  EXPECT_EQ(a->increment(forged, "x", 1).code(), Code::kUnknownField);
  EXPECT_TRUE(a->save() == before);
  EXPECT_EQ(a->remove(tags, "x", ValueView::string("absent")).code(), Code::kOk);
  EXPECT_TRUE(a->save() == before) << "removing an absent element records no event";
}

TEST_F(StoreTest, ConcurrentLwwPicksTheGreaterHlcAndMvrKeepsBoth) {
  // A wall clock that stands still: HLCs tie on milliseconds and counters.
  auto frozen = std::make_shared<FakeClock>();
  frozen->step = 0;
  a = open_store(0xaaaa, frozen);
  b = open_store(0xbbbb, frozen);
  must(a->insert(items, "r"));
  sync_pair(*a, *b);
  must(a->set(title, "r", ValueView::string("from a")));
  must(a->set(owner, "r", ValueView::string("ann")));
  must(b->set(title, "r", ValueView::string("from b")));
  must(b->set(owner, "r", ValueView::string("bob")));
  sync_pair(*a, *b);
  EXPECT_TRUE(a->save() == b->save());
  EXPECT_TRUE(same_values(*a->values(owner, "r"), strs({"ann", "bob"})));
  // Equal HLCs (both one counter tick past the insert): the greater actor id wins.
  EXPECT_TRUE(same(*a->lww(title, "r"), Value{std::string("from b")}));
  must(a->set(owner, "r", ValueView::string("cy")));  // covers both
  // a's clock has observed b's: a's next write wins though its actor is smaller.
  must(a->set(title, "r", ValueView::string("later from a")));
  sync_pair(*a, *b);
  EXPECT_TRUE(same_values(*b->values(owner, "r"), strs({"cy"})));
  EXPECT_TRUE(same(*b->lww(title, "r"), Value{std::string("later from a")}));
}

// DESIGN.md case 1: A removes a set element (or overwrites an mvr value) that
// B received long ago; A's delta for B must still remove it at B.
TEST_F(StoreTest, Case1RemoveOfAnOldDotReachesThePeer) {
  must(a->insert(items, "r"));
  must(a->add(tags, "r", ValueView::string("old")));
  must(a->set(owner, "r", ValueView::string("ann")));
  sync_pair(*a, *b);
  must(b->insert(items, "other"));  // b moves on
  sync_pair(*a, *b);
  const VersionVector bv = b->version();
  must(a->remove(tags, "r", ValueView::string("old")));
  must(a->set(owner, "r", ValueView::string("bob")));
  ASSERT_TRUE(b->apply(a->delta_since(bv)).ok());
  EXPECT_TRUE(b->values(tags, "r")->empty());
  EXPECT_TRUE(same_values(*b->values(owner, "r"), strs({"bob"})));
}

// Case 2: A deletes a record it never wrote (no keys of its own): the
// delete's dot travels, is relayed, and survives a snapshot round trip.
TEST_F(StoreTest, Case2DeleteOfARecordNeverWrittenTravelsAndRelays) {
  auto c = open_store(0xcccc);
  must(b->insert(items, "r"));
  must(b->set(title, "r", ValueView::string("t")));
  sync_pair(*a, *b);
  must(a->remove_record(items, "r"));
  auto a2 = reopen(*a);  // snapshot round trip
  EXPECT_EQ(a2->version(), a->version());
  ASSERT_TRUE(c->apply(b->delta_since(c->version())).ok());  // c has r from b
  ASSERT_TRUE(c->apply(a2->delta_since(c->version())).ok());  // the delete from a
  EXPECT_FALSE(c->exists(items, "r"));
  // relay: c passes the delete on to b
  ASSERT_TRUE(b->apply(c->delta_since(b->version())).ok());
  EXPECT_FALSE(b->exists(items, "r"));
  EXPECT_TRUE(a2->save() == b->save());
  EXPECT_TRUE(c->save() == b->save());
}

// Case 3: a delta computed for a newer vector arrives before the one that
// fills the gap: it waits as pending, and both orders end identical.
TEST_F(StoreTest, Case3OutOfOrderDeltaWaitsAsPending) {
  must(a->insert(items, "r"));
  must(a->set(owner, "r", ValueView::string("v1")));
  const VersionVector v0;
  const ByteVec first = a->delta_since(v0);
  const VersionVector v1 = a->version();
  must(a->set(owner, "r", ValueView::string("v2")));
  const ByteVec second = a->delta_since(v1);

  auto in_order = open_store(0x1);
  ASSERT_EQ(*in_order->apply(first), ApplyOutcome::kApplied);
  ASSERT_EQ(*in_order->apply(second), ApplyOutcome::kApplied);

  ASSERT_EQ(*b->apply(second), ApplyOutcome::kPending);
  EXPECT_EQ(b->pending_count(), 1u);
  EXPECT_FALSE(b->exists(items, "r"));
  ASSERT_EQ(*b->apply(first), ApplyOutcome::kApplied);
  EXPECT_EQ(b->pending_count(), 0u);
  EXPECT_TRUE(same_values(*b->values(owner, "r"), strs({"v2"})));
  EXPECT_TRUE(b->save() == in_order->save());
  EXPECT_TRUE(b->save() == a->save());
}

// Case 4 (chunking) belongs to the sync protocol; the engine's half is that a
// delta is one unit: joining it needs every event it names, and a pending
// delta is not state (not in snapshots).
TEST_F(StoreTest, PendingDeltasAreNotState) {
  must(a->insert(items, "r"));
  const VersionVector v1 = a->version();
  must(a->set(title, "r", ValueView::integer(1)));
  const ByteVec before = b->save();
  ASSERT_EQ(*b->apply(a->delta_since(v1)), ApplyOutcome::kPending);
  EXPECT_TRUE(b->save() == before);
  EXPECT_TRUE(b->version().empty());
}

TEST_F(StoreTest, PendingQueueIsBounded) {
  StoreOptions o;
  o.actor = 0x77;
  o.max_pending = 2;
  auto small = std::move(Store::open(test_schema(), o)).value();
  must(a->insert(items, "r"));
  for (int i = 0; i < 3; ++i) {
    const VersionVector v = a->version();
    must(a->set(title, "r", ValueView::integer(i)));
    auto r = small->apply(a->delta_since(v));
    if (i < 2) {
      EXPECT_EQ(*r, ApplyOutcome::kPending);
    } else {
      EXPECT_EQ(r.status().code(), Code::kPendingFull);
      EXPECT_TRUE(r.status().IsPendingFull());
    }
  }
  EXPECT_EQ(small->pending_count(), 2u);
  // The bytes held are bounded too.
  o.actor = 0x78;
  o.max_pending = 100;
  o.max_pending_bytes = 10;
  auto tiny = std::move(Store::open(test_schema(), o)).value();
  const VersionVector v = a->version();
  must(a->set(title, "r", ValueView::integer(9)));
  auto r = tiny->apply(a->delta_since(v));
  EXPECT_EQ(r.status().code(), Code::kPendingFull);
  EXPECT_NE(r.status().message().find("bytes"), std::string::npos);
  EXPECT_EQ(tiny->pending_count(), 0u);
}

// Case 5: a counter incremented concurrently with its record's delete reads
// only the increments the deleter had not seen.
TEST_F(StoreTest, Case5CounterAfterConcurrentDelete) {
  must(a->insert(items, "r"));
  must(a->increment(votes, "r", 5));
  sync_pair(*a, *b);
  must(a->increment(votes, "r", 3));  // concurrent with b's delete
  must(b->remove_record(items, "r"));
  sync_pair(*a, *b);
  EXPECT_TRUE(a->save() == b->save());
  ASSERT_TRUE(a->exists(items, "r")) << "update wins over a concurrent delete";
  EXPECT_EQ(*a->counter(votes, "r"), 3);
  EXPECT_EQ(*b->counter(votes, "r"), 3);
  EXPECT_TRUE(a->lww(title, "r")->index() == 0) << "fields the deleter saw are gone";
  must(b->increment(votes, "r", 1));
  sync_pair(*a, *b);
  EXPECT_EQ(*a->counter(votes, "r"), 4);
}

TEST_F(StoreTest, DeleteThenReinsertAndConcurrentInsertSurvivesDelete) {
  must(a->insert(items, "r"));
  must(a->set(title, "r", ValueView::string("one")));
  sync_pair(*a, *b);
  must(a->remove_record(items, "r"));
  EXPECT_FALSE(a->exists(items, "r"));
  EXPECT_EQ(a->lww(title, "r").status().code(), Code::kNotFound);
  must(b->set(title, "r", ValueView::string("two")));  // concurrent update
  sync_pair(*a, *b);
  ASSERT_TRUE(a->exists(items, "r"));
  EXPECT_TRUE(same(*a->lww(title, "r"), Value{std::string("two")}));
  must(a->remove_record(items, "r"));
  must(a->insert(items, "r"));  // re-insert after delete: fields start empty
  EXPECT_TRUE(a->lww(title, "r")->index() == 0);
}

TEST_F(StoreTest, SchemaMismatchIsRejected) {
  auto other = Schema::create({{"items", {{"title", Kind::kMvr}}}});
  StoreOptions o;
  o.actor = 0x99;
  auto c = std::move(Store::open(*other, o)).value();
  must(a->insert(items, "r"));
  must(a->set(title, "r", ValueView::integer(1)));
  auto r = c->apply(a->save());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kSchemaMismatch);
  EXPECT_NE(r.status().message().find("title"), std::string::npos);
  EXPECT_TRUE(c->version().empty());
  // A field a store keeps undeclared is checked the same way: a third store
  // that declares it as an mvr cannot send it to one holding it as an lww.
  auto narrow = Schema::create({{"items", {{"votes", Kind::kCounter}}}});
  o.actor = 0x98;
  auto d = std::move(Store::open(*narrow, o)).value();
  ASSERT_TRUE(d->apply(a->save()).ok());
  must(c->insert(*c->collection("items"), "q"));
  must(c->set(*c->field("items", "title"), "q", ValueView::integer(2)));
  const ByteVec before = d->save();
  r = d->apply(c->save());
  EXPECT_EQ(r.status().code(), Code::kSchemaMismatch);
  EXPECT_EQ(d->save(), before);
  // A store with extra fields and collections accepts it.
  auto wide = Schema::create({{"x", {}}, {"items", {{"extra", Kind::kSet}, {"title", Kind::kLww}}}});
  o.actor = 0x97;
  auto e = std::move(Store::open(*wide, o)).value();
  ASSERT_TRUE(e->apply(a->save()).ok());
  auto it = *e->collection("items");
  EXPECT_TRUE(same(*e->lww(*e->field(it, "title"), "r"), Value{std::int64_t{1}}));
}

// Issue 16: a store keeps the entries of fields and collections it does not
// declare (another version of the app does), never shows or writes them,
// and sends them on in its deltas and snapshots unchanged.
TEST_F(StoreTest, UndeclaredFieldsAndCollectionsAreKeptHiddenAndRelayed) {
  auto v1 = *Schema::create({{"items", {{"title", Kind::kLww}}}});
  auto v2 = *Schema::create({{"items", {{"title", Kind::kLww}, {"votes", Kind::kCounter}, {"tags", Kind::kSet}}},
                             {"notes", {{"body", Kind::kLww}}}});
  StoreOptions o;
  o.actor = 0x2001;
  auto w = std::move(Store::open(v2, o)).value();
  o.actor = 0x1001;
  auto relay = std::move(Store::open(v1, o)).value();
  o.actor = 0x2002;
  auto far = std::move(Store::open(v2, o)).value();
  auto wi = *w->collection("items");
  must(w->insert(wi, "r"));
  must(w->set(*w->field(wi, "title"), "r", ValueView::string("t")));
  must(w->increment(*w->field(wi, "votes"), "r", 5));
  must(w->add(*w->field(wi, "tags"), "r", ValueView::string("x")));
  must(w->insert(*w->collection("notes"), "n"));
  must(w->set(*w->field("notes", "body"), "n", ValueView::string("hello")));
  ASSERT_TRUE(relay->apply(w->save()).ok());
  // v1 sees its own field only; the others are not its to read or write.
  auto ri = *relay->collection("items");
  EXPECT_TRUE(same(*relay->lww(*relay->field(ri, "title"), "r"), Value{std::string("t")}));
  EXPECT_EQ(relay->field(ri, "votes").status().code(), Code::kUnknownField);
  EXPECT_EQ(relay->collection("notes").status().code(), Code::kUnknownField);
  EXPECT_EQ(relay->size(ri), 1u);
  // The writer's later change to an undeclared field travels through v1 too.
  must(w->increment(*w->field(wi, "votes"), "r", 2));
  ASSERT_TRUE(relay->apply(w->delta_since(relay->version())).ok());
  must(relay->set(*relay->field(ri, "title"), "r", ValueView::string("v1 wrote this")));
  // v2 -> v1 -> v2: everything arrives, in a snapshot and in a delta.
  ASSERT_TRUE(far->apply(relay->save()).ok());
  EXPECT_EQ(*far->counter(*far->field("items", "votes"), "r"), 7);
  EXPECT_TRUE(same_values(*far->values(*far->field("items", "tags"), "r"), strs({"x"})));
  EXPECT_TRUE(same(*far->lww(*far->field("notes", "body"), "n"), Value{std::string("hello")}));
  EXPECT_TRUE(same(*far->lww(*far->field("items", "title"), "r"), Value{std::string("v1 wrote this")}));
  ASSERT_TRUE(w->apply(relay->delta_since(w->version())).ok());
  EXPECT_EQ(w->save(), far->save());
  // A snapshot of v1 keeps them: reopened under v1, it relays them still.
  auto reloaded = std::move(Store::load(v1, relay->save(), o)).value();
  EXPECT_EQ(reloaded->save(), relay->save());
  // A record delete at v1 removes the undeclared entries it observed.
  must(relay->remove_record(ri, "r"));
  ASSERT_TRUE(far->apply(relay->delta_since(far->version())).ok());
  EXPECT_FALSE(far->exists(*far->collection("items"), "r"));
}

TEST_F(StoreTest, UndeclaredFieldsArrivingInAnyOrderGiveOneCanonicalSnapshot) {
  auto v1 = *Schema::create({{"items", {{"title", Kind::kLww}}}});
  auto with = [](const char* field, const char* coll) {
    return *Schema::create({{"items", {{"title", Kind::kLww}, {field, Kind::kCounter}}}, {coll, {{"f", Kind::kLww}}}});
  };
  StoreOptions o;
  o.actor = 0x3001;
  auto x = std::move(Store::open(with("zeta", "zc"), o)).value();
  o.actor = 0x3002;
  auto y = std::move(Store::open(with("alpha", "ac"), o)).value();
  for (auto* s : {x.get(), y.get()}) {
    auto i = *s->collection("items");
    must(s->insert(i, "r"));
    must(s->increment(s->schema().collections()[0].fields[1].name == "zeta" ? *s->field(i, "zeta") : *s->field(i, "alpha"), "r", 1));
    auto other = *s->collection(s->schema().collections()[1].name);
    must(s->insert(other, "n"));
  }
  o.actor = 0x1001;
  auto p = std::move(Store::open(v1, o)).value();
  o.actor = 0x1002;
  auto q = std::move(Store::open(v1, o)).value();
  ASSERT_TRUE(p->apply(x->save()).ok());
  ASSERT_TRUE(p->apply(y->save()).ok());
  ASSERT_TRUE(q->apply(y->save()).ok());
  ASSERT_TRUE(q->apply(x->save()).ok());
  EXPECT_EQ(p->save(), q->save());
  // And a delta from one to the other changes nothing.
  auto again = q->apply(p->delta_since(VersionVector()));
  ASSERT_TRUE(again.ok()) << again.status().message();
  EXPECT_EQ(p->save(), q->save());
}

// A record of a collection without fields (presence only) is in deltas and
// snapshots: the collection table once left such collections out, and the
// delta named a collection it did not have (corrupt for every receiver).
TEST_F(StoreTest, ACollectionWithoutFieldsTravels) {
  auto schema = *Schema::create({{"tags", {}}});
  StoreOptions o;
  o.actor = 0x4001;
  auto s = std::move(Store::open(schema, o)).value();
  must(s->insert(*s->collection("tags"), "t"));
  auto loaded = Store::load(schema, s->save());
  ASSERT_TRUE(loaded.ok()) << loaded.status().message();
  EXPECT_TRUE((*loaded)->exists(*(*loaded)->collection("tags"), "t"));
  o.actor = 0x4002;
  auto t = std::move(Store::open(schema, o)).value();
  ASSERT_TRUE(t->apply(s->delta_since(VersionVector())).ok());
  EXPECT_EQ(t->size(*t->collection("tags")), 1u);
}

TEST_F(StoreTest, SnapshotRestoresActorSeqsAndHlc) {
  must(a->insert(items, "r"));
  must(a->set(title, "r", ValueView::string("x")));
  auto a2 = reopen(*a);
  must(a2->set(title, "r", ValueView::string("y")));
  EXPECT_EQ(a2->version().get(0xaaaa), 3u);
  ASSERT_TRUE(b->apply(a->save()).ok());
  ASSERT_TRUE(b->apply(a2->delta_since(b->version())).ok());
  EXPECT_TRUE(same(*b->lww(title, "r"), Value{std::string("y")}));
  auto loaded = Store::load(test_schema(), a->delta_since(VersionVector()));
  EXPECT_EQ(loaded.status().code(), Code::kCorrupt) << "a delta is not a snapshot";
}

TEST_F(StoreTest, DeltaSinceAForeignOrFutureVectorIsStillComplete) {
  must(a->insert(items, "r"));
  must(a->set(title, "r", ValueView::integer(1)));
  // A vector with an unknown actor and a seq above ours: the base is clipped.
  auto vv = VersionVector::from_entries({{0xaaaa, 99}, {0x1234, 5}});
  ASSERT_EQ(*b->apply(a->delta_since(VersionVector())), ApplyOutcome::kApplied);
  auto r = b->apply(a->delta_since(vv));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, ApplyOutcome::kAlreadyCovered);
}

TEST_F(StoreTest, ALoadedStoreIsCheckedAgainstItsSnapshotsCounts) {
  for (const char* id : {"a", "b", "c"}) must(a->insert(items, id));
  must(a->increment(votes, "a", 2));
  must(a->add(tags, "b", ValueView::string("x")));
  const ByteVec snap = a->save();
  auto loaded = Store::load(a->schema(), snap, StoreOptions{});
  ASSERT_TRUE(loaded.ok()) << loaded.status().to_string();
  auto d = decode_delta(snap);
  ASSERT_TRUE(d.ok());
  EXPECT_TRUE((*loaded)->holds_as_loaded(*d).ok());
  // Against a snapshot with one more record, one more cell or one more
  // event, the same store does not hold what it says.
  must(a->insert(items, "d"));
  const ByteVec more = a->save();
  auto d2 = decode_delta(more);
  ASSERT_TRUE(d2.ok());
  const Status s = (*loaded)->holds_as_loaded(*d2);
  EXPECT_TRUE(s.IsCorrupt()) << s.to_string();
  EXPECT_NE(s.message().find("does not match the snapshot"), std::string::npos) << s.message();
  must(a->increment(votes, "a", 1));  // one more event and a changed cell, same records
  const ByteVec changed = a->save();
  auto d3 = decode_delta(changed);
  ASSERT_TRUE(d3.ok());
  auto reloaded = Store::load(a->schema(), changed, StoreOptions{});
  ASSERT_TRUE(reloaded.ok());
  EXPECT_TRUE((*reloaded)->holds_as_loaded(*d3).ok());
  EXPECT_TRUE((*loaded)->holds_as_loaded(*d3).IsCorrupt());
}

TEST_F(StoreTest, ADeltaListsRecordsByIdBytewiseAlsoWhenTheirFirstEightBytesAreTheSame) {
  // Ids sorted by their first 8 bytes first, then whole: ties, prefixes of
  // each other, a zero byte, multi-byte UTF-8.
  const std::vector<std::string> ids = {"person-000003", "person-000001", "zz", "person-0", std::string("person-0\0", 9),
                                        "person-000002", "ab", std::string("ab\0", 3), "\xc3\xa9t\xc3\xa9", "\xe6\x97\xa5\xe6\x9c\xac", "person-1", "a"};
  for (const std::string& id : ids) must(a->insert(items, id));
  const ByteVec bytes = a->delta_since(VersionVector{});
  auto d = decode_delta(bytes);  // its ids are views of `bytes`
  ASSERT_TRUE(d.ok()) << d.status().to_string();
  std::vector<std::string> listed, sorted(ids);
  for (const auto& r : d->records) listed.emplace_back(r.id);
  std::sort(sorted.begin(), sorted.end());
  EXPECT_EQ(listed, sorted);
  // And the peer that joins it has every record.
  ASSERT_TRUE(b->apply(a->delta_since(VersionVector{})).ok());
  for (const std::string& id : ids) EXPECT_TRUE(b->exists(items, id)) << id;
}

}  // namespace
}  // namespace mycelium::testing

namespace mycelium {
namespace {

using testing::open_store;
using testing::reopen;

// A delta naming thousands of actors joins in one pass and keeps the actor
// index sorted (lookups after it find every actor).
TEST(StoreActors, ADeltaWithThousandsOfActorsJoinsAndIndexesThemAll) {
  constexpr int kActors = 3000;
  auto hub = open_store(1);
  const CollectionRef items = *hub->collection("items");
  for (int i = 0; i < kActors; ++i) {
    auto s = open_store(static_cast<ActorId>(1'000'003) * static_cast<ActorId>(kActors - i) + 7);  // not in order
    ASSERT_TRUE(s->insert(items, "r" + std::to_string(i)).ok());
    ASSERT_TRUE(hub->apply(s->delta_since(VersionVector())).ok());
  }
  auto fresh = open_store(2);
  const ApplyLimits unlimited{true, 0, {}};
  auto r = fresh->apply(hub->delta_since(VersionVector()), unlimited);
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  EXPECT_EQ(fresh->version(), hub->version());
  EXPECT_EQ(fresh->version().entries().size(), static_cast<std::size_t>(kActors));
  EXPECT_EQ(fresh->size(items), static_cast<std::size_t>(kActors));
  // Every actor is found again: the same delta is now covered.
  EXPECT_EQ(*fresh->apply(hub->delta_since(VersionVector()), unlimited), ApplyOutcome::kAlreadyCovered);
  EXPECT_EQ(reopen(*fresh)->save(), hub->save());
}

// --- hostile peers (issue 13) ------------------------------------------------

// The 57-byte attack: a delta that claims this replica's own actor at seq
// 2^32-1 would make every later local write look covered, forever.
DeltaData claims_actor(ActorId actor, std::uint64_t seq) {
  DeltaData d;
  d.collections.push_back({"notes", {{"body", Kind::kLww}}});
  d.actors = {actor};
  d.context = {{0, seq}};
  d.records.push_back({0, "x", 0, 1});
  d.events = {{0, 0, 1, seq}};
  d.cells.push_back(d.make_cell(kPresenceField, false, 0, static_cast<std::uint32_t>(seq), 0, ValueView::null()));
  return d;
}

TEST(StoreHostile, ADeltaClaimingThisReplicasOwnUnwrittenSeqsIsCorruptAndTheStoreStillWrites) {
  auto s = open_store(0x7a);
  const CollectionRef notes = *s->collection("notes");
  testing::must(s->insert(notes, "a"));
  const ByteVec before = s->save();
  const ByteVec attack = encode_delta(claims_actor(0x7a, kMaxSeq));
  auto r = s->apply(attack);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kCorrupt) << r.status().to_string();
  EXPECT_NE(r.status().message().find("own actor"), std::string::npos);
  EXPECT_EQ(s->save(), before);
  // A replica with the same actor that wrote more (a clone, a replayed
  // backup) is refused the same way.
  auto clone = open_store(0x7a);
  for (int i = 0; i < 3; ++i) testing::must(clone->insert(notes, "c" + std::to_string(i)));
  EXPECT_EQ(s->apply(clone->delta_since(VersionVector())).status().code(), Code::kCorrupt);
  // Still writes, and its next seq is 2.
  testing::must(s->insert(notes, "b"));
  EXPECT_EQ(s->version().get(0x7a), 2u);
  // Its own events up to its seq are fine (a peer echoing them back).
  auto peer = open_store(0x5e);
  ASSERT_TRUE(peer->apply(s->delta_since(VersionVector())).ok());
  EXPECT_EQ(*s->apply(peer->delta_since(VersionVector())), ApplyOutcome::kAlreadyCovered);
}

TEST(StoreHostile, TrustedBytesOfTheOwnActorReplayAsWritten) {
  // A replica's own log, replayed into a store that reuses its actor.
  auto s = open_store(0x7a);
  const CollectionRef notes = *s->collection("notes");
  testing::must(s->insert(notes, "a"));
  testing::must(s->insert(notes, "b"));
  auto again = open_store(0x7a);
  EXPECT_FALSE(again->apply(s->delta_since(VersionVector())).ok());
  ASSERT_TRUE(again->apply(s->delta_since(VersionVector()), ApplyLimits::trusted()).ok());
  EXPECT_EQ(again->save(), s->save());
}

TEST(StoreHostile, ADeltaAddingMoreActorsThanTheLimitIsRefusedWhole) {
  auto hub = open_store(1);
  const CollectionRef items = *hub->collection("items");
  for (int i = 0; i < 40; ++i) {
    auto s = open_store(static_cast<ActorId>(1000 + i));
    testing::must(s->insert(items, "r" + std::to_string(i)));
    ASSERT_TRUE(hub->apply(s->delta_since(VersionVector())).ok());
  }
  auto fresh = open_store(2);
  const ByteVec before = fresh->save();
  auto r = fresh->apply(hub->delta_since(VersionVector()), ApplyLimits{true, 39, {}});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kLimitExceeded);
  EXPECT_EQ(fresh->save(), before);
  EXPECT_EQ(fresh->pending_count(), 0u);
  ASSERT_TRUE(fresh->apply(hub->delta_since(VersionVector()), ApplyLimits{true, 40, {}}).ok());
  EXPECT_EQ(fresh->version(), hub->version());
}

// A signed batch (docs/identity.md, Provenance): its author's signature
// vouches only for its own events, so the delta may add nothing else.
TEST(StoreHostile, ASignedBatchAddsOnlyItsAuthorsSeqs) {
  auto a = open_store(1), b = open_store(2);
  const CollectionRef items = *a->collection("items");
  testing::must(a->insert(items, "x"));
  ASSERT_TRUE(b->apply(a->delta_since(VersionVector())).ok());
  testing::must(b->insert(items, "y"));
  testing::must(b->insert(items, "z"));
  // b's seqs 1..2, against everything else b has.
  const ByteVec batch = b->delta_since(a->version());
  auto as = [](ActorId actor, std::uint64_t first, std::uint64_t last) {
    ApplyLimits l;
    l.author = ApplyLimits::Author{actor, first, last};
    return l;
  };
  auto refused = [&](Store& target, const ByteVec& bytes, const ApplyLimits& limits) {
    const ByteVec before = target.save();
    auto r = target.apply(bytes, limits);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().code(), Code::kCorrupt) << r.status().message();
    EXPECT_EQ(target.save(), before);
    EXPECT_EQ(target.pending_count(), 0u);
  };
  auto target = open_store(9);
  ASSERT_TRUE(target->apply(a->delta_since(VersionVector())).ok());
  refused(*target, batch, as(2, 1, 1));  // claims fewer seqs than it holds
  refused(*target, batch, as(2, 2, 2));  // or others
  refused(*target, batch, as(1, 1, 1));  // another author
  // A delta that also carries a's event cannot pass as b's batch.
  refused(*target, b->delta_since(VersionVector()), as(2, 1, 2));
  EXPECT_EQ(*target->apply(batch, as(2, 1, 2)), ApplyOutcome::kApplied);
  EXPECT_EQ(target->version(), b->version());
  // Checked also when it must wait: a store without a's event holds it.
  auto early = open_store(8);
  refused(*early, batch, as(2, 1, 1));
  EXPECT_EQ(*early->apply(batch, as(2, 1, 2)), ApplyOutcome::kPending);
}

TEST(StoreHostile, AHeldDeltaIsCheckedAgainstTheLimitsWhenItArrives) {
  auto a = open_store(1), b = open_store(2), c = open_store(3);
  const CollectionRef items = *a->collection("items");
  testing::must(a->insert(items, "x"));
  ASSERT_TRUE(b->apply(a->delta_since(VersionVector())).ok());
  testing::must(b->insert(items, "y"));
  ASSERT_TRUE(c->apply(b->delta_since(VersionVector())).ok());
  testing::must(c->insert(items, "z"));
  // c's delta since a's version waits for a's events; it names 3 new actors.
  auto strict = open_store(9);
  auto held = strict->apply(c->delta_since(a->version()), ApplyLimits{true, 2, {}});
  ASSERT_FALSE(held.ok());
  EXPECT_EQ(held.status().code(), Code::kLimitExceeded);
  EXPECT_EQ(strict->pending_count(), 0u);
  auto target = open_store(9);
  EXPECT_EQ(*target->apply(c->delta_since(a->version()), ApplyLimits{true, 3, {}}), ApplyOutcome::kPending);
  EXPECT_EQ(*target->apply(a->delta_since(VersionVector()), ApplyLimits{true, 3, {}}), ApplyOutcome::kApplied);
  EXPECT_EQ(target->pending_count(), 0u);
  EXPECT_EQ(target->version(), c->version());
}

// The decode budget (delta.h) must never refuse a real store: the most
// compressible one we know — sequential ids, one value everywhere — loads
// from its snapshot, and so does the first sync of it.
TEST(StoreHostile, TheMostCompressibleRealSnapshotDecodesWithinItsBudget) {
  auto s = open_store(0x11);
  const CollectionRef items = *s->collection("items");
  const FieldRef title = *s->field(items, "title");
  const FieldRef votes = *s->field(items, "votes");
  const FieldRef tags = *s->field(items, "tags");
  for (int i = 0; i < 60'000; ++i) {
    const std::string id = "todo-" + std::to_string(i);
    testing::must(s->insert(items, id));
    testing::must(s->set(title, id, ValueView::string("same")));
    testing::must(s->increment(votes, id, 1));
    testing::must(s->add(tags, id, ValueView::boolean(true)));
  }
  const ByteVec snapshot = s->save();
  if (can_compress()) {
    ASSERT_EQ(snapshot[4] & kFlagCompressed, kFlagCompressed);
  }
  EXPECT_EQ(reopen(*s)->save(), snapshot);
  auto peer = open_store(0x12);
  ASSERT_TRUE(peer->apply(s->delta_since(VersionVector())).ok());
  EXPECT_EQ(peer->size(items), 60'000u);
}

}  // namespace
}  // namespace mycelium

// --- memory given back (issue 17) --------------------------------------------

namespace mycelium::testing {
namespace {

std::string note_text(int i) { return std::to_string(1'000'000 + i) + " " + std::string(52, 'x'); }  // 60 bytes

TEST(StoreMemory, OverwritingOneFieldAllDayKeepsThePoolAtItsLiveSize) {
  auto s = open_store(0xaaaa);
  const CollectionRef notes = *s->collection("notes");
  const FieldRef body = *s->field(notes, "body");
  must(s->insert(notes, "note"));
  std::size_t most = 0;
  for (int i = 0; i < 100'000; ++i) {
    must(s->set(body, "note", ValueView::string(note_text(i))));
    most = std::max(most, s->memory_use().strings);
  }
  // 100,000 strings of 61 bytes would be 6.1 MB; the pool is freed once its
  // garbage passes 64 KiB, so it never holds more than about twice that.
  EXPECT_LT(most, std::size_t{256} << 10);
  EXPECT_TRUE(same(*s->lww(body, "note"), Value{note_text(99'999)}));
  auto again = reopen(*s);
  EXPECT_EQ(again->save(), s->save());
}

TEST(StoreMemory, ConcurrentValuesACoveringWriteDropsAreFreed) {
  // 1,500 replicas set one field concurrently (crdt-benchmarks B3.3): the
  // field keeps every value until a write that saw them all covers them.
  constexpr int kWriters = 1500;
  auto hub = open_store(1);
  const CollectionRef notes = *hub->collection("notes");
  const FieldRef body = *hub->field(notes, "body");
  must(hub->insert(notes, "shared"));
  const ByteVec base = hub->save();
  for (int i = 0; i < kWriters; ++i) {
    auto s = open_store(static_cast<ActorId>(100 + i));
    ASSERT_TRUE(s->apply(base).ok());
    must(s->set(body, "shared", ValueView::string(note_text(i))));
    ASSERT_TRUE(hub->apply(s->delta_since(hub->version()), ApplyLimits{true, 0, {}}).ok());
  }
  const Store::MemoryUse held = hub->memory_use();
  EXPECT_GT(held.strings, std::size_t{kWriters} * 61);
  must(hub->set(body, "shared", ValueView::string(std::string("the last word, long enough to pool"))));
  const Store::MemoryUse after = hub->memory_use();
  EXPECT_LT(after.strings, std::size_t{4} << 10);
  EXPECT_LT(after.cells * 20, held.cells);
  EXPECT_TRUE(same(*hub->lww(body, "shared"), Value{std::string("the last word, long enough to pool")}));
  EXPECT_EQ(reopen(*hub)->save(), hub->save());
}

TEST(StoreMemory, CompactingThePoolAtAnyMomentChangesNoByteOfAnyOutput) {
  // Twins: the same writes, the same deltas; one compacts its pool after
  // every step. Their snapshots, deltas and reads must never differ.
  for (std::uint64_t seed = 1; seed <= 20; ++seed) {
    std::mt19937_64 rng_a(seed), rng_b(seed), rng_c(seed + 1000);
    auto a = open_store(0xaaaa), twin = open_store(0xaaaa), c = open_store(0xcccc);
    for (int round = 0; round < 12; ++round) {
      random_writes(*a, rng_a, 25);
      random_writes(*twin, rng_b, 25);
      random_writes(*c, rng_c, 25);
      twin->compact_strings();
      if (round % 3 == 2) {
        const ByteVec from_c = c->delta_since(a->version());
        ASSERT_TRUE(a->apply(from_c).ok());
        ASSERT_TRUE(twin->apply(from_c).ok());
        twin->compact_strings();
        ASSERT_TRUE(c->apply(a->delta_since(c->version())).ok());
      }
      ASSERT_EQ(a->save(), twin->save()) << "seed " << seed << " round " << round;
      ASSERT_EQ(a->delta_since(c->version()), twin->delta_since(c->version()));
    }
    EXPECT_EQ(reopen(*twin)->save(), a->save());
  }
}

}  // namespace
}  // namespace mycelium::testing

namespace mycelium::testing {
namespace {

TEST(StoreMemory, ADeltaWrittenInPiecesIsTheDeltaWrittenWhole) {
  // 40,000 records of 3 to 6 cells: the store writes its snapshot and its
  // deltas a piece of about 16,384 cells at a time; decoding them and
  // encoding the whole at once must give the same bytes.
  auto s = open_store(0xaaaa);
  auto peer = open_store(0xbbbb);
  const CollectionRef items = *s->collection("items");
  const FieldRef title = *s->field(items, "title"), votes = *s->field(items, "votes"), tags = *s->field(items, "tags");
  for (int i = 0; i < 40'000; ++i) {
    const std::string id = "item-" + std::to_string(i * 7919 % 40'000);
    must(s->insert(items, id));
    must(s->set(title, id, ValueView::string(i % 3 ? "a title long enough to pool " + std::to_string(i % 500) : "short")));
    if (i % 2) must(s->increment(votes, id, i));
    if (i % 5 == 0) must(s->add(tags, id, ValueView::string("tag " + std::to_string(i % 7))));
  }
  const VersionVector half = [&] {
    sync_pair(*s, *peer);
    return peer->version();
  }();
  for (int i = 0; i < 40'000; i += 3) must(s->set(title, "item-" + std::to_string(i), ValueView::string("changed " + std::to_string(i))));
  for (bool detached : {false, true}) {
    const ByteVec bytes = s->delta_since(half, detached);
    VersionVector context = s->version();
    auto d = decode_delta(bytes, detached ? &context : nullptr);
    ASSERT_TRUE(d.ok()) << d.status().to_string();
    EXPECT_EQ(encode_delta(*d, detached), bytes);
  }
  const ByteVec snapshot = s->save();
  auto d = decode_delta(snapshot);
  ASSERT_TRUE(d.ok()) << d.status().to_string();
  EXPECT_GT(d->cell_total, std::size_t{1} << 16);  // several pieces, and streamed
  EXPECT_TRUE(d->streamed.has_value());
  EXPECT_EQ(encode_delta(*d), snapshot);
  EXPECT_EQ(reopen(*s)->save(), snapshot);
  ASSERT_TRUE(peer->apply(s->delta_since(peer->version())).ok());
  EXPECT_EQ(peer->save(), reopen(*peer)->save());
  EXPECT_EQ(*peer->lww(title, "item-3"), Value{std::string("changed 3")});
}

}  // namespace
}  // namespace mycelium::testing

namespace mycelium::testing {
namespace {

TEST(StoreMemory, AStreamedJoinIsTheJoinOfTheWholeDelta) {
  // Twins: one decodes every delta whole, the other streamed (delta.h: the
  // cells checked in a first pass, then decoded again piece by piece for
  // the join). Snapshots, deltas, held deltas and reported changes must
  // never differ; detached deltas that arrive ahead of their base are held
  // (and re-encoded) and joined later.
  std::size_t held = 0;
  for (std::uint64_t seed = 1; seed <= 12; ++seed) {
    std::mt19937_64 rng_a(seed), rng_c(seed + 1000), rng_order(seed + 2000);
    auto a = open_store(0xaaaa), twin = open_store(0xaaaa, nullptr, test_schema(), 0);
    auto c = open_store(0xcccc);
    a->capture_changes(true);
    twin->capture_changes(true);
    std::vector<std::pair<ByteVec, VersionVector>> late;  // (detached delta, its context)
    for (int round = 0; round < 10; ++round) {
      const VersionVector before = c->version();
      random_writes(*c, rng_c, 30);
      const ByteVec step = c->delta_since(before, /*detached=*/true);
      const VersionVector context = c->version();
      if (rng_order() % 3 == 0) {
        late.emplace_back(step, context);  // comes later, after its successors
        continue;
      }
      for (Store* s : {a.get(), twin.get()}) {
        auto r = s->apply(step, {}, &context);
        ASSERT_TRUE(r.ok()) << r.status().to_string();
      }
      ASSERT_EQ(a->pending_count(), twin->pending_count());
      held += twin->pending_count();
      auto ca = a->take_changes(), ct = twin->take_changes();
      ASSERT_EQ(ca.size(), ct.size()) << "seed " << seed << " round " << round;
      for (std::size_t i = 0; i < ca.size(); ++i) {
        EXPECT_EQ(ca[i].id, ct[i].id);
        EXPECT_EQ(ca[i].fields, ct[i].fields);
      }
      ASSERT_EQ(a->save(), twin->save()) << "seed " << seed << " round " << round;
    }
    for (const auto& [bytes, context] : late) {
      for (Store* s : {a.get(), twin.get()}) ASSERT_TRUE(s->apply(bytes, {}, &context).ok());
    }
    EXPECT_EQ(a->pending_count(), 0u);
    EXPECT_EQ(twin->pending_count(), 0u);
    EXPECT_EQ(a->save(), c->save());
    EXPECT_EQ(twin->save(), c->save());
    EXPECT_EQ(reopen(*twin, 0)->save(), c->save());  // a streamed load
  }
  EXPECT_GT(held, 0u);  // the held path ran
}

}  // namespace
}  // namespace mycelium::testing
