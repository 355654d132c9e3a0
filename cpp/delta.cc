#include "delta.h"

#include <algorithm>
#include <array>
#include <string>
#include <tuple>
#include "crc32c.h"
#include "string_pool.h"

namespace mycelium {
namespace {

constexpr std::uint8_t kTagBoolBit = 8;
constexpr std::uint8_t kTagOffsetBit = 16;

}  // namespace

// Numbers distinct strings by first use: open addressing over 32-bit slots,
// at most 3/4 full.
class StringTable {
 public:
  explicit StringTable(std::size_t expected) {
    std::size_t n = 16;
    while (n * 3 < expected * 4) n *= 2;
    slots_.assign(n, 0);
    order_.reserve(expected);
  }
  std::uint32_t id(std::string_view s) {
    if ((order_.size() + 1) * 4 > slots_.size() * 3) grow();
    return find_or_add(s, hash_bytes(s), slots_.size() - 1);
  }
  // id() for many strings, in order: hashes a few ahead and prefetches
  // their slots so the cache misses overlap.
  template <typename Get>
  void ids(std::size_t n, const Get& get, std::uint32_t* out) {
    constexpr std::size_t kAhead = 8;
    while ((order_.size() + n + 1) * 4 > slots_.size() * 3) grow();
    const std::size_t mask = slots_.size() - 1;
    std::uint64_t ring[kAhead];
    for (std::size_t i = 0; i < n && i < kAhead; ++i) {
      ring[i] = hash_bytes(get(i));
      __builtin_prefetch(&slots_[ring[i] & mask]);
    }
    for (std::size_t i = 0; i < n; ++i) {
      const std::uint64_t h = ring[i % kAhead];
      if (i + kAhead < n) {
        ring[i % kAhead] = hash_bytes(get(i + kAhead));
        __builtin_prefetch(&slots_[ring[i % kAhead] & mask]);
      }
      out[i] = find_or_add(get(i), h, mask);
    }
  }
  const std::vector<std::string_view>& order() const { return order_; }
  // Frees the lookup: id() may not be called after it.
  void drop_index() { std::vector<std::uint32_t>().swap(slots_); }

