#include "status.h"

namespace mycelium {

std::string_view code_name(Code code) {
  switch (code) {
    case Code::kOk: return "ok";
    case Code::kInvalidArgument: return "invalid_argument";
    case Code::kUnknownField: return "unknown_field";
    case Code::kWrongKind: return "wrong_kind";
    case Code::kNotFound: return "not_found";
    case Code::kAlreadyExists: return "already_exists";
    case Code::kCorrupt: return "corrupt";
    case Code::kUnsupportedVersion: return "unsupported_version";
    case Code::kSchemaMismatch: return "schema_mismatch";
    case Code::kLimitExceeded: return "limit_exceeded";
    case Code::kPendingFull: return "pending_full";
    case Code::kInsufficientCredit: return "insufficient_credit";
  }
  return "unknown";
}

void MessagePiece::set(bool negative, std::uint64_t magnitude) {
  number_ = true;
  char* p = digits_ + 21;
  do {
    *--p = static_cast<char>('0' + magnitude % 10);
    magnitude /= 10;
  } while (magnitude != 0);
  if (negative) *--p = '-';
  length_ = static_cast<std::uint8_t>(digits_ + 21 - p);
}

std::string cat(std::initializer_list<MessagePiece> pieces) {
  std::size_t n = 0;
  for (const MessagePiece& p : pieces) n += p.view().size();
  std::string out;
  out.reserve(n);
  for (const MessagePiece& p : pieces) out += p.view();
  return out;
}

std::string Status::to_string() const {
  if (ok()) return "ok";
  std::string s(code_name(code_));
  s += ": ";
  s += message_;
  return s;
}

}  // namespace mycelium
