// The Store's list and text fields (docs/sequences.md): writes and reads at
// the API, deltas and snapshots through real bytes (format versions 3 and
// 4),
// convergence of several stores under random concurrent edits, reordered
// and detached deltas and reloads, and hostile deltas refused with the
// store unchanged.
#include <random>

#include "test_util.h"

namespace mycelium::testing {
namespace {

Schema notes_schema() {
  return *Schema::create({{"notes", {{"title", Kind::kLww}, {"body", Kind::kText}, {"tags", Kind::kList}}}});
}

class StoreSequences : public ::testing::Test {
 protected:
  void SetUp() override {
    a = open_store(0xaaaa, nullptr, notes_schema());
    b = open_store(0xbbbb, nullptr, notes_schema());
    notes = *a->collection("notes");
    title = *a->field(notes, "title");
    body = *a->field(notes, "body");
    tags = *a->field(notes, "tags");
  }
  std::string text(Store& s, std::string_view id) {
    auto t = s.text(body, id);
    EXPECT_TRUE(t.ok()) << t.status().to_string();
    return t.ok() ? *t : "";
  }
  std::unique_ptr<Store> a, b;
  CollectionRef notes;
  FieldRef title, body, tags;
};

TEST_F(StoreSequences, TextIndexesAreUtf16AndEachElementIsAnEvent) {
  must(a->insert(notes, "n"));
  must(a->insert_text(body, "n", 0, "h\xc3\xa9llo"));  // héllo: 5 events
  must(a->insert_text(body, "n", 5, " \xf0\x9f\x98\x80!"));  // " 😀!": 3 elements, 4 units
  EXPECT_EQ(text(*a, "n"), "h\xc3\xa9llo \xf0\x9f\x98\x80!");
  EXPECT_EQ(a->version().get(0xaaaa), 9u);
  // Index 7 falls inside the surrogate pair of 😀 (units 6 and 7).
  EXPECT_EQ(a->insert_text(body, "n", 7, "x").code(), Code::kInvalidArgument);
  EXPECT_EQ(a->erase_range(body, "n", 6, 1).code(), Code::kInvalidArgument);
  EXPECT_EQ(a->insert_text(body, "n", 10, "x").code(), Code::kInvalidArgument);  // past the end (9 units)
  EXPECT_EQ(a->erase_range(body, "n", 8, 2).code(), Code::kInvalidArgument);
  EXPECT_EQ(a->insert_text(body, "n", 0, std::string("\xff", 1)).code(), Code::kInvalidArgument);
  EXPECT_EQ(a->version().get(0xaaaa), 9u);  // refused writes take no dots
  must(a->erase_range(body, "n", 6, 2));  // the emoji: one delete event
  must(a->insert_text(body, "n", 1, "E"));
  must(a->erase_range(body, "n", 2, 1));
  EXPECT_EQ(text(*a, "n"), "hEllo !");
  EXPECT_EQ(a->version().get(0xaaaa), 12u);
  must(a->insert_text(body, "n", 0, ""));  // nothing: no event
  must(a->erase_range(body, "n", 3, 0));
  EXPECT_EQ(a->version().get(0xaaaa), 12u);
  EXPECT_EQ(a->insert_text(title, "n", 0, "x").code(), Code::kWrongKind);
  EXPECT_EQ(a->set(body, "n", ValueView::string("x")).code(), Code::kWrongKind);
  EXPECT_EQ(a->insert_text(body, "missing", 0, "x").code(), Code::kNotFound);
}

TEST_F(StoreSequences, ListsHoldValuesOfEveryType) {
  must(a->insert(notes, "n"));
  const ValueView vs[] = {ValueView::string("a"), ValueView::integer(-7), ValueView::null(), ValueView::boolean(true),
                          ValueView::number(1.5), ValueView::bytes(std::string_view("\0\1", 2))};
  must(a->insert_values(tags, "n", 0, vs));
  must(a->erase_range(tags, "n", 1, 2));
  const ValueView more[] = {ValueView::string("z")};
  must(a->insert_values(tags, "n", 4, more));
  auto l = a->list(tags, "n");
  ASSERT_TRUE(l.ok());
  ASSERT_EQ(l->size(), 5u);
  EXPECT_TRUE(same((*l)[0], Value{std::string("a")}));
  EXPECT_TRUE(same((*l)[1], Value{true}));
  EXPECT_TRUE(same((*l)[2], Value{1.5}));
  EXPECT_TRUE(same((*l)[3], Value{Bytes{std::string("\0\1", 2)}}));
  EXPECT_TRUE(same((*l)[4], Value{std::string("z")}));
  EXPECT_EQ(a->insert_values(tags, "n", 6, more).code(), Code::kInvalidArgument);
  EXPECT_EQ(a->erase_range(tags, "n", 4, 2).code(), Code::kInvalidArgument);
  const ValueView bad[] = {ValueView::string(std::string_view("\xff", 1))};
  EXPECT_EQ(a->insert_values(tags, "n", 0, bad).code(), Code::kInvalidArgument);
  // Through a snapshot, the same values.
  auto c = reopen(*a);
  auto back = c->list(tags, "n");
  ASSERT_TRUE(back.ok());
  ASSERT_EQ(back->size(), 5u);
  for (std::size_t i = 0; i < 5; ++i) EXPECT_TRUE(same((*back)[i], (*l)[i]));
}

TEST_F(StoreSequences, AKeystrokeIsAFewDozenBytesAndOldFormatsStayOld) {
  must(a->insert(notes, "n"));
  must(a->set(title, "n", ValueView::string("plain")));
  // No list or text field named: version 2, which older builds read.
  EXPECT_EQ(a->delta_since({})[3], 2);
  std::string page(5000, 'x');
  must(a->insert_text(body, "n", 0, page));
  must(a->erase_range(body, "n", 100, 900));
  sync_pair(*a, *b);
  must(a->insert_text(body, "n", 2500, "y"));
  const ByteVec one = a->delta_since(b->version());
  EXPECT_EQ(one[3], 3);
  EXPECT_LT(one.size(), 80u) << "a keystroke's delta carries the text";
  const ByteVec detached = a->delta_since(b->version(), /*detached=*/true);
  EXPECT_LT(detached.size(), one.size());
  const VersionVector context = a->version();
  auto r = b->apply(detached, {}, &context);
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  must(a->erase_range(body, "n", 7, 1));
  const ByteVec del = a->delta_since(b->version());
  EXPECT_LT(del.size(), 80u);
  ASSERT_TRUE(b->apply(del).ok());
  EXPECT_EQ(text(*b, "n"), text(*a, "n"));
  EXPECT_EQ(a->save(), b->save());
}

TEST_F(StoreSequences, ARecordDeleteKeepsConcurrentTypingVisible) {
  must(a->insert(notes, "n"));
  must(a->insert_text(body, "n", 0, "abc"));
  sync_pair(*a, *b);
  must(b->insert_text(body, "n", 3, "de"));
  must(a->remove_record(notes, "n"));
  EXPECT_FALSE(a->exists(notes, "n"));
  sync_pair(*a, *b);
  sync_pair(*a, *b);
  EXPECT_TRUE(a->exists(notes, "n"));
  EXPECT_EQ(text(*a, "n"), "de");
  EXPECT_EQ(text(*b, "n"), "de");
  EXPECT_EQ(a->save(), b->save());
  // A record that only text keeps visible is visible after a reload too.
  EXPECT_EQ(text(*reopen(*a), "n"), "de");
}

TEST_F(StoreSequences, ConcurrentWordsDoNotInterleave) {
  must(a->insert(notes, "n"));
  must(a->insert_text(body, "n", 0, "[]"));
  sync_pair(*a, *b);
  for (const char c : std::string("abc")) must(a->insert_text(body, "n", 1 + (c - 'a'), std::string(1, c)));
  for (const char c : std::string("xyz")) must(b->insert_text(body, "n", 1 + (c - 'x'), std::string(1, c)));
  sync_pair(*a, *b);
  const std::string t = text(*a, "n");
  EXPECT_TRUE(t == "[abcxyz]" || t == "[xyzabc]") << t;
  EXPECT_EQ(text(*b, "n"), t);
}

std::vector<std::int64_t> ints(Store& s, FieldRef f, std::string_view id) {
  std::vector<std::int64_t> out;
  const auto list = s.list(f, id);  // kept: a range-for over *s.list() would outlive it
  EXPECT_TRUE(list.ok());
  for (const Value& v : *list) out.push_back(std::get<std::int64_t>(v));
  return out;
}

TEST_F(StoreSequences, ASetReplacesAListValueAndConcurrentSetsResolveAsLww) {
  must(a->insert(notes, "n"));
  const ValueView three[] = {ValueView::integer(1), ValueView::integer(2), ValueView::integer(3)};
  must(a->insert_values(tags, "n", 0, three));
  // Lists only, inside the list, valid values.
  EXPECT_EQ(a->set_element(body, "n", 0, ValueView::integer(9)).code(), Code::kWrongKind);
  EXPECT_EQ(a->set_element(tags, "n", 3, ValueView::integer(9)).code(), Code::kInvalidArgument);
  EXPECT_EQ(a->set_element(tags, "n", 0, ValueView::string(std::string_view("\xff", 1))).code(), Code::kInvalidArgument);
  EXPECT_EQ(a->set_element(tags, "missing", 0, ValueView::integer(9)).code(), Code::kNotFound);
  const std::uint64_t events = a->version().get(0xaaaa);
  must(a->set_element(tags, "n", 1, ValueView::integer(20)));
  EXPECT_EQ(a->version().get(0xaaaa), events + 1);  // one event
  EXPECT_EQ(ints(*a, tags, "n"), (std::vector<std::int64_t>{1, 20, 3}));
  sync_pair(*a, *b);
  EXPECT_EQ(ints(*b, tags, "n"), (std::vector<std::int64_t>{1, 20, 3}));
  // A set after one it observed wins, also when its wall clock reads
  // earlier: its HLC has observed the set it replaces.
  auto early = std::make_shared<FakeClock>();
  early->ms = 1000;
  auto late_clock = open_store(0xdddd, early, notes_schema());
  sync_pair(*a, *late_clock);
  must(late_clock->set_element(tags, "n", 1, ValueView::integer(21)));
  sync_pair(*a, *late_clock);
  sync_pair(*a, *b);
  EXPECT_EQ(ints(*a, tags, "n"), (std::vector<std::int64_t>{1, 21, 3}));
  EXPECT_EQ(ints(*b, tags, "n"), (std::vector<std::int64_t>{1, 21, 3}));
  // Concurrent sets of one element: both stores keep the same one.
  must(a->set_element(tags, "n", 0, ValueView::integer(100)));
  must(b->set_element(tags, "n", 0, ValueView::integer(200)));
  sync_pair(*a, *b);
  EXPECT_EQ(ints(*a, tags, "n"), ints(*b, tags, "n"));
  EXPECT_TRUE(ints(*a, tags, "n")[0] == 100 || ints(*a, tags, "n")[0] == 200);
  EXPECT_EQ(a->save(), b->save());
  // A delete wins over a concurrent set of the element.
  must(a->erase_range(tags, "n", 2, 1));
  must(b->set_element(tags, "n", 2, ValueView::integer(300)));
  sync_pair(*a, *b);
  EXPECT_EQ(ints(*a, tags, "n").size(), 2u);
  EXPECT_EQ(ints(*a, tags, "n"), ints(*b, tags, "n"));
  EXPECT_EQ(a->save(), b->save());
  // Through a snapshot, the same values; a fresh store joining it too.
  EXPECT_EQ(ints(*reopen(*a), tags, "n"), ints(*a, tags, "n"));
  auto c = open_store(0xcccc, nullptr, notes_schema());
  ASSERT_TRUE(c->apply(a->save()).ok());
  EXPECT_EQ(ints(*c, tags, "n"), ints(*a, tags, "n"));
  EXPECT_EQ(c->save(), a->save());
}

TEST_F(StoreSequences, SetsTravelAtFormatVersionFourOnly) {
  must(a->insert(notes, "n"));
  const ValueView two[] = {ValueView::string("a"), ValueView::string("b")};
  must(a->insert_values(tags, "n", 0, two));
  EXPECT_EQ(a->delta_since({})[3], 3);  // a list never set: version 3, which older builds read
  sync_pair(*a, *b);
  must(a->set_element(tags, "n", 1, ValueView::string("B")));
  const ByteVec one = a->delta_since(b->version());
  EXPECT_EQ(one[3], 4);
  EXPECT_LT(one.size(), 80u) << "a set carries the list";
  ASSERT_TRUE(b->apply(one).ok());
  EXPECT_TRUE(same((*b->list(tags, "n"))[1], Value{std::string("B")}));
  // Deleting the element drops its set: the snapshot is version 3 again.
  must(a->erase_range(tags, "n", 1, 1));
  EXPECT_EQ(a->delta_since({})[3], 3);
}

// Three stores edit texts and lists of a few records (and an lww field),
// delete ranges and records, and exchange deltas late, out of order,
// twice, detached, and through reloads. They end with the same snapshot
// bytes; a fresh store loading one has the same texts.
TEST(StoreSequencesRandom, StoresConvergeUnderRandomConcurrentEdits) {
  const char* ids[] = {"p", "q", "r"};
  for (std::uint64_t seed = 1; seed <= 25; ++seed) {
    std::mt19937_64 rng(seed);
    std::vector<std::unique_ptr<Store>> s;
    for (ActorId actor : {ActorId{0x101}, ActorId{0x202}, ActorId{0x303}}) s.push_back(open_store(actor, nullptr, notes_schema()));
    const FieldRef title = *s[0]->field("notes", "title"), body = *s[0]->field("notes", "body"),
                   tags = *s[0]->field("notes", "tags");
    const CollectionRef notes = *s[0]->collection("notes");
    std::vector<std::pair<std::size_t, ByteVec>> late;
    for (int step = 0; step < 150; ++step) {
      Store& st = *s[rng() % s.size()];
      const char* id = ids[rng() % 3];
      const auto roll = rng() % 24;
      if (!st.exists(notes, id)) {
        if (roll < 12) must(st.insert(notes, id));
        continue;
      }
      if (roll == 0) {
        must(st.remove_record(notes, id));
      } else if (roll == 1) {
        must(st.set(title, id, ValueView::integer(step)));
      } else if (roll < 12) {
        const std::size_t units = st.text(body, id)->size();  // ASCII and é: bytes >= units
        std::string piece = rng() % 4 ? std::string(1 + rng() % 3, static_cast<char>('a' + rng() % 26)) : "\xc3\xa9";
        // Retry an index inside é's two bytes: the API wants units.
        std::size_t at = rng() % (units + 1);
        Status r = st.insert_text(body, id, at, piece);
        while (!r.ok()) {
          ASSERT_EQ(r.code(), Code::kInvalidArgument) << r.to_string();
          at = rng() % (units + 1);
          r = st.insert_text(body, id, at, piece);
        }
      } else if (roll < 16) {
        auto sq = st.sequence_at(static_cast<std::uint32_t>(st.visible(notes, id)), body.field);
        if (sq && sq->units() > 0) {
          const std::size_t at = rng() % sq->units();
          (void)st.erase_range(body, id, at, 1 + rng() % std::min<std::size_t>(3, sq->units() - at));  // may split é: refused
        }
      } else if (roll < 20) {
        const ValueView v[] = {ValueView::integer(static_cast<std::int64_t>(rng() % 100))};
        const std::size_t n = st.list(tags, id)->size();
        must(st.insert_values(tags, id, rng() % (n + 1), v));
      } else if (roll < 22) {
        const std::size_t n = st.list(tags, id)->size();
        if (n > 0) must(st.erase_range(tags, id, rng() % n, 1));
      } else {
        const std::size_t n = st.list(tags, id)->size();
        if (n > 0) must(st.set_element(tags, id, rng() % n, ValueView::integer(1000 + step)));
      }
      if (rng() % 3 == 0) {  // a delta to another store: now, later, or detached
        const std::size_t from = rng() % s.size(), to = rng() % s.size();
        if (from == to) continue;
        if (rng() % 4 == 0) {
          late.emplace_back(to, s[from]->delta_since(s[to]->version()));
        } else if (rng() % 3 == 0) {
          const VersionVector ctx = s[from]->version();
          const ByteVec d = s[from]->delta_since(s[to]->version(), true);
          auto r = s[to]->apply(d, {}, &ctx);
          ASSERT_TRUE(r.ok()) << r.status().to_string() << " seed " << seed;
        } else {
          const ByteVec d = s[from]->delta_since(s[to]->version());
          ASSERT_TRUE(s[to]->apply(d).ok()) << "seed " << seed;
          ASSERT_TRUE(s[to]->apply(d).ok());  // again: covered
        }
      }
      if (!late.empty() && rng() % 5 == 0) {
        auto [to, d] = std::move(late.front());
        late.erase(late.begin());
        auto r = s[to]->apply(d);
        ASSERT_TRUE(r.ok()) << r.status().to_string() << " seed " << seed;
      }
      if (rng() % 40 == 0) {  // a store reloads from its snapshot
        const std::size_t k = rng() % s.size();
        s[k] = reopen(*s[k]);
      }
    }
    for (auto& [to, d] : late) ASSERT_TRUE(s[to]->apply(d).ok());
    for (int round = 0; round < 2; ++round) {
      for (std::size_t x = 0; x < s.size(); ++x) {
        for (std::size_t y = 0; y < s.size(); ++y) {
          if (x == y) continue;
          ASSERT_TRUE(s[y]->apply(s[x]->delta_since(s[y]->version())).ok()) << "seed " << seed;
        }
      }
    }
    for (auto& st : s) ASSERT_EQ(st->pending_count(), 0u);
    const ByteVec snap = s[0]->save();
    for (auto& st : s) EXPECT_EQ(st->save(), snap) << "seed " << seed;
    auto fresh = Store::load(notes_schema(), snap);
    ASSERT_TRUE(fresh.ok()) << fresh.status().to_string();
    for (const char* id : ids) {
      EXPECT_EQ(s[0]->exists(notes, id), (*fresh)->exists(notes, id));
      if (!s[0]->exists(notes, id)) continue;
      for (auto& st : s) EXPECT_EQ(*st->text(body, id), *(*fresh)->text(body, id)) << "seed " << seed;
      const auto list = *(*fresh)->list(tags, id);
      for (auto& st : s) {
        const auto other = *st->list(tags, id);
        ASSERT_EQ(other.size(), list.size());
        for (std::size_t i = 0; i < list.size(); ++i) EXPECT_TRUE(same(other[i], list[i])) << "seed " << seed;
      }
    }
    EXPECT_EQ((*fresh)->save(), snap);
  }
}

// --- hostile deltas --------------------------------------------------------------

class HostileSequences : public StoreSequences {
 protected:
  void SetUp() override {
    StoreSequences::SetUp();
    must(a->insert(notes, "n"));
    must(a->insert_text(body, "n", 0, "hello"));
    sync_pair(*a, *b);
    must(a->insert_text(body, "n", 5, " world"));
    must(a->erase_range(body, "n", 0, 1));
    good = a->delta_since(b->version());
    auto d = decode_delta(good);
    ASSERT_TRUE(d.ok());
    decoded = std::move(*d);
    ASSERT_EQ(decoded.sequences.entries.size(), 1u);
    before = b->save();
  }
  // The delta with its sequences changed by `edit`, re-encoded.
  template <typename Edit>
  ByteVec with(Edit edit) {
    auto d = decode_delta(good);
    EXPECT_TRUE(d.ok());
    edit(d->sequences.entries[0]);
    return encode_delta(*d);
  }
  void expect_refused(const ByteVec& bytes, const char* text) {
    auto r = b->apply(bytes);
    ASSERT_FALSE(r.ok()) << "accepted: " << text;
    EXPECT_EQ(r.status().code(), Code::kCorrupt) << r.status().to_string();
    EXPECT_NE(r.status().message().find(text), std::string::npos) << "expected '" << text << "': " << r.status().to_string();
    EXPECT_EQ(b->save(), before);
  }
  ByteVec good, before;
  DeltaData decoded;
};

TEST_F(HostileSequences, TheUnchangedDeltaApplies) {
  EXPECT_EQ(with([](SeqEntry&) {}), good);
  ASSERT_TRUE(b->apply(good).ok());
  EXPECT_EQ(text(*b, "n"), "ello world");
}

TEST_F(HostileSequences, ElementsMustBeTheDeltasEventsOnTheirField) {
  // The new run moved onto seqs the base covers (its own start among them).
  expect_refused(with([](SeqEntry& e) { e.parts.back().first.seq = 1; }), "overlaps elements this replica knows");
  // Past the context.
  expect_refused(with([](SeqEntry& e) { e.parts.back().first.seq += 100; }), "not covered by the context");
  // A delete event's dot on an insert's seq.
  expect_refused(with([](SeqEntry& e) { e.deletes[0].dot.seq -= 1; }), "two list or text elements, deletes or sets");
  // An element on the seq of the record's presence (a cell of this delta
  // after a reinsert), in one event run whose scope names both.
  must(b->remove_record(notes, "n"));
  must(b->insert(notes, "n"));
  must(b->insert_text(body, "n", 0, "xy"));
  before = b->save();
  const ByteVec honest = b->delta_since(a->version());  // the views below point into it
  auto d = decode_delta(honest);
  ASSERT_TRUE(d.ok());
  ASSERT_EQ(d->sequences.entries.size(), 1u);
  d->sequences.entries[0].parts.back().first.seq -= 1;  // onto the insert's dot
  const ByteVec lie = encode_delta(*d);
  auto r = a->apply(lie);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("also a list or text element"), std::string::npos) << r.status().to_string();
}

TEST_F(HostileSequences, OriginsAndTargetsMustBeKnownOrCarried) {
  expect_refused(with([](SeqEntry& e) {
                   e.parts.back().left = SeqRef{e.parts.back().first.actor, 999};
                 }),
                 "");
  expect_refused(with([](SeqEntry& e) { e.deletes[0].targets[0].first.seq = 999; }), "neither known nor in the delta");
  // Past the known text into the new " world", which its part carries live.
  expect_refused(with([](SeqEntry& e) { e.deletes[0].targets[0].length = 50; }), "carries live");
}

// Sets of list elements: a set names an element known or carried, is an
// event of its field, and a set the receiver knows keeps its value.
TEST_F(StoreSequences, HostileSetsAreRefusedWithTheStoreUnchanged) {
  must(a->insert(notes, "n"));
  const ValueView two[] = {ValueView::integer(1), ValueView::integer(2)};
  must(a->insert_values(tags, "n", 0, two));
  must(a->insert_text(body, "n", 0, "hi"));
  sync_pair(*a, *b);
  must(a->set_element(tags, "n", 0, ValueView::integer(10)));
  const ByteVec good = a->delta_since(b->version());
  const ByteVec before = b->save();
  auto edited = [&](auto edit) {
    auto d = decode_delta(good);
    EXPECT_TRUE(d.ok());
    SeqEntry* list = nullptr;
    for (SeqEntry& e : d->sequences.entries) {
      if (!e.sets.empty()) list = &e;
    }
    EXPECT_NE(list, nullptr);
    edit(*list, *d);
    return encode_delta(*d);
  };
  auto refused = [&](const ByteVec& bytes, const char* text) {
    auto r = b->apply(bytes);
    ASSERT_FALSE(r.ok()) << "accepted: " << text;
    EXPECT_NE(r.status().message().find(text), std::string::npos) << "expected '" << text << "': " << r.status().to_string();
    EXPECT_EQ(b->save(), before);
  };
  refused(edited([](SeqEntry& e, DeltaData&) { e.sets[0].target.seq = 999; }), "neither known nor in the delta");
  // Onto the text's entry: the decoder refuses a set of a text element.
  refused(edited([](SeqEntry& e, DeltaData&) { e.field = 1; }), "");
  // A set's dot past the context, or not an event of the list field.
  refused(edited([](SeqEntry& e, DeltaData&) { e.sets[0].dot.seq += 5; }), "not covered by the context");
  // Known here, the same set with another value rewrites history: a later
  // delta from the same base carries it again, with a new element.
  const VersionVector base = b->version();
  ASSERT_TRUE(b->apply(good).ok());
  const ValueView more[] = {ValueView::integer(3)};
  must(a->insert_values(tags, "n", 2, more));
  const ByteVec next = a->delta_since(base);
  const ByteVec known = b->save();
  auto d = decode_delta(next);
  ASSERT_TRUE(d.ok());
  for (SeqEntry& e : d->sequences.entries) {
    for (SeqSet& x : e.sets) x.value = std::string("\x09\x02") + std::string(8, '\x07');
  }
  auto r = b->apply(encode_delta(*d));
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("another value"), std::string::npos) << r.status().to_string();
  EXPECT_EQ(b->save(), known);
  ASSERT_TRUE(b->apply(next).ok());
  EXPECT_EQ(ints(*b, tags, "n"), (std::vector<std::int64_t>{10, 2, 3}));
}