 private:
  std::uint32_t find_or_add(std::string_view s, std::uint64_t h, std::size_t mask) {
    for (std::size_t i = h & mask;; i = (i + 1) & mask) {
      if (slots_[i] == 0) {
        order_.push_back(s);
        slots_[i] = static_cast<std::uint32_t>(order_.size());
        return slots_[i] - 1;
      }
      if (order_[slots_[i] - 1] == s) return slots_[i] - 1;
    }
  }
  void grow() {
    std::vector<std::uint32_t> old(slots_.size() * 2, 0);
    old.swap(slots_);
    const std::size_t mask = slots_.size() - 1;
    for (std::uint32_t v : old) {
      if (v == 0) continue;
      std::size_t i = hash_bytes(order_[v - 1]) & mask;
      while (slots_[i] != 0) i = (i + 1) & mask;
      slots_[i] = v;
    }
  }
  std::vector<std::uint32_t> slots_;
  std::vector<std::string_view> order_;
};

namespace {

enum class AuxKind { kNone, kHlc, kTotal };

AuxKind aux_kind(const DeltaData& d, const DeltaData::Record& r, const DeltaData::Cell& c) {
  if (c.field == kPresenceField) return AuxKind::kNone;
  switch (d.collections[r.collection].fields[c.field].kind) {
    case Kind::kLww:
    case Kind::kMvr: return AuxKind::kHlc;
    case Kind::kCounter:
    case Kind::kCredit: return AuxKind::kTotal;
    case Kind::kSet:
    case Kind::kList:  // no cells (read_cell refuses them)
    case Kind::kText: return AuxKind::kNone;
  }
  return AuxKind::kNone;
}

// Reads a record's next cell from the columns, with the checks that need
// nothing beyond the delta's tables: the decoder's first pass (which then
// checks the cell against the events and its neighbours) and a streamed
// delta's later passes decode with this one function.
// False with `error` set when the bytes are not a cell.
bool read_cell(CellColumns& cols, const DeltaData& d, const DeltaData::Record& rec, DeltaData::Cell& c,
                       Status& error) {
  auto fail = [&](Status st) {
    error = std::move(st);
    return false;
  };
  auto column_error = [&](const Reader& col, const char* column) {
    return fail(Corrupt(cat({column, " column: ", col.status().message()})));
  };
  std::uint8_t t;
  cols.field.u8(c.field, "field");  // both hold one byte per cell (checked)
  cols.tag.u8(t, "tag");
  if (c.field != kPresenceField && c.field >= d.collections[rec.collection].fields.size()) {
    return fail(Corrupt("cell field out of range"));
  }
  const std::uint8_t tag = t & 7;
  if (tag >= kValueTagCount || (t & ~(7 | kTagBoolBit | kTagOffsetBit)) ||
      ((t & kTagBoolBit) && tag != static_cast<std::uint8_t>(ValueTag::kBool))) {
    return fail(Corrupt(cat({"bad cell tag ", t})));
  }
  c.tag = static_cast<ValueTag>(tag);
  c.bits = (t & kTagBoolBit) ? 1 : 0;
  c.offset = (t & kTagOffsetBit) != 0;
  c.string = DeltaData::kNoString;
  const Kind kind = cell_kind(d, rec, c);
  if (c.field != kPresenceField && is_sequence(kind)) {
    return fail(Corrupt("a cell on a list or text field (its elements travel in the sequences section)"));
  }
  const bool valueless = c.field == kPresenceField || kind == Kind::kCounter;
  if (valueless && c.tag != ValueTag::kNull) return fail(Corrupt("value on a valueless cell"));
  if (c.offset && (c.field == kPresenceField || kind != Kind::kCounter)) {
    return fail(Corrupt("offset cell outside a counter"));
  }
  // credit (docs/credit.md): null added, false spent, an integer given to
  // that actor.
  const bool credit = c.field != kPresenceField && kind == Kind::kCredit;
  if (credit && !(c.tag == ValueTag::kNull || c.tag == ValueTag::kInt || (c.tag == ValueTag::kBool && c.bits == 0))) {
    return fail(Corrupt("a credit cell's component is not null, false or an actor"));
  }

  std::uint64_t a;
  if (!cols.actor.index(a, d.actors.size(), "cell actor")) return column_error(cols.actor, "actor");
  c.actor = static_cast<std::uint32_t>(a);
  std::int64_t delta;
  if (!cols.seq.zigzag(delta, "cell seq")) return column_error(cols.seq, "seq");
  const std::uint64_t seq = cols.prev_seq + static_cast<std::uint64_t>(delta);
  cols.prev_seq = seq;
  if (seq == 0 || seq > kMaxSeq) return fail(Corrupt("cell dot not covered by the context"));
  c.seq = static_cast<std::uint32_t>(seq);

  std::int64_t v = 0;
  c.aux = 0;
  if (c.field == kPresenceField || kind == Kind::kSet) {
    // no aux (aux_kind(): kNone)
  } else if (kind == Kind::kCounter) {
    if (!cols.aux.zigzag(v, "counter total")) return column_error(cols.aux, "aux");
    c.aux = static_cast<std::uint64_t>(v);
  } else if (credit) {
    if (!cols.aux.zigzag(v, "credit total")) return column_error(cols.aux, "aux");
    if (v < 1 || v > kMaxCredit) return fail(Corrupt("a credit total out of range (1 to 2^53-1)"));
    c.aux = static_cast<std::uint64_t>(v);
  } else {  // lww, mvr: an HLC
    if (!cols.aux.zigzag(v, "cell hlc")) return column_error(cols.aux, "aux");
    c.aux = cols.prev_hlc + static_cast<std::uint64_t>(v);
    cols.prev_hlc = c.aux;
  }
  std::uint64_t i;
  switch (c.tag) {
    case ValueTag::kInt:
      if (!cols.value.zigzag(v, "int value")) return column_error(cols.value, "value");
      c.bits = static_cast<std::uint64_t>(v);
      break;
    case ValueTag::kDouble:
      if (!cols.value.fixed64(c.bits, "double value")) return column_error(cols.value, "value");
      break;
    case ValueTag::kString:
    case ValueTag::kBytes:
      if (!cols.value.index(i, d.strings.size(), "string value")) return column_error(cols.value, "value");
      c.string = static_cast<std::uint32_t>(i);
      break;
    default: break;
  }
  return true;
}

// A scope on the wire: bit 0 set for an element (then field and hash
// above it); else bit 1 the presence and the field mask above it, so the
// usual one-field scope takes one byte.
std::uint64_t wire_scope(KeyScope s) {
  if (is_element_scope(s)) return std::uint64_t{s & ~kElementScopeBit} << 1 | 1;
  return (std::uint64_t{s & (kPresenceScopeBit - 1)} << 1 | (s & kPresenceScopeBit ? 1 : 0)) << 1;
}
KeyScope scope_of_wire(std::uint64_t w) {
  if (w & 1) return static_cast<KeyScope>(w >> 1) | kElementScopeBit;
  return static_cast<KeyScope>(w >> 2) | ((w & 2) ? kPresenceScopeBit : 0);
}

// 16 bits of CRC32C over a version as Replica writes it (count, then fixed64
// actor and varint seq each): a detached delta carries it, so one read with
// another context than it was written for is refused, not misjoined.
template <typename Entries, typename ActorOf>
std::uint32_t context_check(const Entries& entries, const ActorOf& actor_of) {
  Writer w;
  w.varint(entries.size());
  for (const auto& e : entries) {
    w.fixed64(actor_of(e));
    w.varint(e.second);
  }
  return crc32c(w.view().data(), w.size()) & 0xffff;
}

std::uint8_t tag_byte(const DeltaData::Cell& c) {
  auto t = static_cast<std::uint8_t>(c.tag);
  if (c.tag == ValueTag::kBool && c.bits) t |= kTagBoolBit;
  if (c.offset) t |= kTagOffsetBit;
  return t;
}

}  // namespace

// Order of cells inside a record: (field, role, value, actor, seq).
std::strong_ordering cell_order(const DeltaData& d, const DeltaData::Cell& a, const DeltaData::Cell& b) {
  if (auto c = a.field <=> b.field; c != 0) return c;
  if (auto c = a.offset <=> b.offset; c != 0) return c;
  if (auto c = compare(d.value(a), d.value(b)); c != 0) return c;
  if (auto c = a.actor <=> b.actor; c != 0) return c;
  return a.seq <=> b.seq;
}

std::strong_ordering record_order(const DeltaData::Record& a, const DeltaData::Record& b) {
  if (auto c = a.collection <=> b.collection; c != 0) return c;
  return compare(ValueView::string(a.id), ValueView::string(b.id));
}

void DeltaData::unite_scopes() {
  elements.clear();
  for (auto& r : records) r.mask = 0;
  for (const auto& run : events) {
    if (is_element_scope(run.scope)) elements.emplace_back(run.record, run.scope);
    else records[run.record].mask |= run.scope;
  }
  std::sort(elements.begin(), elements.end());
  elements.erase(std::unique(elements.begin(), elements.end()), elements.end());
}

bool DeltaData::names_sequences() const {
  for (const auto& c : collections) {
    for (const auto& f : c.fields) {
      if (is_sequence(f.kind)) return true;
    }
  }
  return false;
}

DeltaEncoder::DeltaEncoder(const DeltaData& d, bool detached, const std::vector<bool>& cell_actors)
    : head_(d), detached_(detached), kind_(detached ? PayloadKind::kDetachedDelta : d.kind),
      names_sequences_(d.names_sequences()) {
  // A detached delta names only the actors with events or dots in it; the
  // others' indexes are never written (kNoString marks them).
  actor_index_.resize(d.actors.size());
  for (std::uint32_t i = 0; i < actor_index_.size(); ++i) actor_index_[i] = i;
  actors_ = d.actors;
  if (detached) {
    std::vector<bool> keep(d.actors.size(), false);
    for (const auto& run : d.events) keep[run.actor] = true;
    for (std::size_t i = 0; i < keep.size() && i < cell_actors.size(); ++i) keep[i] = keep[i] || cell_actors[i];
    actors_.clear();
    for (std::uint32_t i = 0; i < keep.size(); ++i) {
      actor_index_[i] = keep[i] ? static_cast<std::uint32_t>(actors_.size()) : DeltaData::kNoString;
      if (keep[i]) actors_.push_back(d.actors[i]);
    }
  }
  // Strings are numbered by first use in the canonical order: names, record
  // ids, then values in cell order (as the pieces come).
  strings_ = std::make_unique<StringTable>(d.records.size() + 16);
  for (const auto& c : d.collections) {
    name_ids_.push_back(strings_->id(c.name));
    for (const auto& f : c.fields) name_ids_.push_back(strings_->id(f.name));
  }
  record_ids_.resize(d.records.size());
  strings_->ids(d.records.size(), [&](std::size_t i) { return d.records[i].id; }, record_ids_.data());
}

DeltaEncoder::~DeltaEncoder() = default;

void DeltaEncoder::add(const DeltaData& piece) {
  // Values in cell order (the canonical order of first use).
  value_refs_.clear();
  for (const auto& c : piece.cells) {
    if (c.string != DeltaData::kNoString) value_refs_.push_back(c.string);
  }
  found_.resize(value_refs_.size());
  strings_->ids(value_refs_.size(), [&](std::size_t i) { return piece.strings[value_refs_[i]]; }, found_.data());
  // By the cell's string index: a cell is written where its record says.
  value_ids_.assign(piece.strings.size(), 0);
  for (std::size_t i = 0; i < value_refs_.size(); ++i) value_ids_[value_refs_[i]] = found_[i];
  // Cell columns, each prefixed by its byte length in the payload so a
  // decoder can read them side by side in one pass.
  for (const auto& r : piece.records) {
    counts_.room(10).varint(r.cell_count);
    for (std::uint32_t i = r.first_cell; i < r.first_cell + r.cell_count; ++i) {
      const auto& c = piece.cells[i];
      fields_.room(1).u8(c.field);
      tags_.room(1).u8(tag_byte(c));
      actor_col_.room(10).varint(actor_index_[c.actor]);
      seqs_.room(10).zigzag(static_cast<std::int64_t>(c.seq - prev_seq_));
      prev_seq_ = c.seq;
      // aux by kind: lww/mvr HLCs as deltas, counter totals as zigzag; set
      // elements and presences carry none.
      switch (aux_kind(head_, r, c)) {
        case AuxKind::kHlc:
          auxs_.room(10).zigzag(static_cast<std::int64_t>(c.aux - prev_hlc_));
          prev_hlc_ = c.aux;
          break;
        case AuxKind::kTotal: auxs_.room(10).zigzag(static_cast<std::int64_t>(c.aux)); break;
        case AuxKind::kNone: break;
      }
      switch (c.tag) {
        case ValueTag::kInt: values_.room(10).zigzag(static_cast<std::int64_t>(c.bits)); break;
        case ValueTag::kDouble: values_.room(8).fixed64(c.bits); break;
        case ValueTag::kString:
        case ValueTag::kBytes:
          if (c.string != DeltaData::kNoString) values_.room(10).varint(value_ids_[c.string]);
          break;
        default: break;
      }
    }
  }
}

void DeltaEncoder::close() {
  const DeltaData& d = head_;
  strings_->drop_index();
  const auto& order = strings_->order();
  // In blocks: they fit in what the pieces freed (the table's index).
  const auto w = [this](std::size_t n) -> Writer& { return front_.room(n); };
  w(10).varint(order.size());
  for (auto s : order) w(s.size() + 10).bytes(s);
  strings_.reset();
  w(10).varint(d.collections.size());
  std::size_t name = 0;
  for (const auto& c : d.collections) {
    w(10).varint(name_ids_[name++]);
    w(10).varint(c.fields.size());
    for (const auto& f : c.fields) {
      w(10).varint(name_ids_[name++]);
      w(1).u8(static_cast<std::uint8_t>(f.kind));
    }
  }
  if (detached_) {
    // Positions in the context, as gaps; then each one's event count.
    std::vector<std::uint64_t> ctx(d.actors.size(), 0), base(d.actors.size(), 0);
    for (const auto& [a, seq] : d.context) ctx[a] = seq;
    for (const auto& [a, seq] : d.base) base[a] = seq;
    w(10).varint(actors_.size());
    std::size_t prev = 0;
    bool first = true;
    for (std::size_t pos = 0; pos < d.context.size(); ++pos) {
      if (actor_index_[d.context[pos].first] == DeltaData::kNoString) continue;
      w(10).varint(first ? pos : pos - prev - 1);
      prev = pos;
      first = false;
    }
    for (std::size_t i = 0; i < d.actors.size(); ++i) {
      if (actor_index_[i] != DeltaData::kNoString) w(10).varint(ctx[i] - base[i]);
    }
    const std::uint32_t check = context_check(d.context, [&](const auto& e) { return d.actors[e.first]; });
    w(1).u8(static_cast<std::uint8_t>(check));
    w(1).u8(static_cast<std::uint8_t>(check >> 8));
  } else {
    w(10).varint(actors_.size());
    for (ActorId a : actors_) w(8).fixed64(a);
  }
  for (const auto* vv : {&d.base, &d.context}) {
    if (detached_) break;
    std::size_t n = 0;
    for (const auto& e : *vv) n += actor_index_[e.first] != DeltaData::kNoString;
    w(10).varint(n);
    for (const auto& [a, seq] : *vv) {
      if (actor_index_[a] == DeltaData::kNoString) continue;
      w(10).varint(actor_index_[a]);
      w(10).varint(seq);
    }
  }
  w(10).varint(d.records.size());
  for (const auto& r : d.records) w(10).varint(r.collection);
  for (std::uint32_t id : record_ids_) w(10).varint(id);
  {
    std::int64_t prev_record = 0;
    for (const auto& run : d.events) {
      w(10).zigzag(static_cast<std::int64_t>(run.record) - prev_record);
      w(10).varint(run.count - 1);
      w(10).varint(wire_scope(run.scope));
      prev_record = run.record;
    }
  }
  counts_.for_each_block([&](std::span<const std::uint8_t> b) { w(b.size()).raw(b); });
  counts_.clear();
}

ByteVec DeltaEncoder::frame_pieces() {
  // The columns, each prefixed by its byte length.
  BlockWriter* cols[] = {&fields_, &tags_, &actor_col_, &seqs_, &auxs_, &values_};
  Writer lengths;
  lengths.reserve(6 * 10);  // never moves while the pieces point into it
  std::size_t ends[6];
  for (std::size_t i = 0; i < 6; ++i) {
    lengths.varint(cols[i]->size());
    ends[i] = lengths.size();
  }
  std::vector<std::span<const std::uint8_t>> pieces;
  front_.for_each_block([&](std::span<const std::uint8_t> b) { pieces.push_back(b); });
  for (std::size_t i = 0; i < 6; ++i) {
    const std::size_t start = i == 0 ? 0 : ends[i - 1];
    pieces.push_back(lengths.view().subspan(start, ends[i] - start));
    cols[i]->for_each_block([&](std::span<const std::uint8_t> b) { pieces.push_back(b); });
  }
  // Version 3: the sequences section, in the written actor numbers (a
  // detached delta's table is a subset: the order stays canonical).
  Writer seq;
  std::uint8_t version = kPlainFormatVersion;
  if (kSequenceKinds && names_sequences_) {
    for (SeqEntry& e : sequences_.entries) {
      for_each_ref(e, [&](SeqRef& r) { r.actor = actor_index_[r.actor]; });
    }
    const bool sets = has_sets(sequences_);
    version = sets ? kSetsFormatVersion : kSequencesFormatVersion;
    write_sequences(seq, sequences_, sets);
    sequences_ = {};
    pieces.push_back(seq.view());
  }
  ByteVec framed = frame(kind_, pieces, version);
  front_.clear();
  for (BlockWriter* c : cols) c->clear();
  return framed;
}

ByteVec encode_delta(const DeltaData& d, bool detached) {
  // A streamed delta (a large held one) is written from its cells decoded.
  DeltaData loaded;
  if (d.streamed) {
    loaded.records = d.records;
    loaded.strings = d.strings;
    loaded.cells = d.all_cells();
  }
  const DeltaData& piece = d.streamed ? loaded : d;
  std::vector<bool> cell_actors;
  if (detached) {
    cell_actors.assign(d.actors.size(), false);
    for (const auto& c : piece.cells) cell_actors[c.actor] = true;
  }
  if (detached) {
    for (const SeqEntry& e : d.sequences.entries) {
      for_each_ref(e, [&](const SeqRef& r) { cell_actors[r.actor] = true; });
    }
  }
  DeltaEncoder e(d, detached, cell_actors);
  e.add(piece);
  e.sequences(d.sequences);
  return e.finish();
}

std::size_t decode_budget(std::size_t input_bytes) {
  const std::size_t scaled = input_bytes > kDecodeMaxBytes / kDecodeBytesPerInputByte
                                 ? kDecodeMaxBytes
                                 : input_bytes * kDecodeBytesPerInputByte;
  return std::min(kDecodeMaxBytes, std::max(kDecodeFloorBytes, scaled));
}

namespace {

// Bytes the decoder may still allocate; every table is charged before it is
// built.
class Budget {
 public:
  explicit Budget(std::size_t bytes) : left_(bytes), total_(bytes) {}
  template <typename T>
  bool take(std::uint64_t count) {
    const std::uint64_t limit = left_ / sizeof(T);
    if (count > limit) return false;
    left_ -= static_cast<std::size_t>(count) * sizeof(T);
    return true;
  }
  Status error() const {
    return LimitExceeded(cat({"decoding this input would allocate more than the ", total_, " bytes its size justifies"}));
  }

