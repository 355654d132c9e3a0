#include "sequence_codec.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <random>

namespace mycelium {
namespace {

using Id = Sequence::Id;

// The actors of a test delta, sorted (as a delta's table is).
const std::vector<ActorId> kActors = {11, 22, 33};

std::uint32_t actor_index(ActorId a) {
  return static_cast<std::uint32_t>(std::lower_bound(kActors.begin(), kActors.end(), a) - kActors.begin());
}

SeqEntry entry_of(const Sequence& s, std::uint32_t record, std::uint8_t field) {
  return sequence_entry(s, record, field, actor_index);
}

// A sequence built from an entry, as a receiver would.
Status load(const SeqEntry& e, Sequence& out) {
  std::vector<Sequence::Run> runs;
  std::vector<std::vector<Sequence::Stretch>> live;
  entry_runs(e, kActors, Sequence::Content::kUtf8, runs, live);
  return out.integrate_all(runs, live);
}

SeqTables text_tables() {
  SeqTables t;
  t.actors = kActors.size();
  t.records = 4;
  t.content = [](std::uint32_t, std::uint8_t field) -> std::optional<Sequence::Content> {
    if (field == 1) return Sequence::Content::kUtf8;
    if (field == 2) return Sequence::Content::kValues;
    return std::nullopt;
  };
  return t;
}

// Two replicas editing one text concurrently, then merged both ways (each
// receiving the other's runs as they were made, so in parts).
void edit(Sequence& a, Sequence& b, std::mt19937_64& rng) {
  const char* chars[] = {"x", "y", "\xc3\xa9", "\xf0\x9f\x98\x80"};
  std::uint32_t seq_a = 1, seq_b = 1;
  std::vector<std::pair<Sequence::Run, std::string>> from_a, from_b;
  auto type = [&](Sequence& s, ActorId actor, std::uint32_t& seq, auto& sent) {
    if (s.size() > 2 && rng() % 4 == 0) {
      ASSERT_TRUE(s.erase(rng() % (s.size() - 1), 1 + rng() % 2).ok());
      return;
    }
    std::string text;
    const auto n = static_cast<std::uint32_t>(1 + rng() % 3);
    for (std::uint32_t k = 0; k < n; ++k) text += chars[rng() % 4];
    std::uint32_t len;
    std::vector<std::uint32_t> wide;
    ASSERT_TRUE(Sequence::shape(Sequence::Content::kUtf8, text, len, wide));
    auto run = s.insert(rng() % (s.size() + 1), Id{actor, seq}, len, wide, text);
    ASSERT_TRUE(run.ok());
    seq += len;
    sent.emplace_back(*run, text);
  };
  for (int i = 0; i < 40; ++i) {
    type(a, 11, seq_a, from_a);
    type(b, 22, seq_b, from_b);
  }
  // Exchange: every run as made, then the other side's deletions.
  for (auto& [run, text] : from_a) {
    const Sequence::Stretch all[] = {{0, run.length, text}};
    ASSERT_TRUE(b.integrate(run, all).ok());
  }
  for (auto& [run, text] : from_b) {
    const Sequence::Stretch all[] = {{0, run.length, text}};
    ASSERT_TRUE(a.integrate(run, all).ok());
  }
  for (Sequence* s : {&a, &b}) {
    const Sequence& other = s == &a ? b : a;
    for (const auto& span : other.spans()) {
      if (span.deleted) {
        ASSERT_TRUE(s->erase_ids(span.first, span.length).ok());
      }
    }
  }
}

ByteVec encode(const SeqSection& s) {
  Writer w;
  write_sequences(w, s, has_sets(s));
  return ByteVec(w.view().begin(), w.view().end());
}

TEST(SequenceCodec, RoundTripsAndTheBytesAreTheSameOnEveryReplica) {
  for (std::uint64_t seed = 1; seed <= 20; ++seed) {
    std::mt19937_64 rng(seed);
    Sequence a(Sequence::Content::kUtf8), b(Sequence::Content::kUtf8);
    edit(a, b, rng);
    ASSERT_EQ(a.content(), b.content());
    SeqSection sa, sb;
    sa.entries.push_back(entry_of(a, 3, 1));
    sb.entries.push_back(entry_of(b, 3, 1));
    sa.entries[0].deletes.push_back(SeqDelete{SeqRef{0, 7}, {SeqTarget{SeqRef{0, 1}, 2}, SeqTarget{SeqRef{1, 4}, 1}}});
    sb.entries[0].deletes = sa.entries[0].deletes;
    const ByteVec bytes = encode(sa);
    // Canonical: b received the same runs in another order and in parts.
    ASSERT_EQ(bytes, encode(sb)) << "seed " << seed;
    Reader r(bytes);
    SeqSection back;
    const Status st = read_sequences(r, text_tables(), back);
    ASSERT_TRUE(st.ok()) << st.to_string();
    EXPECT_EQ(r.remaining(), 0u);
    EXPECT_EQ(encode(back), bytes);
    Sequence c(Sequence::Content::kUtf8);
    ASSERT_TRUE(load(back.entries[0], c).ok());
    EXPECT_EQ(c.content(), a.content());
    EXPECT_EQ(c.units(), a.units());
    ASSERT_EQ(back.entries[0].deletes.size(), 1u);
    EXPECT_EQ(back.entries[0].deletes[0].targets.size(), 2u);
  }
}

// The section of a text two replicas edited, with one delete event.
ByteVec sample_section(std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  Sequence a(Sequence::Content::kUtf8), b(Sequence::Content::kUtf8);
  edit(a, b, rng);
  SeqSection s;
  s.entries.push_back(entry_of(a, 1, 1));
  s.entries[0].deletes.push_back(SeqDelete{SeqRef{2, 9}, {SeqTarget{SeqRef{0, 1}, 3}}});
  s.entries.push_back(SeqEntry{2, 1, {}, {SeqDelete{SeqRef{1, 4}, {SeqTarget{SeqRef{0, 2}, 1}}}}});
  return encode(s);
}

TEST(SequenceCodec, EveryTruncationIsRefused) {
  const ByteVec bytes = sample_section(3);
  for (std::size_t n = 0; n < bytes.size(); ++n) {
    Reader r(std::span<const std::uint8_t>(bytes.data(), n));
    SeqSection out;
    EXPECT_FALSE(read_sequences(r, text_tables(), out).ok()) << "truncated at " << n;
  }
}

// Single-bit changes: refused, or read as a section whose written bytes
// read back to the same section (the writer's encoding is a fixed point;
// readers take varints longer than they need be, as all of the engine's do).
TEST(SequenceCodec, AMutatedSectionIsRefusedOrWritesAFixedPoint) {
  const ByteVec bytes = sample_section(4);
  int refused = 0;
  for (std::size_t at = 0; at < bytes.size(); ++at) {
    for (int bit = 0; bit < 8; ++bit) {
      ByteVec m = bytes;
      m[at] ^= static_cast<std::uint8_t>(1u << bit);
      Reader r(m);
      SeqSection out;
      const Status st = read_sequences(r, text_tables(), out);
      if (!st.ok() || r.remaining() != 0) {
        ++refused;
        continue;
      }
      const ByteVec written = encode(out);
      Reader again(written);
      SeqSection back;
      ASSERT_TRUE(read_sequences(again, text_tables(), back).ok()) << "byte " << at << " bit " << bit;
      EXPECT_EQ(encode(back), written) << "byte " << at << " bit " << bit;
    }
  }
  EXPECT_GT(refused, static_cast<int>(bytes.size()));  // most are refused
}

SeqPart part(std::uint32_t actor, std::uint32_t first, std::uint32_t length, std::optional<SeqRef> left = std::nullopt,
             std::optional<SeqRef> right = std::nullopt) {
  SeqPart p;
  p.first = SeqRef{actor, first};
  p.length = length;
  p.left = left;
  p.right = right;
  p.live.push_back(Sequence::Live{0, length, length});
  p.content = std::string(length, 'a');
  return p;
}

void expect_refused(const SeqSection& s, const char* text) {
  const ByteVec bytes = encode(s);
  Reader r(bytes);
  SeqSection out;
  const Status st = read_sequences(r, text_tables(), out);
  ASSERT_FALSE(st.ok()) << "accepted: " << text;
  EXPECT_EQ(st.code(), Code::kCorrupt);
  EXPECT_NE(st.message().find(text), std::string::npos) << "expected '" << text << "': " << st.to_string();
}

TEST(SequenceCodec, NonCanonicalOrInconsistentSectionsSayWhatIsWrong) {
  SeqSection s;
  // A part of the previous part's actor is written as the gap past its end,
  // so out-of-order or overlapping parts of one actor come out as a gap that
  // wraps around: a seq out of range. Across actors the order is checked.
  s.entries.push_back(SeqEntry{1, 1, {part(0, 5, 2), part(0, 1, 2)}, {}});
  expect_refused(s, "out of range");
  s.entries[0].parts = {part(0, 1, 3), part(0, 3, 2)};
  expect_refused(s, "out of range");
  s.entries[0].parts = {part(1, 1, 3), part(0, 3, 2)};
  expect_refused(s, "canonical order");
  s.entries[0].parts = {part(0, 1, 3), part(0, 4, 2, SeqRef{0, 3})};
  expect_refused(s, "continue each other");
  s.entries[0].parts = {part(0, 1, 3)};
  s.entries[0].parts[0].live = {Sequence::Live{0, 1, 1}, Sequence::Live{1, 2, 2}};
  expect_refused(s, "apart");
  s.entries[0].parts[0].live = {Sequence::Live{0, 3, 2}, Sequence::Live{0, 0, 1}};
  s.entries[0].parts[0].live.pop_back();
  s.entries[0].parts[0].content = "aa";
  expect_refused(s, "not its stretch's elements");
  s.entries[0].parts[0].live = {Sequence::Live{0, 1, 1}};
  s.entries[0].parts[0].content = "\xff";
  expect_refused(s, "not its stretch's elements");
  s.entries = {SeqEntry{1, 0, {part(0, 1, 1)}, {}}};
  expect_refused(s, "not a list or a text");
  s.entries = {SeqEntry{2, 1, {part(0, 1, 1)}, {}}, SeqEntry{1, 1, {part(0, 1, 1)}, {}}};
  expect_refused(s, "entries not in canonical order");
  s.entries = {SeqEntry{1, 1, {}, {}}};
  expect_refused(s, "without parts, deletes or sets");
  auto& deletes = s.entries[0].deletes;
  deletes = {SeqDelete{SeqRef{0, 3}, {SeqTarget{SeqRef{0, 1}, 2}, SeqTarget{SeqRef{0, 3}, 1}}}};
  expect_refused(s, "touching");
  deletes = {SeqDelete{SeqRef{1, 3}, {SeqTarget{SeqRef{0, 1}, 1}}}, SeqDelete{SeqRef{0, 9}, {SeqTarget{SeqRef{0, 1}, 1}}}};
  expect_refused(s, "deletes not in canonical order");
  deletes = {SeqDelete{SeqRef{0, 9}, {SeqTarget{SeqRef{0, 1}, 1}}}, SeqDelete{SeqRef{0, 3}, {SeqTarget{SeqRef{0, 1}, 1}}}};
  expect_refused(s, "out of range");
  deletes = {SeqDelete{SeqRef{0, 3}, {SeqTarget{SeqRef{0, 0xffffffffu}, 2}}}};
  expect_refused(s, "length out of range");
  deletes = {SeqDelete{SeqRef{0, 3}, {}}};
  expect_refused(s, "without targets");
}

SeqDelete one(std::uint32_t actor, std::uint32_t seq, std::uint32_t target_actor, std::uint32_t target) {
  return SeqDelete{SeqRef{actor, seq}, {SeqTarget{SeqRef{target_actor, target}, 1}}};
}

SeqSection deletes_only(std::vector<SeqDelete> d) {
  SeqSection s;
  s.entries.push_back(SeqEntry{1, 1, {}, std::move(d)});
  return s;
}

SeqSection read_back(const ByteVec& bytes) {
  Reader r(bytes);
  SeqSection out;
  const Status st = read_sequences(r, text_tables(), out);
  EXPECT_TRUE(st.ok()) << st.to_string();
  EXPECT_EQ(r.remaining(), 0u);
  return out;
}

// Holding backspace: 1,000 delete events, each removing the element before
// the previous one's, travel as one group of a few bytes and read back as
// the same 1,000 events; so does holding the delete key (forward).
TEST(SequenceCodec, RunsOfSingleDeletesTravelAsOneGroup) {
  for (const int dir : {-1, 1}) {
    std::vector<SeqDelete> d;
    for (std::uint32_t i = 0; i < 1000; ++i) {
      d.push_back(one(0, 2001 + i, 0, static_cast<std::uint32_t>(1500 + dir * static_cast<int>(i))));
    }
    d.push_back(one(0, 3001, 1, 7));  // another actor's element: a group of its own
    d.push_back(one(2, 5, 0, 40));    // another deleter
    const SeqSection s = deletes_only(d);
    const ByteVec bytes = encode(s);
    EXPECT_LT(bytes.size(), 30u) << "direction " << dir;
    const SeqSection back = read_back(bytes);
    ASSERT_EQ(back.entries.size(), 1u);
    ASSERT_EQ(back.entries[0].deletes.size(), d.size());
    for (std::size_t i = 0; i < d.size(); ++i) {
      EXPECT_EQ(back.entries[0].deletes[i].dot, d[i].dot);
      ASSERT_EQ(back.entries[0].deletes[i].targets.size(), 1u);
      EXPECT_EQ(back.entries[0].deletes[i].targets[0].first, d[i].targets[0].first);
      EXPECT_EQ(back.entries[0].deletes[i].targets[0].length, 1u);
    }
    EXPECT_EQ(encode(back), bytes);
  }
  // A direction change, a range delete, a gap in seqs: each starts a group.
  const std::vector<SeqDelete> mixed = {one(0, 10, 0, 5), one(0, 11, 0, 4), one(0, 12, 0, 5), one(0, 13, 0, 6),
                                        SeqDelete{SeqRef{0, 14}, {SeqTarget{SeqRef{0, 7}, 3}}}, one(0, 16, 0, 1)};
  const SeqSection back = read_back(encode(deletes_only(mixed)));
  ASSERT_EQ(back.entries[0].deletes.size(), mixed.size());
  for (std::size_t i = 0; i < mixed.size(); ++i) {
    EXPECT_EQ(back.entries[0].deletes[i].dot, mixed[i].dot);
    EXPECT_EQ(back.entries[0].deletes[i].targets[0].first, mixed[i].targets[0].first);
    EXPECT_EQ(back.entries[0].deletes[i].targets[0].length, mixed[i].targets[0].length);
  }
}

// Hand-written groups: two that could be one, a bad direction, targets that
// run out of seqs, a group past kMaxDeleteGroup and one past the budget.
TEST(SequenceCodec, DeleteGroupsAreCheckedAndBounded) {
  auto section = [](std::initializer_list<std::uint64_t> group_fields, std::uint64_t groups) {
    Writer w;
    w.varint(1);  // one entry
    w.varint(1);  // record
    w.u8(1);      // field (text)
    w.varint(0);  // no parts
    w.varint(groups);
    for (const std::uint64_t v : group_fields) w.varint(v);
    return ByteVec(w.view().begin(), w.view().end());
  };
  auto refused = [](const ByteVec& bytes, SeqTables t, const char* text) {
    Reader r(bytes);
    SeqSection out;
    const Status st = read_sequences(r, t, out);
    ASSERT_FALSE(st.ok()) << text;
    EXPECT_NE(st.message().find(text), std::string::npos) << "expected '" << text << "': " << st.to_string();
  };
  // Group fields: actor, seq, k, then (k = 1) target count, actor, zigzag distance, length
  // or (k > 1) direction, actor, zigzag distance.
  const std::uint64_t back2 = 2 * 3 - 1;  // zigzag(-3)
  // Two single deletes, the second one removing the element before the first's: one group.
  refused(section({0, 10, 1, 1, 0, back2, 1, 0, 0, 1, 1, 0, 2 * 5 - 1, 1}, 2), text_tables(), "continue each other");
  // The same as a group, read fine.
  {
    const ByteVec ok = section({0, 10, 2, 0, 0, back2}, 1);
    const SeqSection s = read_back(ok);
    ASSERT_EQ(s.entries[0].deletes.size(), 2u);
    EXPECT_EQ(s.entries[0].deletes[1].dot, (SeqRef{0, 11}));
    EXPECT_EQ(s.entries[0].deletes[1].targets[0].first, (SeqRef{0, 6}));
  }
  refused(section({0, 10, 2, 2, 0, back2}, 1), text_tables(), "direction");
  refused(section({0, 10, 9, 0, 0, back2}, 1), text_tables(), "out of range");  // 7, 6, ..., -1
  refused(section({0, 10, kMaxDeleteGroup + 1, 0, 0, back2}, 1), text_tables(), "larger than a group");
  SeqTables tight = text_tables();
  tight.grow = [](std::uint64_t n) { return n < 100; };
  refused(section({0, 10, 500, 1, 0, 0}, 1), tight, "budget");
}

TEST(SequenceCodec, ListValuesTravelBehindTheirLengths) {
  Sequence l(Sequence::Content::kValues);
  // "a", "bcd", null: each its length, then its tag and bytes.
  const std::string values = std::string("\x02\x04" "a" "\x04\x04" "bcd" "\x01\x00", 10);
  ASSERT_TRUE(l.insert(0, Id{33, 1}, 3, {}, values).ok());
  ASSERT_TRUE(l.erase(1, 1).ok());
  SeqSection s;
  s.entries.push_back(entry_of(l, 0, 2));
  const ByteVec bytes = encode(s);
  Reader r(bytes);
  SeqSection back;
  ASSERT_TRUE(read_sequences(r, text_tables(), back).ok());
  ASSERT_EQ(back.entries[0].parts[0].live.size(), 2u);
  EXPECT_EQ(back.entries[0].parts[0].content, std::string("\x02\x04" "a" "\x01\x00", 5));
  // An element that is not a value (tag 9) is refused.
  s.entries[0].parts[0].content = std::string("\x02\x09" "a" "\x01\x00", 5);
  expect_refused(s, "not its stretch's elements");
}

}  // namespace
}  // namespace mycelium
