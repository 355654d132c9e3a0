// SequenceFields: replicas editing texts and lists of several records
// concurrently (inserts, deletes, record deletes), exchanging entries
// through the section's bytes — late, twice, and as whole snapshots — must
// converge, keep exactly the elements no delete observed, and send a
// keystroke in a few bytes. Hostile entries are refused by check() alone.
#include "sequence_fields.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <random>
#include <set>

namespace mycelium {
namespace {

using Id = Sequence::Id;
using Key = SequenceFields::Key;

const std::vector<ActorId> kActors = {0x11, 0x22, 0x33};
const Key kKeys[] = {{0, 1}, {0, 2}, {3, 1}};

Sequence::Content content_of(std::uint8_t field) {
  return field == 2 ? Sequence::Content::kValues : Sequence::Content::kUtf8;
}

std::uint32_t actor_index(ActorId a) {
  return static_cast<std::uint32_t>(std::lower_bound(kActors.begin(), kActors.end(), a) - kActors.begin());
}

using Version = std::map<ActorId, std::uint32_t>;

std::uint32_t at(const Version& v, ActorId a) {
  auto it = v.find(a);
  return it == v.end() ? 0 : it->second;
}

// A delta of sequence entries: the section's bytes, the version it was
// made since (its base) and the sender's version (its context), and
// the record-delete dots the sender knows.
struct Delta {
  ByteVec bytes;
  Version base, context;
  std::set<Id> record_deletes;
};

struct Replica {
  ActorId actor;
  std::uint32_t seq = 0;
  Version version;
  SequenceFields fields;
  std::set<Id> record_deletes;  // dots of the record deletes this replica knows
  std::uint64_t hlc = 0;        // a clock that observes what it joins, as the store's

  Id next(std::uint32_t n) {
    const Id first{actor, seq + 1};
    seq += n;
    version[actor] = seq;
    return first;
  }

  Delta delta_since(const Version& since) const {
    Delta d{{}, since, version, record_deletes};
    bool whole = false;
    for (const Id& dot : record_deletes) whole = whole || dot.seq > at(since, dot.actor);
    SeqSection s;
    for (std::uint32_t r = 0; r < 4; ++r) {
      for (std::uint8_t f : fields.fields_of(r)) {
        auto e = fields.entry_since(Key{r, f}, r, [&](ActorId a) { return at(since, a); }, whole, actor_index);
        if (e) s.entries.push_back(std::move(*e));
      }
    }
    Writer w;
    write_sequences(w, s, /*sets=*/true);
    d.bytes.assign(w.view().begin(), w.view().end());
    return d;
  }

