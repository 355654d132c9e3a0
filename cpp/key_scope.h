// KeyScope: which keys of one record an event touched (DESIGN.md, Keys and
// events), packed into 32 bits so the event index stays a few bytes per run.
//
// A key is (record, field) for lww, mvr and counter (and the record's
// presence), and (record, field, element) for set. A scope is either
//   a field mask   bit 31 clear: bit f for field f < 30, bit 30 for the
//                  presence; kWholeRecord (all 31 bits) for a record delete,
//                  and for any field >= 30 (a wider scope than touched is
//                  safe: a delta then carries more complete keys than it must)
//   one element    bit 31 set: field in bits 0-7, bits 8-30 a 23-bit hash of
//                  the element (element_hash). Elements whose hashes collide
//                  travel together, each complete: again only more bytes.
// Consecutive events of one actor on one record merge into one event-log run
// whose scope is the union when both are masks (an insert with its fields
// takes one run), and only when equal otherwise.
#pragma once

#include <algorithm>
#include <bit>
#include <cstdint>
#include <vector>

#include "value.h"

namespace mycelium {

using KeyScope = std::uint32_t;

inline constexpr KeyScope kElementScopeBit = 0x80000000u;
inline constexpr KeyScope kPresenceScopeBit = 0x40000000u;
inline constexpr KeyScope kWholeRecord = 0x7fffffffu;
inline constexpr unsigned kMaskedFields = 30;
inline constexpr std::uint8_t kScopePresenceField = 255;  // delta.h kPresenceField

// 23 bits of CRC32C over the element's tag and bytes (the value's canonical
// encoding): the same on every platform and build.
std::uint32_t element_hash(const ValueView& v);

inline KeyScope field_scope(std::uint8_t field) {
  if (field == kScopePresenceField) return kPresenceScopeBit;
  return field < kMaskedFields ? KeyScope{1} << field : kWholeRecord;
}
inline KeyScope element_scope(std::uint8_t field, const ValueView& element) {
  return kElementScopeBit | (element_hash(element) << 8) | field;
}
inline bool is_element_scope(KeyScope s) { return (s & kElementScopeBit) != 0; }
// The merged scope of two consecutive local events on one record that no
// delta has read apart, or 0 when they must stay separate runs. Field masks
// unite. An element joins a mask that holds the presence (the record was
// inserted in this batch, so its set held nothing older) as its whole field:
// an insert with its fields and elements stays one run.
inline KeyScope merge_scopes(KeyScope a, KeyScope b) {
  if (a == b) return a;
  if (is_element_scope(a)) return 0;
  if (is_element_scope(b)) return (a & kPresenceScopeBit) ? a | field_scope(static_cast<std::uint8_t>(b & 0xff)) : 0;
  return a | b;
}
// The scope with its field indexes renumbered: map(field) gives the new
// index, or -1 to leave the field out. 0 when nothing is left.
template <typename Map>
KeyScope map_fields(KeyScope s, const Map& map) {
  if (is_element_scope(s)) {
    const int f = map(s & 0xff);
    return f < 0 ? 0 : (s & ~KeyScope{0xff}) | static_cast<KeyScope>(f);
  }
  if (s == kWholeRecord) return s;
  KeyScope out = s & kPresenceScopeBit;
  // Only the set bits: an event's scope names one or two fields, and this
  // runs once per event run of a delta.
  for (KeyScope bits = s & ((KeyScope{1} << kMaskedFields) - 1); bits != 0; bits &= bits - 1) {
    const int g = map(static_cast<unsigned>(std::countr_zero(bits)));
    if (g >= 0) out |= field_scope(static_cast<std::uint8_t>(g));
  }
  return out;
}

// Whether a scope read from input is one this encoding can produce.
inline bool valid_scope(KeyScope s) { return s != 0 && (!is_element_scope(s) || (s & 0xff) != kScopePresenceField); }

// The keys of one record that a delta's events touched: the union of their
// scopes. Elements are kept sorted, so a cell is placed in O(log n).
class ScopeUnion {
 public:
  void add(KeyScope s) {
    if (is_element_scope(s)) elements_.push_back(s);
    else mask_ |= s;
  }
  // Call once after the last add().
  void seal() {
    if (whole()) {
      elements_.clear();
      return;
    }
    std::sort(elements_.begin(), elements_.end());
    elements_.erase(std::unique(elements_.begin(), elements_.end()), elements_.end());
  }
  void clear() {
    mask_ = 0;
    elements_.clear();
  }
  bool whole() const { return mask_ == kWholeRecord; }
  bool empty() const { return mask_ == 0 && elements_.empty(); }
  // Every key of a field (not one element of it) is in the union.
  bool has_field(std::uint8_t field) const { return (mask_ & field_scope(field)) == field_scope(field); }
  // Whether the key of a cell is in the union: `element` is the cell's value
  // when the cell is a set element, else null (then only its field counts).
  bool has(std::uint8_t field, const ValueView* element) const {
    if (has_field(field)) return true;
    if (element == nullptr || elements_.empty()) return false;
    return std::binary_search(elements_.begin(), elements_.end(), element_scope(field, *element));
  }

 private:
  KeyScope mask_ = 0;
  std::vector<KeyScope> elements_;
};

}  // namespace mycelium