 private:
  std::size_t left_;
  std::size_t total_;
};

// Reads a delta's payload section by section, in the order delta.h lays
// them out; each section is checked in full before the next is read.
class PayloadDecoder {
 public:
  PayloadDecoder(Reader& reader, DeltaData& delta, Budget& b, std::uint8_t format_version, std::size_t stream_cells_above)
      : r(reader), d(delta), budget(b), version(format_version), stream_above(stream_cells_above) {}

  Status run(const VersionVector* context) {
    MYC_TRY(strings());
    MYC_TRY(collections());
    MYC_TRY(d.kind == PayloadKind::kDetachedDelta ? detached_actors(context) : actors());
    MYC_TRY(vectors());
    MYC_TRY(records());
    MYC_TRY(events());
    return cells();
  }

 private:
  // The string table: every name, id and string value is an index into it.
  Status strings() {
    std::uint64_t n;
    if (!r.count(n, "string count")) return r.status();
    if (!budget.take<std::string_view>(n)) return budget.error();
    d.strings.resize(static_cast<std::size_t>(n));
    for (auto& s : d.strings) {
      if (!r.bytes(s, "string")) return r.status();
    }
    return Status::Ok();
  }

  bool string_at(std::string_view& out, const char* what) {
    if (!r.index(last_string, d.strings.size(), what)) return false;
    out = d.strings[static_cast<std::size_t>(last_string)];
    return true;
  }

