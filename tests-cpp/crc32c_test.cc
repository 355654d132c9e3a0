#include <gtest/gtest.h>

#include <string>

#include "crc32c.h"

namespace mycelium {
namespace {

std::uint32_t crc(const std::string& s) {
  return crc32c(reinterpret_cast<const std::uint8_t*>(s.data()), s.size());
}

// Check values from RFC 3720 (iSCSI), appendix B.4, and the common "123456789".
TEST(Crc32c, KnownVectors) {
  EXPECT_EQ(crc("123456789"), 0xe3069283u);
  EXPECT_EQ(crc(std::string(32, '\0')), 0x8a9136aau);
  EXPECT_EQ(crc(std::string(32, '\xff')), 0x62a8ab43u);
  std::string inc;
  for (int i = 0; i < 32; ++i) inc += static_cast<char>(i);
  EXPECT_EQ(crc(inc), 0x46dd794eu);
  EXPECT_EQ(crc(""), 0u);
}

TEST(Crc32c, HardwareAndTableAgree) {
  std::string s;
  for (int i = 0; i < 1000; ++i) {
    s += static_cast<char>(i * 37);
    const auto* p = reinterpret_cast<const std::uint8_t*>(s.data());
    ASSERT_EQ(crc32c(p, s.size(), 7), crc32c_table(p, s.size(), 7)) << s.size();
  }
}

TEST(Crc32c, IncrementalEqualsWhole) {
  const std::string s = "the quick brown fox jumps over the lazy dog, twice over";
  for (std::size_t cut = 0; cut <= s.size(); ++cut) {
    const auto* p = reinterpret_cast<const std::uint8_t*>(s.data());
    EXPECT_EQ(crc32c(p + cut, s.size() - cut, crc32c(p, cut)), crc(s));
  }
}

}  // namespace
}  // namespace mycelium
