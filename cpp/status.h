// Status and Result<T>: error handling without exceptions.
//
// A Status is a code plus a message that says what was wrong. It is cheap to
// pass when ok() (no allocation). Result<T> holds either a T or a non-ok
// Status. MYC_TRY / MYC_ASSIGN_OR_RETURN propagate errors.
#pragma once

#include <concepts>
#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <variant>

namespace mycelium {

enum class Code : unsigned char {
  kOk = 0,
  kInvalidArgument,  // bad value, bad id, unsupported value type
  kUnknownField,     // field or collection not in the schema
  kWrongKind,        // operation does not fit the field's kind
  kNotFound,         // record does not exist
  kAlreadyExists,    // insert of an id that is visible
  kCorrupt,          // malformed bytes: truncated, bad checksum, bad index
  kUnsupportedVersion,
  kSchemaMismatch,   // delta/snapshot written for another schema
  kLimitExceeded,    // a bounded resource is full (ids, seqs, actors, decode budget)
  kPendingFull,      // the queue of held deltas is full: the delta was not kept
  kInsufficientCredit,  // a spend or transfer of more credit rights than this replica holds
};
// The codes' numbers cross the WebAssembly boundary (bindings return -code)
// and js/errors.ts maps them by number; js/tests/errors.test.ts reads this
// enum and code_name() and checks that the two agree.

// Stable lowercase name of a code; the TypeScript layer uses the same names.
std::string_view code_name(Code code);

class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(Code code, std::string message) : code_(code), message_(std::move(message)) {}

  static Status Ok() { return Status(); }
  bool ok() const { return code_ == Code::kOk; }
  bool IsCorrupt() const { return code_ == Code::kCorrupt; }
  bool IsPendingFull() const { return code_ == Code::kPendingFull; }
  Code code() const { return code_; }
  const std::string& message() const { return message_; }
  // "corrupt: <message>"
  std::string to_string() const;

 private:
  Code code_ = Code::kOk;
  std::string message_;
};

inline Status InvalidArgument(std::string m) { return {Code::kInvalidArgument, std::move(m)}; }
inline Status UnknownField(std::string m) { return {Code::kUnknownField, std::move(m)}; }
inline Status WrongKind(std::string m) { return {Code::kWrongKind, std::move(m)}; }
inline Status NotFound(std::string m) { return {Code::kNotFound, std::move(m)}; }
inline Status AlreadyExists(std::string m) { return {Code::kAlreadyExists, std::move(m)}; }
inline Status Corrupt(std::string m) { return {Code::kCorrupt, std::move(m)}; }
inline Status UnsupportedVersion(std::string m) { return {Code::kUnsupportedVersion, std::move(m)}; }
inline Status SchemaMismatch(std::string m) { return {Code::kSchemaMismatch, std::move(m)}; }
inline Status LimitExceeded(std::string m) { return {Code::kLimitExceeded, std::move(m)}; }
inline Status PendingFull(std::string m) { return {Code::kPendingFull, std::move(m)}; }
inline Status InsufficientCredit(std::string m) { return {Code::kInsufficientCredit, std::move(m)}; }

// One piece of an error message: text, or an integer written in decimal.
class MessagePiece {
 public:
  MessagePiece(std::string_view text) : text_(text) {}  // NOLINT: implicit by design
  MessagePiece(const std::string& text) : text_(text) {}  // NOLINT
  MessagePiece(const char* text) : text_(text) {}  // NOLINT
  template <std::integral T>
  MessagePiece(T n) {  // NOLINT
    if constexpr (std::is_signed_v<T>) {
      set(n < 0, n < 0 ? 0 - static_cast<std::uint64_t>(n) : static_cast<std::uint64_t>(n));
    } else {
      set(false, n);
    }
  }
  std::string_view view() const { return number_ ? std::string_view(digits_ + 21 - length_, length_) : text_; }

 private:
  void set(bool negative, std::uint64_t magnitude);
  std::string_view text_;
  bool number_ = false;
  std::uint8_t length_ = 0;
  char digits_[21];
};

// An error message from pieces: Corrupt(cat({"unknown payload kind ", kind})).
// One out-of-line call where a chain of std::string operator+ would put its
// temporaries at every error site.
std::string cat(std::initializer_list<MessagePiece> pieces);

template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}  // NOLINT: implicit by design
  Result(Status status) : v_(std::move(status)) {}  // NOLINT: must not be ok

  bool ok() const { return v_.index() == 0; }
  const Status& status() const {
    static const Status kOk;
    return ok() ? kOk : std::get<1>(v_);
  }
  T& value() & { return std::get<0>(v_); }
  const T& value() const& { return std::get<0>(v_); }
  T&& value() && { return std::get<0>(std::move(v_)); }
  T* operator->() { return &std::get<0>(v_); }
  const T* operator->() const { return &std::get<0>(v_); }
  T& operator*() & { return std::get<0>(v_); }
  const T& operator*() const& { return std::get<0>(v_); }

 private:
  std::variant<T, Status> v_;
};

}  // namespace mycelium

#define MYC_CONCAT_INNER(a, b) a##b
#define MYC_CONCAT(a, b) MYC_CONCAT_INNER(a, b)

#define MYC_TRY(expr)                          \
  do {                                         \
    ::mycelium::Status _myc_st = (expr);       \
    if (!_myc_st.ok()) return _myc_st;         \
  } while (0)

#define MYC_ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr) \
  auto tmp = (expr);                              \
  if (!tmp.ok()) return tmp.status();             \
  lhs = std::move(tmp).value()

#define MYC_ASSIGN_OR_RETURN(lhs, expr) \
  MYC_ASSIGN_OR_RETURN_IMPL(MYC_CONCAT(_myc_r_, __LINE__), lhs, expr)