  // The collections and fields the delta uses, by name and kind.
  Status collections() {
    std::uint64_t n;
    if (!r.count(n, "collection count", 2)) return r.status();
    if (n > kMaxCollections) return Corrupt("too many collections");
    if (!budget.take<DeltaData::Collection>(n)) return budget.error();
    d.collections.resize(static_cast<std::size_t>(n));
    for (auto& c : d.collections) {
      if (!string_at(c.name, "collection name")) return r.status();
      if (!r.count(n, "field count", 2)) return r.status();
      if (n > kMaxFields - 1) return Corrupt("too many fields in collection");
      if (!budget.take<DeltaData::Field>(n)) return budget.error();
      c.fields.resize(static_cast<std::size_t>(n));
      for (auto& f : c.fields) {
        std::uint8_t k;
        if (!string_at(f.name, "field name") || !r.u8(k, "field kind")) return r.status();
        if (k >= kKindCount) return Corrupt(cat({"unknown field kind ", k}));
        f.kind = static_cast<Kind>(k);
      }
    }

    return Status::Ok();
  }

  // A detached delta's actors: positions in the context it came with.
  Status detached_actors(const VersionVector* context) {
    std::uint64_t n;
    // Actors as positions in the context it was sent with, then per actor
    // the number of its events in the delta (base = context - that).
    if (context == nullptr) return InvalidArgument("a detached delta is read with the version it was sent with");
    const auto& entries = context->entries();
    for (const auto& e : entries) {
      if (e.second > kMaxSeq) return Corrupt("context vector: seq out of range");
    }
    if (!r.count(n, "actor count", 2)) return r.status();
    if (n > entries.size()) return Corrupt("a detached delta names more actors than its context");
    if (!budget.take<ActorId>(n) || !budget.take<std::uint64_t>(2 * n) ||
        !budget.take<std::pair<std::size_t, std::size_t>>(n) || !budget.take<DeltaData::VvEntries::value_type>(2 * n)) {
      return budget.error();
    }
    d.actors.resize(static_cast<std::size_t>(n));
    d.context.resize(static_cast<std::size_t>(n));
    std::uint64_t pos = 0;
    for (std::size_t i = 0; i < d.actors.size(); ++i) {
      std::uint64_t gap;
      if (!r.varint(gap, "actor position")) return r.status();
      if (gap >= entries.size() || (pos += gap + (i > 0)) >= entries.size())
        return Corrupt("actor position past the context");
      d.actors[i] = entries[static_cast<std::size_t>(pos)].first;
      d.context[i] = {static_cast<std::uint32_t>(i), entries[static_cast<std::size_t>(pos)].second};
      if (d.context[i].second > kMaxSeq) return Corrupt("context vector: seq out of range");
    }
    for (std::size_t i = 0; i < d.actors.size(); ++i) {
      std::uint64_t events;
      if (!r.varint(events, "event count")) return r.status();
      if (events > d.context[i].second) return Corrupt("more events than the context holds");
      if (events < d.context[i].second)
        d.base.emplace_back(static_cast<std::uint32_t>(i), d.context[i].second - events);
    }
    std::uint8_t lo, hi;
    if (!r.u8(lo, "context check") || !r.u8(hi, "context check")) return r.status();
    if (static_cast<std::uint32_t>(lo | hi << 8) != context_check(entries, [](const auto& e) { return e.first; })) {
      return Corrupt("the delta was written for another version than the one it came with");
    }
    return Status::Ok();
  }

