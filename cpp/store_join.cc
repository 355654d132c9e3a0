// Store, joining deltas (DESIGN.md, Delta-state semantics): checks against
// schema and limits, causal delivery (held deltas wait in a bounded queue
// until their base is covered), the join of each key the delta carries, and
// the changes it made for subscribers.
#include <algorithm>

#include "kinds.h"
#include "store.h"

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

}  // namespace

Result<Store::Mapping> Store::map_schema(const DeltaData& d) const {
  // A collection or field this store does not know maps to -1 here and is
  // added, undeclared, when the delta is joined (extend_schema). One both
  // know must be of the same kind.
  // A table that names a collection, or a field of one, twice would map two
  // of the delta's numbers to one name (and add an undeclared name twice).
  auto repeated = [](std::vector<std::string_view> names) {
    std::sort(names.begin(), names.end());
    return std::adjacent_find(names.begin(), names.end()) != names.end();
  };
  std::vector<std::string_view> names;
  for (const auto& dc : d.collections) names.push_back(dc.name);
  if (repeated(std::move(names))) return Corrupt("the delta names a collection twice");
  Mapping m;
  for (const auto& dc : d.collections) {
    std::vector<std::string_view> fields;
    for (const auto& df : dc.fields) fields.push_back(df.name);
    if (repeated(std::move(fields))) return Corrupt(cat({"the delta names a field of '", dc.name, "' twice"}));
    auto c = schema_.find_collection(dc.name);
    m.collection.push_back(c ? *c : -1);
    auto& fm = m.field.emplace_back();
    for (const auto& df : dc.fields) {
      std::optional<std::uint8_t> f;
      if (c) f = schema_.find_field(*c, df.name);
      if (f && schema_.collections()[*c].fields[*f].kind != df.kind) {
        return SchemaMismatch(cat({"field '", df.name, "' of '", dc.name, "' is a ", kind_name(df.kind), " in the delta but a ",
                                   kind_name(schema_.collections()[*c].fields[*f].kind), " in this store"}));
      }
      fm.push_back(f ? *f : -1);
    }
  }
  return m;
}

Status Store::extend_schema(const DeltaData& d, Mapping& m) {
  bool adds = false;
  for (std::size_t c = 0; c < d.collections.size(); ++c) {
    adds = adds || m.collection[c] < 0 || std::any_of(m.field[c].begin(), m.field[c].end(), [](int f) { return f < 0; });
  }
  if (!adds) return Status::Ok();
  // All or nothing: a name refused halfway (too long, one too many) must not
  // leave the names added before it in a store that refuses the delta.
  Schema before = schema_;
  Status added = [&]() -> Status {
    for (std::size_t c = 0; c < d.collections.size(); ++c) {
      const auto& dc = d.collections[c];
      if (m.collection[c] < 0) {
        MYC_ASSIGN_OR_RETURN(m.collection[c], schema_.add_collection(dc.name));
      }
      const auto local = static_cast<std::uint16_t>(m.collection[c]);
      for (std::size_t f = 0; f < dc.fields.size(); ++f) {
        if (m.field[c][f] >= 0) continue;
        MYC_ASSIGN_OR_RETURN(m.field[c][f], schema_.add_field(local, dc.fields[f].name, dc.fields[f].kind));
      }
    }
    return Status::Ok();
  }();
  if (!added.ok()) schema_ = std::move(before);
  return added;
}

template <typename Taken>
Status Store::check_credit(const DeltaData& d, const Mapping& m, const Taken& taken) const {
  bool any = false;
  for (const auto& c : d.collections) {
    for (const auto& f : c.fields) any = any || f.kind == Kind::kCredit;
  }
  if (!any) return Status::Ok();
  Status result = Status::Ok();
  std::vector<kinds::CreditEntry> entries;
  d.for_each_record([&](std::uint32_t i, std::span<const DeltaData::Cell> cells) {
    if (!result.ok()) return;
    const auto& rec = d.records[i];
    const auto& fields = d.collections[rec.collection].fields;
    std::int64_t local = -1;
    if (m.collection[rec.collection] >= 0) {
      local = find_record(static_cast<std::uint16_t>(m.collection[rec.collection]), rec.id);
    }
    for (std::size_t k = 0; k < cells.size();) {  // cells come by field (canonical order)
      const std::uint8_t field = cells[k].field;
      std::size_t end = k;
      while (end < cells.size() && cells[end].field == field) ++end;
      if (field != kPresenceField && fields[field].kind == Kind::kCredit) {
        entries.clear();
        for (std::size_t j = k; j < end; ++j) {
          const auto& dc = cells[j];
          if (taken(i, dc)) entries.push_back({d.actors[dc.actor], {dc.tag, dc.bits, {}}, dc.aux, dc.seq});
        }
        const std::int16_t lf = m.field[rec.collection][field];
        if (!entries.empty() && local >= 0 && lf >= 0) {
          for (CellRef c : records_[static_cast<std::size_t>(local)].cells) {
            if (c.field() != static_cast<std::uint8_t>(lf) || !c.is_credit()) continue;
            const Cell x = c.decode();
            entries.push_back({actors_[c.actor()], {x.value.tag(), x.value.bits(), {}}, c.aux(), c.seq()});
          }
        }
        if (!entries.empty() && !kinds::credit_holds(entries)) {
          result = Corrupt(cat({"the delta overdraws credit field '", fields[field].name, "' of record '", rec.id,
                                "' (an actor would spend or give rights it does not hold)"}));
          return;
        }
      }
      k = end;
    }
  });
  return result;
}

