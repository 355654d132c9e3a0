// Store: one replica. Collections with declared schemas hold records by
// string id; every write is one event with a fresh dot; deltas move state
// between replicas (DESIGN.md, Delta-state CRDT).
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <tuple>
#include <utility>
#include <vector>

#include "clock.h"
#include "codec.h"
#include "delta.h"
#include "dot_store.h"
#include "event_log.h"
#include "kinds.h"
#include "id_index.h"
#include "schema.h"
#include "sequence_fields.h"
#include "status.h"
#include "string_pool.h"
#include "value.h"

namespace mycelium {

struct CollectionRef {
  std::uint16_t index = 0;
};

struct FieldRef {
  std::uint16_t collection = 0;
  std::uint8_t field = 0;
  Kind kind = Kind::kLww;
};

enum class ApplyOutcome : std::uint8_t {
  kApplied,         // joined
  kPending,         // held until the deltas it depends on arrive
  kAlreadyCovered,  // the store has every event of the delta; nothing to do
};

// What apply() accepts from where the bytes came from. A peer's delta is
// checked against what only this replica can know (its own actor's seqs) and
// may introduce only so many actors; bytes this replica wrote itself (its
// storage, a tab of the same origin holding the same actor pool) are trusted.
struct ApplyLimits {
  bool from_peer = true;  // refuse events of this replica's actor beyond its own seq
  std::size_t max_new_actors = 1024;  // actors one delta may add to the store; 0: no limit
  // A signed batch (docs/identity.md, Provenance): when `author` is set, the
  // delta's events must be exactly that actor's seqs first..last (its base
  // and context differ in that actor only, and there by that range), so the
  // signature of one author vouches for every event the delta adds.
  struct Author {
    ActorId actor = 0;
    std::uint64_t first = 0, last = 0;
  };
  std::optional<Author> author;
  static ApplyLimits trusted() { return {false, 0, {}}; }
};

struct StoreOptions {
  ActorId actor = 0;                       // 0: a fresh random actor
  std::function<std::uint64_t()> now;      // wall clock in ms; default: system clock
  std::size_t max_pending = 1024;          // held deltas before apply() refuses more
  std::size_t max_pending_bytes = 64u << 20;  // and their bytes
  // Deltas of more cells are joined without holding them all decoded
  // (delta.h, kStreamCellsAbove); tests set 0 to stream every delta.
  std::size_t stream_cells_above = kStreamCellsAbove;
};

class Store {
 public:
  static Result<std::unique_ptr<Store>> open(Schema schema, StoreOptions options = {});
  // A store restored from a snapshot (save()), with a new or given actor.
  // Checks after the join that the store holds what the snapshot holds.
  static Result<std::unique_ptr<Store>> load(Schema schema, std::span<const std::uint8_t> snapshot,
                                             StoreOptions options = {});

  const Schema& schema() const { return schema_; }
  ActorId actor() const { return actors_[self_]; }

  Result<CollectionRef> collection(std::string_view name) const;
  Result<FieldRef> field(CollectionRef collection, std::string_view name) const;
  Result<FieldRef> field(std::string_view collection, std::string_view name) const;

  // Writes. Each is one event. Errors leave the store unchanged.
  Status insert(CollectionRef c, std::string_view id);  // makes the record visible
  Status set(FieldRef f, std::string_view id, const ValueView& v);   // lww, mvr
  Status increment(FieldRef f, std::string_view id, std::int64_t n);  // counter
  Status add(FieldRef f, std::string_view id, const ValueView& v);   // set
  Status remove(FieldRef f, std::string_view id, const ValueView& v);  // set
  Status remove_record(CollectionRef c, std::string_view id);
  // credit (docs/credit.md); n is 1 to kMaxCredit. add: this actor holds
  // the rights for it (invalid_argument past the field's bounds). spend,
  // and transfer to another actor, need n rights held by this replica's
  // actor, else insufficient_credit.
  Status credit_add(FieldRef f, std::string_view id, std::int64_t n);
  Status credit_spend(FieldRef f, std::string_view id, std::int64_t n);
  Status credit_transfer(FieldRef f, std::string_view id, std::int64_t n, ActorId to);
  // Lists and texts (docs/sequences.md). A text's indexes and counts are
  // UTF-16 code units (invalid_argument past the end or inside a surrogate
  // pair), a list's count values. Each inserted element is one event; a
  // delete is one. Inserting nothing or deleting nothing is no event.
  Status insert_text(FieldRef f, std::string_view id, std::size_t index, std::string_view text);
  Status insert_values(FieldRef f, std::string_view id, std::size_t index, std::span<const ValueView> values);
  Status erase_range(FieldRef f, std::string_view id, std::size_t index, std::size_t count);
  // A list's value at `index` (< its size) becomes v: one event, its winning
  // set (concurrent sets: the greatest (HLC, actor); a delete wins).
  Status set_element(FieldRef f, std::string_view id, std::size_t index, const ValueView& v);

