#include "sequence_codec.h"

#include "value.h"

namespace mycelium {
namespace {

constexpr std::uint64_t kMaxSeq32 = 0xffffffffu;

// A reference to an element: its actor index, then its seq — as the
// zigzag distance from `near` when the actor is `near`'s (origins and
// delete targets are mostly close to the part or delete naming them), else
// whole.
void write_near(Writer& w, const SeqRef& ref, const SeqRef& near) {
  if (ref.actor == near.actor) {
    w.zigzag(std::int64_t{ref.seq} - std::int64_t{near.seq});
  } else {
    w.varint(ref.seq);
  }
}

void write_origin(Writer& w, const std::optional<SeqRef>& o, const SeqRef& part) {
  if (!o) {
    w.varint(0);
    return;
  }
  w.varint(std::uint64_t{o->actor} + 1);
  write_near(w, *o, part);
}

// A seq after `prev` (same actor, strictly increasing): the gap past it.
void write_after(Writer& w, std::uint32_t seq, const std::optional<SeqRef>& prev, std::uint32_t actor,
                 std::uint64_t prev_end) {
  if (prev && prev->actor == actor) {
    w.varint(seq - prev_end);
  } else {
    w.varint(seq);
  }
}

// Whether delete `next` extends a group of deletes whose last is `last`
// (docs/sequences.md, Formats): the next seq of one actor, each one target
// of one element, of one actor, each target next to the previous one's in
// the group's direction (-1: the element before, as backspace; +1: the one
// after, as the delete key); `dir` 0 while the group has one delete (either
// direction then). Returns the direction it would have, or 0 if it does not.
int extends(const SeqDelete& last, int dir, const SeqDelete& next) {
  if (next.dot.actor != last.dot.actor || std::uint64_t{last.dot.seq} + 1 != next.dot.seq) return 0;
  if (last.targets.size() != 1 || next.targets.size() != 1) return 0;
  const SeqTarget& a = last.targets[0];
  const SeqTarget& b = next.targets[0];
  if (a.length != 1 || b.length != 1 || a.first.actor != b.first.actor) return 0;
  const std::int64_t step = std::int64_t{b.first.seq} - std::int64_t{a.first.seq};
  if (step != -1 && step != 1) return 0;
  if (dir != 0 && step != dir) return 0;
  return static_cast<int>(step);
}

// Whether b continues a: what Sequence::parts() joins.
bool continues(const SeqPart& a, const SeqPart& b) {
  return a.first.actor == b.first.actor && std::uint64_t{a.first.seq} + a.length == b.first.seq &&
         b.left == std::optional<SeqRef>(SeqRef{a.first.actor, b.first.seq - 1}) && a.right == b.right;
}

class SectionReader {
 public:
  SectionReader(Reader& r, const SeqTables& t) : r_(r), t_(t) {}

  Status read(SeqSection& out) {
    std::uint64_t n;
    if (!r_.count(n, "sequence entry count", 3)) return r_.status();
    out.entries.resize(static_cast<std::size_t>(n));
    for (std::size_t i = 0; i < out.entries.size(); ++i) {
      MYC_TRY(entry(out.entries[i]));
      if (i > 0 && std::pair(out.entries[i - 1].record, out.entries[i - 1].field) >=
                       std::pair(out.entries[i].record, out.entries[i].field)) {
        return Corrupt("sequence entries not in canonical order");
      }
    }
    return Status::Ok();
  }

 private:
  // A seq: whole, or as a zigzag distance from `near` when `actor` is near's.
  Status near_seq(std::uint32_t actor, const SeqRef& near, std::uint32_t& out, const char* what) {
    std::int64_t s;
    if (actor == near.actor) {
      std::int64_t d;
      if (!r_.zigzag(d, what)) return r_.status();
      if (d < -std::int64_t{kMaxSeq32} || d > std::int64_t{kMaxSeq32}) return Corrupt(cat({what, ": a seq out of range"}));
      s = std::int64_t{near.seq} + d;
    } else {
      std::uint64_t v;
      if (!r_.varint(v, what)) return r_.status();
      if (v > kMaxSeq32) return Corrupt(cat({what, ": a seq out of range"}));
      s = static_cast<std::int64_t>(v);
    }
    if (s < 1 || s > std::int64_t{kMaxSeq32}) return Corrupt(cat({what, ": a seq out of range"}));
    out = static_cast<std::uint32_t>(s);
    return Status::Ok();
  }

