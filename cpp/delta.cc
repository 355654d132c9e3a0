#include "delta.h"

#include <algorithm>
#include <string>
#include <tuple>
#include <unordered_map>

namespace mycelium {
namespace {

constexpr std::uint8_t kTagBoolBit = 8;
constexpr std::uint8_t kTagOffsetBit = 16;

class StringTable {
 public:
  std::uint32_t id(std::string_view s) {
    auto [it, inserted] = ids_.try_emplace(s, static_cast<std::uint32_t>(order_.size()));
    if (inserted) order_.push_back(s);
    return it->second;
  }
  const std::vector<std::string_view>& order() const { return order_; }
  void reserve(std::size_t n) { ids_.reserve(n); order_.reserve(n); }

 private:
  std::unordered_map<std::string_view, std::uint32_t> ids_;
  std::vector<std::string_view> order_;
};

enum class AuxKind { kNone, kHlc, kTotal };

AuxKind aux_kind(const DeltaData& d, const DeltaData::Record& r, const DeltaData::Cell& c) {
  if (c.field == kPresenceField) return AuxKind::kNone;
  switch (d.collections[r.collection].fields[c.field].kind) {
    case Kind::kLww:
    case Kind::kMvr: return AuxKind::kHlc;
    case Kind::kCounter: return AuxKind::kTotal;
    case Kind::kSet: return AuxKind::kNone;
  }
  return AuxKind::kNone;
}

std::uint8_t tag_byte(const DeltaData::Cell& c) {
  auto t = static_cast<std::uint8_t>(c.value.tag);
  if (c.value.tag == ValueTag::kBool && c.value.bits) t |= kTagBoolBit;
  if (c.offset) t |= kTagOffsetBit;
  return t;
}

}  // namespace

// Order of cells inside a record: (field, role, value, actor, seq).
std::strong_ordering cell_order(const DeltaData::Cell& a, const DeltaData::Cell& b) {
  if (auto c = a.field <=> b.field; c != 0) return c;
  if (auto c = a.offset <=> b.offset; c != 0) return c;
  if (auto c = compare(a.value, b.value); c != 0) return c;
  if (auto c = a.actor <=> b.actor; c != 0) return c;
  return a.seq <=> b.seq;
}

std::strong_ordering record_order(const DeltaData::Record& a, const DeltaData::Record& b) {
  if (auto c = a.collection <=> b.collection; c != 0) return c;
  return compare(ValueView::string(a.id), ValueView::string(b.id));
}

ByteVec encode_delta(const DeltaData& d) {
  // Strings are numbered by first use in the canonical order below.
  StringTable strings;
  strings.reserve(d.records.size() * 2 + 16);
  for (const auto& c : d.collections) {
    strings.id(c.name);
    for (const auto& f : c.fields) strings.id(f.name);
  }
  for (const auto& r : d.records) strings.id(r.id);
  for (const auto& c : d.cells) {
    if (c.value.tag == ValueTag::kString || c.value.tag == ValueTag::kBytes) strings.id(c.value.str);
  }

  Writer w;
  w.buffer().reserve(64 + d.records.size() * 16 + d.cells.size() * 8 + d.events.size() * 2);
  w.varint(strings.order().size());
  for (auto s : strings.order()) w.bytes(s);
  w.varint(d.collections.size());
  for (const auto& c : d.collections) {
    w.varint(strings.id(c.name));
    w.varint(c.fields.size());
    for (const auto& f : c.fields) {
      w.varint(strings.id(f.name));
      w.u8(static_cast<std::uint8_t>(f.kind));
    }
  }
  w.varint(d.actors.size());
  for (ActorId a : d.actors) w.fixed64(a);
  for (const auto* vv : {&d.base, &d.context}) {
    w.varint(vv->size());
    for (const auto& [a, seq] : *vv) {
      w.varint(a);
      w.varint(seq);
    }
  }
  w.varint(d.records.size());
  for (const auto& r : d.records) w.varint(r.collection);
  for (const auto& r : d.records) w.varint(strings.id(r.id));
  {
    std::int64_t prev_record = 0;
    for (const auto& run : d.events) {
      w.zigzag(static_cast<std::int64_t>(run.record) - prev_record);
      w.varint(run.count - 1);
      prev_record = run.record;
    }
  }
  for (const auto& r : d.records) w.varint(r.cell_count);
  for (const auto& c : d.cells) w.u8(c.field);
  for (const auto& c : d.cells) w.u8(tag_byte(c));
  for (const auto& c : d.cells) w.varint(c.actor);
  std::uint64_t prev_seq = 0;
  for (const auto& c : d.cells) {
    w.zigzag(static_cast<std::int64_t>(c.seq - prev_seq));
    prev_seq = c.seq;
  }
  // aux by kind: lww/mvr HLCs as deltas, counter totals as zigzag; set
  // elements and presences carry none.
  std::uint64_t prev_hlc = 0;
  for (const auto& r : d.records) {
    for (std::uint32_t i = r.first_cell; i < r.first_cell + r.cell_count; ++i) {
      const auto& c = d.cells[i];
      switch (aux_kind(d, r, c)) {
        case AuxKind::kHlc:
          w.zigzag(static_cast<std::int64_t>(c.aux - prev_hlc));
          prev_hlc = c.aux;
          break;
        case AuxKind::kTotal: w.zigzag(static_cast<std::int64_t>(c.aux)); break;
        case AuxKind::kNone: break;
      }
    }
  }
  for (const auto& c : d.cells) {
    switch (c.value.tag) {
      case ValueTag::kInt: w.zigzag(static_cast<std::int64_t>(c.value.bits)); break;
      case ValueTag::kDouble: w.fixed64(c.value.bits); break;
      case ValueTag::kString:
      case ValueTag::kBytes: w.varint(strings.id(c.value.str)); break;
      default: break;
    }
  }
  return frame(d.kind, w.buffer());
}

namespace {

Status decode_payload(Reader& r, DeltaData& d) {
  std::uint64_t n;
  // Strings.
  if (!r.count(n, "string count")) return r.status();
  std::vector<std::string_view> strings(static_cast<std::size_t>(n));
  for (auto& s : strings) {
    if (!r.bytes(s, "string")) return r.status();
  }
  d.string_count = static_cast<std::uint32_t>(strings.size());
  std::uint64_t last_string = 0;
  auto string_at = [&](std::string_view& out, const char* what) {
    if (!r.index(last_string, strings.size(), what)) return false;
    out = strings[static_cast<std::size_t>(last_string)];
    return true;
  };

  // Collections.
  if (!r.count(n, "collection count", 2)) return r.status();
  if (n > kMaxCollections) return Corrupt("too many collections");
  d.collections.resize(static_cast<std::size_t>(n));
  for (auto& c : d.collections) {
    if (!string_at(c.name, "collection name")) return r.status();
    if (!r.count(n, "field count", 2)) return r.status();
    if (n > kMaxFields - 1) return Corrupt("too many fields in collection");
    c.fields.resize(static_cast<std::size_t>(n));
    for (auto& f : c.fields) {
      std::uint8_t k;
      if (!string_at(f.name, "field name") || !r.u8(k, "field kind")) return r.status();
      if (k >= kKindCount) return Corrupt("unknown field kind " + std::to_string(k));
      f.kind = static_cast<Kind>(k);
    }
  }

  // Actors.
  if (!r.count(n, "actor count", 8)) return r.status();
  d.actors.resize(static_cast<std::size_t>(n));
  for (std::size_t i = 0; i < d.actors.size(); ++i) {
    if (!r.fixed64(d.actors[i], "actor id")) return r.status();
    if (d.actors[i] == 0 || (i > 0 && d.actors[i] <= d.actors[i - 1])) {
      return Corrupt("actor ids must be non-zero and strictly increasing");
    }
  }

  // Base and context.
  for (auto* vv : {&d.base, &d.context}) {
    const char* what = vv == &d.base ? "base vector" : "context vector";
    if (!r.count(n, what, 2)) return r.status();
    vv->resize(static_cast<std::size_t>(n));
    for (std::size_t i = 0; i < vv->size(); ++i) {
      std::uint64_t a, seq;
      if (!r.index(a, d.actors.size(), what) || !r.varint(seq, what)) return r.status();
      if (seq == 0 || seq > kMaxSeq) return Corrupt(std::string(what) + ": seq out of range");
      if (i > 0 && a <= (*vv)[i - 1].first) {
        return Corrupt(std::string(what) + ": actors not strictly increasing");
      }
      (*vv)[i] = {static_cast<std::uint32_t>(a), seq};
    }
  }
  if (d.kind == PayloadKind::kSnapshot && !d.base.empty()) {
    return Corrupt("a snapshot must have an empty base");
  }
  // Context as a dense table by actor index; base must be below it.
  std::vector<std::uint64_t> ctx(d.actors.size(), 0), base(d.actors.size(), 0);
  for (const auto& [a, seq] : d.context) ctx[a] = seq;
  for (const auto& [a, seq] : d.base) {
    if (seq > ctx[a]) return Corrupt("base vector is ahead of the context");
    base[a] = seq;
  }

  // Records.
  if (!r.count(n, "record count", 2)) return r.status();
  d.records.resize(static_cast<std::size_t>(n));
  for (auto& rec : d.records) {
    std::uint64_t c;
    if (!r.index(c, d.collections.size(), "record collection")) return r.status();
    rec.collection = static_cast<std::uint32_t>(c);
  }
  for (std::size_t i = 0; i < d.records.size(); ++i) {
    auto& rec = d.records[i];
    if (!string_at(rec.id, "record id")) return r.status();
    if (rec.id.empty() || rec.id.size() > kMaxIdBytes) return Corrupt("record id must be 1 to 256 bytes");
    if (!valid_utf8(rec.id)) return Corrupt("record id is not valid UTF-8");
    if (i > 0 && record_order(d.records[i - 1], rec) >= 0) {
      return Corrupt("records not in canonical order");
    }
  }

  // Events: runs covering (base, context] of each actor. A run costs at
  // least two bytes however many seqs it spans, so runs (not seqs) are what
  // the input bounds and what gets allocated.
  std::vector<std::pair<std::size_t, std::size_t>> runs_of(d.actors.size(), {0, 0});
  std::vector<bool> touched(d.records.size(), false);
  {
    std::int64_t prev_record = 0;
    for (const auto& [a, seq] : d.context) {
      runs_of[a].first = d.events.size();
      std::uint64_t next = base[a] + 1;
      while (next <= seq) {
        std::int64_t delta;
        std::uint64_t extra;
        if (!r.zigzag(delta, "event record") || !r.varint(extra, "event run")) return r.status();
        const std::int64_t rec = prev_record + delta;
        if (rec < 0 || static_cast<std::uint64_t>(rec) >= d.records.size()) return Corrupt("event record out of range");
        if (extra > seq - next) return Corrupt("event run past the context");
        d.events.push_back({a, static_cast<std::uint32_t>(rec), next, extra + 1});
        touched[static_cast<std::size_t>(rec)] = true;
        prev_record = rec;
        next += extra + 1;
      }
      runs_of[a].second = d.events.size();
    }
  }
  for (bool t : touched) {
    if (!t) return Corrupt("record not touched by any event");
  }
  // The record an event of actor a at seq (base, context] touched. When the
  // events are few next to the input (as in snapshots), a dense table answers
  // in O(1); otherwise a binary search over the actor's runs.
  std::uint64_t event_count = 0;
  for (const auto& [a, seq] : d.context) event_count += seq - base[a];
  std::vector<std::uint32_t> dense;
  std::vector<std::uint64_t> dense_start(d.actors.size(), 0);
  if (event_count <= 4 * static_cast<std::uint64_t>(r.offset() + r.remaining())) {
    dense.reserve(static_cast<std::size_t>(event_count));
    for (const auto& [a, seq] : d.context) {
      dense_start[a] = dense.size();
      for (std::size_t i = runs_of[a].first; i < runs_of[a].second; ++i) {
        dense.insert(dense.end(), static_cast<std::size_t>(d.events[i].count), d.events[i].record);
      }
    }
  }
  auto event_record = [&](std::uint32_t a, std::uint64_t seq) {
    if (event_count > 0 && dense.size() == event_count) {
      return dense[static_cast<std::size_t>(dense_start[a] + (seq - base[a] - 1))];
    }
    std::size_t lo = runs_of[a].first, hi = runs_of[a].second;
    while (hi - lo > 1) {
      const std::size_t mid = (lo + hi) / 2;
      if (d.events[mid].first <= seq) lo = mid;
      else hi = mid;
    }
    return d.events[lo].record;
  };

  // Cells.
  std::uint64_t cell_total = 0;
  for (auto& rec : d.records) {
    if (!r.count(n, "cell count", 4)) return r.status();  // field, tag, actor, seq
    rec.first_cell = static_cast<std::uint32_t>(cell_total);
    rec.cell_count = static_cast<std::uint32_t>(n);
    cell_total += n;
    if (cell_total > r.remaining() / 4) return Corrupt("more cells than the input can hold");
  }
  d.cells.resize(static_cast<std::size_t>(cell_total));
  for (auto& c : d.cells) {
    if (!r.u8(c.field, "cell field")) return r.status();
  }
  for (auto& c : d.cells) {
    std::uint8_t t;
    if (!r.u8(t, "cell tag")) return r.status();
    const std::uint8_t tag = t & 7;
    if (tag >= kValueTagCount || (t & ~(7 | kTagBoolBit | kTagOffsetBit)) ||
        ((t & kTagBoolBit) && tag != static_cast<std::uint8_t>(ValueTag::kBool))) {
      return Corrupt("bad cell tag " + std::to_string(t));
    }
    c.value.tag = static_cast<ValueTag>(tag);
    c.value.bits = (t & kTagBoolBit) ? 1 : 0;
    c.offset = (t & kTagOffsetBit) != 0;
  }
  for (auto& c : d.cells) {
    std::uint64_t a;
    if (!r.index(a, d.actors.size(), "cell actor")) return r.status();
    c.actor = static_cast<std::uint32_t>(a);
  }
  std::uint64_t prev_seq = 0;
  for (auto& c : d.cells) {
    std::int64_t delta;
    if (!r.zigzag(delta, "cell seq")) return r.status();
    c.seq = prev_seq + static_cast<std::uint64_t>(delta);
    prev_seq = c.seq;
  }
  for (const auto& rec : d.records) {
    for (std::uint32_t i = rec.first_cell; i < rec.first_cell + rec.cell_count; ++i) {
      if (d.cells[i].field != kPresenceField && d.cells[i].field >= d.collections[rec.collection].fields.size()) {
        return Corrupt("cell field out of range");
      }
    }
  }
  std::uint64_t prev_hlc = 0;
  for (const auto& rec : d.records) {
    for (std::uint32_t i = rec.first_cell; i < rec.first_cell + rec.cell_count; ++i) {
      auto& c = d.cells[i];
      std::int64_t v = 0;
      switch (aux_kind(d, rec, c)) {
        case AuxKind::kHlc:
          if (!r.zigzag(v, "cell hlc")) return r.status();
          c.aux = prev_hlc + static_cast<std::uint64_t>(v);
          prev_hlc = c.aux;
          break;
        case AuxKind::kTotal:
          if (!r.zigzag(v, "counter total")) return r.status();
          c.aux = static_cast<std::uint64_t>(v);
          break;
        case AuxKind::kNone: c.aux = 0; break;
      }
    }
  }
  for (auto& c : d.cells) {
    switch (c.value.tag) {
      case ValueTag::kInt: {
        std::int64_t v;
        if (!r.zigzag(v, "int value")) return r.status();
        c.value.bits = static_cast<std::uint64_t>(v);
        break;
      }
      case ValueTag::kDouble:
        if (!r.fixed64(c.value.bits, "double value")) return r.status();
        break;
      case ValueTag::kString:
        if (!string_at(c.value.str, "string value")) return r.status();
        if (!valid_utf8(c.value.str)) return Corrupt("string value is not valid UTF-8");
        c.string = static_cast<std::uint32_t>(last_string);
        break;
      case ValueTag::kBytes:
        if (!string_at(c.value.str, "bytes value")) return r.status();
        c.string = static_cast<std::uint32_t>(last_string);
        break;
      default: break;
    }
  }
  if (r.remaining() != 0) return Corrupt("trailing bytes after cells");

  // Semantic checks per record.
  std::vector<std::pair<std::uint32_t, std::uint64_t>> dots;
  for (std::uint32_t ri = 0; ri < d.records.size(); ++ri) {
    const auto& rec = d.records[ri];
    const auto& fields = d.collections[rec.collection].fields;
    dots.clear();
    for (std::uint32_t ci = rec.first_cell; ci < rec.first_cell + rec.cell_count; ++ci) {
      const auto& c = d.cells[ci];
      if (c.field != kPresenceField && c.field >= fields.size()) return Corrupt("cell field out of range");
      const Kind kind = cell_kind(d, rec, c);
      const bool valueless = c.field == kPresenceField || kind == Kind::kCounter;
      if (valueless && c.value.tag != ValueTag::kNull) return Corrupt("value on a valueless cell");
      if (c.offset && (c.field == kPresenceField || kind != Kind::kCounter)) {
        return Corrupt("offset cell outside a counter");
      }
      if (c.seq == 0 || c.seq > ctx[c.actor]) return Corrupt("cell dot not covered by the context");
      if (ci > rec.first_cell) {
        const auto& p = d.cells[ci - 1];
        if (cell_order(p, c) >= 0) return Corrupt("cells not in canonical order");
        if (kind == Kind::kCounter && p.field == c.field && p.offset == c.offset && p.actor == c.actor) {
          return Corrupt("two counter cells of one actor");
        }
      }
      if (c.offset) continue;
      dots.emplace_back(c.actor, c.seq);
      if (c.seq > base[c.actor] && event_record(c.actor, c.seq) != ri) {
        return Corrupt("cell dot belongs to another record's event");
      }
    }
    std::sort(dots.begin(), dots.end());
    if (std::adjacent_find(dots.begin(), dots.end()) != dots.end()) return Corrupt("duplicate dot in record");
  }
  // A counter entry must be newer than its actor's offset. Within a field,
  // entries precede offsets and both are sorted by actor (canonical order).
  std::vector<std::tuple<std::uint8_t, std::uint32_t, std::uint64_t>> offsets;
  for (const auto& rec : d.records) {
    offsets.clear();
    const auto cells = std::span(d.cells).subspan(rec.first_cell, rec.cell_count);
    for (const auto& c : cells) {
      if (c.offset) offsets.emplace_back(c.field, c.actor, c.seq);
    }
    if (offsets.empty()) continue;
    for (const auto& c : cells) {
      if (c.offset) continue;
      auto it = std::lower_bound(offsets.begin(), offsets.end(),
                                 std::make_tuple(c.field, c.actor, std::uint64_t{0}));
      if (it != offsets.end() && std::get<0>(*it) == c.field && std::get<1>(*it) == c.actor &&
          c.seq <= std::get<2>(*it)) {
        return Corrupt("counter entry older than its offset");
      }
    }
  }
  return Status::Ok();
}

}  // namespace

Result<DeltaData> decode_delta(std::span<const std::uint8_t> bytes) {
  MYC_ASSIGN_OR_RETURN(Unframed u, unframe(bytes));
  DeltaData d;
  d.kind = u.kind;
  Reader r(u.payload);
  MYC_TRY(decode_payload(r, d));
  return d;
}

}  // namespace mycelium