TEST_F(HostileSequences, TruncationsAndBitFlipsChangeNothing) {
  for (std::size_t n = 0; n < good.size(); ++n) {
    auto r = b->apply(std::span<const std::uint8_t>(good.data(), n));
    EXPECT_FALSE(r.ok());
  }
  // Uncompressed payload: flip each bit of it (the frame's checksum is
  // fixed up, so the decoder, not the CRC, must refuse or accept whole).
  auto u = unframe(good);
  ASSERT_TRUE(u.ok());
  const ByteVec payload(u->payload.begin(), u->payload.end());
  int applied = 0;
  for (std::size_t at = 0; at < payload.size(); ++at) {
    for (int bit = 0; bit < 8; ++bit) {
      ByteVec m = payload;
      m[at] ^= static_cast<std::uint8_t>(1u << bit);
      auto target = reopen(*b);
      const ByteVec was = target->save();
      auto r = target->apply(frame(PayloadKind::kDelta, m, u->version));
      if (!r.ok()) {
        EXPECT_EQ(target->save(), was);
      } else {
        ++applied;
        // Whatever it joined, the state still saves and loads.
        auto again = Store::load(notes_schema(), target->save());
        ASSERT_TRUE(again.ok()) << again.status().to_string() << " byte " << at << " bit " << bit;
      }
    }
  }
  EXPECT_LT(applied, static_cast<int>(payload.size() * 8));
}

}  // namespace
}  // namespace mycelium::testing
