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

DeltaData Store::build_delta(const VersionVector& vv) const {
  DeltaData d;
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
  std::vector<std::uint32_t> to_delta(actors_.size(), 0);
  std::vector<std::uint64_t> from(actors_.size(), 0);
  for (std::uint32_t i = 0; i < order.size(); ++i) {
    const std::uint32_t a = order[i];
    to_delta[a] = i;
    d.actors.push_back(actors_[a]);
    from[a] = std::min<std::uint64_t>(vv.get(actors_[a]), events_[a].size());
    if (from[a] > 0) d.base.emplace_back(i, from[a]);
    d.context.emplace_back(i, events_[a].size());
  }

  events_[self_].seal();
  // Keys touched by the events the base does not cover, as (record, scope):
  // per record, the union of its events' field masks, then its element
  // scopes, sorted.
  std::vector<std::pair<std::uint32_t, KeyScope>> keys;
  for (std::uint32_t a : order) {
    events_[a].for_each_after(static_cast<std::uint32_t>(from[a]),
                              [&](std::uint32_t record, KeyScope scope, std::uint32_t, std::uint32_t) {
                                keys.emplace_back(record, scope);
                              });
  }
  std::sort(keys.begin(), keys.end());
  keys.erase(std::unique(keys.begin(), keys.end()), keys.end());
  std::vector<std::uint32_t> touched;
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
    std::vector<std::pair<std::uint64_t, std::uint64_t>> keys(touched.size());
    for (std::size_t i = 0; i < touched.size(); ++i) {
      const Record& r = records_[touched[i]];
      const std::string_view id = ids_.get(r.id);
      std::uint64_t p = 0;
      for (std::size_t k = 0; k < 8; ++k) {
        p = (p << 8) | (k < id.size() ? static_cast<unsigned char>(id[k]) : 0u);
      }
      keys[i] = {std::uint64_t{crank[r.collection]} << 48 | p >> 16, (p & 0xffff) << 32 | touched[i]};
    }
    std::sort(keys.begin(), keys.end());
    // Records whose first 8 id bytes are the same: by their whole ids
    // (unique in a collection, so each finds its record again).
    std::vector<std::string_view> tied;
    for (std::size_t i = 0; i < keys.size();) {
      std::size_t end = i + 1;
      while (end < keys.size() && keys[end].first == keys[i].first && keys[end].second >> 32 == keys[i].second >> 32) ++end;
      if (end - i > 1) {
        tied.clear();
        for (std::size_t k = i; k < end; ++k) tied.push_back(ids_.get(records_[keys[k].second & 0xffffffffu].id));
        std::sort(tied.begin(), tied.end());
        const auto collection = corder[keys[i].first >> 48];
        for (std::size_t k = i; k < end; ++k) keys[k].second = static_cast<std::uint64_t>(find_record(collection, tied[k - i]));
      }
      i = end;
    }
    for (std::size_t i = 0; i < keys.size(); ++i) touched[i] = static_cast<std::uint32_t>(keys[i].second & 0xffffffffu);
  }

  // Records and their cells (with the store's field numbers until the
  // field tables are known). A delta names only the fields its cells and
  // scopes use: a live write carries one field name, not the schema.
  const auto& cols = schema_.collections();
  std::vector<std::vector<bool>> used(cols.size());
  std::vector<bool> has_records(cols.size(), false);  // (a collection may have no fields)
  for (std::uint32_t r : touched) {
    const std::uint16_t c = records_[r].collection;
    if (!has_records[c]) used[c].assign(cols[c].fields.size(), false);
    has_records[c] = true;
  }
  // One comparator for both sorts of cells below: one instantiation of sort_by.
  const auto by_cell_order = [&d](const DeltaData::Cell& x, const DeltaData::Cell& y) { return cell_order(d, x, y) < 0; };
  std::vector<std::uint64_t> rec_index;  // local << 32 | delta
  rec_index.reserve(touched.size());
  std::size_t words = 0;
  for (std::uint32_t r : touched) words += records_[r].cells.words();
  d.cells.reserve(words / 2);  // cells take 1 to 3 words
  d.strings.reserve(words / 4);
  for (std::uint32_t i = 0; i < touched.size(); ++i) {
    const Record& rec = records_[touched[i]];
    auto& u = used[rec.collection];
    rec_index.push_back(std::uint64_t{touched[i]} << 32 | i);
    DeltaData::Record dr{rec.collection, ids_.get(rec.id), static_cast<std::uint32_t>(d.cells.size()), 0};
    // The record's keys: its scopes sit together in `keys` (masks sort
    // before element scopes).
    auto first = std::lower_bound(keys.begin(), keys.end(), std::pair{touched[i], KeyScope{0}});
    auto last = first;
    KeyFilter filter;
    filter.mask = 0;
    filter.pool = &strings_;
    for (; last != keys.end() && last->first == touched[i]; ++last) {
      if (!is_element_scope(last->second)) filter.mask |= last->second;
      else u[last->second & 0xff] = true;
    }
    // Every field an event names (a delete names them all) is in the table,
    // so each event's scope can be written in the delta's field numbers.
    for (std::size_t f = 0; f < u.size() && f < kMaskedFields; ++f) {
      if (filter.mask & (KeyScope{1} << f)) u[f] = true;
    }
    auto elements = std::lower_bound(first, last, std::pair{touched[i], kElementScopeBit});
    filter.elements = {keys.data() + (elements - keys.begin()), static_cast<std::size_t>(last - elements)};
    for (CellRef c : rec.cells) {
      // A dot the base does not cover is an event of the delta, on this very
      // key: no need to look the key up.
      if (c.seq() <= from[c.actor()] && !filter.has(c)) continue;
      if (c.field() != kPresenceField) u[c.field()] = true;
      d.cells.push_back(d.make_cell(c.field(), c.is_offset(), to_delta[c.actor()], c.seq(), c.aux(), c.value(strings_)));
    }
    dr.cell_count = static_cast<std::uint32_t>(d.cells.size() - dr.first_cell);
    // Renumbering fields below keeps this order: it is monotone.
    sort_by(std::span(d.cells).subspan(dr.first_cell), by_cell_order);
    d.records.push_back(dr);
  }

  // Collections and fields used, renumbered in canonical order.
  std::vector<std::int32_t> coll_map(cols.size(), -1);
  std::vector<std::vector<std::int16_t>> field_map(cols.size());
  for (std::uint16_t c : corder) {
    if (!has_records[c]) continue;
    coll_map[c] = static_cast<std::int32_t>(d.collections.size());
    DeltaData::Collection dc{cols[c].name, {}};
    field_map[c].assign(cols[c].fields.size(), -1);
    for (std::uint8_t f : schema_.field_order(c)) {
      if (!used[c][f]) continue;
      field_map[c][f] = static_cast<std::int16_t>(dc.fields.size());
      dc.fields.push_back({cols[c].fields[f].name, cols[c].fields[f].kind});
    }
    d.collections.push_back(std::move(dc));
  }
  for (auto& dr : d.records) {
    const auto& fm = field_map[dr.collection];
    for (std::uint32_t k = dr.first_cell; k < dr.first_cell + dr.cell_count; ++k) {
      auto& c = d.cells[k];
      if (c.field != kPresenceField) c.field = static_cast<std::uint8_t>(fm[c.field]);
    }
    // Undeclared fields that arrived out of name order: the renumbering was
    // not monotone, so the cells are put in order again.
    if (!schema_.in_order(static_cast<std::uint16_t>(dr.collection))) {
      sort_by(std::span(d.cells).subspan(dr.first_cell, dr.cell_count), by_cell_order);
    }
    dr.collection = static_cast<std::uint32_t>(coll_map[dr.collection]);
  }
  std::sort(rec_index.begin(), rec_index.end());
  auto delta_record = [&](std::uint32_t local) {
    return static_cast<std::uint32_t>(*std::lower_bound(rec_index.begin(), rec_index.end(), std::uint64_t{local} << 32));
  };
  for (std::uint32_t a : order) {
    events_[a].for_each_after(static_cast<std::uint32_t>(from[a]),
                              [&](std::uint32_t record, KeyScope scope, std::uint32_t first, std::uint32_t count) {
                                const auto& fm = field_map[records_[record].collection];
                                const KeyScope mapped = map_fields(scope, [&](unsigned f) { return fm[f]; });
                                d.events.push_back({to_delta[a], delta_record(record), first, count, mapped});
                              });
  }
  return d;
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

Result<ByteVec> Store::checked_delta_since(const VersionVector& vv, bool detached) const {
  const DeltaData d = build_delta(vv);
  MYC_TRY(in_canonical_order(d));
  return encode_delta(d, detached);
}

Result<ByteVec> Store::checked_save() const {
  DeltaData d = build_delta(VersionVector());
  MYC_TRY(in_canonical_order(d));
  d.kind = PayloadKind::kSnapshot;
  return encode_delta(d);
}

ByteVec Store::delta_since(const VersionVector& vv, bool detached) const {
  return encode_delta(build_delta(vv), detached);
}

ByteVec Store::save() const {
  DeltaData d = build_delta(VersionVector());
  d.kind = PayloadKind::kSnapshot;
  return encode_delta(d);
}

}  // namespace mycelium