  Status near_ref(SeqRef& out, const SeqRef& near, const char* what) {
    std::uint64_t a;
    if (!r_.index(a, t_.actors, what)) return r_.status();
    out.actor = static_cast<std::uint32_t>(a);
    return near_seq(out.actor, near, out.seq, what);
  }

  // A seq after the previous item's end when the actor is the previous one's.
  Status after(SeqRef& out, const std::optional<SeqRef>& prev, std::uint64_t prev_end, const char* what) {
    std::uint64_t a, s;
    if (!r_.index(a, t_.actors, what) || !r_.varint(s, what)) return r_.status();
    if (prev && prev->actor == a) {
      if (s > kMaxSeq32) return Corrupt(cat({what, ": a seq out of range"}));
      s += prev_end;
    }
    if (s == 0 || s > kMaxSeq32) return Corrupt(cat({what, ": a seq out of range"}));
    out = SeqRef{static_cast<std::uint32_t>(a), static_cast<std::uint32_t>(s)};
    return Status::Ok();
  }

  Status origin(std::optional<SeqRef>& out, const SeqRef& part, const char* what) {
    std::uint64_t tag;
    if (!r_.varint(tag, what)) return r_.status();
    if (tag == 0) {
      out.reset();
      return Status::Ok();
    }
    if (tag - 1 >= t_.actors) return Corrupt(cat({what, ": actor index out of range"}));
    SeqRef o{static_cast<std::uint32_t>(tag - 1), 0};
    MYC_TRY(near_seq(o.actor, part, o.seq, what));
    out = o;
    return Status::Ok();
  }

  Status length(std::uint32_t first, std::uint32_t& out, const char* what) {
    std::uint64_t n;
    if (!r_.varint(n, what)) return r_.status();
    if (n == 0 || n > kMaxSeq32 - first + 1) return Corrupt(cat({what, ": a length out of range"}));
    out = static_cast<std::uint32_t>(n);
    return Status::Ok();
  }

  Status entry(SeqEntry& e) {
    std::uint64_t record, n;
    std::uint8_t field;
    if (!r_.index(record, t_.records, "sequence record") || !r_.u8(field, "sequence field")) return r_.status();
    e.record = static_cast<std::uint32_t>(record);
    e.field = field;
    const auto content = t_.content ? t_.content(e.record, field) : std::nullopt;
    if (!content) return Corrupt("a sequence entry on a field that is not a list or a text");
    if (!r_.count(n, "sequence part count", 6)) return r_.status();
    e.parts.resize(static_cast<std::size_t>(n));
    for (std::size_t i = 0; i < e.parts.size(); ++i) {
      SeqPart& p = e.parts[i];
      std::optional<SeqRef> prev;
      std::uint64_t prev_end = 0;
      if (i > 0) {
        prev = e.parts[i - 1].first;
        prev_end = std::uint64_t{prev->seq} + e.parts[i - 1].length;
      }
      MYC_TRY(after(p.first, prev, prev_end, "sequence part"));
      MYC_TRY(length(p.first.seq, p.length, "sequence part"));
      MYC_TRY(origin(p.left, p.first, "left origin"));
      MYC_TRY(origin(p.right, p.first, "right origin"));
      MYC_TRY(live(p, *content));
      if (i > 0) {
        const SeqPart& prev = e.parts[i - 1];
        if (prev.first >= p.first ||
            (prev.first.actor == p.first.actor && std::uint64_t{prev.first.seq} + prev.length > p.first.seq)) {
          return Corrupt("sequence parts not in canonical order or overlapping");
        }
        if (continues(prev, p)) return Corrupt("sequence parts that continue each other (not canonical)");
      }
    }
    if (!r_.count(n, "sequence delete group count", 4)) return r_.status();
    int prev_dir = 0;
    std::size_t prev_first = 0;
    for (std::uint64_t g = 0; g < n; ++g) {
      const std::size_t first = e.deletes.size();
      int dir = 0;
      MYC_TRY(group(e.deletes, dir));
      if (first > 0) {
        if (e.deletes[first - 1].dot >= e.deletes[first].dot) return Corrupt("sequence deletes not in canonical order");
        if (first - prev_first < kMaxDeleteGroup && extends(e.deletes[first - 1], prev_dir, e.deletes[first]) != 0) {
          return Corrupt("sequence delete groups that continue each other (not canonical)");
        }
      }
      prev_dir = dir;
      prev_first = first;
    }
    MYC_TRY(sets(e, *content));
    if (e.parts.empty() && e.deletes.empty() && e.sets.empty()) {
      return Corrupt("a sequence entry without parts, deletes or sets");
    }
    return Status::Ok();
  }