Status Store::join(const DeltaData& d, Mapping& m) {
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
    if (actor_index_.size() > sorted) {  // merge the two sorted runs (by hand: std::inplace_merge is 1.5 KB of wasm)
      std::vector<std::pair<ActorId, std::uint32_t>> merged;
      merged.reserve(actor_index_.size());
      for (std::size_t x = 0, y = sorted; x < sorted || y < actor_index_.size();) {
        const bool second = x == sorted || (y < actor_index_.size() && actor_index_[y].first < actor_index_[x].first);
        merged.push_back(actor_index_[second ? y++ : x++]);
      }
      actor_index_ = std::move(merged);
    }
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
  for (std::size_t i = 0; i < d.strings.size(); ++i) {
    if (d.value_strings[i] && d.strings[i].size() > kMaxInline) {
      MYC_ASSIGN_OR_RETURN(pooled[i], fresh ? strings_.intern_new(d.strings[i]) : strings_.intern(d.strings[i]));
    }
  }

  // List and text entries, checked against what this store holds
  // (SequenceFields::check changes nothing). An element or delete event
  // new here must be a dot this store has not joined: the decoder checked
  // that the delta's events put it on the entry's record and field.
  // Whether this store's context covers a dot (the event log grows only
  // after the sequences have joined, so this holds through the join).
  const SequenceFields::Covered seen = [&](Sequence::Id dot) {
    const std::uint32_t* a = find_actor(dot.actor);
    return a != nullptr && dot.seq <= events_[*a].size();
  };
  auto content_of = [&](const SeqEntry& e) {
    const Kind k = d.collections[d.records[e.record].collection].fields[e.field].kind;
    return k == Kind::kText ? Sequence::Content::kUtf8 : Sequence::Content::kValues;
  };
  if constexpr (kSequenceKinds) {
    for (const SeqEntry& e : d.sequences.entries) {
      const auto& rec = d.records[e.record];
      std::optional<SequenceFields::Key> key;
      const std::int32_t coll = m.collection[rec.collection];
      const std::int16_t field = m.field[rec.collection][e.field];
      if (coll >= 0 && field >= 0) {
        const std::int64_t r = find_record(static_cast<std::uint16_t>(coll), rec.id);
        if (r >= 0) key = SequenceFields::Key{static_cast<std::uint32_t>(r), static_cast<std::uint8_t>(field)};
      }
      if (!kind_enabled(d.collections[rec.collection].fields[e.field].kind)) {
        return SchemaMismatch("the delta holds a list or text field, which this build leaves out");
      }
      MYC_TRY(sequences_.check(
          e, key, content_of(e), d.actors,
          [&](Sequence::Id first, std::uint32_t) -> Status {
            if (seen(first)) return Corrupt("a sequence element, delete or set that this replica has joined as another key");
            return Status::Ok();
          },
          seen));
    }
  }

  Coverage sender(actors_.size(), 0), receiver(actors_.size(), 0);
  for (std::size_t a = 0; a < actors_.size(); ++a) receiver[a] = events_[a].size();
  for (const auto& [a, seq] : d.context) sender[actor[a]] = seq;
  // Per delta record, the keys that its events new to this store touched (in
  // the delta's field numbers): masks, and element scopes (record, scope),
  // sorted. A cell this store takes (a dot it lacks, or a counter offset,
  // which a delete records) must sit on one of them. The decoder checked that
  // some event of the record touches each cell's key, but a peer that lies
  // can point to events this store joined already, for other records: such a
  // cell would leave a state whose snapshot does not load, so it is not taken.
  // When every event run is new here (a fresh peer, most deltas), those are
  // the keys of all the delta's events: the records' masks and the sorted
  // elements the decoder made (DeltaData::unite_scopes), with no sort here.
  const bool all_new = std::none_of(d.events.begin(), d.events.end(), [&](const DeltaData::EventRun& run) {
    return run.first + run.count - 1 <= receiver[actor[run.actor]];
  });
  std::vector<KeyScope> new_masks;
  std::vector<std::pair<std::uint32_t, KeyScope>> new_elements;
  if (!all_new) {
    new_masks.assign(d.records.size(), 0);
    for (const auto& run : d.events) {
      if (run.first + run.count - 1 <= receiver[actor[run.actor]]) continue;
      if (is_element_scope(run.scope)) new_elements.emplace_back(run.record, run.scope);
      else new_masks[run.record] |= run.scope;
    }
    std::sort(new_elements.begin(), new_elements.end());
  }
  const auto& key_elements = all_new ? d.elements : new_elements;
  auto on_new_key = [&](std::uint32_t record, const DeltaData::Cell& dc) {
    const KeyScope f = field_scope(dc.field);
    if (((all_new ? d.records[record].mask : new_masks[record]) & f) == f) return true;
    return !key_elements.empty() && std::binary_search(key_elements.begin(), key_elements.end(),
                                                       std::pair{record, element_scope(dc.field, d.value(dc))});
  };
  // Credit fields (docs/credit.md): the join must leave every actor's
  // rights >= 0, checked on the field as the join will leave it.
  if constexpr (kind_enabled(Kind::kCredit)) {
    MYC_TRY(check_credit(d, m, [&](std::uint32_t record, const DeltaData::Cell& dc) {
      return !covered(receiver, actor[dc.actor], dc.seq) && on_new_key(record, dc);
    }));
  }

  // Undeclared collections and fields the delta names. Those of a delta
  // refused later stay unused: a delta or snapshot names only what it uses.
  MYC_TRY(extend_schema(d, m));

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
             : k == Kind::kCredit       ? CellType::kCredit
                                        : CellType::kValue;
    if (c.type != CellType::kValue && c.type != CellType::kElement && c.type != CellType::kCredit) return c;
    const ValueView v = d.value(dc);
    if (v.str.size() > kMaxInline) {
      c.value.vtag = static_cast<std::uint8_t>(v.tag);
      c.value.set_bits(pooled[dc.string]);
    } else {
      c.value = *store_value(v, strings_);  // inline or scalar: cannot fail
    }
    return c;
  };
  // Records of a delta are distinct (canonical order), so an empty store
  // adds them without looking each one up, and indexes them all at the end.
  const bool no_records = records_.empty();
  std::vector<std::uint32_t> local(d.records.size());
  std::vector<Cell> incoming;
  std::vector<std::pair<std::uint32_t, KeyScope>> local_elements;
  std::vector<std::uint64_t> before;  // a record's cells before the join, when capturing
  std::size_t dropped = 0;  // pooled-string bytes of local cells the join dropped
  // Where each delta record's changes are, for its list and text changes.
  std::vector<std::int64_t> change_of(capture_ && !d.sequences.entries.empty() ? d.records.size() : 0, -1);
  d.for_each_record([&](std::uint32_t i, std::span<const DeltaData::Cell> rec_cells) {
    const auto& rec = d.records[i];
    const auto coll = static_cast<std::uint16_t>(m.collection[rec.collection]);
    local[i] = no_records ? add_record(coll, rec.id, /*index=*/false) : create_record(coll, rec.id);
    incoming.clear();
    std::size_t words = 0;
    for (const auto& dc : rec_cells) {
      // A credit cell is taken, like an entry, only when its dot is new here
      // (one this store covers it holds, or a newer total of its component):
      // so a signed batch brings only its author's credit events.
      const bool taken = dc.offset || !covered(receiver, actor[dc.actor], dc.seq);
      if (taken && !on_new_key(static_cast<std::uint32_t>(i), dc)) continue;
      incoming.push_back(to_cell(rec, dc));
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
      dropped += join_record(cells, incoming, sender, receiver, strings_, keys);
    }
    if (capture_) {
      auto fields = changed_fields(before, cells.raw());
      if (!fields.empty()) {
        if (!d.sequences.entries.empty()) change_of[i] = static_cast<std::int64_t>(changes_.size());
        changes_.emplace_back(local[i], std::move(fields));
      }
    }
  });
  if (no_records) {
    index_.insert_all(0, static_cast<std::uint32_t>(records_.size()), [this](std::uint32_t r) { return record_key(r); });
  }
  if constexpr (kSequenceKinds) {
    for (const SeqEntry& e : d.sequences.entries) {
      const std::uint32_t record = local[e.record];
      const auto field = static_cast<std::uint8_t>(m.field[d.records[e.record].collection][e.field]);
      std::vector<Sequence::Splice> splices;
      auto changed = sequences_.join(e, SequenceFields::Key{record, field}, content_of(e), d.actors, seen,
                                     capture_ ? &splices : nullptr);
      if (!changed.ok()) return changed.status();  // a checked entry joins: not reached
      if (!capture_ || !*changed) continue;
      if (!splices.empty()) splices_.emplace_back(record, field, std::move(splices));
      if (change_of[e.record] < 0) {
        change_of[e.record] = static_cast<std::int64_t>(changes_.size());
        changes_.emplace_back(record, std::vector<std::uint8_t>{});
      }
      auto& fields = changes_[static_cast<std::size_t>(change_of[e.record])].second;
      fields.insert(std::upper_bound(fields.begin(), fields.end(), field), field);
    }
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
  hlc_.observe(d.max_hlc);
  // A store filled from empty holds only live strings: the pool's size is
  // its baseline (no walk to find it).
  if (no_records) strings_baseline();
  note_dropped(dropped);
  return Status::Ok();
}