  // A whole delta's actors, base and context.
  Status actors() {
    std::uint64_t n;
    // Actors.
    if (!r.count(n, "actor count", 8)) return r.status();
    // The actor table and the per-actor tables built from it below.
    if (!budget.take<ActorId>(n) || !budget.take<std::uint64_t>(2 * n) ||
        !budget.take<std::pair<std::size_t, std::size_t>>(n)) {
      return budget.error();
    }
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
      if (!budget.take<DeltaData::VvEntries::value_type>(n)) return budget.error();
      vv->resize(static_cast<std::size_t>(n));
      for (std::size_t i = 0; i < vv->size(); ++i) {
        std::uint64_t a, seq;
        if (!r.index(a, d.actors.size(), what) || !r.varint(seq, what)) return r.status();
        if (seq == 0 || seq > kMaxSeq) return Corrupt(cat({what, ": seq out of range"}));
        if (i > 0 && a <= (*vv)[i - 1].first) {
          return Corrupt(cat({what, ": actors not strictly increasing"}));
        }
        (*vv)[i] = {static_cast<std::uint32_t>(a), seq};
      }
    }
    return Status::Ok();
  }

  // Base and context as dense tables by actor index.
  Status vectors() {
    if (d.kind == PayloadKind::kSnapshot && !d.base.empty()) {
      return Corrupt("a snapshot must have an empty base");
    }
    // Context as a dense table by actor index; base must be below it.
    ctx.assign(d.actors.size(), 0);
    base.assign(d.actors.size(), 0);
    for (const auto& [a, seq] : d.context) ctx[a] = seq;
    for (const auto& [a, seq] : d.base) {
      if (seq > ctx[a]) return Corrupt("base vector is ahead of the context");
      base[a] = seq;
    }

    return Status::Ok();
  }

  // Records: collection, then id, in canonical order.
  Status records() {
    std::uint64_t n;
    if (!r.count(n, "record count", 2)) return r.status();
    if (!budget.take<DeltaData::Record>(n) || !budget.take<std::uint64_t>(n / 64 + 1)) return budget.error();
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

    return Status::Ok();
  }