  // The entry's sets (format version 4): by target, each a list element's
  // winning value.
  Status sets(SeqEntry& e, Sequence::Content content) {
    if (!t_.sets) return Status::Ok();
    std::uint64_t n;
    if (!r_.count(n, "sequence set count", 6)) return r_.status();
    if (n > 0 && content != Sequence::Content::kValues) return Corrupt("a set of a text element (only list elements are set)");
    e.sets.resize(static_cast<std::size_t>(n));
    for (std::size_t i = 0; i < e.sets.size(); ++i) {
      SeqSet& s = e.sets[i];
      std::optional<SeqRef> prev;
      if (i > 0) prev = e.sets[i - 1].target;
      MYC_TRY(after(s.target, prev, prev ? std::uint64_t{prev->seq} + 1 : 0, "set target"));
      if (prev && *prev >= s.target) return Corrupt("sequence sets not in canonical order");
      MYC_TRY(near_ref(s.dot, s.target, "set dot"));
      std::string_view one;
      ValueView v;
      if (!r_.varint(s.hlc, "set HLC") || !r_.bytes(one, "set value")) return r_.status();
      if (!read_element(one, v)) return Corrupt("a set's value is not a value");
      append_list_element(s.value, v);  // the same bytes: one encoding per value
    }
    return Status::Ok();
  }

  // A group of deletes: actor index, seq (the gap past the previous group's
  // last when the actor is the same), the group's size k; one delete: its
  // targets; k > 1: the direction (0: each target the element before the
  // previous one's, 1: after) and the first delete's one-element target.
  Status group(std::vector<SeqDelete>& out, int& dir) {
    std::optional<SeqRef> prev;
    std::uint64_t prev_end = 0;
    if (!out.empty()) {
      prev = out.back().dot;
      prev_end = std::uint64_t{prev->seq} + 1;
    }
    SeqRef dot;
    MYC_TRY(after(dot, prev, prev_end, "sequence delete"));
    std::uint64_t k;
    if (!r_.varint(k, "delete group size")) return r_.status();
    if (k == 0 || k > std::uint64_t{kMaxSeq32} - dot.seq + 1) return Corrupt("a delete group size out of range");
    if (k > kMaxDeleteGroup) return Corrupt("a delete group larger than a group may be");
    if (t_.grow && !t_.grow(k)) return LimitExceeded("a delete group past the decode budget");
    if (k == 1) {
      SeqDelete& d = out.emplace_back();
      d.dot = dot;
      dir = 0;
      return targets(d);
    }
    std::uint64_t tag;
    if (!r_.varint(tag, "delete group direction")) return r_.status();
    if (tag > 1) return Corrupt("a delete group direction is 0 or 1");
    dir = tag == 0 ? -1 : 1;
    SeqRef t;
    MYC_TRY(near_ref(t, dot, "delete target"));
    const std::int64_t last = std::int64_t{t.seq} + dir * static_cast<std::int64_t>(k - 1);
    if (last < 1 || last > std::int64_t{kMaxSeq32}) return Corrupt("a delete group's targets out of range");
    for (std::uint64_t i = 0; i < k; ++i) {
      SeqDelete& d = out.emplace_back();
      d.dot = SeqRef{dot.actor, static_cast<std::uint32_t>(dot.seq + i)};
      d.targets.push_back(SeqTarget{SeqRef{t.actor, static_cast<std::uint32_t>(std::int64_t{t.seq} + dir * static_cast<std::int64_t>(i))}, 1});
    }
    return Status::Ok();
  }

