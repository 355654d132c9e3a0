#include "store.h"

#include <algorithm>
#include <chrono>

#include "kinds.h"

namespace mycelium {
namespace {

// The fields (kPresenceField included) whose cells differ between two packed
// cell lists of one record. Cells are sorted by field, so one merge pass.
std::vector<std::uint8_t> changed_fields(std::span<const std::uint64_t> a, std::span<const std::uint64_t> b) {
  struct Run {
    std::uint8_t field;
    std::span<const std::uint64_t> words;
  };
  auto runs = [](std::span<const std::uint64_t> w) {
    std::vector<Run> out;
    for (std::size_t i = 0; i < w.size();) {
      const CellRef c(w.data() + i);
      if (out.empty() || out.back().field != c.field()) {
        out.push_back({c.field(), w.subspan(i, 0)});
      }
      out.back().words = std::span(out.back().words.data(), out.back().words.size() + c.words());
      i += c.words();
    }
    return out;
  };
  const auto ra = runs(a), rb = runs(b);
  std::vector<std::uint8_t> out;
  std::size_t i = 0, j = 0;
  while (i < ra.size() || j < rb.size()) {
    if (j == rb.size() || (i < ra.size() && ra[i].field < rb[j].field)) {
      out.push_back(ra[i++].field);
    } else if (i == ra.size() || rb[j].field < ra[i].field) {
      out.push_back(rb[j++].field);
    } else {
      if (!std::equal(ra[i].words.begin(), ra[i].words.end(), rb[j].words.begin(), rb[j].words.end())) {
        out.push_back(ra[i].field);
      }
      ++i, ++j;
    }
  }
  return out;  // the merge visits fields in increasing order
}

std::uint64_t system_millis() {
  return static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                        std::chrono::system_clock::now().time_since_epoch())
                                        .count());
}

Status check_id(std::string_view id) {
  if (id.empty() || id.size() > kMaxIdBytes) return InvalidArgument("record id must be 1 to 256 bytes");
  if (!valid_utf8(id)) return InvalidArgument("record id is not valid UTF-8");
  return Status::Ok();
}

Status check_value(const ValueView& v) {
  if (static_cast<int>(v.tag) >= kValueTagCount) return InvalidArgument("unsupported value type");
  if (v.tag == ValueTag::kString && !valid_utf8(v.str)) return InvalidArgument("string is not valid UTF-8");
  if (v.str.size() > 0x7fffffffu) return InvalidArgument("value larger than 2 GiB");
  return Status::Ok();
}

}  // namespace

Store::Store(Schema schema, StoreOptions options)
    : schema_(std::move(schema)), options_(std::move(options)) {
  if (!options_.now) options_.now = system_millis;
  if (options_.actor == 0) options_.actor = random_actor();
  self_ = static_cast<std::uint16_t>(intern_actor(options_.actor));  // the first actor: index 0
}

Result<std::unique_ptr<Store>> Store::open(Schema schema, StoreOptions options) {
  return std::unique_ptr<Store>(new Store(std::move(schema), std::move(options)));
}

Result<std::unique_ptr<Store>> Store::load(Schema schema, std::span<const std::uint8_t> snapshot,
                                           StoreOptions options) {
  MYC_ASSIGN_OR_RETURN(DeltaData d, decode_delta(snapshot));
  if (d.kind != PayloadKind::kSnapshot) return Corrupt("not a snapshot");
  std::unique_ptr<Store> s(new Store(std::move(schema), std::move(options)));
  MYC_ASSIGN_OR_RETURN(Mapping m, s->map_schema(d));
  MYC_TRY(s->join(d, m));
  return s;
}

// --- schema lookups --------------------------------------------------------

Result<CollectionRef> Store::collection(std::string_view name) const {
  auto c = schema_.find_collection(name);
  if (!c) return UnknownField("unknown collection '" + std::string(name) + "'");
  return CollectionRef{*c};
}

Result<FieldRef> Store::field(CollectionRef c, std::string_view name) const {
  if (c.index >= schema_.collections().size()) return UnknownField("unknown collection");
  auto f = schema_.find_field(c.index, name);
  if (!f) {
    return UnknownField("unknown field '" + std::string(name) + "' in '" +
                        schema_.collections()[c.index].name + "'");
  }
  return FieldRef{c.index, *f, schema_.collections()[c.index].fields[*f].kind};
}