  // Events: runs covering (base, context] of each actor.
  Status events() {
    // Runs covering (base, context] of each actor. A run costs at
    // least two bytes however many seqs it spans, so runs (not seqs) are what
    // the input bounds and what gets allocated.
    runs_of.assign(d.actors.size(), {0, 0});
    std::vector<bool> touched(d.records.size(), false);
    event_count = 0;
    for (const auto& [a, seq] : d.context) event_count += seq - base[a];
    // At most one run per event, and each run takes at least two bytes.
    const std::uint64_t max_runs = std::min<std::uint64_t>(event_count, r.remaining() / 2);
    if (!budget.take<DeltaData::EventRun>(max_runs)) return budget.error();
    d.events.reserve(static_cast<std::size_t>(max_runs));
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
          if (rec < 0 || static_cast<std::uint64_t>(rec) >= d.records.size())
            return Corrupt("event record out of range");
          if (extra > seq - next) return Corrupt("event run past the context");
          std::uint64_t scope = kWholeRecord;
          if (version >= 2) {
            if (!r.varint(scope, "event scope")) return r.status();
            if (scope > 0xffffffffu || !valid_scope(scope = scope_of_wire(scope))) return Corrupt("bad event scope");
            if (is_element_scope(static_cast<KeyScope>(scope))) {
              const auto& fields = d.collections[d.records[static_cast<std::size_t>(rec)].collection].fields;
              const std::size_t f = scope & 0xff;
              if (f >= fields.size() || fields[f].kind != Kind::kSet)
                return Corrupt("element scope on a field that is not a set");
            }
          }
          d.events.push_back({a, static_cast<std::uint32_t>(rec), next, extra + 1, static_cast<KeyScope>(scope)});
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
    if (!budget.take<std::pair<std::uint32_t, KeyScope>>(d.events.size())) return budget.error();
    d.unite_scopes();
    // The record an event of actor a at seq (base, context] touched. When the
    // events are few next to the input (as in snapshots), a dense table answers
    // in O(1); otherwise a binary search over the actor's runs.
    dense_start.assign(d.actors.size(), 0);
    if (event_count <= 4 * static_cast<std::uint64_t>(r.offset() + r.remaining()) &&
        budget.take<std::uint32_t>(event_count)) {
      dense.resize(static_cast<std::size_t>(event_count));
      std::uint32_t* out = dense.data();  // plain stores: no per-run vector calls
      for (const auto& [a, seq] : d.context) {
        dense_start[a] = static_cast<std::uint64_t>(out - dense.data());
        for (std::size_t i = runs_of[a].first; i < runs_of[a].second; ++i) {
          for (std::uint64_t k = 0; k < d.events[i].count; ++k) *out++ = d.events[i].record;
        }
      }
    }
    return Status::Ok();
  }

  // The record an event of actor a at seq (base, context] touched.
  std::uint32_t event_record(std::uint32_t a, std::uint64_t seq) const {
    if (event_count > 0 && dense.size() == event_count) {
      return dense[static_cast<std::size_t>(dense_start[a] + (seq - base[a] - 1))];
    }
    std::size_t lo = runs_of[a].first, hi = runs_of[a].second;
    while (hi - lo > 1) {
      const std::size_t mid = (lo + hi) / 2;
      if (d.events[mid].first <= seq)
        lo = mid;
      else
        hi = mid;
    }
    return d.events[lo].record;
  }

  // Cells, checked against the events and the context.
  Status cells() {
    std::uint64_t n;
    // Cells: a count per record, then six length-prefixed columns that are
    // read side by side, so each cell is built and checked in one pass.
    std::uint64_t cell_total = 0, largest = 0;
    for (auto& rec : d.records) {
      if (!r.count(n, "cell count", 4)) return r.status();  // field, tag, actor, seq
      rec.first_cell = static_cast<std::uint32_t>(cell_total);
      rec.cell_count = static_cast<std::uint32_t>(n);
      cell_total += n;
      largest = std::max(largest, n);
      if (cell_total > r.remaining() / 4) return Corrupt("more cells than the input can hold");
    }
    CellColumns cols;
    if (!r.column(cols.field, "field column") || !r.column(cols.tag, "tag column") ||
        !r.column(cols.actor, "actor column") || !r.column(cols.seq, "seq column") ||
        !r.column(cols.aux, "aux column") || !r.column(cols.value, "value column")) {
      return r.status();
    }
    if (version >= kSequencesFormatVersion) MYC_TRY(sequences());
    if (r.remaining() != 0) return Corrupt("trailing bytes after cells");
    if (cols.field.remaining() != cell_total || cols.tag.remaining() != cell_total) {
      return Corrupt("field and tag columns must hold one byte per cell");
    }
    d.cell_total = static_cast<std::size_t>(cell_total);
    // A large delta keeps no cell: each record's are checked in `scratch`.
    const bool stream = cell_total > stream_above;
    if (!budget.take<DeltaData::Cell>(stream ? largest : cell_total)) return budget.error();
    if (stream) {
      d.streamed = cols;
    } else {
      d.cells.resize(static_cast<std::size_t>(cell_total));
    }
    std::vector<DeltaData::Cell> scratch;
    Status error;
    d.value_strings.assign(d.strings.size(), false);
    std::vector<std::uint64_t> dots;  // actor << 32 | seq (seqs are 32-bit)
    std::vector<std::tuple<std::uint8_t, std::uint32_t, std::uint64_t>> offsets;
    for (std::uint32_t ri = 0; ri < d.records.size(); ++ri) {
      const auto& rec = d.records[ri];
      std::span<DeltaData::Cell> cells;
      if (stream) {
        scratch.resize(rec.cell_count);
        cells = scratch;
      } else {
        cells = std::span(d.cells).subspan(rec.first_cell, rec.cell_count);
      }
      dots.clear();
      offsets.clear();
      for (std::size_t ci = 0; ci < cells.size(); ++ci) {
        auto& c = cells[ci];
        if (!read_cell(cols, d, rec, c, error)) return error;
        if (c.seq > ctx[c.actor]) return Corrupt("cell dot not covered by the context");
        if (c.string != DeltaData::kNoString) {
          if (c.tag == ValueTag::kString && !valid_utf8(d.strings[c.string])) {
            return Corrupt("string value is not valid UTF-8");
          }
          d.value_strings[c.string] = true;
        }
        const Kind kind = cell_kind(d, rec, c);
        if (c.field != kPresenceField && (kind == Kind::kLww || kind == Kind::kMvr)) d.max_hlc = std::max(d.max_hlc, c.aux);
        if (!d.in_scope(ri, c)) return Corrupt(cat({"cell of a key that no event of its record touched (record ", ri, ", field ", c.field, ", actor ", c.actor, ", seq ", c.seq, ", mask ", d.records[ri].mask, ")"}));
        if (ci > 0) {
          const auto& p = cells[ci - 1];
          if (cell_order(d, p, c) >= 0) return Corrupt("cells not in canonical order");
          if (kind == Kind::kCounter && p.field == c.field && p.offset == c.offset &&
              p.actor == c.actor) {
            return Corrupt("two counter cells of one actor");
          }
          // Canonical order puts one field's cells of one component together.
          if (kind == Kind::kCredit && p.field == c.field && p.actor == c.actor && p.tag == c.tag && p.bits == c.bits) {
            return Corrupt("two credit cells of one actor and component");
          }
        }
        if (kind == Kind::kCredit && c.tag == ValueTag::kInt && c.bits == d.actors[c.actor]) {
          return Corrupt("a credit transfer to its own actor");
        }
        if (c.offset) {
          offsets.emplace_back(c.field, c.actor, c.seq);  // sorted: canonical order
          continue;
        }
        dots.push_back(std::uint64_t{c.actor} << 32 | c.seq);
        if (!seq_dots.empty() && in_sequences(c.actor, c.seq)) {
          return Corrupt("a cell's dot is also a list or text element or delete");
        }
        if (c.seq > base[c.actor] && event_record(c.actor, c.seq) != ri) {
          return Corrupt("cell dot belongs to another record's event");
        }
      }
      if (dots.size() <= 16) {  // the usual record: compare pairwise, no sort
        for (std::size_t i = 1; i < dots.size(); ++i) {
          for (std::size_t j = 0; j < i; ++j) {
            if (dots[i] == dots[j]) return Corrupt("duplicate dot in record");
          }
        }
      } else {
        std::sort(dots.begin(), dots.end());
        if (std::adjacent_find(dots.begin(), dots.end()) != dots.end()) return Corrupt("duplicate dot in record");
      }
      // A counter entry must be newer than its actor's offset.
      for (const auto& c : cells) {
        if (offsets.empty()) break;
        if (c.offset) continue;
        auto it = std::lower_bound(offsets.begin(), offsets.end(), std::make_tuple(c.field, c.actor, std::uint64_t{0}));
        if (it != offsets.end() && std::get<0>(*it) == c.field && std::get<1>(*it) == c.actor &&
            c.seq <= std::get<2>(*it)) {
          return Corrupt("counter entry older than its offset");
        }
      }
    }
    for (const Reader* col : {&cols.actor, &cols.seq, &cols.aux, &cols.value}) {
      if (col->remaining() != 0) return Corrupt("trailing bytes in a cell column");
    }
    return Status::Ok();
  }