namespace {
// A vector of the delta's (actor index, seq) entries with the actors named:
// what covers() reads, and what a held delta keeps.
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
        return Corrupt(cat({"the delta claims events ", events_[self_].size() + 1, "..", seq, " of this replica's own actor, which it has not written"}));
      }
    }
  }
  if (limits.author) MYC_TRY(check_author(d, *limits.author));
  if (limits.max_new_actors > 0) {
    std::size_t fresh = 0;
    for (const auto& [a, seq] : d.context) fresh += find_actor(d.actors[a]) == nullptr;
    if (fresh > limits.max_new_actors) {
      return LimitExceeded(cat({"the delta adds ", fresh, " actors; at most ", limits.max_new_actors, " may come in one delta"}));
    }
  }
  return Status::Ok();
}

Status Store::check_author(const DeltaData& d, const ApplyLimits::Author& author) {
  bool found = false;
  std::size_t b = 0;
  for (const auto& [a, seq] : d.context) {
    while (b < d.base.size() && d.base[b].first < a) ++b;
    const std::uint64_t base = b < d.base.size() && d.base[b].first == a ? d.base[b].second : 0;
    if (d.actors[a] == author.actor) {
      found = true;
      if (base + 1 != author.first || seq != author.last) {
        return Corrupt(cat({"a signed batch for seqs ", author.first, "..", author.last, " of its author holds seqs ", base + 1, "..", seq}));
      }
    } else if (base != seq) {
      return Corrupt(cat({"a signed batch holds ", seq - base, " events of another actor than its author"}));
    }
  }
  if (!found) return Corrupt("a signed batch holds no event of its author");
  return Status::Ok();
}

