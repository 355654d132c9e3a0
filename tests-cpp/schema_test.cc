#include <gtest/gtest.h>

#include "schema.h"

namespace mycelium {
namespace {

TEST(Schema, FindsCollectionsAndFields) {
  auto s = Schema::create({{"todos", {{"title", Kind::kLww}, {"votes", Kind::kCounter}}}, {"tags", {}}});
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(*s->find_collection("tags"), 1);
  EXPECT_FALSE(s->find_collection("nope"));
  EXPECT_EQ(*s->find_field(0, "votes"), 1);
  EXPECT_FALSE(s->find_field(0, "nope"));
  EXPECT_FALSE(s->find_field(7, "votes"));
}

TEST(Schema, RejectsDuplicatesEmptyNamesAndTooManyFields) {
  EXPECT_FALSE(Schema::create({{"a", {}}, {"a", {}}}).ok());
  EXPECT_FALSE(Schema::create({{"", {}}}).ok());
  EXPECT_FALSE(Schema::create({{"a", {{"x", Kind::kLww}, {"x", Kind::kSet}}}}).ok());
  std::vector<FieldSchema> many;
  for (int i = 0; i < 255; ++i) many.push_back({"f" + std::to_string(i), Kind::kLww});
  EXPECT_FALSE(Schema::create({{"a", many}}).ok());
  many.pop_back();
  EXPECT_TRUE(Schema::create({{"a", many}}).ok());
}

TEST(Schema, HashChangesWithKindsAndNames) {
  auto a = *Schema::create({{"t", {{"x", Kind::kLww}}}});
  auto b = *Schema::create({{"t", {{"x", Kind::kMvr}}}});
  auto c = *Schema::create({{"t", {{"y", Kind::kLww}}}});
  auto a2 = *Schema::create({{"t", {{"x", Kind::kLww}}}});
  EXPECT_EQ(a.hash(), a2.hash());
  EXPECT_NE(a.hash(), b.hash());
  EXPECT_NE(a.hash(), c.hash());
}

TEST(Schema, KindNames) {
  for (auto k : {Kind::kLww, Kind::kCounter, Kind::kMvr, Kind::kSet}) EXPECT_EQ(*kind_from_name(kind_name(k)), k);
  EXPECT_FALSE(kind_from_name("register").ok());
}

}  // namespace
}  // namespace mycelium