Result<FieldRef> Store::field(std::string_view collection_name, std::string_view name) const {
  MYC_ASSIGN_OR_RETURN(CollectionRef c, collection(collection_name));
  return field(c, name);
}

Status Store::check_field(FieldRef f) const {
  const auto& cols = schema_.collections();
  if (f.collection >= cols.size() || f.field >= cols[f.collection].fields.size() ||
      cols[f.collection].fields[f.field].kind != f.kind) {
    return UnknownField("field reference does not belong to this store's schema");
  }
  return Status::Ok();
}

Status Store::check_kind(FieldRef f, Kind a, Kind b, const char* op) const {
  MYC_TRY(check_field(f));
  if (f.kind != a && f.kind != b) {
    const auto& fs = schema_.collections()[f.collection].fields[f.field];
    return WrongKind(std::string(op) + " is not an operation of '" + fs.name + "' (a " +
                     std::string(kind_name(fs.kind)) + " field)");
  }
  return Status::Ok();
}

// --- records and events ----------------------------------------------------

const std::uint32_t* Store::find_actor(ActorId a) const {
  auto it = std::lower_bound(actor_index_.begin(), actor_index_.end(), a,
                             [](const std::pair<ActorId, std::uint32_t>& e, ActorId x) { return e.first < x; });
  return it != actor_index_.end() && it->first == a ? &it->second : nullptr;
}

std::int32_t Store::intern_actor(ActorId a) {
  if (const std::uint32_t* i = find_actor(a)) return static_cast<std::int32_t>(*i);
  if (actors_.size() >= kMaxActors) return -1;
  auto at = std::lower_bound(actor_index_.begin(), actor_index_.end(), a,
                             [](const std::pair<ActorId, std::uint32_t>& e, ActorId x) { return e.first < x; });
  actor_index_.insert(at, {a, static_cast<std::uint32_t>(actors_.size())});
  actors_.push_back(a);
  events_.emplace_back();
  return static_cast<std::int32_t>(actors_.size() - 1);
}

std::int64_t Store::find_record(std::uint16_t collection, std::string_view id) const {
  return index_.find(collection, id, [this](std::uint32_t r) { return record_key(r); });
}

Result<std::uint32_t> Store::visible_record(std::uint16_t collection, std::string_view id) const {
  const std::int64_t r = find_record(collection, id);
  if (r < 0 || !kinds::visible(records_[static_cast<std::size_t>(r)].cells)) {
    return NotFound("no record '" + std::string(id) + "' in '" + schema_.collections()[collection].name + "'");
  }
  return static_cast<std::uint32_t>(r);
}

std::uint32_t Store::create_record(std::uint16_t collection, std::string_view id) {
  const std::int64_t found = find_record(collection, id);
  if (found >= 0) return static_cast<std::uint32_t>(found);
  return add_record(collection, id, /*index=*/true);
}

std::uint32_t Store::add_record(std::uint16_t collection, std::string_view id, bool index) {
  // Callers check ids_.has_room() first, so the append cannot fail.
  Record r;
  r.id = *ids_.append(id);
  r.collection = collection;
  const auto at = static_cast<std::uint32_t>(records_.size());
  records_.push_back(std::move(r));
  if (index) index_.insert(collection, id, at, [this](std::uint32_t i) { return record_key(i); });
  return at;
}

std::pair<std::uint16_t, std::string_view> Store::record_key(std::uint32_t r) const {
  return {records_[r].collection, ids_.get(records_[r].id)};
}

Result<std::uint32_t> Store::next_seq() const {
  const std::size_t n = events_[self_].size();
  if (n >= kMaxSeq) return LimitExceeded("actor has used all 2^32-1 seqs; open with a new actor");
  return static_cast<std::uint32_t>(n + 1);
}

void Store::record_event(std::uint32_t record, KeyScope scope) { events_[self_].append(record, scope, 1, /*local=*/true); }

// --- writes ----------------------------------------------------------------

