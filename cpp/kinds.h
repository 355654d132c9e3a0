// The cell kinds (lww, counter, mvr, set, credit) and record presence/delete,
// as reads and local mutations over a record's cells (dot_store.h). Each
// mutation is one event: the caller passes the fresh dot in the new cell.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "clock.h"
#include "dot_store.h"
#include "schema.h"
#include "string_pool.h"
#include "value.h"

namespace mycelium::kinds {

// A record is visible while any entry (a field value or a presence) is live;
// credit entries count while their field reads above its min
// (docs/credit.md, Record deletes).
bool visible(const CellList& cells);

// A record's entries other than credit, by what removes them: kFixed when
// one only a record delete removes (a presence, lww, mvr or counter entry),
// kElements when the live ones are set elements only (a set remove may take
// the last), kNone when none is live.
enum class Entries : std::uint8_t { kNone, kElements, kFixed };
Entries entries(const CellList& cells);

// lww: the entry with the greatest (HLC, actor id); nullopt when none.
std::optional<CellRef> lww_winner(const CellList& cells, std::uint8_t field, std::span<const ActorId> actors);
// counter: sum over actors of (running total - offset seen by deletes).
std::int64_t counter_value(const CellList& cells, std::uint8_t field);
// mvr and set: the distinct values of the field's entries, sorted. The views
// stay valid until the cells change.
std::vector<ValueView> distinct_values(const CellList& cells, std::uint8_t field, const StringPool& pool);
// The same into `out` (cleared first): a reader of many records reuses one vector.
void distinct_values(const CellList& cells, std::uint8_t field, const StringPool& pool, std::vector<ValueView>& out);
// set: whether the element has a live add.
bool contains(const CellList& cells, std::uint8_t field, const ValueView& element, const StringPool& pool);

// The mutations return the bytes of pooled strings their dropped entries
// referred to (CellList::erase_if).
// lww, mvr, presence: the new entry replaces every entry of its field.
std::size_t assign(CellList& cells, const Cell& fresh, const StringPool& pool);
// counter: the actor's entry moves to the fresh dot with total + n.
void increment(CellList& cells, std::uint8_t field, std::uint16_t actor, std::uint32_t seq, std::int64_t n);
// set add: the new entry replaces the entries of the same element.
std::size_t set_add(CellList& cells, const Cell& fresh, const StringPool& pool);
// set remove: drops every entry of the element.
std::size_t set_remove(CellList& cells, std::uint8_t field, const ValueView& element, const StringPool& pool);
// record delete: records counter offsets, then drops every entry but
// credit ones (rights belong to their holders: docs/credit.md).
std::size_t delete_record(CellList& cells, const StringPool& pool);

// credit (docs/credit.md). One cell per (actor, component): `component` is
// null (added), false (spent) or the integer id of the actor given to.
// 128-bit sums of credit totals (a GCC and Clang extension, which
// WebAssembly builds lower to pairs of 64-bit operations).
__extension__ typedef __int128 CreditSum;
struct CreditEntry {
  ActorId actor = 0;
  ValueView component;
  std::uint64_t total = 0;
  std::uint32_t seq = 0;
};
// Added minus spent (the value less the field's min).
std::int64_t credit_balance(const CellList& cells, std::uint8_t field);
// The rights `actor` (its index here, and its id) holds: added + received -
// given - spent. 128 bits: no number of cells overflows it.
CreditSum credit_rights(const CellList& cells, std::uint8_t field, std::uint16_t actor, ActorId id);
// The total this store's `actor` has of one component (0 when none).
std::uint64_t credit_total(const CellList& cells, std::uint8_t field, std::uint16_t actor, const ValueView& component);
// One add, spend or transfer: the actor's cell of the component moves to
// the fresh dot with total + n (the caller checked rights and bounds).
void credit_record(CellList& cells, std::uint8_t field, std::uint16_t actor, std::uint32_t seq,
                   const ValueView& component, std::uint64_t n);
// Whether a field's entries (one per (actor, component)) hold the invariant:
// every actor's rights >= 0 and the added total <= kMaxCredit.
bool credit_holds(std::vector<CreditEntry>& entries);

}  // namespace mycelium::kinds
