// Schema: collections with declared fields, each of one CRDT kind.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "status.h"

namespace mycelium {

// list and text are sequences (docs/sequences.md): their elements live in
// the store's SequenceFields, not in cells. credit is a bounded counter
// (docs/credit.md).
enum class Kind : std::uint8_t { kLww = 0, kCounter = 1, kMvr = 2, kSet = 3, kList = 4, kText = 5, kCredit = 6 };
inline constexpr int kKindCount = 7;
inline constexpr bool is_sequence(Kind k) { return k == Kind::kList || k == Kind::kText; }

// Builds may leave optional kinds out (CMake MYC_KIND_*; lww is always in).
#ifndef MYC_KIND_COUNTER
#define MYC_KIND_COUNTER 1
#endif
#ifndef MYC_KIND_MVR
#define MYC_KIND_MVR 1
#endif
#ifndef MYC_KIND_SET
#define MYC_KIND_SET 1
#endif
#ifndef MYC_KIND_LIST
#define MYC_KIND_LIST 1
#endif
#ifndef MYC_KIND_TEXT
#define MYC_KIND_TEXT 1
#endif
#ifndef MYC_KIND_CREDIT
#define MYC_KIND_CREDIT 1
#endif
constexpr bool kind_enabled(Kind kind) {
  switch (kind) {
    case Kind::kLww: return true;
    case Kind::kCounter: return MYC_KIND_COUNTER;
    case Kind::kMvr: return MYC_KIND_MVR;
    case Kind::kSet: return MYC_KIND_SET;
    case Kind::kList: return MYC_KIND_LIST;
    case Kind::kText: return MYC_KIND_TEXT;
    case Kind::kCredit: return MYC_KIND_CREDIT;
  }
  return false;
}
// Whether the build holds a sequence kind: without one, the sequence code
// (sequence*.cc) is never called, and the linker leaves it out.
inline constexpr bool kSequenceKinds = MYC_KIND_LIST || MYC_KIND_TEXT;

std::string_view kind_name(Kind kind);
Result<Kind> kind_from_name(std::string_view name);

// A credit's amounts, totals and |min| stay within JavaScript's safe
// integers (docs/credit.md, Bounds).
inline constexpr std::int64_t kMaxCredit = (std::int64_t{1} << 53) - 1;

struct FieldSchema {
  std::string name;
  Kind kind = Kind::kLww;
  std::int64_t min = 0;  // credit: the value with nothing added
};

struct CollectionSchema {
  std::string name;
  std::vector<FieldSchema> fields;
  // Fields [0, declared) are the app's; the rest came in peers' deltas (see
  // Schema::add_field). Schema::create sets it.
  std::size_t declared = 0;
};

// Field index 255 is reserved for a record's presence marker (see dot_store.h).
inline constexpr std::size_t kMaxFields = 255;
inline constexpr std::size_t kMaxCollections = 65535;
inline constexpr std::size_t kMaxIdBytes = 256;
// Undeclared collections a store takes from peers (each costs a lookup in
// every join, so a hostile peer must not add thousands).
inline constexpr std::size_t kMaxUndeclaredCollections = 256;

// The app's declared collections and fields, then the undeclared ones that
// peers' deltas brought (a newer or older version of the app declares them):
// a store keeps, persists and relays their entries but never shows them or
// lets the app write them. Deltas and snapshots name fields and collections
// in canonical order: declared ones as declared, then undeclared ones by
// name, whatever order they arrived in.
class Schema {
 public:
  Schema() = default;
  // Names must be non-empty, at most 256 bytes and unique within their scope.
  static Result<Schema> create(std::vector<CollectionSchema> collections);

  // Every collection, declared or not.
  const std::vector<CollectionSchema>& collections() const { return collections_; }
  std::size_t declared_collections() const { return declared_; }
  bool declared(std::uint16_t collection) const { return collection < declared_; }
  bool declared(std::uint16_t collection, std::uint8_t field) const {
    return collection < declared_ && field < collections_[collection].declared;
  }
  std::optional<std::uint16_t> find_collection(std::string_view name) const;
  std::optional<std::uint8_t> find_field(std::uint16_t collection, std::string_view name) const;
  // An undeclared collection or field a delta names: limit_exceeded beyond
  // kMaxUndeclaredCollections or 254 fields, schema_mismatch for a kind this
  // build leaves out.
  Result<std::uint16_t> add_collection(std::string_view name);
  Result<std::uint8_t> add_field(std::uint16_t collection, std::string_view name, Kind kind);
  // Canonical order: collection indexes, and each collection's field
  // indexes, declared first, then undeclared by name. in_order(c) is true
  // when c's fields are in canonical order as they are numbered.
  const std::vector<std::uint16_t>& collection_order() const { return collection_order_; }
  const std::vector<std::uint8_t>& field_order(std::uint16_t collection) const { return field_order_[collection]; }
  bool in_order(std::uint16_t collection) const;
  // 64-bit hash of the canonical description of the declared schema (names,
  // kinds, order).
  std::uint64_t hash() const { return hash_; }

 private:
  void order_collections();
  void order_fields(std::uint16_t collection);

  std::vector<CollectionSchema> collections_;
  std::size_t declared_ = 0;
  std::vector<std::uint16_t> collection_order_;
  std::vector<std::vector<std::uint8_t>> field_order_;
  std::uint64_t hash_ = 0;
};

}  // namespace mycelium