Status Store::insert(CollectionRef c, std::string_view id) {
  if (c.index >= schema_.collections().size()) return UnknownField("unknown collection");
  MYC_TRY(check_id(id));
  const std::int64_t found = find_record(c.index, id);
  if (found >= 0 && kinds::visible(records_[static_cast<std::size_t>(found)].cells)) {
    return AlreadyExists("record '" + std::string(id) + "' already exists");
  }
  MYC_ASSIGN_OR_RETURN(std::uint32_t seq, next_seq());
  if (records_.size() >= 0xfffffffeu || !ids_.has_room(id.size())) return LimitExceeded("too many records");
  const std::uint32_t r = create_record(c.index, id);
  Cell cell;
  cell.type = CellType::kPresence;
  cell.field = kPresenceField;
  cell.actor = self_;
  cell.seq = seq;
  kinds::assign(records_[r].cells, cell);
  record_event(r, field_scope(kPresenceField));
  return Status::Ok();
}

Status Store::set(FieldRef f, std::string_view id, const ValueView& v) {
  MYC_TRY(check_kind(f, Kind::kLww, Kind::kMvr, "set"));
  MYC_TRY(check_value(v));
  MYC_ASSIGN_OR_RETURN(std::uint32_t r, visible_record(f.collection, id));
  MYC_ASSIGN_OR_RETURN(std::uint32_t seq, next_seq());
  Cell cell;
  MYC_ASSIGN_OR_RETURN(cell.value, store_value(v, strings_));
  cell.type = CellType::kValue;
  cell.field = f.field;
  cell.actor = self_;
  cell.seq = seq;
  cell.aux = hlc_.now(options_.now());
  kinds::assign(records_[r].cells, cell);
  record_event(r, field_scope(f.field));
  return Status::Ok();
}

Status Store::increment(FieldRef f, std::string_view id, std::int64_t n) {
  if constexpr (!kind_enabled(Kind::kCounter)) return WrongKind("this build leaves out the counter kind");
  MYC_TRY(check_kind(f, Kind::kCounter, Kind::kCounter, "increment"));
  MYC_ASSIGN_OR_RETURN(std::uint32_t r, visible_record(f.collection, id));
  MYC_ASSIGN_OR_RETURN(std::uint32_t seq, next_seq());
  kinds::increment(records_[r].cells, f.field, self_, seq, n);
  record_event(r, field_scope(f.field));
  return Status::Ok();
}

Status Store::add(FieldRef f, std::string_view id, const ValueView& v) {
  if constexpr (!kind_enabled(Kind::kSet)) return WrongKind("this build leaves out the set kind");
  MYC_TRY(check_kind(f, Kind::kSet, Kind::kSet, "add"));
  MYC_TRY(check_value(v));
  MYC_ASSIGN_OR_RETURN(std::uint32_t r, visible_record(f.collection, id));
  MYC_ASSIGN_OR_RETURN(std::uint32_t seq, next_seq());
  Cell cell;
  MYC_ASSIGN_OR_RETURN(cell.value, store_value(v, strings_));
  cell.type = CellType::kElement;
  cell.field = f.field;
  cell.actor = self_;
  cell.seq = seq;
  kinds::set_add(records_[r].cells, cell, strings_);
  record_event(r, element_scope(f.field, v));
  return Status::Ok();
}

Status Store::remove(FieldRef f, std::string_view id, const ValueView& v) {
  if constexpr (!kind_enabled(Kind::kSet)) return WrongKind("this build leaves out the set kind");
  MYC_TRY(check_kind(f, Kind::kSet, Kind::kSet, "remove"));
  MYC_TRY(check_value(v));
  MYC_ASSIGN_OR_RETURN(std::uint32_t r, visible_record(f.collection, id));
  auto& cells = records_[r].cells;
  if (!kinds::contains(cells, f.field, v, strings_)) return Status::Ok();  // nothing observed, nothing to remove
  MYC_TRY(next_seq().status());
  kinds::set_remove(cells, f.field, v, strings_);
  record_event(r, element_scope(f.field, v));
  return Status::Ok();
}

Status Store::remove_record(CollectionRef c, std::string_view id) {
  if (c.index >= schema_.collections().size()) return UnknownField("unknown collection");
  MYC_ASSIGN_OR_RETURN(std::uint32_t r, visible_record(c.index, id));
  MYC_TRY(next_seq().status());
  kinds::delete_record(records_[r].cells);
  record_event(r, kWholeRecord);
  return Status::Ok();
}

// --- reads -----------------------------------------------------------------

bool Store::exists(CollectionRef c, std::string_view id) const {
  const std::int64_t r = find_record(c.index, id);
  return r >= 0 && kinds::visible(records_[static_cast<std::size_t>(r)].cells);
}

