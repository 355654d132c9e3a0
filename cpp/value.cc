#include "value.h"

#include <algorithm>
#include <cstdio>

namespace mycelium {
namespace {

// Maps IEEE-754 bits to an unsigned key whose order is totalOrder.
std::uint64_t double_key(std::uint64_t bits) {
  return (bits >> 63) ? ~bits : bits | (std::uint64_t{1} << 63);
}

}  // namespace

ValueView view_of(const Value& v) {
  switch (static_cast<ValueTag>(v.index())) {
    case ValueTag::kNull: return ValueView::null();
    case ValueTag::kBool: return ValueView::boolean(std::get<bool>(v));
    case ValueTag::kInt: return ValueView::integer(std::get<std::int64_t>(v));
    case ValueTag::kDouble: return ValueView::number(std::get<double>(v));
    case ValueTag::kString: return ValueView::string(std::get<std::string>(v));
    case ValueTag::kBytes: return ValueView::bytes(std::get<Bytes>(v).data);
  }
  return ValueView::null();
}

Value to_value(const ValueView& v) {
  switch (v.tag) {
    case ValueTag::kNull: return std::monostate{};
    case ValueTag::kBool: return v.bits != 0;
    case ValueTag::kInt: return static_cast<std::int64_t>(v.bits);
    case ValueTag::kDouble: {
      double d;
      std::memcpy(&d, &v.bits, 8);
      return d;
    }
    case ValueTag::kString: return std::string(v.str);
    case ValueTag::kBytes: return Bytes{std::string(v.str)};
  }
  return std::monostate{};
}

std::strong_ordering compare(const ValueView& a, const ValueView& b) {
  if (a.tag != b.tag) return a.tag <=> b.tag;
  switch (a.tag) {
    case ValueTag::kNull: return std::strong_ordering::equal;
    case ValueTag::kBool: return a.bits <=> b.bits;
    case ValueTag::kInt:
      return static_cast<std::int64_t>(a.bits) <=> static_cast<std::int64_t>(b.bits);
    case ValueTag::kDouble: return double_key(a.bits) <=> double_key(b.bits);
    case ValueTag::kString:
    case ValueTag::kBytes: {
      const std::size_t n = std::min(a.str.size(), b.str.size());
      const int c = n == 0 ? 0 : std::memcmp(a.str.data(), b.str.data(), n);
      if (c != 0) return c < 0 ? std::strong_ordering::less : std::strong_ordering::greater;
      return a.str.size() <=> b.str.size();
    }
  }
  return std::strong_ordering::equal;
}

namespace {
double as_double(std::uint64_t bits) {
  double d;
  std::memcpy(&d, &bits, 8);
  return d;
}

// An int64 against a double, exactly (converting either way can round).
std::weak_ordering int_vs_double(std::int64_t i, double d) {
  if (d != d) return std::weak_ordering::less;  // NaN: after every number
  if (d >= 9223372036854775808.0) return std::weak_ordering::less;
  if (d < -9223372036854775808.0) return std::weak_ordering::greater;
  const auto t = static_cast<std::int64_t>(d);  // toward zero, in range
  if (i != t) return i < t ? std::weak_ordering::less : std::weak_ordering::greater;
  const double frac = d - static_cast<double>(t);
  return frac > 0 ? std::weak_ordering::less : frac < 0 ? std::weak_ordering::greater : std::weak_ordering::equivalent;
}
}  // namespace

std::weak_ordering query_order(const ValueView& a, const ValueView& b) {
  const bool an = a.tag == ValueTag::kInt || a.tag == ValueTag::kDouble;
  const bool bn = b.tag == ValueTag::kInt || b.tag == ValueTag::kDouble;
  if (!an || !bn) return compare(a, b);  // tags rank null, bool, numbers, string, bytes
  if (a.tag == ValueTag::kInt && b.tag == ValueTag::kInt) {
    return static_cast<std::int64_t>(a.bits) <=> static_cast<std::int64_t>(b.bits);
  }
  if (a.tag == ValueTag::kInt) return int_vs_double(static_cast<std::int64_t>(a.bits), as_double(b.bits));
  if (b.tag == ValueTag::kInt) return 0 <=> int_vs_double(static_cast<std::int64_t>(b.bits), as_double(a.bits));
  const double x = as_double(a.bits);
  const double y = as_double(b.bits);
  const bool x_nan = x != x;
  const bool y_nan = y != y;
  if (x_nan || y_nan) return x_nan == y_nan ? std::weak_ordering::equivalent : x_nan ? std::weak_ordering::greater : std::weak_ordering::less;
  return x < y ? std::weak_ordering::less : x > y ? std::weak_ordering::greater : std::weak_ordering::equivalent;
}

bool valid_utf8(std::string_view s) {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  const auto* end = p + s.size();
  while (p < end) {
    if (end - p >= 8) {  // ASCII fast path, 8 bytes at a time
      std::uint64_t w;
      std::memcpy(&w, p, 8);
      if (!(w & 0x8080808080808080ull)) {
        p += 8;
        continue;
      }
    }
    const unsigned char c = *p;
    if (c < 0x80) {
      ++p;
      continue;
    }
    int n;
    std::uint32_t cp;
    if ((c & 0xe0) == 0xc0) { n = 1; cp = c & 0x1f; }
    else if ((c & 0xf0) == 0xe0) { n = 2; cp = c & 0x0f; }
    else if ((c & 0xf8) == 0xf0) { n = 3; cp = c & 0x07; }
    else return false;
    if (end - p <= n) return false;
    for (int i = 1; i <= n; ++i) {
      if ((p[i] & 0xc0) != 0x80) return false;
      cp = (cp << 6) | (p[i] & 0x3f);
    }
    // Overlong forms, surrogates and code points past U+10FFFF.
    if ((n == 1 && cp < 0x80) || (n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) ||
        (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff) {
      return false;
    }
    p += n + 1;
  }
  return true;
}

std::string to_string(const Value& v) {
  switch (static_cast<ValueTag>(v.index())) {
    case ValueTag::kNull: return "null";
    case ValueTag::kBool: return std::get<bool>(v) ? "true" : "false";
    case ValueTag::kInt: return std::to_string(std::get<std::int64_t>(v));
    case ValueTag::kDouble: {
      char buf[32];
      std::snprintf(buf, sizeof buf, "%.17g", std::get<double>(v));
      return buf;
    }
    case ValueTag::kString: return "\"" + std::get<std::string>(v) + "\"";
    case ValueTag::kBytes: {
      std::string s = "b\"";
      for (unsigned char c : std::get<Bytes>(v).data) {
        char buf[5];
        std::snprintf(buf, sizeof buf, "\\x%02x", c);
        s += buf;
      }
      return s + "\"";
    }
  }
  return "?";
}

Result<StoredValue> store_value(const ValueView& v, StringPool& pool) {
  StoredValue s;
  s.vtag = static_cast<std::uint8_t>(v.tag);
  if (v.tag != ValueTag::kString && v.tag != ValueTag::kBytes) {
    s.set_bits(v.tag == ValueTag::kBool ? (v.bits != 0) : v.bits);
    return s;
  }
  if (v.str.size() <= kMaxInline) {
    s.vtag |= static_cast<std::uint8_t>(8 | (v.str.size() << 4));
    if (!v.str.empty()) std::memcpy(s.payload, v.str.data(), v.str.size());
    return s;
  }
  MYC_ASSIGN_OR_RETURN(std::uint32_t offset, pool.intern(v.str));
  s.set_bits(offset);
  return s;
}

ValueView load_value(const char* payload, std::uint8_t vtag, const StringPool& pool) {
  ValueView v;
  v.tag = static_cast<ValueTag>(vtag & 7);
  std::uint64_t bits;
  std::memcpy(&bits, payload, 8);
  if (v.tag != ValueTag::kString && v.tag != ValueTag::kBytes) {
    v.bits = bits;
  } else if (vtag & 8) {
    v.str = std::string_view(payload, (vtag >> 4) & 7);
  } else {
    v.str = pool.get(static_cast<std::uint32_t>(bits));
  }
  return v;
}

void append_element(std::string& out, const ValueView& v) {
  out.push_back(static_cast<char>(v.tag));
  switch (v.tag) {
    case ValueTag::kNull: break;
    case ValueTag::kBool: out.push_back(v.bits != 0 ? 1 : 0); break;
    case ValueTag::kInt:
    case ValueTag::kDouble:
      for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>(v.bits >> (8 * i)));
      break;
    case ValueTag::kString:
    case ValueTag::kBytes: out.append(v.str); break;
  }
}

void append_list_element(std::string& out, const ValueView& v) {
  std::size_t n = 1;
  if (v.tag == ValueTag::kBool) n += 1;
  if (v.tag == ValueTag::kInt || v.tag == ValueTag::kDouble) n += 8;
  if (v.tag == ValueTag::kString || v.tag == ValueTag::kBytes) n += v.str.size();
  for (; n >= 0x80; n >>= 7) out.push_back(static_cast<char>(0x80 | (n & 0x7f)));
  out.push_back(static_cast<char>(n));
  append_element(out, v);
}

bool read_element(std::string_view bytes, ValueView& out) {
  if (bytes.empty() || static_cast<std::uint8_t>(bytes[0]) >= kValueTagCount) return false;
  out = ValueView{static_cast<ValueTag>(bytes[0]), 0, {}};
  const std::string_view rest = bytes.substr(1);
  switch (out.tag) {
    case ValueTag::kNull: return rest.empty();
    case ValueTag::kBool:
      out.bits = rest.size() == 1 ? static_cast<std::uint8_t>(rest[0]) : 2;
      return out.bits <= 1;
    case ValueTag::kInt:
    case ValueTag::kDouble:
      if (rest.size() != 8) return false;
      for (int i = 0; i < 8; ++i) out.bits |= std::uint64_t{static_cast<std::uint8_t>(rest[i])} << (8 * i);
      return true;
    case ValueTag::kString:
    case ValueTag::kBytes:
      out.str = rest;
      return out.tag == ValueTag::kBytes || valid_utf8(rest);
  }
  return false;
}

}  // namespace mycelium
