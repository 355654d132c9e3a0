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
  }
  return "unknown";
}

std::string Status::to_string() const {
  if (ok()) return "ok";
  std::string s(code_name(code_));
  s += ": ";
  s += message_;
  return s;
}

}  // namespace mycelium