  // The sequences section (format version 3): read and checked on its own
  // (sequence_codec.h), then against the delta's events: every element and
  // delete event is covered by the context, and one past the base is an
  // event of the entry's record that touched the entry's field.
  Status sequences() {
    if constexpr (!kSequenceKinds) {
      std::uint64_t n;
      if (!r.count(n, "sequence entry count", 3)) return r.status();
      if (n > 0) return SchemaMismatch("the delta holds a list or text field, which this build leaves out");
      return Status::Ok();
    }
    // A part or delete costs at least 7 input bytes and under 128 decoded.
    if (!budget.take<std::array<std::uint8_t, 128>>(r.remaining() / 7 + 1)) return budget.error();
    SeqTables t;
    t.actors = d.actors.size();
    t.records = d.records.size();
    t.content = [this](std::uint32_t record, std::uint8_t field) -> std::optional<Sequence::Content> {
      const auto& fields = d.collections[d.records[record].collection].fields;
      if (field >= fields.size()) return std::nullopt;
      if (fields[field].kind == Kind::kText) return Sequence::Content::kUtf8;
      if (fields[field].kind == Kind::kList) return Sequence::Content::kValues;
      return std::nullopt;
    };
    t.grow = [this](std::uint64_t deletes) { return budget.take<std::array<std::uint8_t, 128>>(deletes); };
    t.sets = version >= kSetsFormatVersion;
    MYC_TRY(read_sequences(r, t, d.sequences));
    for (const SeqEntry& e : d.sequences.entries) {
      for (const SeqPart& p : e.parts) {
        MYC_TRY(sequence_events(e, p.first, p.length));
        seq_dots.push_back({p.first.actor, p.first.seq, std::uint64_t{p.first.seq} + p.length - 1});
      }
      for (const SeqDelete& x : e.deletes) {
        MYC_TRY(sequence_events(e, x.dot, 1));
        // A run of deletes (a delete group) has consecutive dots: one range.
        if (!seq_dots.empty() && seq_dots.back().actor == x.dot.actor && seq_dots.back().last + 1 == x.dot.seq) {
          ++seq_dots.back().last;
        } else {
          seq_dots.push_back({x.dot.actor, x.dot.seq, x.dot.seq});
        }
      }
      for (const SeqSet& x : e.sets) {
        MYC_TRY(sequence_events(e, x.dot, 1));
        seq_dots.push_back({x.dot.actor, x.dot.seq, x.dot.seq});
        d.max_hlc = std::max(d.max_hlc, x.hlc);
      }
    }
    // A dot is one event: one element or one delete, in one field (an
    // event run's scope may name several fields).
    std::sort(seq_dots.begin(), seq_dots.end());
    for (std::size_t i = 1; i < seq_dots.size(); ++i) {
      if (seq_dots[i].actor == seq_dots[i - 1].actor && seq_dots[i].first <= seq_dots[i - 1].last) {
        return Corrupt("a dot that is two list or text elements, deletes or sets");
      }
    }
    return Status::Ok();
  }

  struct DotRange {
    std::uint32_t actor;
    std::uint64_t first, last;
    friend auto operator<=>(const DotRange&, const DotRange&) = default;
  };
  // Whether a cell's dot is one of the sequences section's.
  bool in_sequences(std::uint32_t actor, std::uint64_t seq) const {
    auto it = std::upper_bound(seq_dots.begin(), seq_dots.end(), DotRange{actor, seq, ~std::uint64_t{0}});
    return it != seq_dots.begin() && (it - 1)->actor == actor && (it - 1)->last >= seq;
  }
  std::vector<DotRange> seq_dots;  // sorted

