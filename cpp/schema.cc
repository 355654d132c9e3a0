#include "schema.h"

#include <algorithm>


#include "string_pool.h"

namespace mycelium {

std::string_view kind_name(Kind kind) {
  switch (kind) {
    case Kind::kLww: return "lww";
    case Kind::kCounter: return "counter";
    case Kind::kMvr: return "mvr";
    case Kind::kSet: return "set";
    case Kind::kList: return "list";
    case Kind::kText: return "text";
    case Kind::kCredit: return "credit";
  }
  return "?";
}

Result<Kind> kind_from_name(std::string_view name) {
  for (int k = 0; k < kKindCount; ++k) {
    if (kind_name(static_cast<Kind>(k)) == name) return static_cast<Kind>(k);
  }
  return InvalidArgument(cat({"unknown field kind '", name, "' (expected lww, counter, mvr, set, list, text or credit)"}));
}

namespace {
Status check_name(std::string_view what, std::string_view name) {
  if (name.empty() || name.size() > kMaxIdBytes) {
    return InvalidArgument(cat({what, " name must be 1 to 256 bytes"}));
  }
  return Status::Ok();
}
}  // namespace

Result<Schema> Schema::create(std::vector<CollectionSchema> collections) {
  if (collections.size() > kMaxCollections) return InvalidArgument("too many collections");
  // Duplicates sit next to each other once sorted (no hash table in the download).
  auto first_duplicate = [](std::vector<std::string_view> names) -> std::string_view {
    std::sort(names.begin(), names.end());
    auto it = std::adjacent_find(names.begin(), names.end());
    return it == names.end() ? std::string_view() : *it;
  };
  std::vector<std::string_view> names;
  for (const auto& c : collections) names.push_back(c.name);
  if (auto dup = first_duplicate(std::move(names)); !dup.empty()) {
    return InvalidArgument(cat({"duplicate collection '", dup, "'"}));
  }
  std::string canonical;
  for (const auto& c : collections) {
    MYC_TRY(check_name("collection", c.name));
    if (c.fields.size() > kMaxFields - 1) {
      return InvalidArgument(cat({"collection '", c.name, "' has more than 254 fields"}));
    }
    std::vector<std::string_view> fields;
    for (const auto& f : c.fields) fields.push_back(f.name);
    if (auto dup = first_duplicate(std::move(fields)); !dup.empty()) {
      return InvalidArgument(cat({"duplicate field '", dup, "' in '", c.name, "'"}));
    }
    canonical += c.name;
    canonical += '\0';
    for (const auto& f : c.fields) {
      MYC_TRY(check_name("field", f.name));
      if (static_cast<int>(f.kind) >= kKindCount) return InvalidArgument("bad field kind");
      if (!kind_enabled(f.kind)) {
        return InvalidArgument(cat({"field '", f.name, "' is a ", kind_name(f.kind), ", a kind this build leaves out"}));
      }
      canonical += f.name;
      canonical += '\0';
      canonical += kind_name(f.kind);
      if (f.kind == Kind::kCredit) {
        if (f.min < -kMaxCredit || f.min > kMaxCredit) {
          return InvalidArgument(cat({"credit field '", f.name, "': min must be a safe integer"}));
        }
        canonical += ':';
        canonical += std::to_string(f.min);
      }
      canonical += '\1';
    }
    canonical += '\2';
  }
  Schema s;
  s.collections_ = std::move(collections);
  s.declared_ = s.collections_.size();
  for (auto& c : s.collections_) c.declared = c.fields.size();
  s.hash_ = hash_bytes(canonical);
  s.order_collections();
  for (std::size_t c = 0; c < s.collections_.size(); ++c) s.order_fields(static_cast<std::uint16_t>(c));
  return s;
}

Result<std::uint16_t> Schema::add_collection(std::string_view name) {
  if (collections_.size() - declared_ >= kMaxUndeclaredCollections || collections_.size() >= kMaxCollections) {
    return LimitExceeded(cat({"a store takes at most ", kMaxUndeclaredCollections, " collections it does not declare from peers"}));
  }
  MYC_TRY(check_name("collection", name));
  collections_.push_back({std::string(name), {}, 0});
  field_order_.emplace_back();
  order_collections();
  return static_cast<std::uint16_t>(collections_.size() - 1);
}

Result<std::uint8_t> Schema::add_field(std::uint16_t collection, std::string_view name, Kind kind) {
  auto& fields = collections_[collection].fields;
  if (fields.size() >= kMaxFields - 1) {
    return LimitExceeded(cat({"collection '", collections_[collection].name, "' would have more than 254 fields, undeclared ones included"}));
  }
  MYC_TRY(check_name("field", name));
  if (!kind_enabled(kind)) {
    return SchemaMismatch(cat({"field '", name, "' of '", collections_[collection].name, "' is a ", kind_name(kind), ", a kind this build leaves out"}));
  }
  fields.push_back({std::string(name), kind});
  order_fields(collection);
  return static_cast<std::uint8_t>(fields.size() - 1);
}

// Undeclared names sorted as (name, index) pairs of views: a sort this file
// already instantiates for duplicate names, not a comparator of its own.
void Schema::order_collections() {
  collection_order_.clear();
  for (std::size_t c = 0; c < declared_; ++c) collection_order_.push_back(static_cast<std::uint16_t>(c));
  std::vector<std::string_view> names;
  for (std::size_t c = declared_; c < collections_.size(); ++c) names.push_back(collections_[c].name);
  std::sort(names.begin(), names.end());
  for (auto n : names) collection_order_.push_back(*find_collection(n));
}

void Schema::order_fields(std::uint16_t collection) {
  const auto& c = collections_[collection];
  if (field_order_.size() <= collection) field_order_.resize(collection + 1u);
  auto& order = field_order_[collection];
  order.clear();
  for (std::size_t f = 0; f < c.declared; ++f) order.push_back(static_cast<std::uint8_t>(f));
  std::vector<std::string_view> names;
  for (std::size_t f = c.declared; f < c.fields.size(); ++f) names.push_back(c.fields[f].name);
  std::sort(names.begin(), names.end());
  for (auto n : names) order.push_back(*find_field(collection, n));
}

bool Schema::in_order(std::uint16_t collection) const {
  const auto& order = field_order_[collection];
  for (std::size_t i = 0; i < order.size(); ++i) {
    if (order[i] != i) return false;
  }
  return true;
}

std::optional<std::uint16_t> Schema::find_collection(std::string_view name) const {
  for (std::size_t i = 0; i < collections_.size(); ++i) {
    if (collections_[i].name == name) return static_cast<std::uint16_t>(i);
  }
  return std::nullopt;
}

std::optional<std::uint8_t> Schema::find_field(std::uint16_t collection,
                                               std::string_view name) const {
  if (collection >= collections_.size()) return std::nullopt;
  const auto& fields = collections_[collection].fields;
  for (std::size_t i = 0; i < fields.size(); ++i) {
    if (fields[i].name == name) return static_cast<std::uint8_t>(i);
  }
  return std::nullopt;
}

}  // namespace mycelium