  // Reads.
  bool exists(CollectionRef c, std::string_view id) const;
  // LimitExceeded unless this store can take `writes` more local events,
  // `records` new records with `id_bytes` of ids and `string_bytes` of new
  // string values (what a write batch checks before its first op runs).
  // Corrupt unless this store holds as many records, cells and events as
  // snapshot `d` (what load() checks once it has joined `d`).
  Status holds_as_loaded(const DeltaData& d) const;
  Status check_room(std::size_t writes, std::size_t records, std::size_t id_bytes, std::size_t string_bytes) const;
  // The errors of a write that needs a record it does not find, or inserts
  // one that exists (the store's own and a write batch's check say the same).
  Status not_found(std::uint16_t collection, std::string_view id) const;
  static Status already_exists(std::string_view id);
  std::vector<std::string> ids(CollectionRef c) const;  // visible ids, sorted bytewise
  std::size_t size(CollectionRef c) const;              // visible records
  Result<Value> lww(FieldRef f, std::string_view id) const;  // null when unset
  Result<std::int64_t> counter(FieldRef f, std::string_view id) const;
  Result<std::int64_t> credit(FieldRef f, std::string_view id) const;  // min + added - spent
  // The rights `actor` holds as this replica sees them.
  Result<std::int64_t> rights(FieldRef f, std::string_view id, ActorId actor) const;
  // Every entry of a credit field (actor, component, total; seq unused).
  Result<std::vector<kinds::CreditEntry>> credit_entries(FieldRef f, std::string_view id) const;
  Result<std::vector<Value>> values(FieldRef f, std::string_view id) const;  // mvr, set
  Result<std::string> text(FieldRef f, std::string_view id) const;
  Result<std::vector<Value>> list(FieldRef f, std::string_view id) const;
  // Stable positions in a list or text (docs/sequences.md): the element at
  // `index` (a text's UTF-16 units), or with `before` the element before
  // it; none for the end (the start with `before`). Element ids are the
  // same on every replica, so an anchor made here resolves anywhere.
  struct Anchor {
    std::optional<Sequence::Id> element;
    bool before = false;
  };
  Result<Anchor> anchor(FieldRef f, std::string_view id, std::size_t index, bool before) const;
  // Where an anchor is now: the index before its element (after it with
  // `before`); a deleted element's anchor is where the element was.
  // not_found when the record is not visible or the element is not known
  // here (its insert has not arrived).
  Result<std::size_t> resolve(FieldRef f, std::string_view id, const Anchor& a) const;

  // Reads by record index, for hosts that read whole records (no lookup per
  // field, no copies): views into the store, valid until the next write or
  // apply. Fields are declared ones of the record's collection.
  std::int64_t visible(CollectionRef c, std::string_view id) const;  // the record, -1 when not visible
  // The record by that id, visible or not; -1 when the store has none.
  std::int64_t record_of(CollectionRef c, std::string_view id) const { return find_record(c.index, id); }
  bool visible_at(std::uint32_t record) const { return live(records_[record], record); }
  // What keeps a record visible besides credit (kinds::entries): kFixed
  // when only a record delete can hide it, kElements when removing set
  // elements or list and text items may, kNone when only credit does.
  kinds::Entries entries_at(std::uint32_t record) const;
  // The visible records of `c` as (id, record), sorted by id bytewise.
  std::vector<std::pair<std::string_view, std::uint32_t>> visible_records(CollectionRef c) const;
  ValueView lww_at(std::uint32_t record, std::uint8_t field) const;  // null when unset
  std::int64_t counter_at(std::uint32_t record, std::uint8_t field) const;
  std::int64_t credit_at(std::uint32_t record, std::uint8_t field) const;  // min + added - spent
  std::int64_t rights_at(std::uint32_t record, std::uint8_t field, ActorId actor) const;
  std::int64_t added_at(std::uint32_t record, std::uint8_t field) const;  // every actor's adds
  std::vector<ValueView> values_at(std::uint32_t record, std::uint8_t field) const;  // mvr, set
  void values_at(std::uint32_t record, std::uint8_t field, std::vector<ValueView>& out) const;  // into out
  // A list or text field's elements; null while it has none.
  const Sequence* sequence_at(std::uint32_t record, std::uint8_t field) const {
    return sequences_.find(SequenceFields::Key{record, field});
  }
  // A list's values (views into the store) into out.
  void list_at(std::uint32_t record, std::uint8_t field, std::vector<ValueView>& out) const;

