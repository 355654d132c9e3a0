#include "sequence_codec.h"

#include "value.h"

namespace mycelium {
namespace {

constexpr std::uint64_t kMaxSeq32 = 0xffffffffu;

void write_origin(Writer& w, const std::optional<SeqRef>& o) {
  if (!o) {
    w.varint(0);
    return;
  }
  w.varint(std::uint64_t{o->actor} + 1);
  w.varint(o->seq);
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
  Status ref(SeqRef& out, const char* what) {
    std::uint64_t a, s;
    if (!r_.index(a, t_.actors, what) || !r_.varint(s, what)) return r_.status();
    if (s == 0 || s > kMaxSeq32) return Corrupt(cat({what, ": a seq out of range"}));
    out = SeqRef{static_cast<std::uint32_t>(a), static_cast<std::uint32_t>(s)};
    return Status::Ok();
  }

  Status origin(std::optional<SeqRef>& out, const char* what) {
    std::uint64_t tag;
    if (!r_.varint(tag, what)) return r_.status();
    if (tag == 0) {
      out.reset();
      return Status::Ok();
    }
    if (tag - 1 >= t_.actors) return Corrupt(cat({what, ": actor index out of range"}));
    std::uint64_t s;
    if (!r_.varint(s, what)) return r_.status();
    if (s == 0 || s > kMaxSeq32) return Corrupt(cat({what, ": a seq out of range"}));
    out = SeqRef{static_cast<std::uint32_t>(tag - 1), static_cast<std::uint32_t>(s)};
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
      MYC_TRY(ref(p.first, "sequence part"));
      MYC_TRY(length(p.first.seq, p.length, "sequence part"));
      MYC_TRY(origin(p.left, "left origin"));
      MYC_TRY(origin(p.right, "right origin"));
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
    if (!r_.count(n, "sequence delete count", 3)) return r_.status();
    if (n == 0 && e.parts.empty()) return Corrupt("a sequence entry without parts or deletes");
    e.deletes.resize(static_cast<std::size_t>(n));
    for (std::size_t i = 0; i < e.deletes.size(); ++i) {
      MYC_TRY(deletion(e.deletes[i]));
      if (i > 0 && e.deletes[i - 1].dot >= e.deletes[i].dot) return Corrupt("sequence deletes not in canonical order");
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

  Status deletion(SeqDelete& d) {
    MYC_TRY(ref(d.dot, "sequence delete"));
    std::uint64_t n;
    if (!r_.count(n, "delete target count", 3)) return r_.status();
    if (n == 0) return Corrupt("a sequence delete without targets");
    d.targets.resize(static_cast<std::size_t>(n));
    for (std::size_t i = 0; i < d.targets.size(); ++i) {
      SeqTarget& t = d.targets[i];
      MYC_TRY(ref(t.first, "delete target"));
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

void write_sequences(Writer& w, const SeqSection& section) {
  w.varint(section.entries.size());
  for (const SeqEntry& e : section.entries) {
    w.varint(e.record);
    w.u8(e.field);
    w.varint(e.parts.size());
    for (const SeqPart& p : e.parts) {
      w.varint(p.first.actor);
      w.varint(p.first.seq);
      w.varint(p.length);
      write_origin(w, p.left);
      write_origin(w, p.right);
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
    w.varint(e.deletes.size());
    for (const SeqDelete& d : e.deletes) {
      w.varint(d.dot.actor);
      w.varint(d.dot.seq);
      w.varint(d.targets.size());
      for (const SeqTarget& t : d.targets) {
        w.varint(t.first.actor);
        w.varint(t.first.seq);
        w.varint(t.length);
      }
    }
  }
}

Status read_sequences(Reader& r, const SeqTables& tables, SeqSection& out) {
  return SectionReader(r, tables).read(out);
}

SeqEntry sequence_entry(const Sequence& s, std::uint32_t record, std::uint8_t field,
                        const std::function<std::uint32_t(ActorId)>& index) {
  SeqEntry e{record, field, {}, {}};
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