  // Dots first .. first + length - 1 of one actor, of entry e.
  Status sequence_events(const SeqEntry& e, SeqRef first, std::uint32_t length) const {
    const std::uint64_t last = std::uint64_t{first.seq} + length - 1;
    if (last > ctx[first.actor]) return Corrupt("a sequence element or delete not covered by the context");
    std::uint64_t seq = std::max<std::uint64_t>(first.seq, base[first.actor] + 1);
    if (seq > last) return Status::Ok();
    // The actor's runs from the one holding seq.
    std::size_t lo = runs_of[first.actor].first, hi = runs_of[first.actor].second;
    while (hi - lo > 1) {
      const std::size_t mid = (lo + hi) / 2;
      if (d.events[mid].first <= seq) lo = mid;
      else hi = mid;
    }
    const KeyScope field = field_scope(e.field);
    for (std::size_t i = lo; i < runs_of[first.actor].second && seq <= last; ++i) {
      const auto& run = d.events[i];
      if (run.record != e.record || is_element_scope(run.scope) || (run.scope & field) != field) {
        return Corrupt("a sequence element or delete that is not an event of its record and field");
      }
      seq = run.first + run.count;
    }
    return Status::Ok();
  }

  Reader& r;
  DeltaData& d;
  Budget& budget;
  const std::uint8_t version;
  const std::size_t stream_above;
  std::uint64_t last_string = 0;
  std::vector<std::uint64_t> ctx, base;                      // by actor index
  std::vector<std::pair<std::size_t, std::size_t>> runs_of;  // an actor's runs in d.events
  std::uint64_t event_count = 0;
  std::vector<std::uint32_t> dense;
  std::vector<std::uint64_t> dense_start;
};

// A detached delta made whole: its context is `context` (the actors it
// names already carry their entries of it); actors it does not name get
// base = context. Indexes are renumbered into the merged (sorted) actor
// table, so the result is the delta the sender would have sent whole.
void attach_context(DeltaData& d, const VersionVector& context) {
  std::vector<ActorId> merged;
  merged.reserve(context.entries().size());
  for (const auto& e : context.entries()) merged.push_back(e.first);
  std::vector<std::uint32_t> to_merged(d.actors.size());
  for (std::size_t i = 0, j = 0; i < d.actors.size(); ++i) {
    while (merged[j] != d.actors[i]) ++j;  // d.actors is a sorted subset of merged
    to_merged[i] = static_cast<std::uint32_t>(j);
  }
  std::vector<std::uint64_t> base(merged.size(), 0);
  for (std::size_t j = 0; j < merged.size(); ++j) base[j] = context.entries()[j].second;
  for (std::size_t i = 0; i < d.actors.size(); ++i) base[to_merged[i]] = 0;
  for (const auto& [a, seq] : d.base) base[to_merged[a]] = seq;
  DeltaData::VvEntries ctx, bs;
  for (std::uint32_t j = 0; j < merged.size(); ++j) {
    if (base[j] > 0) bs.emplace_back(j, base[j]);
    ctx.emplace_back(j, context.entries()[j].second);
  }
  for (auto& c : d.cells) c.actor = to_merged[c.actor];
  for (SeqEntry& e : d.sequences.entries) {
    for_each_ref(e, [&](SeqRef& r) { r.actor = to_merged[r.actor]; });
  }
  for (auto& run : d.events) run.actor = to_merged[run.actor];
  if (d.streamed) d.actor_map = std::move(to_merged);  // for the cells, as they are decoded
  d.actors = std::move(merged);
  d.base = std::move(bs);
  d.context = std::move(ctx);
  d.kind = PayloadKind::kDelta;
}

}  // namespace

Result<DeltaData> decode_delta(std::span<const std::uint8_t> bytes, const VersionVector* context,
                               std::size_t stream_cells_above) {
  const std::size_t allowed = decode_budget(bytes.size());
  MYC_ASSIGN_OR_RETURN(Unframed u, unframe(bytes, allowed));
  if (is_sync(u.kind)) return Corrupt("a sync message frame is not a delta or a snapshot");
  Budget budget(allowed - u.storage.size());
  DeltaData d;
  d.kind = u.kind;
  d.storage = std::move(u.storage);  // the views below point into it (a move keeps the buffer)
  Reader r(u.payload);
  MYC_TRY(PayloadDecoder(r, d, budget, u.version, stream_cells_above).run(context));
  if (d.kind == PayloadKind::kDetachedDelta) attach_context(d, *context);
  return d;
}

CellReader::CellReader(const DeltaData& d) : d_(d) {
  if (d.streamed) cols_ = *d.streamed;
}

std::span<const DeltaData::Cell> CellReader::next(std::uint32_t record) {
  const auto& rec = d_.records[record];
  if (!d_.streamed) return std::span(d_.cells).subspan(rec.first_cell, rec.cell_count);
  if (record == piece_end_) {  // decode the next piece: at least this record
    piece_.clear();
    at_ = 0;
    Status error;
    do {
      const auto& r = d_.records[piece_end_];
      for (std::uint32_t k = 0; k < r.cell_count; ++k) {
        auto& c = piece_.emplace_back();
        // The decoder read these bytes with this function and found them whole.
        [[maybe_unused]] const bool whole = read_cell(cols_, d_, r, c, error);
        if (!d_.actor_map.empty()) c.actor = d_.actor_map[c.actor];
      }
      ++piece_end_;
    } while (piece_end_ < d_.records.size() &&
             piece_.size() + d_.records[piece_end_].cell_count <= kStreamPieceCells);
  }
  const auto cells = std::span<const DeltaData::Cell>(piece_).subspan(at_, rec.cell_count);
  at_ += rec.cell_count;
  return cells;
}

std::vector<DeltaData::Cell> DeltaData::all_cells() const {
  std::vector<Cell> all;
  all.reserve(cell_total);
  for_each_record([&](std::uint32_t, std::span<const Cell> piece) { all.insert(all.end(), piece.begin(), piece.end()); });
  return all;
}

}  // namespace mycelium