  // Sync.
  VersionVector version() const;
  // detached: without its context (delta.h), for a sync message that carries it.
  ByteVec delta_since(const VersionVector& vv, bool detached = false) const;
  // Validates fully, then joins (or holds the delta until its base is
  // covered). On error the store is byte-identical to before.
  // A peer's delta claiming events of this store's actor beyond its own seq
  // is corrupt; one adding more than limits.max_new_actors actors (counting
  // a held delta's when it is joined) is limit_exceeded.
  // A detached delta needs `context`, the version it was sent with.
  Result<ApplyOutcome> apply(std::span<const std::uint8_t> bytes, const ApplyLimits& limits = {},
                             const VersionVector* context = nullptr);
  std::size_t pending_count() const { return pending_.size(); }
  // Errors of held deltas that failed when their turn came (and were dropped).
  std::vector<Status> take_dropped_errors() { return std::exchange(dropped_, {}); }
  ByteVec save() const;
  // delta_since() and save() for a host, which sends and stores them: corrupt
  // instead of bytes when the delta built is not in canonical record order,
  // which a correct runtime never computes (issue 16: WebKit's JIT once did).
  // An O(records) check, so that no replica is handed bytes no replica loads.
  Result<ByteVec> checked_delta_since(const VersionVector& vv, bool detached) const;
  Result<ByteVec> checked_save() const;

  // What apply() changed, for subscriptions. While capture is on, every
  // record a join touched is listed with the fields whose dot store changed
  // (kPresenceField among them when the record's presence changed).
  struct Change {
    std::uint16_t collection;
    std::string_view id;  // valid until the next write or apply
    std::vector<std::uint8_t> fields;  // increasing
  };
  void capture_changes(bool on) {
    capture_ = on;
    changes_.clear();
    splices_.clear();
  }
  std::vector<Change> take_changes();
  // What apply() changed in the live elements of list and text fields, in
  // order, while capture is on (Sequence::Splice; a list's inserted content
  // is its elements' bytes, docs/sequences.md).
  struct SequenceChange {
    std::uint16_t collection;
    std::string_view id;  // valid until the next write or apply
    std::uint8_t field;
    std::vector<Sequence::Splice> splices;
  };
  std::vector<SequenceChange> take_sequence_changes();

  // Heap bytes held by the store's containers (capacity, not size), by part.
  struct MemoryUse {
    std::size_t records, cells, events, ids, strings, index, sequences;
    std::size_t total() const { return records + cells + events + ids + strings + index + sequences; }
  };
  MemoryUse memory_use() const;
  // Frees the string pool's garbage now (normally done when it passes a
  // threshold, note_dropped()).
  void compact_strings();

 private:
  // A held delta keeps its bytes and its two vectors, not its decoded
  // tables (those cost up to decode_budget() each): it is decoded again when
  // its turn comes.
  struct Pending {
    ByteVec bytes;
    std::vector<std::pair<ActorId, std::uint64_t>> base, context;
  };

  Store(Schema schema, StoreOptions options);

  // Index of an actor, interning it; -1 when the store holds 65,535 actors.
  std::int32_t intern_actor(ActorId a);
  std::int64_t find_record(std::uint16_t collection, std::string_view id) const;
  Result<std::uint32_t> visible_record(std::uint16_t collection, std::string_view id) const;
  std::uint32_t create_record(std::uint16_t collection, std::string_view id);  // find or add
  // Must be new; index=false leaves it to the caller to index it.
  std::uint32_t add_record(std::uint16_t collection, std::string_view id, bool index);
  std::pair<std::uint16_t, std::string_view> record_key(std::uint32_t record) const;
  Result<std::uint32_t> next_seq() const;
  // Whether a record is visible: a live cell, or a live list or text element.
  bool live(const Record& r, std::uint32_t record) const;
  // The record, its field's sequence key and the element index of a
  // text's UTF-16 `index` (a list's index as is) for a sequence write.
  struct SequenceTarget {
    std::uint32_t record;
    std::size_t index;
  };
  Result<SequenceTarget> sequence_target(FieldRef f, std::string_view id, std::size_t index, const char* op) const;
  void record_event(std::uint32_t record, KeyScope scope);
  Status check_kind(FieldRef f, Kind a, Kind b, const char* op) const;
  Status check_field(FieldRef f) const;
  // A spend or transfer of n by this actor: the record, once n is in range
  // and held.
  Result<std::uint32_t> credit_target(FieldRef f, std::string_view id, std::int64_t n, const char* op) const;

