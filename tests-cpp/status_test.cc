#include <gtest/gtest.h>

#include "status.h"

namespace mycelium {
namespace {

Result<int> half(int x) {
  if (x % 2) return InvalidArgument("odd");
  return x / 2;
}

Result<int> quarter(int x) {
  MYC_ASSIGN_OR_RETURN(int h, half(x));
  return half(h);
}

Status check(int x) {
  MYC_TRY(quarter(x).status());
  return Status::Ok();
}

TEST(Status, OkByDefaultAndNamesItsCode) {
  EXPECT_TRUE(Status().ok());
  Status s = Corrupt("bad checksum");
  EXPECT_FALSE(s.ok());
  EXPECT_EQ(s.code(), Code::kCorrupt);
  EXPECT_EQ(s.to_string(), "corrupt: bad checksum");
  EXPECT_EQ(code_name(Code::kWrongKind), "wrong_kind");
  EXPECT_EQ(code_name(Code::kSchemaMismatch), "schema_mismatch");
}

TEST(Status, ResultPropagatesTheFirstError) {
  EXPECT_EQ(*quarter(8), 2);
  auto r = quarter(6);  // 6/2 = 3, odd
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(), "odd");
  EXPECT_TRUE(check(4).ok());
  EXPECT_EQ(check(2).code(), Code::kInvalidArgument);
}

}  // namespace
}  // namespace mycelium