std::vector<std::string> Store::ids(CollectionRef c) const {
  std::vector<std::string> out;
  for (const Record& r : records_) {
    if (r.collection == c.index && kinds::visible(r.cells)) out.emplace_back(ids_.get(r.id));
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::size_t Store::size(CollectionRef c) const {
  return static_cast<std::size_t>(std::count_if(records_.begin(), records_.end(), [&](const Record& r) {
    return r.collection == c.index && kinds::visible(r.cells);
  }));
}

Result<Value> Store::lww(FieldRef f, std::string_view id) const {
  MYC_TRY(check_kind(f, Kind::kLww, Kind::kLww, "reading a single value"));
  MYC_ASSIGN_OR_RETURN(std::uint32_t r, visible_record(f.collection, id));
  const auto w = kinds::lww_winner(records_[r].cells, f.field, actors_);
  if (!w) return Value{};
  return to_value(w->value(strings_));
}

Result<std::int64_t> Store::counter(FieldRef f, std::string_view id) const {
  if constexpr (!kind_enabled(Kind::kCounter)) return WrongKind("this build leaves out the counter kind");
  MYC_TRY(check_kind(f, Kind::kCounter, Kind::kCounter, "reading a counter"));
  MYC_ASSIGN_OR_RETURN(std::uint32_t r, visible_record(f.collection, id));
  return kinds::counter_value(records_[r].cells, f.field);
}

Result<std::vector<Value>> Store::values(FieldRef f, std::string_view id) const {
  if constexpr (!kind_enabled(Kind::kMvr) && !kind_enabled(Kind::kSet)) return WrongKind("this build leaves out the mvr and set kinds");
  MYC_TRY(check_kind(f, Kind::kMvr, Kind::kSet, "reading values"));
  MYC_ASSIGN_OR_RETURN(std::uint32_t r, visible_record(f.collection, id));
  std::vector<Value> out;
  for (const ValueView& v : kinds::distinct_values(records_[r].cells, f.field, strings_)) {
    out.push_back(to_value(v));
  }
  return out;
}

// --- deltas ----------------------------------------------------------------

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
  std::vector<std::uint32_t> order;
  for (std::uint32_t a = 0; a < actors_.size(); ++a) {
    if (!events_[a].empty()) order.push_back(a);
  }
  std::sort(order.begin(), order.end(), [&](std::uint32_t x, std::uint32_t y) { return actors_[x] < actors_[y]; });
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
  {
    // Sort by (collection, first 8 id bytes big-endian), then the full id:
    // most comparisons never touch the id arena.
    struct Key {
      std::uint64_t prefix;
      std::uint32_t record;
      std::uint16_t collection;
    };
    std::vector<Key> keys(touched.size());
    for (std::size_t i = 0; i < touched.size(); ++i) {
      const Record& r = records_[touched[i]];
      const std::string_view id = ids_.get(r.id);
      std::uint64_t p = 0;
      for (std::size_t k = 0; k < 8; ++k) {
        p = (p << 8) | (k < id.size() ? static_cast<unsigned char>(id[k]) : 0u);
      }
      keys[i] = {p, touched[i], r.collection};
    }
    std::sort(keys.begin(), keys.end(), [&](const Key& x, const Key& y) {
      if (x.collection != y.collection) return x.collection < y.collection;
      if (x.prefix != y.prefix) return x.prefix < y.prefix;
      return ids_.get(records_[x.record].id) < ids_.get(records_[y.record].id);
    });
    for (std::size_t i = 0; i < keys.size(); ++i) touched[i] = keys[i].record;
  }

  // Records and their cells (with the store's field numbers until the
  // field tables are known). A delta names only the fields its cells and
  // scopes use: a live write carries one field name, not the schema.
  const auto& cols = schema_.collections();
  std::vector<std::vector<bool>> used(cols.size());
  for (std::uint32_t r : touched) {
    auto& u = used[records_[r].collection];
    if (u.empty()) u.assign(cols[records_[r].collection].fields.size(), false);
  }
  std::vector<std::pair<std::uint32_t, std::uint32_t>> rec_index;  // local -> delta
  rec_index.reserve(touched.size());
  std::size_t words = 0;
  for (std::uint32_t r : touched) words += records_[r].cells.words();
  d.cells.reserve(words / 2);  // cells take 1 to 3 words
  d.strings.reserve(words / 4);
  for (std::uint32_t i = 0; i < touched.size(); ++i) {
    const Record& rec = records_[touched[i]];
    auto& u = used[rec.collection];
    rec_index.emplace_back(touched[i], i);
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
    std::sort(d.cells.begin() + dr.first_cell, d.cells.end(),
              [&](const DeltaData::Cell& x, const DeltaData::Cell& y) { return cell_order(d, x, y) < 0; });
    d.records.push_back(dr);
  }

  // Collections and fields used, renumbered in schema order.
  std::vector<std::int32_t> coll_map(cols.size(), -1);
  std::vector<std::vector<std::int16_t>> field_map(cols.size());
  for (std::size_t c = 0; c < cols.size(); ++c) {
    if (used[c].empty()) continue;
    coll_map[c] = static_cast<std::int32_t>(d.collections.size());
    DeltaData::Collection dc{cols[c].name, {}};
    field_map[c].assign(cols[c].fields.size(), -1);
    for (std::size_t f = 0; f < cols[c].fields.size(); ++f) {
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
    dr.collection = static_cast<std::uint32_t>(coll_map[dr.collection]);
  }
  std::sort(rec_index.begin(), rec_index.end());
  auto delta_record = [&](std::uint32_t local) {
    return std::lower_bound(rec_index.begin(), rec_index.end(), std::pair{local, 0u})->second;
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

ByteVec Store::delta_since(const VersionVector& vv, bool detached) const {
  return encode_delta(build_delta(vv), detached);
}

std::vector<Store::Change> Store::take_changes() {
  std::vector<Change> out;
  out.reserve(changes_.size());
  for (auto& [record, fields] : changes_) {
    const auto [collection, id] = record_key(record);
    out.push_back({collection, id, std::move(fields)});
  }
  changes_.clear();
  return out;
}

ByteVec Store::save() const {
  DeltaData d = build_delta(VersionVector());
  d.kind = PayloadKind::kSnapshot;
  return encode_delta(d);
}

Result<Store::Mapping> Store::map_schema(const DeltaData& d) const {
  Mapping m;
  for (const auto& dc : d.collections) {
    auto c = schema_.find_collection(dc.name);
    m.collection.push_back(c ? *c : -1);
    auto& fm = m.field.emplace_back();
    for (const auto& df : dc.fields) {
      std::optional<std::uint8_t> f;
      if (c) f = schema_.find_field(*c, df.name);
      if (f && schema_.collections()[*c].fields[*f].kind != df.kind) {
        return SchemaMismatch("field '" + std::string(df.name) + "' of '" + std::string(dc.name) + "' is a " +
                              std::string(kind_name(df.kind)) + " in the delta but a " +
                              std::string(kind_name(schema_.collections()[*c].fields[*f].kind)) +
                              " in this store");
      }
      fm.push_back(f ? *f : -1);
    }
  }
  std::vector<bool> partial(d.collections.size(), false);  // has a field this store lacks
  for (std::size_t c = 0; c < d.collections.size(); ++c) {
    partial[c] = std::find(m.field[c].begin(), m.field[c].end(), -1) != m.field[c].end();
  }
  for (const auto& rec : d.records) {
    if (m.collection[rec.collection] < 0) {
      return SchemaMismatch("unknown collection '" + std::string(d.collections[rec.collection].name) + "'");
    }
    if (!partial[rec.collection]) continue;
    for (std::uint32_t i = rec.first_cell; i < rec.first_cell + rec.cell_count; ++i) {
      const auto& c = d.cells[i];
      if (c.field != kPresenceField && m.field[rec.collection][c.field] < 0) {
        return SchemaMismatch("unknown field '" + std::string(d.collections[rec.collection].fields[c.field].name) +
                              "' in '" + std::string(d.collections[rec.collection].name) + "'");
      }
    }
  }
  return m;
}

bool Store::covers_base(const DeltaData& d) const {
  for (const auto& [a, seq] : d.base) {
    const std::uint32_t* i = find_actor(d.actors[a]);
    if (i == nullptr || events_[*i].size() < seq) return false;
  }
  return true;
}

bool Store::covers_context(const DeltaData& d) const {
  for (const auto& [a, seq] : d.context) {
    const std::uint32_t* i = find_actor(d.actors[a]);
    if (i == nullptr || events_[*i].size() < seq) return false;
  }
  return true;
}

Status Store::join(const DeltaData& d, const Mapping& m) {
  // Phase 1: everything that can fail. Interning actors and strings has no
  // visible effect (actors without events are not part of the state).
  std::size_t id_bytes = 0;
  for (const auto& rec : d.records) id_bytes += rec.id.size() + 2;  // + the varint length
  if (records_.size() + d.records.size() >= 0xfffffffeu || !ids_.has_room(id_bytes)) {
    return LimitExceeded("too many records");
  }
  // Intern the delta's actors in one pass: they are sorted, so the new ones
  // are appended and merged into the index once (one insert each would be
  // quadratic in a delta naming thousands of actors).
  std::vector<std::uint16_t> actor(d.actors.size());
  {
    std::size_t fresh_actors = 0;
    for (std::size_t i = 0; i < d.actors.size(); ++i) fresh_actors += find_actor(d.actors[i]) == nullptr;
    if (actors_.size() + fresh_actors > kMaxActors) return LimitExceeded("a store holds at most 65,535 actors");
    const std::size_t sorted = actor_index_.size();
    for (std::size_t i = 0; i < d.actors.size(); ++i) {
      auto known = std::lower_bound(actor_index_.begin(), actor_index_.begin() + static_cast<std::ptrdiff_t>(sorted),
                                    d.actors[i], [](const auto& e, ActorId x) { return e.first < x; });
      if (known != actor_index_.begin() + static_cast<std::ptrdiff_t>(sorted) && known->first == d.actors[i]) {
        actor[i] = static_cast<std::uint16_t>(known->second);
        continue;
      }
      actor[i] = static_cast<std::uint16_t>(actors_.size());
      actor_index_.push_back({d.actors[i], static_cast<std::uint32_t>(actors_.size())});
      actors_.push_back(d.actors[i]);
      events_.emplace_back();
    }
    std::inplace_merge(actor_index_.begin(), actor_index_.begin() + static_cast<std::ptrdiff_t>(sorted),
                       actor_index_.end(), [](const auto& x, const auto& y) { return x.first < y.first; });
  }
  // Strings longer than the inline size go to the pool now (the only part
  // of a cell's conversion that can fail); each distinct string of the delta
  // once. Into an empty pool, the delta's deduplicated table needs no lookups.
  const bool fresh = strings_.size() == 0;
  std::vector<std::uint32_t> pooled(d.strings.size(), DeltaData::kNoString);
  if (records_.empty()) {
    std::size_t bytes = 0;
    for (auto str : d.strings) bytes += str.size();
    strings_.reserve(d.strings.size(), bytes);
  }
  std::uint64_t max_hlc = 0;
  for (const auto& rec : d.records) {
    for (std::uint32_t i = rec.first_cell; i < rec.first_cell + rec.cell_count; ++i) {
      const auto& dc = d.cells[i];
      if (dc.string != DeltaData::kNoString && d.strings[dc.string].size() > kMaxInline &&
          pooled[dc.string] == DeltaData::kNoString) {
        const std::string_view str = d.strings[dc.string];
        MYC_ASSIGN_OR_RETURN(pooled[dc.string], fresh ? strings_.intern_new(str) : strings_.intern(str));
      }
      const Kind k = cell_kind(d, rec, dc);
      if (dc.field != kPresenceField && (k == Kind::kLww || k == Kind::kMvr)) max_hlc = std::max(max_hlc, dc.aux);
    }
  }

  // Phase 2: join. Nothing below fails.
  auto to_cell = [&](const DeltaData::Record& rec, const DeltaData::Cell& dc) {
    Cell c;
    c.field = dc.field == kPresenceField ? kPresenceField : static_cast<std::uint8_t>(m.field[rec.collection][dc.field]);
    c.actor = actor[dc.actor];
    c.seq = static_cast<std::uint32_t>(dc.seq);
    c.aux = dc.aux;
    const Kind k = cell_kind(d, rec, dc);
    c.type = dc.field == kPresenceField ? CellType::kPresence
             : dc.offset                ? CellType::kOffset
             : k == Kind::kCounter      ? CellType::kCounter
             : k == Kind::kSet          ? CellType::kElement
                                        : CellType::kValue;
    if (c.type != CellType::kValue && c.type != CellType::kElement) return c;
    const ValueView v = d.value(dc);
    if (v.str.size() > kMaxInline) {
      c.value.vtag = static_cast<std::uint8_t>(v.tag);
      c.value.set_bits(pooled[dc.string]);
    } else {
      c.value = *store_value(v, strings_);  // inline or scalar: cannot fail
    }
    return c;
  };
  Coverage sender(actors_.size(), 0), receiver(actors_.size(), 0);
  for (std::size_t a = 0; a < actors_.size(); ++a) receiver[a] = events_[a].size();
  for (const auto& [a, seq] : d.context) sender[actor[a]] = seq;
  // Records of a delta are distinct (canonical order), so an empty store
  // adds them without looking each one up, and indexes them all at the end.
  const bool no_records = records_.empty();
  std::vector<std::uint32_t> local(d.records.size());
  std::vector<Cell> incoming;
  std::vector<std::pair<std::uint32_t, KeyScope>> local_elements;
  std::vector<std::uint64_t> before;  // a record's cells before the join, when capturing
  for (std::size_t i = 0; i < d.records.size(); ++i) {
    const auto& rec = d.records[i];
    const auto coll = static_cast<std::uint16_t>(m.collection[rec.collection]);
    local[i] = no_records ? add_record(coll, rec.id, /*index=*/false) : create_record(coll, rec.id);
    incoming.clear();
    std::size_t words = 0;
    for (std::uint32_t c = rec.first_cell; c < rec.first_cell + rec.cell_count; ++c) {
      incoming.push_back(to_cell(rec, d.cells[c]));
      words += CellList::words_of(incoming.back());
    }
    CellList& cells = records_[local[i]].cells;
    if (capture_) before.assign(cells.raw().begin(), cells.raw().end());
    if (no_records) {
      // Nothing local and nothing covered yet: the join is the incoming cells.
      cells.reserve_words(words);
      for (const Cell& c : incoming) cells.push_back(c);
    } else {
      // The record's keys, in this store's field numbers.
      const auto& fm = m.field[rec.collection];
      auto to_local = [&](unsigned f) { return f < fm.size() ? static_cast<int>(fm[f]) : -1; };
      KeyFilter keys;
      keys.mask = map_fields(rec.mask, to_local);
      keys.pool = &strings_;
      const auto [lo, hi] = std::equal_range(
          d.elements.begin(), d.elements.end(), std::pair{static_cast<std::uint32_t>(i), KeyScope{0}},
          [](const auto& x, const auto& y) { return x.first < y.first; });
      local_elements.clear();
      for (auto e = lo; e != hi; ++e) {
        if (const KeyScope s = map_fields(e->second, to_local); s != 0) local_elements.emplace_back(0, s);
      }
      std::sort(local_elements.begin(), local_elements.end());
      keys.elements = local_elements;
      join_record(cells, incoming, sender, receiver, keys);
    }
    if (capture_) {
      auto fields = changed_fields(before, cells.raw());
      if (!fields.empty()) changes_.emplace_back(local[i], std::move(fields));
    }
  }
  if (no_records) {
    index_.insert_all(0, static_cast<std::uint32_t>(records_.size()), [this](std::uint32_t r) { return record_key(r); });
  }
  {
    std::vector<std::uint32_t> runs(d.actors.size(), 0);
    for (const auto& run : d.events) ++runs[run.actor];
    for (std::size_t a = 0; a < runs.size(); ++a) {
      if (runs[a] > 0) events_[actor[a]].reserve_runs(runs[a]);
    }
  }
  for (const auto& run : d.events) {
    EventLog& log = events_[actor[run.actor]];
    const std::uint64_t end = run.first + run.count;  // one past the run
    if (end > log.size() + std::uint64_t{1}) {
      // The scope in this store's field numbers (a field it lacks has no
      // keys here: an event of it alone still takes its seq, as the presence).
      const auto& fm = m.field[d.records[run.record].collection];
      KeyScope scope = map_fields(run.scope, [&](unsigned f) { return f < fm.size() ? static_cast<int>(fm[f]) : -1; });
      if (scope == 0) scope = kPresenceScopeBit;
      log.append(local[run.record], scope, static_cast<std::uint32_t>(end - (log.size() + std::uint64_t{1})));
    }
  }
  hlc_.observe(max_hlc);
  return Status::Ok();
}

namespace {
std::vector<std::pair<ActorId, std::uint64_t>> named(const DeltaData& d, const DeltaData::VvEntries& vv) {
  std::vector<std::pair<ActorId, std::uint64_t>> out;
  out.reserve(vv.size());
  for (const auto& [a, seq] : vv) out.emplace_back(d.actors[a], seq);
  return out;
}
}  // namespace

bool Store::covers(const std::vector<std::pair<ActorId, std::uint64_t>>& vv) const {
  for (const auto& [actor, seq] : vv) {
    const std::uint32_t* i = find_actor(actor);
    if (i == nullptr || events_[*i].size() < seq) return false;
  }
  return true;
}

Status Store::check_limits(const DeltaData& d, const ApplyLimits& limits) const {
  if (limits.from_peer) {
    // Only this replica writes its actor's events: a peer that claims more
    // of them than it has written would make every later local write look
    // covered (and the actor unable to write again).
    const ActorId me = actors_[self_];
    for (const auto& [a, seq] : d.context) {
      if (d.actors[a] == me && seq > events_[self_].size()) {
        return Corrupt("the delta claims events " + std::to_string(events_[self_].size() + 1) + ".." +
                       std::to_string(seq) + " of this replica's own actor, which it has not written");
      }
    }
  }
  if (limits.max_new_actors > 0) {
    std::size_t fresh = 0;
    for (const auto& [a, seq] : d.context) fresh += find_actor(d.actors[a]) == nullptr;
    if (fresh > limits.max_new_actors) {
      return LimitExceeded("the delta adds " + std::to_string(fresh) + " actors; at most " +
                           std::to_string(limits.max_new_actors) + " may come in one delta");
    }
  }
  return Status::Ok();
}

Result<ApplyOutcome> Store::apply(std::span<const std::uint8_t> bytes, const ApplyLimits& limits,
                                  const VersionVector* context) {
  MYC_ASSIGN_OR_RETURN(DeltaData d, decode_delta(bytes, context));
  MYC_ASSIGN_OR_RETURN(Mapping m, map_schema(d));
  MYC_TRY(check_limits(d, limits));
  if (covers_context(d)) return ApplyOutcome::kAlreadyCovered;
  if (!covers_base(d)) {
    std::size_t held_bytes = bytes.size();
    for (const Pending& p : pending_) held_bytes += p.bytes.size();
    if (pending_.size() >= options_.max_pending || held_bytes > options_.max_pending_bytes) {
      return LimitExceeded("too many pending deltas (" + std::to_string(pending_.size()) + ", " +
                           std::to_string(held_bytes) + " bytes); ask the peer for deltaSince(version())");
    }
    Pending p;
    // A detached delta is held whole: its context will not come again.
    if (bytes.size() > 4 && (bytes[4] >> 4) == static_cast<std::uint8_t>(PayloadKind::kDetachedDelta)) {
      p.bytes = encode_delta(d);
    } else {
      p.bytes.assign(bytes.begin(), bytes.end());
    }
    p.base = named(d, d.base);
    p.context = named(d, d.context);
    pending_.push_back(std::move(p));
    return ApplyOutcome::kPending;
  }
  MYC_TRY(join(d, m));
  MYC_TRY(drain_pending());
  return ApplyOutcome::kApplied;
}

Status Store::drain_pending() {
  bool progress = true;
  while (progress) {
    progress = false;
    for (std::size_t i = 0; i < pending_.size(); ++i) {
      const Pending& p = pending_[i];
      if (!covers(p.context) && !covers(p.base)) continue;
      if (!covers(p.context)) {
        // Its limits were checked when it arrived, and cannot fail now: the
        // store has only gained actors and seqs since.
        Status st = Status::Ok();
        auto d = decode_delta(p.bytes);
        if (!d.ok()) st = d.status();
        auto m = st.ok() ? map_schema(*d) : Result<Mapping>(st);
        if (st.ok() && !m.ok()) st = m.status();
        if (st.ok()) st = join(*d, *m);
        if (!st.ok()) dropped_.push_back(st);
        progress = progress || st.ok();
      }
      pending_.erase(pending_.begin() + static_cast<std::ptrdiff_t>(i));
      --i;
    }
  }
  return Status::Ok();
}

Store::MemoryUse Store::memory_use() const {
  MemoryUse m{};
  m.records = records_.size() * sizeof(Record);
  for (const Record& r : records_) m.cells += r.cells.bytes_used();
  for (const auto& e : events_) m.events += e.bytes_used();
  m.ids = ids_.bytes_used();
  m.strings = strings_.bytes_used();
  m.index = index_.bytes_used() + actors_.capacity() * sizeof(ActorId);
  return m;
}

}  // namespace mycelium