  // Deltas are planned (everything but cells), then encoded a piece of
  // records at a time (DeltaEncoder). check: set to the canonical-order
  // check's result (nothing is encoded when it fails); null: not checked.
  struct DeltaPlan;
  DeltaPlan plan_delta(const VersionVector& vv) const;
  KeyFilter plan_filter(const DeltaPlan& p, std::uint32_t i) const;
  template <typename Fn>
  void plan_cells(const DeltaPlan& p, std::uint32_t i, Fn&& fn) const;  // fn(CellRef) for the cells head record i carries
  void plan_piece(const DeltaPlan& p, std::uint32_t first, std::uint32_t end, DeltaData& piece) const;
  // The list and text entries of head record i (whose keys `mask` names),
  // marking their fields used and their actors named.
  void plan_sequences(DeltaPlan& p, std::uint32_t i, KeyScope mask, std::vector<bool>& used) const;
  ByteVec encode_delta_since(const VersionVector& vv, PayloadKind kind, bool detached, Status* check) const;
  // Checks the delta against this store's schema and limits; returns the
  // local collection/field mapping. Does not change the store.
  struct Mapping {
    std::vector<std::int32_t> collection;                 // delta -> local, -1 unknown
    std::vector<std::vector<std::int16_t>> field;         // delta -> local, -1 unknown
  };
  Result<Mapping> map_schema(const DeltaData& d) const;
  // Adds what map_schema() left at -1 to the schema, undeclared.
  Status extend_schema(const DeltaData& d, Mapping& m);
  bool covers(const std::vector<std::pair<ActorId, std::uint64_t>>& vv) const;
  // The limits a peer's delta must meet before anything of it is kept.
  Status check_limits(const DeltaData& d, const ApplyLimits& limits) const;
  static Status check_author(const DeltaData& d, const ApplyLimits::Author& author);
  Status join(const DeltaData& d, Mapping& m);
  // corrupt when joining `d` would leave some actor of a credit field with
  // negative rights or the field's added total past kMaxCredit
  // (docs/credit.md); taken(record, cell): whether the join takes the cell.
  template <typename Taken>
  Status check_credit(const DeltaData& d, const Mapping& m, const Taken& taken) const;
  Status drain_pending();

  // The string pool's garbage (issue 17): the pool does not count
  // references; the store counts the bytes of pooled strings its writes and
  // joins dropped (an upper bound: another cell may share one) and the pool's
  // growth, and when either passes what the pool held live at the last
  // compaction, walks every cell for the live strings and compacts.
  void note_dropped(std::size_t bytes);
  void strings_baseline();
  std::size_t garbage_ = 0;       // dropped pooled bytes since the last compaction
  std::size_t live_strings_ = 0;  // the pool's bytes after it
  std::size_t walk_words_ = 0;    // cell words the last walk visited

  Schema schema_;
  StoreOptions options_;
  HybridClock hlc_;
  std::uint16_t self_ = 0;
  std::vector<ActorId> actors_;
  // (actor, index) sorted by actor: a handful of entries per store.
  std::vector<std::pair<ActorId, std::uint32_t>> actor_index_;
  const std::uint32_t* find_actor(ActorId a) const;
  std::vector<EventLog> events_;  // per actor: the key each seq touched
  static constexpr std::size_t kMaxActors = 65535;
  std::deque<Record> records_;  // blocks, not one array: no doubling, no moves
  StringPool ids_;      // appended, not interned: the IdIndex finds duplicates
  StringPool strings_;  // interned values
  IdIndex index_;
  SequenceFields sequences_;
  std::vector<Pending> pending_;
  std::vector<Status> dropped_;
  bool capture_ = false;
  // Captured splices: (record, field, splices) in the order joined.
  std::vector<std::tuple<std::uint32_t, std::uint8_t, std::vector<Sequence::Splice>>> splices_;
  std::vector<std::pair<std::uint32_t, std::vector<std::uint8_t>>> changes_;  // (record, fields)
};

}  // namespace mycelium
