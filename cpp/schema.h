// Schema: collections with declared fields, each of one CRDT kind.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "status.h"

namespace mycelium {

enum class Kind : std::uint8_t { kLww = 0, kCounter = 1, kMvr = 2, kSet = 3 };
inline constexpr int kKindCount = 4;

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
constexpr bool kind_enabled(Kind kind) {
  switch (kind) {
    case Kind::kLww: return true;
    case Kind::kCounter: return MYC_KIND_COUNTER;
    case Kind::kMvr: return MYC_KIND_MVR;
    case Kind::kSet: return MYC_KIND_SET;
  }
  return false;
}

std::string_view kind_name(Kind kind);
Result<Kind> kind_from_name(std::string_view name);

struct FieldSchema {
  std::string name;
  Kind kind = Kind::kLww;
};

struct CollectionSchema {
  std::string name;
  std::vector<FieldSchema> fields;
};

// Field index 255 is reserved for a record's presence marker (see dot_store.h).
inline constexpr std::size_t kMaxFields = 255;
inline constexpr std::size_t kMaxCollections = 65535;
inline constexpr std::size_t kMaxIdBytes = 256;

class Schema {
 public:
  Schema() = default;
  // Names must be non-empty, at most 256 bytes and unique within their scope.
  static Result<Schema> create(std::vector<CollectionSchema> collections);

  const std::vector<CollectionSchema>& collections() const { return collections_; }
  std::optional<std::uint16_t> find_collection(std::string_view name) const;
  std::optional<std::uint8_t> find_field(std::uint16_t collection, std::string_view name) const;
  // 64-bit hash of the canonical description (names, kinds, order); peers
  // compare it before syncing.
  std::uint64_t hash() const { return hash_; }

 private:
  std::vector<CollectionSchema> collections_;
  std::uint64_t hash_ = 0;
};

}  // namespace mycelium
