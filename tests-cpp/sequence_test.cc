// Sequence against a reference model of docs/sequences.md: a plain FugueMax
// tree (Weidner and Kleppmann 2023), one node per element, placed by
// parent, side and right origin. The engine places runs by their origins
// instead; replicas of both under random concurrent edits must agree.
#include "sequence.h"

#include <gtest/gtest.h>

#include <map>
#include <random>
#include <string>

namespace mycelium {
namespace {

using Id = Sequence::Id;

// --- the reference model -------------------------------------------------------

class FugueTree {
 public:
  struct Meta {
    Id id;
    std::optional<Id> parent;  // none: the root
    bool right = true;
    std::optional<Id> right_origin;  // right children only; none: the end
  };

  FugueTree() { nodes_.push_back(Node{}); }

  // Every element in order, tombstones included.
  std::vector<int> order() const {
    std::vector<int> out;
    walk(0, out);
    return out;
  }
  std::vector<Id> visible() const {
    std::vector<Id> out;
    for (int n : order()) {
      if (!nodes_[n].deleted) out.push_back(nodes_[n].id);
    }
    return out;
  }

  // Where a local insert at live index i goes.
  Meta plan(std::size_t i, Id id) const {
    const auto all = order();
    int left = 0;  // the root
    if (i > 0) left = index_.at(visible()[i - 1]);
    Meta m;
    m.id = id;
    auto after = [&](int n) -> std::optional<int> {  // the next node in order
      auto it = std::find(all.begin(), all.end(), n);
      if (n == 0) return all.empty() ? std::nullopt : std::optional<int>(all.front());
      if (it + 1 == all.end()) return std::nullopt;
      return *(it + 1);
    };
    if (nodes_[left].rights.empty()) {
      if (left != 0) m.parent = nodes_[left].id;
      m.right = true;
      if (auto r = after(left)) m.right_origin = nodes_[*r].id;
    } else {
      m.parent = nodes_[*after(left)].id;
      m.right = false;
    }
    return m;
  }

  void apply(const Meta& m) {
    const int n = static_cast<int>(nodes_.size());
    Node node;
    node.id = m.id;
    node.parent = m.parent ? index_.at(*m.parent) : 0;
    node.right = m.right;
    node.right_origin = m.right_origin ? index_.at(*m.right_origin) : -1;
    nodes_.push_back(node);
    index_[m.id] = n;
    Node& parent = nodes_[nodes_[n].parent];
    if (!m.right) {
      // Left siblings by id.
      auto& sibs = parent.lefts;
      auto it = sibs.begin();
      while (it != sibs.end() && nodes_[*it].id < m.id) ++it;
      sibs.insert(it, n);
      return;
    }
    // Right siblings: the later right origin first, ties by id.
    const auto all = order();
    auto pos = [&](int x) -> std::size_t {
      if (x < 0) return all.size() + 1;
      return static_cast<std::size_t>(std::find(all.begin(), all.end(), x) - all.begin());
    };
    auto& sibs = nodes_[nodes_[n].parent].rights;
    std::size_t i = 0;
    for (; i < sibs.size(); ++i) {
      const Node& s = nodes_[sibs[i]];
      const bool after_it = pos(nodes_[n].right_origin) < pos(s.right_origin) ||
                            (nodes_[n].right_origin == s.right_origin && m.id > s.id);
      if (!after_it) break;
    }
    sibs.insert(sibs.begin() + static_cast<std::ptrdiff_t>(i), n);
  }

  void erase(Id id) { nodes_[index_.at(id)].deleted = true; }

 private:
  struct Node {
    Id id;
    int parent = -1;
    bool right = true;
    int right_origin = -1;
    std::vector<int> lefts, rights;
    bool deleted = false;
  };
  void walk(int n, std::vector<int>& out) const {
    // Iterative: chains of typed text are deep.
    struct Frame {
      int node;
      int stage;  // 0: left children, 1: self, 2: right children
      std::size_t child;
    };
    std::vector<Frame> stack{{n, 0, 0}};
    while (!stack.empty()) {
      Frame& f = stack.back();
      const Node& node = nodes_[f.node];
      if (f.stage == 0) {
        if (f.child < node.lefts.size()) {
          stack.push_back({node.lefts[f.child++], 0, 0});
          continue;
        }
        f.stage = 1;
      }
      if (f.stage == 1) {
        if (f.node != 0) out.push_back(f.node);
        f.stage = 2;
        f.child = 0;
      }
      if (f.child < node.rights.size()) {
        stack.push_back({node.rights[f.child++], 0, 0});
        continue;
      }
      stack.pop_back();
    }
  }