  // Applies a delta whose base this replica covers: check every entry,
  // then join them all. Returns the first error.
  Status apply(const Delta& d) {
    for (const auto& [a, s] : d.base) {
      if (at(version, a) < s) return InvalidArgument("base not covered");
    }
    SeqTables t;
    t.sets = true;
    t.actors = kActors.size();
    t.records = 4;
    t.content = [](std::uint32_t, std::uint8_t field) -> std::optional<Sequence::Content> {
      if (field == 1 || field == 2) return content_of(field);
      return std::nullopt;
    };
    Reader r(d.bytes);
    SeqSection s;
    MYC_TRY(read_sequences(r, t, s));
    auto new_dots = [&](Id first, std::uint32_t length) -> Status {
      if (first.seq <= at(version, first.actor) || first.seq + std::uint64_t{length} - 1 > at(d.context, first.actor)) {
        return Corrupt("not a new dot of the delta");
      }
      return Status::Ok();
    };
    auto covered = [&](Id dot) { return dot.seq <= at(version, dot.actor); };
    for (const SeqEntry& e : s.entries) {
      const Key k{e.record, e.field};
      MYC_TRY(fields.check(e, fields.find(k) ? std::optional<Key>(k) : std::nullopt, content_of(e.field), kActors, new_dots,
                           covered));
    }
    for (const SeqEntry& e : s.entries) {
      MYC_TRY(fields.join(e, Key{e.record, e.field}, content_of(e.field), kActors, covered).status());
      for (const SeqSet& x : e.sets) hlc = std::max(hlc, x.hlc);
    }
    for (const auto& [a, n] : d.context) version[a] = std::max(version[a], n);
    record_deletes.insert(d.record_deletes.begin(), d.record_deletes.end());
    return Status::Ok();
  }
};

// A list element: its length, then the value (a one-character string).
std::string value(char c) { return std::string("\x02\x04") + c; }

// What every replica must end with: the ids inserted, less those a delete
// event named or a record delete saw live.
struct Oracle {
  std::set<Id> inserted, deleted;
  // A list element's value: the set of greatest (HLC, actor), else the
  // insert's (docs/sequences.md, Writes).
  std::map<Id, std::string> value;
  std::map<Id, std::pair<std::pair<std::uint64_t, ActorId>, std::string>> best_set;
  std::string value_of(Id id) const {
    auto s = best_set.find(id);
    return s != best_set.end() ? s->second.second : value.at(id);
  }
  void live_at_record_delete(const Replica& r, std::uint32_t record) {
    for (std::uint8_t f : r.fields.fields_of(record)) {
      for (const auto& span : r.fields.find(Key{record, f})->spans()) {
        if (span.deleted) continue;
        for (std::uint32_t i = 0; i < span.length; ++i) deleted.insert(Id{span.first.actor, span.first.seq + i});
      }
    }
  }
};

void random_edit(Replica& r, Oracle& o, std::mt19937_64& rng) {
  const Key k = kKeys[rng() % 3];
  const Sequence* s = r.fields.find(k);
  const std::size_t size = s ? s->size() : 0;
  const auto roll = rng() % 20;
  if (roll == 0) {  // a record delete
    o.live_at_record_delete(r, k.record);
    r.record_deletes.insert(r.next(1));
    r.fields.erase_record(k.record);
    return;
  }
  if (size > 0 && k.field == 2 && roll >= 7 && roll < 10) {  // a set
    const std::size_t index = rng() % size;
    const Id target = s->at(index);
    const std::string v = value(static_cast<char>('A' + rng() % 26));
    const Id dot = r.next(1);
    ASSERT_TRUE(r.fields.set(k, index, dot, ++r.hlc, v).ok());
    auto& best = o.best_set[target];
    if (best.second.empty() || best.first < std::pair(r.hlc, r.actor)) best = {{r.hlc, r.actor}, v};
    return;
  }
  if (size > 0 && roll < 7) {
    const std::size_t index = rng() % size;
    const std::size_t count = 1 + rng() % std::min<std::size_t>(size - index, 4);
    std::vector<Id> gone;
    for (std::size_t i = 0; i < count; ++i) gone.push_back(s->at(index + i));
    ASSERT_TRUE(r.fields.erase(k, index, count, r.next(1)).ok());
    o.deleted.insert(gone.begin(), gone.end());
    return;
  }
  const auto n = static_cast<std::uint32_t>(1 + rng() % 3);
  std::string bytes;
  std::vector<std::uint32_t> wide;
  for (std::uint32_t i = 0; i < n; ++i) {
    const char c = static_cast<char>('a' + rng() % 26);
    if (k.field == 2) {
      bytes += value(c);
    } else if (rng() % 5 == 0) {
      wide.push_back(i);
      bytes += "\xf0\x9f\x98\x80";
    } else {
      bytes += c;
    }
  }
  // Mostly typing on where this replica typed last: the end.
  const std::size_t index = rng() % 3 ? size : rng() % (size + 1);
  const Id first = r.next(n);
  auto run = r.fields.insert(k, content_of(k.field), index, first, n, wide, bytes);
  ASSERT_TRUE(run.ok()) << run.status().to_string();
  for (std::uint32_t i = 0; i < n; ++i) {
    o.inserted.insert(Id{first.actor, first.seq + i});
    if (k.field == 2) o.value[Id{first.actor, first.seq + i}] = bytes.substr(3 * i, 3);
  }
}

std::vector<Sequence::Span> spans_of(const Replica& r, Key k) {
  const Sequence* s = r.fields.find(k);
  return s ? s->spans() : std::vector<Sequence::Span>{};
}

void expect_converged(const std::vector<Replica>& rs, const Oracle& o, std::uint64_t seed) {
  for (const Key& k : kKeys) {
    const Sequence* first = rs[0].fields.find(k);
    const std::string text = first ? first->content() : "";
    for (const Replica& r : rs) {
      const Sequence* s = r.fields.find(k);
      EXPECT_EQ(s ? s->content() : "", text) << "seed " << seed;
      const auto spans = spans_of(r, k);
      ASSERT_EQ(spans.size(), spans_of(rs[0], k).size()) << "seed " << seed;
      for (std::size_t i = 0; i < spans.size(); ++i) {
        EXPECT_EQ(spans[i].first, spans_of(rs[0], k)[i].first);
        EXPECT_EQ(spans[i].deleted, spans_of(rs[0], k)[i].deleted);
      }
      // Live exactly when inserted and never deleted by what observed it.
      for (const auto& span : spans) {
        for (std::uint32_t i = 0; i < span.length; ++i) {
          const Id id{span.first.actor, span.first.seq + i};
          ASSERT_TRUE(o.inserted.count(id));
          EXPECT_EQ(span.deleted, o.deleted.count(id) == 1) << "seed " << seed;
          if (k.field != 2 || span.deleted) continue;
          std::string v;
          r.fields.find(k)->content_of(id, 1, v);
          EXPECT_EQ(v, o.value_of(id)) << "seed " << seed;
        }
      }
    }
  }
}

TEST(SequenceFields, ReplicasConvergeOnTheElementsNoDeleteObserved) {
  for (std::uint64_t seed = 1; seed <= 40; ++seed) {
    std::mt19937_64 rng(seed);
    std::vector<Replica> rs(3);
    for (std::size_t i = 0; i < rs.size(); ++i) rs[i].actor = kActors[i];
    Oracle o;
    std::vector<std::pair<std::size_t, Delta>> late;  // deltas held back, to their receiver
    for (int step = 0; step < 200; ++step) {
      Replica& r = rs[rng() % rs.size()];
      if (rng() % 3) {
        random_edit(r, o, rng);
        continue;
      }
      const std::size_t to = rng() % rs.size();
      if (&rs[to] == &r) continue;
      Delta d = r.delta_since(rs[to].version);
      if (rng() % 4 == 0) {  // later, maybe after others
        late.emplace_back(to, std::move(d));
        continue;
      }
      ASSERT_TRUE(rs[to].apply(d).ok()) << "seed " << seed << " step " << step;
      // Twice changes nothing.
      const auto before = spans_of(rs[to], kKeys[0]);
      ASSERT_TRUE(rs[to].apply(d).ok());
      EXPECT_EQ(spans_of(rs[to], kKeys[0]).size(), before.size());
      if (!late.empty() && rng() % 2) {
        auto [who, held] = std::move(late.front());
        late.erase(late.begin());
        const Status st = rs[who].apply(held);
        // A held delta applies once its base is covered (always, here: a
        // replica's version only grows).
        ASSERT_TRUE(st.ok()) << st.to_string() << " seed " << seed;
      }
    }
    for (int round = 0; round < 2; ++round) {
      for (std::size_t a = 0; a < rs.size(); ++a) {
        for (std::size_t b = 0; b < rs.size(); ++b) {
          if (a == b) continue;
          ASSERT_TRUE(rs[b].apply(rs[a].delta_since(rs[b].version)).ok()) << "seed " << seed;
        }
      }
    }
    expect_converged(rs, o, seed);
    // A fresh replica loaded from one snapshot holds the same.
    Replica fresh;
    fresh.actor = 0x44;
    ASSERT_TRUE(fresh.apply(rs[1].delta_since({})).ok()) << "seed " << seed;
    rs.push_back(std::move(fresh));
    expect_converged(rs, o, seed);
    // And a snapshot is the same bytes from every replica.
    EXPECT_EQ(rs[0].delta_since({}).bytes, rs[3].delta_since({}).bytes) << "seed " << seed;
  }
}

TEST(SequenceFields, AKeystrokeTravelsInAFewBytes) {
  Replica a, b;
  a.actor = 0x11;
  b.actor = 0x22;
  std::string text(2000, 'x');
  ASSERT_TRUE(a.fields.insert(kKeys[0], Sequence::Content::kUtf8, 0, a.next(2000), 2000, {}, text).ok());
  ASSERT_TRUE(a.fields.erase(kKeys[0], 100, 50, a.next(1)).ok());
  ASSERT_TRUE(b.apply(a.delta_since({})).ok());
  ASSERT_TRUE(a.fields.insert(kKeys[0], Sequence::Content::kUtf8, 700, a.next(1), 1, {}, "y").ok());
  Delta d = a.delta_since(b.version);
  EXPECT_LE(d.bytes.size(), 24u);  // the entry; a delta adds its frame
  ASSERT_TRUE(b.apply(d).ok());
  ASSERT_TRUE(a.fields.erase(kKeys[0], 10, 1, a.next(1)).ok());
  d = a.delta_since(b.version);
  EXPECT_LE(d.bytes.size(), 24u);  // the entry; a delta adds its frame
  ASSERT_TRUE(b.apply(d).ok());
  EXPECT_EQ(b.fields.find(kKeys[0])->content(), a.fields.find(kKeys[0])->content());
  EXPECT_EQ(b.fields.delete_count(kKeys[0]), 2u);
}

TEST(SequenceFields, ARecordDeleteKeepsWhatItDidNotSee) {
  Replica a, b;
  a.actor = 0x11;
  b.actor = 0x22;
  ASSERT_TRUE(a.fields.insert(kKeys[0], Sequence::Content::kUtf8, 0, a.next(3), 3, {}, "abc").ok());
  ASSERT_TRUE(b.apply(a.delta_since({})).ok());
  // b types on concurrently with a's record delete.
  ASSERT_TRUE(b.fields.insert(kKeys[0], Sequence::Content::kUtf8, 3, b.next(2), 2, {}, "de").ok());
  a.record_deletes.insert(a.next(1));
  a.fields.erase_record(0);
  EXPECT_EQ(a.fields.find(kKeys[0])->content(), "");
  const Delta to_b = a.delta_since(b.version), to_a = b.delta_since(a.version);
  ASSERT_TRUE(b.apply(to_b).ok());
  ASSERT_TRUE(a.apply(to_a).ok());
  EXPECT_EQ(a.fields.find(kKeys[0])->content(), "de");
  EXPECT_EQ(b.fields.find(kKeys[0])->content(), "de");
}

// --- hostile entries -----------------------------------------------------------

SeqPart part(std::uint32_t actor, std::uint32_t seq, std::uint32_t length, std::optional<SeqRef> left,
             std::optional<SeqRef> right, bool live = true) {
  SeqPart p{SeqRef{actor, seq}, length, left, right, {}, {}};
  if (live) {
    p.live.push_back(Sequence::Live{0, length, length});
    p.content = std::string(length, 'q');
  }
  return p;
}

bool nothing_covered(Id) { return false; }

class Hostile : public ::testing::Test {
 protected:
  void SetUp() override {
    // Known here: "abc" by actor 0, seqs 1-3, and one delete event (0, 4)
    // of element (0, 2).
    ASSERT_TRUE(fields_.insert(kKeys[0], Sequence::Content::kUtf8, 0, Id{0x11, 1}, 3, {}, "abc").ok());
    ASSERT_TRUE(fields_.erase(kKeys[0], 1, 1, Id{0x11, 4}).ok());
  }
  // Refused by check(), with the message; new dots: actor 1's seqs 1-9.
  void expect_refused(const SeqEntry& e, const char* text, std::optional<Key> k = kKeys[0]) {
    auto new_dots = [](Id first, std::uint32_t length) -> Status {
      if (first.actor != 0x22 || first.seq + std::uint64_t{length} - 1 > 9) return Corrupt("not a new dot of the delta");
      return Status::Ok();
    };
    const Status st = fields_.check(e, k, Sequence::Content::kUtf8, kActors, new_dots, nothing_covered);
    ASSERT_FALSE(st.ok()) << "accepted: " << text;
    EXPECT_EQ(st.code(), Code::kCorrupt);
    EXPECT_NE(st.message().find(text), std::string::npos) << "expected '" << text << "': " << st.to_string();
  }
  bool accepted(const SeqEntry& e) {
    auto new_dots = [](Id first, std::uint32_t length) -> Status {
      return first.actor == 0x22 && first.seq + std::uint64_t{length} - 1 <= 9 ? Status::Ok() : Corrupt("x");
    };
    return fields_.check(e, kKeys[0], Sequence::Content::kUtf8, kActors, new_dots, nothing_covered).ok();
  }
  SequenceFields fields_;
};

TEST_F(Hostile, OriginsMustBeKnownOrInTheDelta) {
  EXPECT_TRUE(accepted(SeqEntry{0, 1, {part(1, 1, 2, SeqRef{0, 3}, std::nullopt)}, {}}));
  expect_refused(SeqEntry{0, 1, {part(1, 1, 2, SeqRef{2, 7}, std::nullopt)}, {}}, "neither known nor in the delta");
  // In the delta: a run placed after another new one.
  EXPECT_TRUE(accepted(SeqEntry{0, 1, {part(1, 1, 2, SeqRef{0, 3}, std::nullopt), part(1, 5, 1, SeqRef{1, 2}, std::nullopt)}, {}}));
  // A record new here knows nothing.
  expect_refused(SeqEntry{0, 1, {part(1, 1, 2, SeqRef{0, 3}, std::nullopt)}, {}}, "neither known", std::nullopt);
}

TEST_F(Hostile, OriginsThatWaitOnEachOtherAreRefused) {
  expect_refused(SeqEntry{0, 1, {part(1, 1, 2, SeqRef{1, 5}, std::nullopt), part(1, 5, 1, SeqRef{1, 2}, std::nullopt)}, {}},
                 "wait on each other");
  expect_refused(SeqEntry{0, 1, {part(1, 1, 2, std::nullopt, SeqRef{1, 2})}, {}}, "wait on each other");  // itself
}

TEST_F(Hostile, KnownElementsKeepTheirOrigins) {
  expect_refused(SeqEntry{0, 1, {part(0, 1, 3, SeqRef{0, 3}, std::nullopt)}, {}}, "other origins");
  EXPECT_TRUE(accepted(SeqEntry{0, 1, {part(0, 1, 3, std::nullopt, std::nullopt, false)}, {}}));
}

TEST_F(Hostile, NewElementsAndDeletesMustBeTheDeltasDots) {
  // Actor 2's elements are not the delta's events.
  expect_refused(SeqEntry{0, 1, {part(2, 1, 1, std::nullopt, std::nullopt)}, {}}, "not a new dot");
  expect_refused(SeqEntry{0, 1, {}, {SeqDelete{SeqRef{2, 1}, {SeqTarget{SeqRef{0, 1}, 1}}}}}, "not a new dot");
}

TEST_F(Hostile, DeleteTargetsMustBeKnownOrInTheDelta) {
  EXPECT_TRUE(accepted(SeqEntry{0, 1, {}, {SeqDelete{SeqRef{1, 1}, {SeqTarget{SeqRef{0, 1}, 3}}}}}));
  expect_refused(SeqEntry{0, 1, {}, {SeqDelete{SeqRef{1, 1}, {SeqTarget{SeqRef{0, 1}, 4}}}}}, "neither known nor in the delta");
  // A target in a new part of the same entry, spanning known and new: the
  // part carries it deleted, as its sender has it.
  EXPECT_TRUE(accepted(SeqEntry{0, 1, {part(1, 1, 2, SeqRef{0, 3}, std::nullopt, false)},
                                {SeqDelete{SeqRef{1, 3}, {SeqTarget{SeqRef{0, 3}, 1}, SeqTarget{SeqRef{1, 1}, 2}}}}}));
  // No sender carries live an element it has a delete of.
  expect_refused(SeqEntry{0, 1, {part(1, 1, 2, SeqRef{0, 3}, std::nullopt)},
                          {SeqDelete{SeqRef{1, 3}, {SeqTarget{SeqRef{1, 2}, 1}}}}},
                 "carries live");
  // A known delete sent with other targets rewrites history.
  expect_refused(SeqEntry{0, 1, {}, {SeqDelete{SeqRef{0, 4}, {SeqTarget{SeqRef{0, 1}, 1}}}}}, "other targets");
  EXPECT_TRUE(accepted(SeqEntry{0, 1, {}, {SeqDelete{SeqRef{0, 4}, {SeqTarget{SeqRef{0, 2}, 1}}}}}));
}

// Origins crossed (the right one before the left one) pass the check: the
// join cannot see them without placing. It places such a run as if its
// right origin were the end, the same on every replica, and never fails.
TEST_F(Hostile, CrossedOriginsArePlacedAtTheEndAlike) {
  const SeqEntry e{0, 1, {part(1, 1, 2, SeqRef{0, 3}, SeqRef{0, 1})}, {}};
  ASSERT_TRUE(accepted(e));
  SequenceFields other;
  ASSERT_TRUE(other.insert(kKeys[0], Sequence::Content::kUtf8, 0, Id{0x11, 1}, 3, {}, "abc").ok());
  ASSERT_TRUE(other.erase(kKeys[0], 1, 1, Id{0x11, 4}).ok());
  auto changed = fields_.join(e, kKeys[0], Sequence::Content::kUtf8, kActors, nothing_covered);
  ASSERT_TRUE(changed.ok());
  EXPECT_TRUE(*changed);
  ASSERT_TRUE(other.join(e, kKeys[0], Sequence::Content::kUtf8, kActors, nothing_covered).ok());
  EXPECT_EQ(fields_.find(kKeys[0])->content(), "acqq");
  EXPECT_EQ(other.find(kKeys[0])->content(), fields_.find(kKeys[0])->content());
  // Joining it again changes nothing.
  auto again = fields_.join(e, kKeys[0], Sequence::Content::kUtf8, kActors, nothing_covered);
  ASSERT_TRUE(again.ok());
  EXPECT_FALSE(*again);
}

}  // namespace
}  // namespace mycelium