  Status live(SeqPart& p, Sequence::Content content) {
    std::uint64_t n;
    if (!r_.count(n, "live stretch count", 3)) return r_.status();
    std::uint64_t at = 0;  // the previous stretch's end
    for (std::uint64_t i = 0; i < n; ++i) {
      std::uint64_t gap, len;
      std::string_view bytes;
      if (!r_.varint(gap, "live stretch") || !r_.varint(len, "live stretch") || !r_.bytes(bytes, "live content")) {
        return r_.status();
      }
      if ((i > 0 && gap == 0) || len == 0 || gap > p.length - at || len > p.length - at - gap) {
        return Corrupt("live stretches must lie in their part, in order, apart");
      }
      std::uint32_t elements;
      std::vector<std::uint32_t> wide;
      if (!Sequence::shape(content, bytes, elements, wide) || elements != len ||
          (content == Sequence::Content::kUtf8 && !valid_utf8(bytes)) ||
          (content == Sequence::Content::kValues && !values(bytes))) {
        return Corrupt("live content is not its stretch's elements");
      }
      p.live.push_back(Sequence::Live{static_cast<std::uint32_t>(at + gap), static_cast<std::uint32_t>(len), bytes.size()});
      p.content.append(bytes);
      at += gap + len;
    }
    return Status::Ok();
  }

  // Whether every element of a list's content (shaped already) is a value.
  static bool values(std::string_view bytes) {
    Reader r(std::span(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size()));
    while (r.remaining() > 0) {
      std::string_view one;
      ValueView v;
      if (!r.bytes(one, "element") || !read_element(one, v)) return false;
    }
    return true;
  }

  Status targets(SeqDelete& d) {
    std::uint64_t n;
    if (!r_.count(n, "delete target count", 3)) return r_.status();
    if (n == 0) return Corrupt("a sequence delete without targets");
    d.targets.resize(static_cast<std::size_t>(n));
    for (std::size_t i = 0; i < d.targets.size(); ++i) {
      SeqTarget& t = d.targets[i];
      MYC_TRY(near_ref(t.first, d.dot, "delete target"));
      MYC_TRY(length(t.first.seq, t.length, "delete target"));
      if (i > 0) {
        const SeqTarget& prev = d.targets[i - 1];
        if (prev.first >= t.first ||
            (prev.first.actor == t.first.actor && std::uint64_t{prev.first.seq} + prev.length >= t.first.seq)) {
          return Corrupt("delete targets not in canonical order, overlapping or touching");
        }
      }
    }
    return Status::Ok();
  }

