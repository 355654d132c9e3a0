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
  }
  return "?";
}

Result<Kind> kind_from_name(std::string_view name) {
  for (int k = 0; k < kKindCount; ++k) {
    if (kind_name(static_cast<Kind>(k)) == name) return static_cast<Kind>(k);
  }
  return InvalidArgument(cat({"unknown field kind '", name, "' (expected lww, counter, mvr or set)"}));
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
      canonical += '\1';
    }
    canonical += '\2';
  }
  Schema s;
  s.collections_ = std::move(collections);
  s.hash_ = hash_bytes(canonical);
  return s;
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