  std::vector<Node> nodes_;
  std::map<Id, int> index_;
};

std::vector<Id> live_ids(const Sequence& s) {
  std::vector<Id> out;
  for (const auto& span : s.spans()) {
    if (span.deleted) continue;
    for (std::uint32_t k = 0; k < span.length; ++k) out.push_back({span.first.actor, span.first.seq + k});
  }
  return out;
}

// --- unit tests ------------------------------------------------------------------

TEST(Sequence, TypingForwardIsOneRun) {
  Sequence s;
  for (std::uint32_t i = 0; i < 1000; ++i) ASSERT_TRUE(s.insert(i, Id{7, i + 1}, 1).ok());
  EXPECT_EQ(s.size(), 1000u);
  ASSERT_EQ(s.runs().size(), 1u);
  EXPECT_EQ(s.runs()[0].length, 1000u);
  EXPECT_EQ(s.at(0), (Id{7, 1}));
  EXPECT_EQ(s.at(999), (Id{7, 1000}));
  EXPECT_EQ(s.index_of(Id{7, 500}), 499u);
}

TEST(Sequence, InsertInTheMiddleSplitsTheOrderNotTheRun) {
  Sequence s;
  ASSERT_TRUE(s.insert(0, Id{1, 1}, 10).ok());
  auto run = s.insert(4, Id{2, 1}, 3);
  ASSERT_TRUE(run.ok());
  EXPECT_EQ(run->left, (Id{1, 4}));
  EXPECT_EQ(run->right, (Id{1, 5}));
  EXPECT_EQ(s.size(), 13u);
  EXPECT_EQ(s.at(4), (Id{2, 1}));
  EXPECT_EQ(s.at(7), (Id{1, 5}));
  EXPECT_EQ(s.runs().size(), 2u);
  EXPECT_EQ(s.spans().size(), 3u);
}

TEST(Sequence, DeletesKeepTombstonesAndNameWhatTheyRemoved) {
  Sequence s;
  ASSERT_TRUE(s.insert(0, Id{1, 1}, 10).ok());
  auto gone = s.erase(2, 5);
  ASSERT_TRUE(gone.ok());
  ASSERT_EQ(gone->size(), 1u);
  EXPECT_EQ((*gone)[0].first, (Id{1, 3}));
  EXPECT_EQ((*gone)[0].length, 5u);
  EXPECT_EQ(s.size(), 5u);
  EXPECT_EQ(s.elements(), 10u);
  EXPECT_TRUE(s.deleted(Id{1, 4}));
  EXPECT_EQ(s.index_of(Id{1, 5}), 2u);  // where it was
  EXPECT_EQ(s.at(2), (Id{1, 8}));
  EXPECT_TRUE(s.erase_ids(Id{1, 3}, 6).ok());  // deleting deleted ones again: no change but 8
  EXPECT_EQ(s.size(), 4u);
  EXPECT_FALSE(s.erase(3, 2).ok());
}

TEST(Sequence, RemoteRunsNeedKnownOriginsAndCannotRewriteHistory) {
  Sequence s;
  ASSERT_TRUE(s.insert(0, Id{1, 1}, 3).ok());
  Sequence::Run unknown{Id{2, 1}, 2, Id{9, 9}, std::nullopt, {}};
  EXPECT_EQ(s.integrate(unknown).code(), Code::kCorrupt);
  Sequence::Run backwards{Id{2, 1}, 2, Id{1, 3}, Id{1, 1}, {}};
  EXPECT_EQ(s.integrate(backwards).code(), Code::kCorrupt);
  Sequence::Run overlap{Id{1, 3}, 5, Id{1, 1}, std::nullopt, {}};  // 1:3 is known as part of another run
  EXPECT_EQ(s.integrate(overlap).code(), Code::kCorrupt);
  Sequence::Run huge{Id{3, 1}, 0xffffffffu, std::nullopt, std::nullopt, {}};
  EXPECT_TRUE(s.integrate(huge).ok());  // held as one run, not per element
  EXPECT_EQ(s.size(), std::size_t{3} + 0xffffffffu);
  EXPECT_EQ(s.erase_ids(Id{4, 1}, 1).code(), Code::kCorrupt);
  EXPECT_TRUE(s.erase_ids(Id{3, 1}, 0xffffffffu).ok());
  EXPECT_EQ(s.size(), 3u);
  EXPECT_EQ(s.elements(), std::size_t{3} + 0xffffffffu);
}

TEST(Sequence, ARunThatGrewSinceItsStartCameAddsOnlyItsTail) {
  Sequence a, b;
  ASSERT_TRUE(a.insert(0, Id{1, 1}, 3).ok());
  ASSERT_TRUE(b.integrate(a.runs()[0]).ok());
  ASSERT_TRUE(a.insert(3, Id{1, 4}, 2).ok());  // typing on: the run grows
  ASSERT_EQ(a.runs().size(), 1u);
  ASSERT_TRUE(b.integrate(a.runs()[0]).ok());
  EXPECT_EQ(live_ids(a), live_ids(b));
  ASSERT_TRUE(b.integrate(a.runs()[0]).ok());  // again: nothing new
  EXPECT_EQ(b.size(), 5u);
}

TEST(Sequence, RunsThatWaitOnEachOtherOrOnNothingKnownAreCorrupt) {
  Sequence s;
  const Sequence::Run a{Id{1, 1}, 2, Id{2, 1}, std::nullopt, {}}, b{Id{2, 1}, 2, Id{1, 2}, std::nullopt, {}};
  const Sequence::Run both[] = {a, b};
  EXPECT_EQ(s.integrate_all(both).code(), Code::kCorrupt);
  EXPECT_EQ(s.size(), 0u);
  const Sequence::Run self[] = {Sequence::Run{Id{1, 1}, 3, std::nullopt, Id{1, 2}, {}}};
  EXPECT_EQ(s.integrate_all(self).code(), Code::kCorrupt);
  const Sequence::Run dangling[] = {Sequence::Run{Id{1, 1}, 3, Id{5, 5}, std::nullopt, {}}};
  EXPECT_EQ(s.integrate_all(dangling).code(), Code::kCorrupt);
}

// --- content ----------------------------------------------------------------------

TEST(SequenceContent, ShapeCountsElementsAndWideOnes) {
  std::uint32_t n;
  std::vector<std::uint32_t> wide;
  ASSERT_TRUE(Sequence::shape(Sequence::Content::kUtf8, "a\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80" "b", n, wide));  // aé€😀b
  EXPECT_EQ(n, 5u);
  EXPECT_EQ(wide, std::vector<std::uint32_t>{3});
  EXPECT_FALSE(Sequence::shape(Sequence::Content::kUtf8, "\x82x", n, wide));  // starts inside a character
  ASSERT_TRUE(Sequence::shape(Sequence::Content::kValues, std::string("\x02" "ab" "\x00" "\x01" "z", 6), n, wide));
  EXPECT_EQ(n, 3u);
  EXPECT_FALSE(Sequence::shape(Sequence::Content::kValues, "\x05" "ab", n, wide));  // runs past its end
  EXPECT_FALSE(Sequence::shape(Sequence::Content::kNone, "x", n, wide));
}

TEST(SequenceContent, TextEditsKeepTheirCharactersAndTombstonesDropThem) {
  Sequence t(Sequence::Content::kUtf8);
  std::uint32_t n;
  std::vector<std::uint32_t> wide;
  const std::string hello = "h\xc3\xa9llo \xf0\x9f\x98\x80";  // héllo 😀
  ASSERT_TRUE(Sequence::shape(Sequence::Content::kUtf8, hello, n, wide));
  ASSERT_TRUE(t.insert(0, Id{1, 1}, n, wide, hello).ok());
  ASSERT_TRUE(t.insert(7, Id{1, 8}, 1, {}, "!").ok());  // typing on: the run grows
  EXPECT_EQ(t.content(), hello + "!");
  EXPECT_EQ(t.units(), 9u);
  ASSERT_TRUE(t.erase(1, 1).ok());
  EXPECT_EQ(t.content(), "hllo \xf0\x9f\x98\x80!");
  std::string part;
  t.content_of(Id{1, 1}, 8, part);  // the deleted é is not there
  EXPECT_EQ(part, "hllo \xf0\x9f\x98\x80!");
  EXPECT_FALSE(t.insert(0, Id{2, 1}, 2, {}, "x").ok());  // content of one element for two
}

TEST(SequenceContent, ARunArrivesWithHolesAndKeepsThem) {
  Sequence t(Sequence::Content::kUtf8);
  const Sequence::Run run{Id{3, 1}, 6, std::nullopt, std::nullopt, {}};
  const Sequence::Stretch live[] = {{1, 2, "bc"}, {4, 1, "e"}};
  ASSERT_TRUE(t.integrate(run, live).ok());
  EXPECT_EQ(t.content(), "bce");
  EXPECT_EQ(t.size(), 3u);
  EXPECT_EQ(t.elements(), 6u);
  EXPECT_TRUE(t.deleted(Id{3, 1}));
  const Sequence::Stretch wrong[] = {{0, 2, "x"}};
  EXPECT_EQ(Sequence(Sequence::Content::kUtf8).integrate(run, wrong).code(), Code::kCorrupt);
  const Sequence::Stretch crossing[] = {{0, 3, "abc"}, {2, 1, "c"}};
  EXPECT_EQ(Sequence(Sequence::Content::kUtf8).integrate(run, crossing).code(), Code::kCorrupt);
  const Sequence::Run astral{Id{3, 1}, 1, std::nullopt, std::nullopt, {}};  // says narrow
  const Sequence::Stretch emoji[] = {{0, 1, "\xf0\x9f\x98\x80"}};
  EXPECT_EQ(Sequence(Sequence::Content::kUtf8).integrate(astral, emoji).code(), Code::kCorrupt);
}

// A replica at a version receives parts_since(that version) from one that
// went on typing (both actors, astral characters, deletes): it then holds
// the same text. Deletes of elements it knew are the delete events' to
// carry, so the test copies the sender's tombstones.
TEST(SequenceContent, PartsSinceAVersionCarryWhatAReplicaAtThatVersionLacks) {
  const char* chars[] = {"a", "b", "\xc3\xa9", "\xf0\x9f\x98\x80"};
  int cut = 0;  // parts that start inside a run b knows the start of
  for (std::uint64_t seed = 1; seed <= 30; ++seed) {
    std::mt19937_64 rng(seed);
    Sequence a(Sequence::Content::kUtf8);
    std::uint32_t seq[2] = {1, 1};
    auto edit = [&](int steps) {
      for (int i = 0; i < steps; ++i) {
        if (a.size() > 0 && rng() % 4 == 0) {
          ASSERT_TRUE(a.erase(rng() % a.size(), 1).ok());
          continue;
        }
        const int who = static_cast<int>(rng() % 2);
        std::string text;
        const auto n = static_cast<std::uint32_t>(1 + rng() % 3);
        for (std::uint32_t k = 0; k < n; ++k) text += chars[rng() % 4];
        std::uint32_t len;
        std::vector<std::uint32_t> wide;
        ASSERT_TRUE(Sequence::shape(Sequence::Content::kUtf8, text, len, wide));
        // Mostly typing on at the end of what this actor typed last.
        ASSERT_TRUE(a.insert(rng() % 3 ? a.size() : rng() % (a.size() + 1), Id{ActorId(7 + who), seq[who]}, len, wide, text).ok());
        seq[who] += len;
      }
    };
    edit(20);
    // b: a's state now, from its canonical parts.
    Sequence b(Sequence::Content::kUtf8);
    auto integrate = [](Sequence& into, const std::vector<Sequence::Part>& parts) {
      std::vector<Sequence::Run> runs;
      std::vector<std::vector<Sequence::Stretch>> live;
      for (const Sequence::Part& p : parts) {
        runs.push_back(p.run);
        auto& st = live.emplace_back();
        std::size_t byte = 0;
        for (const Sequence::Live& l : p.live) {
          st.push_back({l.offset, l.length, std::string_view(p.content).substr(byte, l.bytes)});
          byte += l.bytes;
        }
      }
      return into.integrate_all(runs, live);
    };
    ASSERT_TRUE(integrate(b, a.parts()).ok());
    const std::uint32_t known[2] = {seq[0] - 1, seq[1] - 1};
    edit(25);
    const auto since = a.parts_since([&](ActorId x) { return known[x - 7]; });
    std::size_t carried = 0;
    for (const auto& p : since) {
      EXPECT_GT(p.run.first.seq, known[p.run.first.actor - 7]);
      carried += p.run.length;
      if (p.run.left && b.contains(*p.run.left) && p.run.left->actor == p.run.first.actor &&
          p.run.left->seq + 1 == p.run.first.seq) {
        ++cut;
      }
    }
    EXPECT_EQ(carried, std::size_t{seq[0] - 1 - known[0]} + (seq[1] - 1 - known[1])) << "seed " << seed;
    const Status st = integrate(b, since);
    ASSERT_TRUE(st.ok()) << st.to_string() << " seed " << seed;
    for (const auto& span : a.spans()) {
      if (span.deleted) {
        ASSERT_TRUE(b.erase_ids(span.first, span.length).ok());
      }
    }
    EXPECT_EQ(b.content(), a.content()) << "seed " << seed;
    EXPECT_EQ(b.units(), a.units()) << "seed " << seed;
    EXPECT_EQ(b.spans().size(), a.spans().size()) << "seed " << seed;
    EXPECT_TRUE(a.parts_since([](ActorId) { return 0xffffffffu; }).empty());
  }
  EXPECT_GT(cut, 4);
}

// Random concurrent text edits: every replica ends with the model's text,
// character for character, and so does one loaded from another's runs with
// their live content only.
TEST(SequenceContent, RandomConcurrentTextMatchesTheModel) {
  const char* alphabet[] = {"a", "b", "\xc3\xa9", "\xe2\x82\xac", "\xf0\x9f\x98\x80"};
  for (std::uint64_t seed = 1; seed <= 30; ++seed) {
    std::mt19937_64 rng(seed);
    std::vector<Sequence> rs;
    for (int i = 0; i < 3; ++i) rs.emplace_back(Sequence::Content::kUtf8);
    std::vector<FugueTree> model(3);
    std::map<Id, std::string> chars;
    struct Sent {
      bool insert;
      Sequence::Run run;
      std::string bytes;
      std::vector<FugueTree::Meta> meta;
      std::vector<Sequence::Span> gone;
    };
    std::vector<Sent> log;  // broadcast in order to everyone (a total order is causal)
    std::vector<std::size_t> applied(3, 0);
    std::vector<std::uint32_t> next_seq(3, 1);
    auto catch_up = [&](int i, std::size_t upto) {
      for (; applied[static_cast<std::size_t>(i)] < upto; ++applied[static_cast<std::size_t>(i)]) {
        const Sent& m = log[applied[static_cast<std::size_t>(i)]];
        auto& s = rs[static_cast<std::size_t>(i)];
        if (m.insert) {
          if (s.contains(m.run.first)) continue;  // its own
          const Sequence::Stretch all[] = {{0, m.run.length, m.bytes}};
          ASSERT_TRUE(s.integrate(m.run, all).ok());
          for (const auto& meta : m.meta) model[static_cast<std::size_t>(i)].apply(meta);
        } else {
          for (const auto& span : m.gone) {
            ASSERT_TRUE(s.erase_ids(span.first, span.length).ok());
            for (std::uint32_t k = 0; k < span.length; ++k) model[static_cast<std::size_t>(i)].erase(Id{span.first.actor, span.first.seq + k});
          }
        }
      }
    };
    for (int step = 0; step < 150; ++step) {
      const int who = static_cast<int>(rng() % 3);
      auto& s = rs[static_cast<std::size_t>(who)];
      auto& m = model[static_cast<std::size_t>(who)];
      // Lag behind the log by a random amount: concurrent edits.
      catch_up(who, log.size() - std::min<std::size_t>(log.size() - applied[static_cast<std::size_t>(who)], rng() % 4));
      Sent out;
      if (s.size() > 0 && rng() % 3 == 0) {
        out.insert = false;
        const std::size_t at = rng() % s.size();
        const std::size_t n = 1 + rng() % std::min<std::size_t>(4, s.size() - at);
        const auto ids = m.visible();
        out.gone = *s.erase(at, n);
        for (std::size_t k = at; k < at + n; ++k) m.erase(ids[k]);
      } else {
        out.insert = true;
        const std::size_t at = rng() % (s.size() + 1);
        const auto n = static_cast<std::uint32_t>(1 + rng() % 4);
        const ActorId actor = 50 + static_cast<ActorId>(who);
        const Id first{actor, next_seq[static_cast<std::size_t>(who)]};
        next_seq[static_cast<std::size_t>(who)] += n;
        for (std::uint32_t j = 0; j < n; ++j) {
          const std::string c = alphabet[rng() % 5];
          out.bytes += c;
          chars[Id{actor, first.seq + j}] = c;
          auto meta = m.plan(at + j, Id{actor, first.seq + j});
          m.apply(meta);
          out.meta.push_back(meta);
        }
        std::uint32_t len;
        std::vector<std::uint32_t> wide;
        ASSERT_TRUE(Sequence::shape(Sequence::Content::kUtf8, out.bytes, len, wide));
        auto run = s.insert(at, first, len, wide, out.bytes);
        ASSERT_TRUE(run.ok()) << run.status().to_string();
        out.run = *run;
      }
      log.push_back(std::move(out));
      // Its own message counts as applied only when everything before it is.
      if (applied[static_cast<std::size_t>(who)] == log.size() - 1) ++applied[static_cast<std::size_t>(who)];
    }
    for (int i = 0; i < 3; ++i) catch_up(i, log.size());
    auto text_of = [&](const std::vector<Id>& ids) {
      std::string t;
      for (const Id& id : ids) t += chars.at(id);
      return t;
    };
    const std::string expect = text_of(model[0].visible());
    for (int i = 0; i < 3; ++i) {
      ASSERT_EQ(model[static_cast<std::size_t>(i)].visible(), model[0].visible()) << "seed " << seed;
      ASSERT_EQ(rs[static_cast<std::size_t>(i)].content(), expect) << "seed " << seed << " replica " << i;
    }
    // Loaded from replica 1's runs with only their live content.
    const auto runs = rs[1].runs();
    std::vector<std::vector<Sequence::Stretch>> live(runs.size());
    std::vector<std::string> keep;  // owns the bytes the stretches view
    keep.reserve(4096);
    for (std::size_t r = 0; r < runs.size(); ++r) {
      for (std::uint32_t k = 0; k < runs[r].length;) {
        const Id id{runs[r].first.actor, runs[r].first.seq + k};
        std::uint32_t n = 1;
        const bool dead = rs[1].deleted(id);
        while (k + n < runs[r].length && rs[1].deleted(Id{id.actor, id.seq + n}) == dead) ++n;
        if (!dead) {
          keep.emplace_back();
          rs[1].content_of(id, n, keep.back());
          live[r].push_back({k, n, keep.back()});
        }
        k += n;
      }
    }
    Sequence loaded(Sequence::Content::kUtf8);
    const Status st = loaded.integrate_all(runs, live);
    ASSERT_TRUE(st.ok()) << "seed " << seed << " " << st.to_string();
    EXPECT_EQ(loaded.content(), expect) << "seed " << seed << ": loaded";
    EXPECT_EQ(loaded.units(), rs[1].units());
  }
}

// Two replicas type a word each at one place, concurrently; after merging
// both ways, each word is contiguous.
void expect_no_interleaving(bool backward) {
  Sequence a, b;
  ASSERT_TRUE(a.insert(0, Id{1, 1}, 4).ok());  // shared text "wxyz"
  ASSERT_TRUE(b.integrate(a.runs()[0]).ok());
  std::vector<Sequence::Run> from_a, from_b;
  for (std::uint32_t k = 0; k < 5; ++k) {
    const std::size_t at = backward ? 2 : 2 + k;
    from_a.push_back(*a.insert(at, Id{10, k + 1}, 1));
    from_b.push_back(*b.insert(at, Id{20, k + 1}, 1));
  }
  for (const auto& r : a.runs()) ASSERT_TRUE(b.integrate(r).ok());
  for (const auto& r : b.runs()) ASSERT_TRUE(a.integrate(r).ok());
  const auto ids = live_ids(a);
  ASSERT_EQ(ids, live_ids(b));
  ASSERT_EQ(ids.size(), 14u);
  // The ten new elements sit at 2..11: five of one actor, then five of the other.
  for (int w = 0; w < 2; ++w) {
    for (int k = 1; k < 5; ++k) EXPECT_EQ(ids[2 + 5 * w + k].actor, ids[2 + 5 * w].actor) << (backward ? "backward" : "forward");
  }
}

TEST(Sequence, ConcurrentWordsTypedForwardNeverInterleave) { expect_no_interleaving(false); }
TEST(Sequence, ConcurrentWordsTypedBackwardNeverInterleave) { expect_no_interleaving(true); }

// --- random concurrent edits against the model -----------------------------------

struct Message {
  int from;
  std::size_t number;                // the sender's how-manyth message
  std::vector<std::size_t> seen;     // messages of each replica the sender had applied
  bool insert = true;
  Sequence::Run run;                 // the engine's form
  std::vector<FugueTree::Meta> meta;  // the model's form, per element
  std::vector<Sequence::Span> gone;  // deletes
};

struct Replica {
  Sequence engine;
  FugueTree model;
  std::vector<std::size_t> seen;
  std::uint32_t next_seq = 1;
};

void apply(Replica& r, const Message& m) {
  if (m.insert) {
    ASSERT_TRUE(r.engine.integrate(m.run).ok());
    for (const auto& meta : m.meta) r.model.apply(meta);
  } else {
    for (const auto& span : m.gone) {
      ASSERT_TRUE(r.engine.erase_ids(span.first, span.length).ok());
      for (std::uint32_t k = 0; k < span.length; ++k) r.model.erase(Id{span.first.actor, span.first.seq + k});
    }
  }
  ++r.seen[static_cast<std::size_t>(m.from)];
}

// UTF-16 offsets against the model's ids and widths.
void expect_units(const Sequence& s, const std::vector<Id>& ids, const std::map<Id, int>& width, std::mt19937_64& rng) {
  std::size_t units = 0;
  std::vector<std::size_t> start;  // unit offset of each live index
  for (const Id& id : ids) {
    start.push_back(units);
    units += static_cast<std::size_t>(width.at(id));
  }
  ASSERT_EQ(s.units(), units);
  for (int probe = 0; probe < 4 && !ids.empty(); ++probe) {
    const std::size_t i = rng() % ids.size();
    ASSERT_EQ(s.unit_at_index(i), start[i]);
    ASSERT_EQ(*s.index_at_unit(start[i]), i);
    if (width.at(ids[i]) == 2) {
      EXPECT_EQ(s.index_at_unit(start[i] + 1).status().code(), Code::kInvalidArgument);
    }
  }
  EXPECT_EQ(*s.index_at_unit(units), ids.size());
  EXPECT_EQ(s.unit_at_index(ids.size()), units);
  EXPECT_FALSE(s.index_at_unit(units + 1).ok());
}

TEST(Sequence, UnitsCountTwoForWideElements) {
  Sequence s;
  const std::uint32_t wide[] = {1, 3};
  ASSERT_TRUE(s.insert(0, Id{1, 1}, 5, wide).ok());  // a😀b😀c
  EXPECT_EQ(s.size(), 5u);
  EXPECT_EQ(s.units(), 7u);
  EXPECT_EQ(*s.index_at_unit(4), 3u);
  EXPECT_EQ(s.index_at_unit(2).status().code(), Code::kInvalidArgument);  // inside the first 😀
  EXPECT_EQ(s.unit_at_index(4), 6u);
  ASSERT_TRUE(s.erase(1, 1).ok());
  EXPECT_EQ(s.units(), 5u);
  const std::uint32_t bad[] = {2, 2};
  EXPECT_FALSE(s.insert(0, Id{1, 10}, 3, bad).ok());
}

TEST(Sequence, RandomConcurrentEditsMatchTheFugueMaxTree) {
  constexpr int kReplicas = 3;
  std::map<Id, int> width;  // of every element made (ids are unique)
  for (std::uint64_t seed = 1; seed <= 60; ++seed) {
    std::mt19937_64 rng(seed);
    std::vector<Replica> rs(kReplicas);
    for (auto& r : rs) r.seen.assign(kReplicas, 0);
    std::vector<std::vector<Message>> sent(kReplicas);
    for (int step = 0; step < 120; ++step) {
      const int who = static_cast<int>(rng() % kReplicas);
      Replica& r = rs[static_cast<std::size_t>(who)];
      if (rng() % 3 == 0) {
        // Deliver one message some replica has not applied, in causal order.
        const int to = static_cast<int>(rng() % kReplicas);
        Replica& dst = rs[static_cast<std::size_t>(to)];
        for (int from = 0; from < kReplicas; ++from) {
          if (from == to) continue;
          const auto& q = sent[static_cast<std::size_t>(from)];
          const std::size_t next = dst.seen[static_cast<std::size_t>(from)];
          if (next >= q.size()) continue;
          const Message& m = q[next];
          bool ready = true;
          for (int j = 0; j < kReplicas; ++j) {
            if (j != from && m.seen[static_cast<std::size_t>(j)] > dst.seen[static_cast<std::size_t>(j)]) ready = false;
          }
          if (!ready) continue;
          apply(dst, m);
          break;
        }
        continue;
      }
      Message m;
      m.from = who;
      m.number = sent[static_cast<std::size_t>(who)].size();
      m.seen = r.seen;
      const ActorId actor = 100 + static_cast<ActorId>(who);
      if (r.engine.size() > 0 && rng() % 4 == 0) {
        m.insert = false;
        const std::size_t at = rng() % r.engine.size();
        const std::size_t n = 1 + rng() % std::min<std::size_t>(3, r.engine.size() - at);
        const auto expect = r.model.visible();
        auto gone = r.engine.erase(at, n);
        ASSERT_TRUE(gone.ok());
        m.gone = *gone;
        std::size_t k = at;
        for (const auto& span : m.gone) {
          for (std::uint32_t j = 0; j < span.length; ++j, ++k) {
            ASSERT_EQ((Id{span.first.actor, span.first.seq + j}), expect[k]);
            r.model.erase(expect[k]);
          }
        }
      } else {
        const std::size_t at = rng() % (r.engine.size() + 1);
        const auto n = static_cast<std::uint32_t>(1 + rng() % 3);
        const Id first{actor, r.next_seq};
        r.next_seq += n;
        std::vector<std::uint32_t> wide;
        for (std::uint32_t j = 0; j < n; ++j) {
          const bool is_wide = rng() % 4 == 0;
          if (is_wide) wide.push_back(j);
          width[Id{actor, first.seq + j}] = is_wide ? 2 : 1;
        }
        auto run = r.engine.insert(at, first, n, wide);
        ASSERT_TRUE(run.ok());
        m.run = *run;
        for (std::uint32_t j = 0; j < n; ++j) {
          auto meta = r.model.plan(at + j, Id{actor, first.seq + j});
          r.model.apply(meta);
          m.meta.push_back(meta);
        }
      }
      ASSERT_EQ(live_ids(r.engine), r.model.visible()) << "seed " << seed << " step " << step << " local";
      expect_units(r.engine, r.model.visible(), width, rng);
      ++r.seen[static_cast<std::size_t>(who)];
      sent[static_cast<std::size_t>(who)].push_back(std::move(m));
    }
    // Deliver everything left, in causal order.
    for (bool progress = true; progress;) {
      progress = false;
      for (int to = 0; to < kReplicas; ++to) {
        Replica& dst = rs[static_cast<std::size_t>(to)];
        for (int from = 0; from < kReplicas; ++from) {
          if (from == to) continue;
          const auto& q = sent[static_cast<std::size_t>(from)];
          while (dst.seen[static_cast<std::size_t>(from)] < q.size()) {
            const Message& m = q[dst.seen[static_cast<std::size_t>(from)]];
            bool ready = true;
            for (int j = 0; j < kReplicas; ++j) {
              if (j != from && m.seen[static_cast<std::size_t>(j)] > dst.seen[static_cast<std::size_t>(j)]) ready = false;
            }
            if (!ready) break;
            apply(dst, m);
            progress = true;
          }
        }
      }
    }
    const auto expect = rs[0].model.visible();
    // A replica loaded from another's runs and deletions, given by id (not
    // in the order they were made), ends the same.
    Sequence loaded;
    auto runs = rs[1].engine.runs();
    std::shuffle(runs.begin(), runs.end(), rng);
    ASSERT_TRUE(loaded.integrate_all(runs).ok()) << "seed " << seed;
    for (const auto& span : rs[1].engine.spans()) {
      if (span.deleted) {
        ASSERT_TRUE(loaded.erase_ids(span.first, span.length).ok());
      }
    }
    EXPECT_EQ(live_ids(loaded), expect) << "seed " << seed << ": loaded from runs";
    expect_units(loaded, expect, width, rng);
    for (int i = 0; i < kReplicas; ++i) {
      const auto& r = rs[static_cast<std::size_t>(i)];
      ASSERT_EQ(r.model.visible(), expect) << "seed " << seed << ": the models differ";
      ASSERT_EQ(live_ids(r.engine), expect) << "seed " << seed << " replica " << i;
      expect_units(r.engine, expect, width, rng);
    }
  }
}

}  // namespace
}  // namespace mycelium