  Reader& r_;
  const SeqTables& t_;
};

}  // namespace

bool has_sets(const SeqSection& section) {
  for (const SeqEntry& e : section.entries) {
    if (!e.sets.empty()) return true;
  }
  return false;
}

void write_sequences(Writer& w, const SeqSection& section, bool sets) {
  w.varint(section.entries.size());
  for (const SeqEntry& e : section.entries) {
    w.varint(e.record);
    w.u8(e.field);
    w.varint(e.parts.size());
    std::optional<SeqRef> prev;
    std::uint64_t prev_end = 0;
    for (const SeqPart& p : e.parts) {
      w.varint(p.first.actor);
      write_after(w, p.first.seq, prev, p.first.actor, prev_end);
      prev = p.first;
      prev_end = std::uint64_t{p.first.seq} + p.length;
      w.varint(p.length);
      write_origin(w, p.left, p.first);
      write_origin(w, p.right, p.first);
      w.varint(p.live.size());
      std::uint32_t at = 0;
      std::size_t byte = 0;
      for (const Sequence::Live& l : p.live) {
        w.varint(l.offset - at);
        w.varint(l.length);
        w.bytes(std::string_view(p.content).substr(byte, l.bytes));
        at = l.offset + l.length;
        byte += l.bytes;
      }
    }
    // Deletes in maximal groups (extends()), at most kMaxDeleteGroup each.
    std::vector<std::pair<std::size_t, int>> groups;  // first delete, direction
    for (std::size_t i = 0; i < e.deletes.size(); ++i) {
      if (!groups.empty() && i - groups.back().first < kMaxDeleteGroup) {
        const int dir = extends(e.deletes[i - 1], groups.back().second, e.deletes[i]);
        if (dir != 0) {
          groups.back().second = dir;
          continue;
        }
      }
      groups.emplace_back(i, 0);
    }
    w.varint(groups.size());
    prev.reset();
    for (std::size_t g = 0; g < groups.size(); ++g) {
      const auto [first, dir] = groups[g];
      const std::size_t end = g + 1 < groups.size() ? groups[g + 1].first : e.deletes.size();
      const SeqDelete& d = e.deletes[first];
      w.varint(d.dot.actor);
      write_after(w, d.dot.seq, prev, d.dot.actor, prev ? std::uint64_t{prev->seq} + 1 : 0);
      prev = e.deletes[end - 1].dot;
      w.varint(end - first);
      if (end - first > 1) {
        w.varint(dir < 0 ? 0 : 1);
        w.varint(d.targets[0].first.actor);
        write_near(w, d.targets[0].first, d.dot);
        continue;
      }
      w.varint(d.targets.size());
      for (const SeqTarget& t : d.targets) {
        w.varint(t.first.actor);
        write_near(w, t.first, d.dot);
        w.varint(t.length);
      }
    }
    if (!sets) continue;
    w.varint(e.sets.size());
    prev.reset();
    for (const SeqSet& s : e.sets) {
      w.varint(s.target.actor);
      write_after(w, s.target.seq, prev, s.target.actor, prev ? std::uint64_t{prev->seq} + 1 : 0);
      prev = s.target;
      w.varint(s.dot.actor);
      write_near(w, s.dot, s.target);
      w.varint(s.hlc);
      // The value as an element is its byte count and bytes already.
      w.raw(std::span(reinterpret_cast<const std::uint8_t*>(s.value.data()), s.value.size()));
    }
  }
}

Status read_sequences(Reader& r, const SeqTables& tables, SeqSection& out) {
  return SectionReader(r, tables).read(out);
}

SeqEntry sequence_entry(const Sequence& s, std::uint32_t record, std::uint8_t field,
                        const std::function<std::uint32_t(ActorId)>& index) {
  SeqEntry e{record, field, {}, {}, {}};
  auto ref = [&](const Sequence::Origin& o) -> std::optional<SeqRef> {
    if (!o) return std::nullopt;
    return SeqRef{index(o->actor), o->seq};
  };
  for (Sequence::Part& p : s.parts()) {
    e.parts.push_back(SeqPart{SeqRef{index(p.run.first.actor), p.run.first.seq}, p.run.length, ref(p.run.left),
                              ref(p.run.right), std::move(p.live), std::move(p.content)});
  }
  return e;
}

void entry_runs(const SeqEntry& e, std::span<const ActorId> actors, Sequence::Content content,
                std::vector<Sequence::Run>& runs, std::vector<std::vector<Sequence::Stretch>>& live) {
  auto id = [&](const std::optional<SeqRef>& r) -> Sequence::Origin {
    if (!r) return std::nullopt;
    return Sequence::Id{actors[r->actor], r->seq};
  };
  runs.clear();
  live.clear();
  std::vector<std::uint32_t> wide;
  for (const SeqPart& p : e.parts) {
    Sequence::Run& run = runs.emplace_back(Sequence::Run{Sequence::Id{actors[p.first.actor], p.first.seq}, p.length,
                                                         id(p.left), id(p.right), {}});
    auto& stretches = live.emplace_back();
    std::size_t byte = 0;
    for (const Sequence::Live& l : p.live) {
      const std::string_view bytes = std::string_view(p.content).substr(byte, l.bytes);
      stretches.push_back({l.offset, l.length, bytes});
      byte += l.bytes;
      std::uint32_t n;
      if (content == Sequence::Content::kUtf8 && Sequence::shape(content, bytes, n, wide)) {
        for (std::uint32_t w : wide) run.wide.push_back(l.offset + w);
      }
    }
  }
}

}  // namespace mycelium