Result<ApplyOutcome> Store::apply(std::span<const std::uint8_t> bytes, const ApplyLimits& limits,
                                  const VersionVector* context) {
  MYC_ASSIGN_OR_RETURN(DeltaData d, decode_delta(bytes, context, options_.stream_cells_above));
  MYC_ASSIGN_OR_RETURN(Mapping m, map_schema(d));
  MYC_TRY(check_limits(d, limits));
  auto claimed = named(d, d.context);
  if (covers(claimed)) return ApplyOutcome::kAlreadyCovered;
  auto needed = named(d, d.base);
  if (!covers(needed)) {
    std::size_t held_bytes = bytes.size();
    for (const Pending& p : pending_) held_bytes += p.bytes.size();
    if (pending_.size() >= options_.max_pending || held_bytes > options_.max_pending_bytes) {
      return PendingFull(cat({"too many pending deltas (", pending_.size(), ", ", held_bytes, " bytes); ask the peer for deltaSince(version())"}));
    }
    Pending p;
    // A detached delta is held whole: its context will not come again.
    if (bytes.size() > 4 && (bytes[4] >> 4) == static_cast<std::uint8_t>(PayloadKind::kDetachedDelta)) {
      p.bytes = encode_delta(d);
    } else {
      p.bytes.assign(bytes.begin(), bytes.end());
    }
    p.base = std::move(needed);
    p.context = std::move(claimed);
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

std::vector<Store::SequenceChange> Store::take_sequence_changes() {
  std::vector<SequenceChange> out;
  out.reserve(splices_.size());
  for (auto& [record, field, splices] : splices_) {
    const auto [collection, id] = record_key(record);
    out.push_back({collection, id, field, std::move(splices)});
  }
  splices_.clear();
  return out;
}

}  // namespace mycelium
