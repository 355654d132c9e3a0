// Values: null | bool | int64 | float64 | string (UTF-8) | bytes.
//
// Total order: type tag first (null < bool < int < double < string < bytes),
// then value; doubles by IEEE-754 totalOrder (so NaN and -0 have a place),
// strings and bytes bytewise.
//
// Three forms:
//   Value       owned, for API results (std::variant; index() is the tag)
//   ValueView   non-owning, for API input and decoding (no allocation)
//   StoredValue 9 bytes inside a store cell: strings of <= 7 bytes inline,
//               longer ones interned in the store's StringPool.
#pragma once

#include <compare>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <variant>

#include "status.h"
#include "string_pool.h"

namespace mycelium {

enum class ValueTag : std::uint8_t { kNull = 0, kBool, kInt, kDouble, kString, kBytes };
inline constexpr int kValueTagCount = 6;

struct Bytes {
  std::string data;
  friend bool operator==(const Bytes&, const Bytes&) = default;
};

using Value = std::variant<std::monostate, bool, std::int64_t, double, std::string, Bytes>;

struct ValueView {
  ValueTag tag = ValueTag::kNull;
  std::uint64_t bits = 0;  // bool 0/1, int64 two's complement, double bit pattern
  std::string_view str;    // string and bytes

  static ValueView null() { return {}; }
  static ValueView boolean(bool b) { return {ValueTag::kBool, b ? 1u : 0u, {}}; }
  static ValueView integer(std::int64_t i) { return {ValueTag::kInt, static_cast<std::uint64_t>(i), {}}; }
  static ValueView number(double d) {
    std::uint64_t b;
    std::memcpy(&b, &d, 8);
    return {ValueTag::kDouble, b, {}};
  }
  static ValueView string(std::string_view s) { return {ValueTag::kString, 0, s}; }
  static ValueView bytes(std::string_view s) { return {ValueTag::kBytes, 0, s}; }
};

ValueView view_of(const Value& v);
Value to_value(const ValueView& v);
std::strong_ordering compare(const ValueView& a, const ValueView& b);
inline std::strong_ordering compare(const Value& a, const Value& b) {
  return compare(view_of(a), view_of(b));
}
inline bool equal(const ValueView& a, const ValueView& b) { return compare(a, b) == 0; }
// The order of live queries (js/value-order.ts, compareValues; docs/queries.md):
// null < booleans < numbers < strings < bytes, where integers and doubles are
// one kind compared by value, exactly (an int64 against a double too), -0
// equals 0 and NaN comes after every other number.
std::weak_ordering query_order(const ValueView& a, const ValueView& b);
bool valid_utf8(std::string_view s);
// A value as one list element's bytes (docs/sequences.md): its tag, then
// bool 1 byte, int and double 8 bytes little-endian, string and bytes their
// bytes (to the end); null nothing. One encoding per value.
void append_element(std::string& out, const ValueView& v);
// The same behind its byte count (a varint): one element of a list's
// content, as a list's runs and sets hold it.
void append_list_element(std::string& out, const ValueView& v);
// The value of an element's bytes (views into `bytes`), or false when they
// are not one value so encoded (a string must be valid UTF-8).
bool read_element(std::string_view bytes, ValueView& out);
// Human-readable: null, true, 42, 1.5, "text", b"\x00\xff".
std::string to_string(const Value& v);

// Compact form inside a cell (9 bytes). vtag: bits 0-2 the ValueTag, bit 3
// set when a string/bytes is inline, bits 4-6 its inline length (0..7); bit 7
// is always clear (cells use it). payload: the scalar bits, the inline bytes
// or the pool offset.
struct StoredValue {
  char payload[8] = {};
  std::uint8_t vtag = 0;

  ValueTag tag() const { return static_cast<ValueTag>(vtag & 7); }
  std::uint64_t bits() const {
    std::uint64_t b;
    std::memcpy(&b, payload, 8);
    return b;
  }
  void set_bits(std::uint64_t b) { std::memcpy(payload, &b, 8); }
};

inline constexpr std::size_t kMaxInline = 7;

// Strings longer than 7 bytes are interned into pool.
Result<StoredValue> store_value(const ValueView& v, StringPool& pool);
// The view of an inline string points into `payload` (8 bytes), which must
// outlive it.
ValueView load_value(const char* payload, std::uint8_t vtag, const StringPool& pool);
inline ValueView load_value(const StoredValue& s, const StringPool& pool) {
  return load_value(s.payload, s.vtag, pool);
}

}  // namespace mycelium
