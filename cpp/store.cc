#include "store.h"

#include <algorithm>
#include <bit>
#include <chrono>

#include "kinds.h"

namespace mycelium {
namespace {
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
  MYC_ASSIGN_OR_RETURN(DeltaData d, decode_delta(snapshot, nullptr, options.stream_cells_above));
  if (d.kind != PayloadKind::kSnapshot) return Corrupt("not a snapshot");
  std::unique_ptr<Store> s(new Store(std::move(schema), std::move(options)));
  MYC_ASSIGN_OR_RETURN(Mapping m, s->map_schema(d));
  MYC_TRY(s->join(d, m));
  // A cheap check against a join the runtime computed wrongly (issue 16:
  // WebKit's concurrent JIT once did): refuse to open rather than go on
  // from, and persist, a wrong state.
  MYC_TRY(s->holds_as_loaded(d));
  return s;
}

Status Store::holds_as_loaded(const DeltaData& d) const {
  std::size_t cells = 0, events = 0, claimed = 0;
  for (const Record& r : records_) cells += r.cells.size();
  for (const EventLog& e : events_) events += e.size();
  for (const auto& [actor, seq] : d.context) claimed += static_cast<std::size_t>(seq);
  if (records_.size() != d.records.size() || cells != d.cell_total || events != claimed) {
    return Corrupt("the loaded state does not match the snapshot (its records, cells or events)");
  }
  // Every record is found by its id, as itself: no id was decoded wrong into
  // another's (WebKit's JIT once made two records of one id).
  for (std::uint32_t r = 0; r < records_.size(); ++r) {
    const auto [collection, id] = record_key(r);
    if (find_record(collection, id) != r) return Corrupt("the loaded state does not match the snapshot (its record ids)");
  }
  return Status::Ok();
}

// --- schema lookups --------------------------------------------------------

Result<CollectionRef> Store::collection(std::string_view name) const {
  auto c = schema_.find_collection(name);
  if (!c || !schema_.declared(*c)) return UnknownField(cat({"unknown collection '", name, "'"}));
  return CollectionRef{*c};
}

Result<FieldRef> Store::field(CollectionRef c, std::string_view name) const {
  if (!schema_.declared(c.index)) return UnknownField("unknown collection");
  auto f = schema_.find_field(c.index, name);
  if (!f || !schema_.declared(c.index, *f)) {
    return UnknownField(cat({"unknown field '", name, "' in '", schema_.collections()[c.index].name, "'"}));
  }
  return FieldRef{c.index, *f, schema_.collections()[c.index].fields[*f].kind};
}

Result<FieldRef> Store::field(std::string_view collection_name, std::string_view name) const {
  MYC_ASSIGN_OR_RETURN(CollectionRef c, collection(collection_name));
  return field(c, name);
}

Status Store::check_field(FieldRef f) const {
  if (!schema_.declared(f.collection, f.field) || schema_.collections()[f.collection].fields[f.field].kind != f.kind) {
    return UnknownField("field reference does not belong to this store's schema");
  }
  return Status::Ok();
}

Status Store::check_kind(FieldRef f, Kind a, Kind b, const char* op) const {
  MYC_TRY(check_field(f));
  if (f.kind != a && f.kind != b) {
    const auto& fs = schema_.collections()[f.collection].fields[f.field];
    return WrongKind(cat({op, " is not an operation of '", fs.name, "' (a ", kind_name(fs.kind), " field)"}));
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

Status Store::not_found(std::uint16_t collection, std::string_view id) const {
  return NotFound(cat({"no record '", id, "' in '", schema_.collections()[collection].name, "'"}));
}

Status Store::already_exists(std::string_view id) { return AlreadyExists(cat({"record '", id, "' already exists"})); }

Result<std::uint32_t> Store::visible_record(std::uint16_t collection, std::string_view id) const {
  const std::int64_t r = find_record(collection, id);
  if (r < 0 || !live(records_[static_cast<std::size_t>(r)], static_cast<std::uint32_t>(r))) return not_found(collection, id);
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

Status Store::check_room(std::size_t writes, std::size_t records, std::size_t id_bytes, std::size_t string_bytes) const {
  if (writes > kMaxSeq - events_[self_].size()) return LimitExceeded("actor has used all 2^32-1 seqs; open with a new actor");
  if (records > 0xfffffffeu - records_.size() || !ids_.has_room(id_bytes + 5 * records)) return LimitExceeded("too many records");
  if (!strings_.has_room(string_bytes)) return LimitExceeded("string pool is full (4 GiB)");
  return Status::Ok();
}

void Store::record_event(std::uint32_t record, KeyScope scope) { events_[self_].append(record, scope, 1, /*local=*/true); }

// --- writes ----------------------------------------------------------------

Status Store::insert(CollectionRef c, std::string_view id) {
  if (!schema_.declared(c.index)) return UnknownField("unknown collection");
  MYC_TRY(check_id(id));
  const std::int64_t found = find_record(c.index, id);
  if (found >= 0 && live(records_[static_cast<std::size_t>(found)], static_cast<std::uint32_t>(found))) return already_exists(id);
  MYC_ASSIGN_OR_RETURN(std::uint32_t seq, next_seq());
  if (records_.size() >= 0xfffffffeu || !ids_.has_room(id.size())) return LimitExceeded("too many records");
  const std::uint32_t r = create_record(c.index, id);
  Cell cell;
  cell.type = CellType::kPresence;
  cell.field = kPresenceField;
  cell.actor = self_;
  cell.seq = seq;
  note_dropped(kinds::assign(records_[r].cells, cell, strings_));
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
  note_dropped(kinds::assign(records_[r].cells, cell, strings_));
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
  note_dropped(kinds::set_add(records_[r].cells, cell, strings_));
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
  note_dropped(kinds::set_remove(cells, f.field, v, strings_));
  record_event(r, element_scope(f.field, v));
  return Status::Ok();
}

Status Store::remove_record(CollectionRef c, std::string_view id) {
  if (!schema_.declared(c.index)) return UnknownField("unknown collection");
  MYC_ASSIGN_OR_RETURN(std::uint32_t r, visible_record(c.index, id));
  MYC_TRY(next_seq().status());
  note_dropped(kinds::delete_record(records_[r].cells, strings_));
  if constexpr (kSequenceKinds) sequences_.erase_record(r);
  record_event(r, kWholeRecord);
  return Status::Ok();
}

Result<std::uint32_t> Store::credit_target(FieldRef f, std::string_view id, std::int64_t n, const char* op) const {
  if constexpr (!kind_enabled(Kind::kCredit)) return WrongKind("this build leaves out the credit kind");
  MYC_TRY(check_kind(f, Kind::kCredit, Kind::kCredit, op));
  if (n < 1 || n > kMaxCredit) return InvalidArgument(cat({"a credit amount must be an integer from 1 to 2^53-1, not ", n}));
  MYC_ASSIGN_OR_RETURN(std::uint32_t r, visible_record(f.collection, id));
  const kinds::CreditSum held = kinds::credit_rights(records_[r].cells, f.field, self_, actors_[self_]);
  if (held < n) {
    return InsufficientCredit(cat({"cannot ", op, " ", n, " of '", schema_.collections()[f.collection].fields[f.field].name,
                                   "' in '", id, "': this replica holds ", static_cast<std::int64_t>(held),
                                   " rights and sees the value ", credit_at(r, f.field)}));
  }
  return r;
}

Status Store::credit_add(FieldRef f, std::string_view id, std::int64_t n) {
  if constexpr (!kind_enabled(Kind::kCredit)) return WrongKind("this build leaves out the credit kind");
  MYC_TRY(check_kind(f, Kind::kCredit, Kind::kCredit, "add credit to"));
  if (n < 1 || n > kMaxCredit) return InvalidArgument(cat({"a credit amount must be an integer from 1 to 2^53-1, not ", n}));
  MYC_ASSIGN_OR_RETURN(std::uint32_t r, visible_record(f.collection, id));
  auto& cells = records_[r].cells;
  const std::int64_t added = added_at(r, f.field);
  const std::int64_t min = schema_.collections()[f.collection].fields[f.field].min;
  if (n > kMaxCredit - added || min + added + n > kMaxCredit) {
    return InvalidArgument(cat({"adding ", n, " would take '", schema_.collections()[f.collection].fields[f.field].name,
                                "' past 2^53-1"}));
  }
  MYC_ASSIGN_OR_RETURN(std::uint32_t seq, next_seq());
  kinds::credit_record(cells, f.field, self_, seq, ValueView::null(), static_cast<std::uint64_t>(n));
  record_event(r, field_scope(f.field));
  return Status::Ok();
}

Status Store::credit_spend(FieldRef f, std::string_view id, std::int64_t n) {
  MYC_ASSIGN_OR_RETURN(std::uint32_t r, credit_target(f, id, n, "spend"));
  MYC_ASSIGN_OR_RETURN(std::uint32_t seq, next_seq());
  kinds::credit_record(records_[r].cells, f.field, self_, seq, ValueView::boolean(false), static_cast<std::uint64_t>(n));
  record_event(r, field_scope(f.field));
  return Status::Ok();
}

Status Store::credit_transfer(FieldRef f, std::string_view id, std::int64_t n, ActorId to) {
  if (to == actors_[self_]) return InvalidArgument("a transfer of credit rights to this replica's own actor");
  if (to == 0) return InvalidArgument("a transfer of credit rights to actor 0");
  MYC_ASSIGN_OR_RETURN(std::uint32_t r, credit_target(f, id, n, "transfer"));
  MYC_ASSIGN_OR_RETURN(std::uint32_t seq, next_seq());
  kinds::credit_record(records_[r].cells, f.field, self_, seq, ValueView::integer(static_cast<std::int64_t>(to)),
                       static_cast<std::uint64_t>(n));
  record_event(r, field_scope(f.field));
  return Status::Ok();
}

bool Store::live(const Record& r, std::uint32_t record) const {
  return kinds::visible(r.cells) || (kSequenceKinds && !sequences_.empty() && sequences_.any_live(record));
}

Result<Store::SequenceTarget> Store::sequence_target(FieldRef f, std::string_view id, std::size_t index,
                                                     const char* op) const {
  MYC_TRY(check_kind(f, Kind::kList, Kind::kText, op));
  MYC_ASSIGN_OR_RETURN(std::uint32_t r, visible_record(f.collection, id));
  const Sequence* s = sequence_at(r, f.field);
  if (s == nullptr) {
    if (index > 0) return InvalidArgument("index past the end of the sequence");
    return SequenceTarget{r, 0};
  }
  if (f.kind == Kind::kList) {
    if (index > s->size()) return InvalidArgument("index past the end of the list");
    return SequenceTarget{r, index};
  }
  MYC_ASSIGN_OR_RETURN(const std::size_t element, s->index_at_unit(index));
  return SequenceTarget{r, element};
}

Status Store::insert_text(FieldRef f, std::string_view id, std::size_t index, std::string_view text) {
  if constexpr (!kind_enabled(Kind::kText)) return WrongKind("this build leaves out the text kind");
  MYC_TRY(check_kind(f, Kind::kText, Kind::kText, "inserting text"));
  if (!valid_utf8(text)) return InvalidArgument("text is not valid UTF-8");
  MYC_ASSIGN_OR_RETURN(const SequenceTarget t, sequence_target(f, id, index, "inserting text"));
  std::uint32_t n;
  std::vector<std::uint32_t> wide;
  if (!Sequence::shape(Sequence::Content::kUtf8, text, n, wide)) return InvalidArgument("text is not valid UTF-8");
  if (n == 0) return Status::Ok();
  if (n > kMaxSeq - events_[self_].size()) return LimitExceeded("actor has used all 2^32-1 seqs; open with a new actor");
  const Sequence::Id first{actors_[self_], static_cast<std::uint32_t>(events_[self_].size() + 1)};
  MYC_TRY(sequences_.insert(SequenceFields::Key{t.record, f.field}, Sequence::Content::kUtf8, t.index, first, n, wide, text)
              .status());
  events_[self_].append(t.record, field_scope(f.field), n, /*local=*/true);
  return Status::Ok();
}

Status Store::insert_values(FieldRef f, std::string_view id, std::size_t index, std::span<const ValueView> values) {
  if constexpr (!kind_enabled(Kind::kList)) return WrongKind("this build leaves out the list kind");
  MYC_TRY(check_kind(f, Kind::kList, Kind::kList, "inserting values"));
  std::string bytes;
  for (const ValueView& v : values) {
    MYC_TRY(check_value(v));
    append_list_element(bytes, v);
  }
  MYC_ASSIGN_OR_RETURN(const SequenceTarget t, sequence_target(f, id, index, "inserting values"));
  if (values.empty()) return Status::Ok();
  if (values.size() > kMaxSeq - events_[self_].size()) return LimitExceeded("actor has used all 2^32-1 seqs; open with a new actor");
  const auto n = static_cast<std::uint32_t>(values.size());
  const Sequence::Id first{actors_[self_], static_cast<std::uint32_t>(events_[self_].size() + 1)};
  MYC_TRY(sequences_.insert(SequenceFields::Key{t.record, f.field}, Sequence::Content::kValues, t.index, first, n, {}, bytes)
              .status());
  events_[self_].append(t.record, field_scope(f.field), n, /*local=*/true);
  return Status::Ok();
}

Status Store::erase_range(FieldRef f, std::string_view id, std::size_t index, std::size_t count) {
  if constexpr (!kSequenceKinds) return WrongKind("this build leaves out lists and texts");
  MYC_ASSIGN_OR_RETURN(const SequenceTarget t, sequence_target(f, id, index, "deleting a range"));
  std::size_t elements = count;
  if (f.kind == Kind::kText && count > 0) {
    const Sequence* s = sequence_at(t.record, f.field);
    if (s == nullptr || count > s->units() - index) return InvalidArgument("delete past the end of the text");
    MYC_ASSIGN_OR_RETURN(const std::size_t end, s->index_at_unit(index + count));
    elements = end - t.index;
  }
  if (elements == 0) {
    const Sequence* s = sequence_at(t.record, f.field);
    return count == 0 || (s && t.index < s->size()) ? Status::Ok() : InvalidArgument("delete past the end of the sequence");
  }
  MYC_ASSIGN_OR_RETURN(std::uint32_t seq, next_seq());
  MYC_TRY(sequences_.erase(SequenceFields::Key{t.record, f.field}, t.index, elements, Sequence::Id{actors_[self_], seq}));
  record_event(t.record, field_scope(f.field));
  return Status::Ok();
}

Status Store::set_element(FieldRef f, std::string_view id, std::size_t index, const ValueView& v) {
  if constexpr (!kind_enabled(Kind::kList)) return WrongKind("this build leaves out the list kind");
  MYC_TRY(check_kind(f, Kind::kList, Kind::kList, "setting an element of"));
  MYC_TRY(check_value(v));
  MYC_ASSIGN_OR_RETURN(const SequenceTarget t, sequence_target(f, id, index, "setting an element of"));
  const Sequence* s = sequence_at(t.record, f.field);
  if (s == nullptr || t.index >= s->size()) return InvalidArgument("index past the end of the list");
  std::string element;
  append_list_element(element, v);
  MYC_ASSIGN_OR_RETURN(std::uint32_t seq, next_seq());
  MYC_TRY(sequences_.set(SequenceFields::Key{t.record, f.field}, t.index, Sequence::Id{actors_[self_], seq},
                         hlc_.now(options_.now()), element));
  record_event(t.record, field_scope(f.field));
  return Status::Ok();
}

// --- reads -----------------------------------------------------------------

bool Store::exists(CollectionRef c, std::string_view id) const { return visible(c, id) >= 0; }

kinds::Entries Store::entries_at(std::uint32_t record) const {
  const kinds::Entries e = kinds::entries(records_[record].cells);
  if (e != kinds::Entries::kNone) return e;
  return kSequenceKinds && !sequences_.empty() && sequences_.any_live(record) ? kinds::Entries::kElements : e;
}

std::int64_t Store::visible(CollectionRef c, std::string_view id) const {
  const std::int64_t r = find_record(c.index, id);
  return r >= 0 && live(records_[static_cast<std::size_t>(r)], static_cast<std::uint32_t>(r)) ? r : -1;
}

std::vector<std::pair<std::string_view, std::uint32_t>> Store::visible_records(CollectionRef c) const {
  std::vector<std::pair<std::string_view, std::uint32_t>> out;
  for (std::uint32_t i = 0; i < records_.size(); ++i) {
    const Record& r = records_[i];
    if (r.collection == c.index && live(r, i)) out.emplace_back(ids_.get(r.id), i);
  }
  std::sort(out.begin(), out.end());  // ids are unique per collection: the index never decides
  return out;
}

ValueView Store::lww_at(std::uint32_t record, std::uint8_t field) const {
  const auto w = kinds::lww_winner(records_[record].cells, field, actors_);
  return w ? w->value(strings_) : ValueView::null();
}

void Store::list_at(std::uint32_t record, std::uint8_t field, std::vector<ValueView>& out) const {
  out.clear();
  const Sequence* s = sequence_at(record, field);
  if (s == nullptr) return;
  s->for_each_content([&](std::string_view bytes) {
    Reader r(std::span(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size()));
    std::string_view one;
    while (r.remaining() > 0 && r.bytes(one, "element")) {
      ValueView v;
      if (read_element(one, v)) out.push_back(v);  // checked when it came in
    }
  });
}

Result<std::string> Store::text(FieldRef f, std::string_view id) const {
  MYC_TRY(check_kind(f, Kind::kText, Kind::kText, "reading text"));
  MYC_ASSIGN_OR_RETURN(std::uint32_t r, visible_record(f.collection, id));
  const Sequence* s = sequence_at(r, f.field);
  return s ? s->content() : std::string();
}

Result<std::vector<Value>> Store::list(FieldRef f, std::string_view id) const {
  MYC_TRY(check_kind(f, Kind::kList, Kind::kList, "reading a list"));
  MYC_ASSIGN_OR_RETURN(std::uint32_t r, visible_record(f.collection, id));
  std::vector<ValueView> views;
  list_at(r, f.field, views);
  std::vector<Value> out;
  out.reserve(views.size());
  for (const ValueView& v : views) out.push_back(to_value(v));
  return out;
}

Result<Store::Anchor> Store::anchor(FieldRef f, std::string_view id, std::size_t index, bool before) const {
  if constexpr (!kSequenceKinds) return WrongKind("this build leaves out lists and texts");
  MYC_ASSIGN_OR_RETURN(const SequenceTarget t, sequence_target(f, id, index, "making a cursor"));
  const Sequence* s = sequence_at(t.record, f.field);
  Anchor a{std::nullopt, before};
  if (s == nullptr) return a;
  if (before) {
    if (t.index > 0) a.element = s->at(t.index - 1);
  } else if (t.index < s->size()) {
    a.element = s->at(t.index);
  }
  return a;
}

Result<std::size_t> Store::resolve(FieldRef f, std::string_view id, const Anchor& a) const {
  if constexpr (!kSequenceKinds) return WrongKind("this build leaves out lists and texts");
  MYC_TRY(check_kind(f, Kind::kList, Kind::kText, "resolving a cursor"));
  MYC_ASSIGN_OR_RETURN(std::uint32_t r, visible_record(f.collection, id));
  const Sequence* s = sequence_at(r, f.field);
  const auto units = [&](std::size_t index) { return f.kind == Kind::kText ? s->unit_at_index(index) : index; };
  if (!a.element) {
    if (a.before || s == nullptr) return std::size_t{0};
    return units(s->size());
  }
  if (s == nullptr || !s->contains(*a.element)) return NotFound("the cursor's position is not known here yet");
  const std::size_t index = s->index_of(*a.element);
  return units(a.before && !s->deleted(*a.element) ? index + 1 : index);
}

std::int64_t Store::counter_at(std::uint32_t record, std::uint8_t field) const {
  return kinds::counter_value(records_[record].cells, field);
}

std::int64_t Store::credit_at(std::uint32_t record, std::uint8_t field) const {
  const Record& r = records_[record];
  return schema_.collections()[r.collection].fields[field].min + kinds::credit_balance(r.cells, field);
}

std::int64_t Store::added_at(std::uint32_t record, std::uint8_t field) const {
  std::int64_t added = 0;  // each total and their sum at most kMaxCredit: joins check it
  for (CellRef c : records_[record].cells) {
    if (c.field() == field && c.is_credit() && c.value(strings_).tag == ValueTag::kNull) added += static_cast<std::int64_t>(c.aux());
  }
  return added;
}

std::int64_t Store::rights_at(std::uint32_t record, std::uint8_t field, ActorId actor) const {
  const std::uint32_t* a = find_actor(actor);
  // An actor this store has not interned holds only what was given to it.
  const kinds::CreditSum held = kinds::credit_rights(records_[record].cells, field, a ? static_cast<std::uint16_t>(*a) : 0xffff, actor);
  return static_cast<std::int64_t>(held);
}

std::vector<ValueView> Store::values_at(std::uint32_t record, std::uint8_t field) const {
  return kinds::distinct_values(records_[record].cells, field, strings_);
}

void Store::values_at(std::uint32_t record, std::uint8_t field, std::vector<ValueView>& out) const {
  kinds::distinct_values(records_[record].cells, field, strings_, out);
}

std::vector<std::string> Store::ids(CollectionRef c) const {
  std::vector<std::string> out;
  for (const auto& [id, record] : visible_records(c)) out.emplace_back(id);
  return out;
}

std::size_t Store::size(CollectionRef c) const {
  std::size_t n = 0;
  for (std::uint32_t i = 0; i < records_.size(); ++i) n += records_[i].collection == c.index && live(records_[i], i);
  return n;
}

Result<Value> Store::lww(FieldRef f, std::string_view id) const {
  MYC_TRY(check_kind(f, Kind::kLww, Kind::kLww, "reading a single value"));
  MYC_ASSIGN_OR_RETURN(std::uint32_t r, visible_record(f.collection, id));
  return to_value(lww_at(r, f.field));
}

Result<std::int64_t> Store::counter(FieldRef f, std::string_view id) const {
  if constexpr (!kind_enabled(Kind::kCounter)) return WrongKind("this build leaves out the counter kind");
  MYC_TRY(check_kind(f, Kind::kCounter, Kind::kCounter, "reading a counter"));
  MYC_ASSIGN_OR_RETURN(std::uint32_t r, visible_record(f.collection, id));
  return counter_at(r, f.field);
}

Result<std::int64_t> Store::credit(FieldRef f, std::string_view id) const {
  if constexpr (!kind_enabled(Kind::kCredit)) return WrongKind("this build leaves out the credit kind");
  MYC_TRY(check_kind(f, Kind::kCredit, Kind::kCredit, "reading a credit"));
  MYC_ASSIGN_OR_RETURN(std::uint32_t r, visible_record(f.collection, id));
  return credit_at(r, f.field);
}

Result<std::int64_t> Store::rights(FieldRef f, std::string_view id, ActorId actor) const {
  if constexpr (!kind_enabled(Kind::kCredit)) return WrongKind("this build leaves out the credit kind");
  MYC_TRY(check_kind(f, Kind::kCredit, Kind::kCredit, "reading credit rights of"));
  MYC_ASSIGN_OR_RETURN(std::uint32_t r, visible_record(f.collection, id));
  return rights_at(r, f.field, actor);
}

Result<std::vector<kinds::CreditEntry>> Store::credit_entries(FieldRef f, std::string_view id) const {
  if constexpr (!kind_enabled(Kind::kCredit)) return WrongKind("this build leaves out the credit kind");
  MYC_TRY(check_kind(f, Kind::kCredit, Kind::kCredit, "reading credit entries of"));
  MYC_ASSIGN_OR_RETURN(std::uint32_t r, visible_record(f.collection, id));
  std::vector<kinds::CreditEntry> out;
  for (CellRef c : records_[r].cells) {
    if (c.field() != f.field || !c.is_credit()) continue;
    const Cell x = c.decode();
    out.push_back({actors_[c.actor()], {x.value.tag(), x.value.bits(), {}}, c.aux(), c.seq()});
  }
  return out;
}

Result<std::vector<Value>> Store::values(FieldRef f, std::string_view id) const {
  if constexpr (!kind_enabled(Kind::kMvr) && !kind_enabled(Kind::kSet)) return WrongKind("this build leaves out the mvr and set kinds");
  MYC_TRY(check_kind(f, Kind::kMvr, Kind::kSet, "reading values"));
  MYC_ASSIGN_OR_RETURN(std::uint32_t r, visible_record(f.collection, id));
  std::vector<Value> out;
  for (const ValueView& v : values_at(r, f.field)) out.push_back(to_value(v));
  return out;
}

void Store::note_dropped(std::size_t bytes) {
  garbage_ += bytes;
  // A walk costs about one word of cells per two bytes freed, and never
  // runs for less than 64 KiB: a write's amortized cost stays constant.
  const std::size_t worth = std::max<std::size_t>(std::size_t{64} << 10, 2 * walk_words_);
  const std::size_t arena = strings_.arena_bytes();
  const std::size_t grown = arena > live_strings_ ? arena - live_strings_ : 0;
  if ((garbage_ >= worth && 2 * garbage_ >= arena) || (grown >= worth && grown >= live_strings_)) compact_strings();
}

void Store::strings_baseline() {
  garbage_ = 0;
  live_strings_ = strings_.arena_bytes();
  walk_words_ = 0;
  for (const Record& r : records_) walk_words_ += r.cells.words();
}

void Store::compact_strings() {
  // Live strings, found by a bitmap over the arena (a pool offset is the
  // start of a string), then listed in offset order.
  std::vector<std::uint64_t> marks((strings_.arena_bytes() + 63) / 64, 0);
  std::size_t words = 0;
  for (Record& r : records_) {
    words += r.cells.words();
    r.cells.for_each_pooled([&](std::uint64_t& offset) { marks[offset >> 6] |= std::uint64_t{1} << (offset & 63); });
  }
  std::vector<std::uint32_t> live;
  for (std::size_t w = 0; w < marks.size(); ++w) {
    for (std::uint64_t m = marks[w]; m != 0; m &= m - 1) live.push_back(static_cast<std::uint32_t>(w * 64 + std::countr_zero(m)));
  }
  std::vector<std::uint64_t>().swap(marks);  // freed before the pool moves (= {} keeps the capacity)
  std::vector<std::uint32_t> moved = live;
  strings_.compact(moved);
  for (Record& r : records_) {
    r.cells.for_each_pooled([&](std::uint64_t& offset) {
      const auto i = std::lower_bound(live.begin(), live.end(), static_cast<std::uint32_t>(offset)) - live.begin();
      offset = moved[static_cast<std::size_t>(i)];
    });
  }
  garbage_ = 0;
  live_strings_ = strings_.arena_bytes();
  walk_words_ = words;
}

Store::MemoryUse Store::memory_use() const {
  MemoryUse m{};
  m.records = records_.size() * sizeof(Record);
  for (const Record& r : records_) m.cells += r.cells.bytes_used();
  for (const auto& e : events_) m.events += e.bytes_used();
  m.ids = ids_.bytes_used();
  m.strings = strings_.bytes_used();
  m.index = index_.bytes_used() + actors_.capacity() * sizeof(ActorId);
  m.sequences = sequences_.bytes_used();
  return m;
}

}  // namespace mycelium
