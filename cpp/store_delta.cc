// Store, building deltas (DESIGN.md, Delta-state semantics): version(), and
// deltaSince(vv) as every event vv does not cover with the complete stores of
// the keys those events touched; save() is the delta since the empty vector.
#include <algorithm>

#include "kinds.h"
#include "sort_by.h"
#include "store.h"

namespace mycelium {

VersionVector Store::version() const {
  // A version read may come back as a delta's base: later writes must not
  // widen the runs it ends.
  events_[self_].seal();
  std::vector<VersionVector::Entry> e;
  for (std::size_t a = 0; a < actors_.size(); ++a) {
    if (!events_[a].empty()) e.emplace_back(actors_[a], events_[a].size());
  }
  return VersionVector::from_entries(std::move(e));
}

namespace {
Status in_canonical_order(const DeltaData& d) {
  for (std::size_t i = 1; i < d.records.size(); ++i) {
    if (record_order(d.records[i - 1], d.records[i]) >= 0) {
      return Corrupt(cat({"the engine built a delta whose records ", i - 1, " and ", i,
                          " are out of order: this runtime computed it wrongly, and nothing was sent or stored"}));
    }
  }
  return Status::Ok();
}
}  // namespace

// What a delta since a version holds but its cells (DeltaEncoder's head),
// and what selects each record's cells.
struct Store::DeltaPlan {
  DeltaData head;
  std::vector<std::uint32_t> touched;  // the local record of each head record
  // Keys touched by the events the base does not cover, as (record, scope):
  // per record, its field masks, then its element scopes, sorted.
  std::vector<std::pair<std::uint32_t, KeyScope>> keys;
  std::vector<std::uint64_t> from;        // per local actor: the seq the base covers
  std::vector<std::uint32_t> to_delta;    // local actor -> delta actor
  std::vector<std::vector<std::int16_t>> field_map;  // per collection: local field -> delta field
  std::vector<bool> cell_actors;          // delta actors with dots in the cells or named by sequences
  std::size_t cells = 0;                  // cells the delta carries
  SeqSection sequences;                   // its list and text entries
};

KeyFilter Store::plan_filter(const DeltaPlan& p, std::uint32_t i) const {
  const std::uint32_t record = p.touched[i];
  auto first = std::lower_bound(p.keys.begin(), p.keys.end(), std::pair{record, KeyScope{0}});
  auto last = first;
  KeyFilter filter;
  filter.mask = 0;
  filter.pool = &strings_;
  for (; last != p.keys.end() && last->first == record; ++last) {
    if (!is_element_scope(last->second)) filter.mask |= last->second;
  }
  auto elements = std::lower_bound(first, last, std::pair{record, kElementScopeBit});
  filter.elements = {p.keys.data() + (elements - p.keys.begin()), static_cast<std::size_t>(last - elements)};
  return filter;
}

template <typename Fn>
void Store::plan_cells(const DeltaPlan& p, std::uint32_t i, Fn&& fn) const {
  const KeyFilter filter = plan_filter(p, i);
  for (CellRef c : records_[p.touched[i]].cells) {
    // A dot the base does not cover is an event of the delta, on this very
    // key: no need to look the key up.
    if (c.seq() <= p.from[c.actor()] && !filter.has(c)) continue;
    fn(c);
  }
}

Store::DeltaPlan Store::plan_delta(const VersionVector& vv) const {
  DeltaPlan p;
  DeltaData& d = p.head;
  // Actors with events, in id order; local index -> delta index.
  // (Sorts here sort pairs of integers, an instantiation the engine has
  // anyway: a comparator of its own would add its code to the download.)
  std::vector<std::uint32_t> order;
  {
    std::vector<std::pair<std::uint64_t, std::uint64_t>> by_id;
    for (std::uint32_t a = 0; a < actors_.size(); ++a) {
      if (!events_[a].empty()) by_id.emplace_back(actors_[a], a);
    }
    std::sort(by_id.begin(), by_id.end());
    for (const auto& [id, a] : by_id) order.push_back(static_cast<std::uint32_t>(a));
  }
  p.to_delta.assign(actors_.size(), 0);
  p.from.assign(actors_.size(), 0);
  for (std::uint32_t i = 0; i < order.size(); ++i) {
    const std::uint32_t a = order[i];
    p.to_delta[a] = i;
    d.actors.push_back(actors_[a]);
    p.from[a] = std::min<std::uint64_t>(vv.get(actors_[a]), events_[a].size());
    if (p.from[a] > 0) d.base.emplace_back(i, p.from[a]);
    d.context.emplace_back(i, events_[a].size());
  }

  events_[self_].seal();
  auto& keys = p.keys;
  std::size_t runs = 0;
  for (std::uint32_t a : order) runs += events_[a].runs_after(static_cast<std::uint32_t>(p.from[a]));
  keys.reserve(runs);
  d.events.reserve(runs);
  for (std::uint32_t a : order) {
    events_[a].for_each_after(static_cast<std::uint32_t>(p.from[a]),
                              [&](std::uint32_t record, KeyScope scope, std::uint32_t, std::uint32_t) {
                                keys.emplace_back(record, scope);
                              });
  }
  std::sort(keys.begin(), keys.end());
  keys.erase(std::unique(keys.begin(), keys.end()), keys.end());
  auto& touched = p.touched;
  for (const auto& k : keys) {
    if (touched.empty() || touched.back() != k.first) touched.push_back(k.first);
  }
  // Collections in canonical order (schema.h): declared, then undeclared by name.
  const auto& corder = schema_.collection_order();
  std::vector<std::uint16_t> crank(corder.size());
  for (std::size_t i = 0; i < corder.size(); ++i) crank[corder[i]] = static_cast<std::uint16_t>(i);
  {
    // Sort by (collection, first 8 id bytes big-endian), then the full id:
    // most comparisons never touch the id arena. As pairs: (collection and
    // the prefix's first 6 bytes, its last 2 bytes and the record).
    std::vector<std::pair<std::uint64_t, std::uint64_t>> sorted(touched.size());
    for (std::size_t i = 0; i < touched.size(); ++i) {
      const Record& r = records_[touched[i]];
      const std::string_view id = ids_.get(r.id);
      std::uint64_t prefix = 0;
      for (std::size_t k = 0; k < 8; ++k) {
        prefix = (prefix << 8) | (k < id.size() ? static_cast<unsigned char>(id[k]) : 0u);
      }
      sorted[i] = {std::uint64_t{crank[r.collection]} << 48 | prefix >> 16, (prefix & 0xffff) << 32 | touched[i]};
    }
    std::sort(sorted.begin(), sorted.end());
    // Records whose first 8 id bytes are the same: by their whole ids
    // (unique in a collection, so each finds its record again).
    std::vector<std::string_view> tied;
    for (std::size_t i = 0; i < sorted.size();) {
      std::size_t end = i + 1;
      while (end < sorted.size() && sorted[end].first == sorted[i].first && sorted[end].second >> 32 == sorted[i].second >> 32) ++end;
      if (end - i > 1) {
        tied.clear();
        for (std::size_t k = i; k < end; ++k) tied.push_back(ids_.get(records_[sorted[k].second & 0xffffffffu].id));
        std::sort(tied.begin(), tied.end());
        const auto collection = corder[sorted[i].first >> 48];
        for (std::size_t k = i; k < end; ++k) sorted[k].second = static_cast<std::uint64_t>(find_record(collection, tied[k - i]));
      }
      i = end;
    }
    for (std::size_t i = 0; i < sorted.size(); ++i) touched[i] = static_cast<std::uint32_t>(sorted[i].second & 0xffffffffu);
  }

  // The fields the delta names: those its cells and scopes use (a live
  // write carries one field name, not the schema). Every field an event
  // names (a delete names them all) is in the table, so each event's scope
  // can be written in the delta's field numbers.
  const auto& cols = schema_.collections();
  std::vector<std::vector<bool>> used(cols.size());
  std::vector<bool> has_records(cols.size(), false);  // (a collection may have no fields)
  p.cell_actors.assign(d.actors.size(), false);
  for (std::uint32_t i = 0; i < touched.size(); ++i) {
    const std::uint16_t c = records_[touched[i]].collection;
    if (!has_records[c]) used[c].assign(cols[c].fields.size(), false);
    has_records[c] = true;
    auto& u = used[c];
    const KeyFilter filter = plan_filter(p, i);
    for (std::size_t f = 0; f < u.size() && f < kMaskedFields; ++f) {
      if (filter.mask & (KeyScope{1} << f)) u[f] = true;
    }
    for (const auto& e : filter.elements) u[e.second & 0xff] = true;
    if (kSequenceKinds && !sequences_.empty()) plan_sequences(p, i, filter.mask, u);
    plan_cells(p, i, [&](CellRef cell) {
      if (cell.field() != kPresenceField) u[cell.field()] = true;
      p.cell_actors[p.to_delta[cell.actor()]] = true;
      ++p.cells;
    });
  }

  // Collections and fields used, renumbered in canonical order.
  std::vector<std::int32_t> coll_map(cols.size(), -1);
  p.field_map.assign(cols.size(), {});
  for (std::uint16_t c : corder) {
    if (!has_records[c]) continue;
    coll_map[c] = static_cast<std::int32_t>(d.collections.size());
    DeltaData::Collection dc{cols[c].name, {}};
    p.field_map[c].assign(cols[c].fields.size(), -1);
    for (std::uint8_t f : schema_.field_order(c)) {
      if (!used[c][f]) continue;
      p.field_map[c][f] = static_cast<std::int16_t>(dc.fields.size());
      dc.fields.push_back({cols[c].fields[f].name, cols[c].fields[f].kind});
    }
    d.collections.push_back(std::move(dc));
  }
  // Sequence entries in the delta's field numbers, in (record, field) order.
  for (SeqEntry& e : p.sequences.entries) e.field = static_cast<std::uint8_t>(p.field_map[records_[touched[e.record]].collection][e.field]);
  std::sort(p.sequences.entries.begin(), p.sequences.entries.end(),
            [](const SeqEntry& a, const SeqEntry& b) { return std::pair(a.record, a.field) < std::pair(b.record, b.field); });
  d.records.reserve(touched.size());
  std::vector<std::uint64_t> rec_index;  // local << 32 | delta
  rec_index.reserve(touched.size());
  for (std::uint32_t i = 0; i < touched.size(); ++i) {
    const Record& rec = records_[touched[i]];
    d.records.push_back({static_cast<std::uint32_t>(coll_map[rec.collection]), ids_.get(rec.id), 0, 0});
    rec_index.push_back(std::uint64_t{touched[i]} << 32 | i);
  }
  std::sort(rec_index.begin(), rec_index.end());
  auto delta_record = [&](std::uint32_t local) {
    return static_cast<std::uint32_t>(*std::lower_bound(rec_index.begin(), rec_index.end(), std::uint64_t{local} << 32));
  };
  for (std::uint32_t a : order) {
    events_[a].for_each_after(static_cast<std::uint32_t>(p.from[a]),
                              [&](std::uint32_t record, KeyScope scope, std::uint32_t first, std::uint32_t count) {
                                const auto& fm = p.field_map[records_[record].collection];
                                const KeyScope mapped = map_fields(scope, [&](unsigned f) { return fm[f]; });
                                d.events.push_back({p.to_delta[a], delta_record(record), first, count, mapped});
                              });
  }
  return p;
}

void Store::plan_sequences(DeltaPlan& p, std::uint32_t i, KeyScope mask, std::vector<bool>& used) const {
  const std::uint32_t record = p.touched[i];
  auto local = [&](ActorId a) { return *find_actor(a); };  // every element's actor has events here
  auto from = [&](ActorId a) { return static_cast<std::uint32_t>(p.from[local(a)]); };
  auto index = [&](ActorId a) {
    const std::uint32_t x = p.to_delta[local(a)];
    p.cell_actors[x] = true;
    return x;
  };
  for (std::uint8_t f : sequences_.fields_of(record)) {
    if ((mask & field_scope(f)) != field_scope(f)) continue;
    // A record delete the base lacks (or a field past the masked ones):
    // every element, so the receiver deletes those the deleter saw.
    const bool whole = mask == kWholeRecord;
    auto e = sequences_.entry_since(SequenceFields::Key{record, f}, i, from, whole, index);
    if (!e) continue;
    used[f] = true;
    p.sequences.entries.push_back(std::move(*e));
  }
}

void Store::plan_piece(const DeltaPlan& p, std::uint32_t first, std::uint32_t end, DeltaData& piece) const {
  piece.records.clear();
  piece.cells.clear();
  piece.strings.clear();
  // One comparator for every sort of cells: one instantiation of sort_by.
  // The cells carry the delta's field numbers, so this is the canonical order.
  const auto by_cell_order = [&piece](const DeltaData::Cell& x, const DeltaData::Cell& y) {
    return cell_order(piece, x, y) < 0;
  };
  for (std::uint32_t i = first; i < end; ++i) {
    DeltaData::Record dr = p.head.records[i];
    dr.first_cell = static_cast<std::uint32_t>(piece.cells.size());
    const auto& fm = p.field_map[records_[p.touched[i]].collection];
    plan_cells(p, i, [&](CellRef c) {
      const std::uint8_t field = c.field() == kPresenceField ? kPresenceField : static_cast<std::uint8_t>(fm[c.field()]);
      piece.cells.push_back(piece.make_cell(field, c.is_offset(), p.to_delta[c.actor()], c.seq(), c.aux(), c.value(strings_)));
    });
    dr.cell_count = static_cast<std::uint32_t>(piece.cells.size() - dr.first_cell);
    sort_by(std::span(piece.cells).subspan(dr.first_cell), by_cell_order);
    piece.records.push_back(dr);
  }
}

ByteVec Store::encode_delta_since(const VersionVector& vv, PayloadKind kind, bool detached, Status* check) const {
  DeltaPlan p = plan_delta(vv);
  p.head.kind = kind;
  if (check != nullptr) {
    *check = in_canonical_order(p.head);
    if (!check->ok()) return {};
  }
  DeltaEncoder encoder(p.head, detached, p.cell_actors);
  encoder.sequences(std::move(p.sequences));
  {
    // Pieces of about 16 Ki cells (512 KiB decoded): a snapshot never holds
    // all its cells decoded at once.
    constexpr std::size_t kPieceCells = std::size_t{1} << 14;
    const std::size_t records = p.touched.size();
    const std::size_t per_piece = p.cells == 0 ? records : std::max<std::size_t>(1, kPieceCells * records / p.cells);
    DeltaData piece;
    piece.cells.reserve(std::min(p.cells, kPieceCells + kPieceCells / 4));
    piece.strings.reserve(std::min(p.cells, kPieceCells + kPieceCells / 4));
    for (std::size_t first = 0; first < records; first += per_piece) {
      const std::size_t end = std::min(records, first + per_piece);
      plan_piece(p, static_cast<std::uint32_t>(first), static_cast<std::uint32_t>(end), piece);
      encoder.add(piece);
    }
  }
  std::vector<std::pair<std::uint32_t, KeyScope>>().swap(p.keys);  // not read again
  encoder.close();
  p = DeltaPlan();  // freed before the frame is made
  return encoder.frame_pieces();
}

Result<ByteVec> Store::checked_delta_since(const VersionVector& vv, bool detached) const {
  Status check;
  ByteVec bytes = encode_delta_since(vv, PayloadKind::kDelta, detached, &check);
  if (!check.ok()) return check;
  return bytes;
}

Result<ByteVec> Store::checked_save() const {
  Status check;
  ByteVec bytes = encode_delta_since(VersionVector(), PayloadKind::kSnapshot, false, &check);
  if (!check.ok()) return check;
  return bytes;
}

ByteVec Store::delta_since(const VersionVector& vv, bool detached) const {
  return encode_delta_since(vv, PayloadKind::kDelta, detached, nullptr);
}

ByteVec Store::save() const { return encode_delta_since(VersionVector(), PayloadKind::kSnapshot, false, nullptr); }

}  // namespace mycelium
