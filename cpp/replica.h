// Replica: the store behind a byte-level interface, for a host language (the
// WebAssembly bindings; native tools). Every call takes one input buffer and
// leaves its result in one output buffer, so a batch of writes or a delta
// crosses the boundary once, never one call per operation.
//
// Values (input and output):  tag:u8 then
//   0 null | 1 false | 2 true | 3 int (zigzag varint) | 4 double (fixed64)
//   | 5 string (varint length, UTF-8) | 6 bytes (varint length, bytes)
// Schema:   varint collections; each: name, varint fields; each: name, kind:u8
//           (names are varint length + UTF-8; kinds as schema.h), a credit's
//           kind then its min (zigzag)
// Open:     schema, actor:fixed64 (0 = random), varint snapshot length, snapshot
// Writes:   now:varint (ms), then ops until the end, each
//             1 insert  coll:varint id
//             2 set     coll:varint field:u8 id value      (lww, mvr)
//             3 incr    coll:varint field:u8 id zigzag     (counter)
//             4 add     coll:varint field:u8 id value      (set)
//             5 remove  coll:varint field:u8 id value      (set)
//             6 delete  coll:varint id
//             7 splice  coll:varint field:u8 id index:varint then a text's
//                       string (varint length, UTF-8) or a list's varint
//                       count, values                    (text, list: insert)
//             8 erase   coll:varint field:u8 id index:varint count:varint
//             9 set_at  coll:varint field:u8 id index:varint value  (list)
//            10 add     coll:varint field:u8 id n:zigzag       (credit)
//            11 spend   coll:varint field:u8 id n:zigzag       (credit)
//            12 give    coll:varint field:u8 id n:zigzag actor:fixed64
//                       (credit: transfer n rights to the actor)
//           Text indexes and counts are UTF-16 code units (docs/sequences.md).
//           All or nothing: the whole batch is checked (ops, fields, kinds,
//           values, the records each op needs as the ops before it leave
//           them, and the room) before any op runs; then no op fails.
// Record:   per field in schema order: lww value | counter, credit zigzag |
//           mvr/set/list varint count, values | text varint length, UTF-8
// Cursor:   u8 0 (the end, or the start when it sticks before) | 1 then
//           actor:fixed64 seq:varint (an element's id)
// Version:  varint count, then (actor:fixed64, seq:varint), actors increasing
// Changes:  varint count, then (coll:varint, id, varint n, field:u8 × n),
//           field 255 meaning the record's presence; then varint count of
//           list and text changes, each (coll:varint, id, field:u8, varint
//           n, n × splice: index:varint deleted:varint then a text's
//           inserted string or a list's varint count, values), in the order
//           they were made, each against the field as the ones before it
//           left it (a text's index and deleted in UTF-16 units)
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>

#include "codec.h"
#include "status.h"
#include "store.h"

namespace mycelium {

class Replica {
 public:
  static Result<std::unique_ptr<Replica>> open(std::span<const std::uint8_t> input);

  Status write(std::span<const std::uint8_t> batch);
  // Output: u8 0 (no such visible record) or 1 then the record.
  Status get(std::uint16_t collection, std::string_view id, ByteVec& out) const;
  // Output: varint count, then (id, record) for every visible record, ids sorted.
  Status all(std::uint16_t collection, ByteVec& out) const;
  // A secondary index's first build (docs/queries.md, Indexes): every visible
  // record's id and the value of one lww or counter field, as the record
  // encodes it, sorted by the value in query order (value.h), then by id
  // bytewise. Output: varint count, then (id, value) pairs.
  Status sorted(std::uint16_t collection, std::uint8_t field, ByteVec& out) const;
  Result<std::size_t> count(std::uint16_t collection) const;
  // The credit rights an actor holds as this replica sees them
  // (docs/credit.md). Input: coll:varint field:u8 id actor:fixed64 (0: this
  // replica's). -1 with the error when the record or field is not one.
  Result<std::int64_t> rights(std::span<const std::uint8_t> input) const;
  // A credit field's entries, for attribution (docs/credit.md). Input:
  // coll:varint field:u8 id. Output: varint count, then per entry actor:fixed64,
  // component:u8 (0 added, 1 spent, 2 given, then the actor given to:
  // fixed64), total:varint. not_found when the record is not visible.
  Status credit_entries(std::span<const std::uint8_t> input, ByteVec& out) const;
  void version(ByteVec& out) const;
  // Input: a version, then optionally flags:u8 (1: a detached delta, delta.h).
  Status delta_since(std::span<const std::uint8_t> input, ByteVec& out) const;
  // context: empty, or the version a detached delta was sent with.
  // `author`, when not empty, makes the delta a signed batch (store.h,
  // ApplyLimits::Author): actor:fixed64 first:varint last:varint.
  Result<ApplyOutcome> apply(std::span<const std::uint8_t> bytes, const ApplyLimits& limits = {},
                             std::span<const std::uint8_t> context = {}, std::span<const std::uint8_t> author = {});
  // Stable positions (Store::anchor, Store::resolve). Input: coll:varint
  // field:u8 id flags:u8 (1: before) then index:varint. Output: u8 0 (none:
  // the end, the start with before) or 1 then actor:fixed64 seq:varint.
  Status cursor(std::span<const std::uint8_t> input, ByteVec& out) const;
  // Input: coll:varint field:u8 id flags:u8 then what cursor() output; the
  // index now (a text's UTF-16 units).
  Result<std::size_t> resolve(std::span<const std::uint8_t> input) const;
  void changes(ByteVec& out);  // what the last apply changed (capture must be on)
  void capture_changes(bool on) { store_->capture_changes(on); }
  // Output: varint count, then (code:u8, message) per dropped pending delta.
  void dropped(ByteVec& out);
  Result<ByteVec> save() const { return store_->checked_save(); }
  const Store& store() const { return *store_; }

 private:
  explicit Replica(std::unique_ptr<Store> s) : store_(std::move(s)) {}
  std::unique_ptr<Store> store_;
  std::uint64_t now_ = 0;  // the clock of the batch being written
  mutable std::vector<ValueView> values_;  // reused by reads of mvr and set fields
};

}  // namespace mycelium
