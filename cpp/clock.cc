#include "clock.h"

#include <algorithm>
#include <random>

namespace mycelium {

ActorId random_actor() {
  std::random_device rd;  // crypto.getRandomValues under Emscripten
  ActorId id = 0;
  while (id == 0) id = (ActorId{rd()} << 32) ^ ActorId{rd()};
  return id;
}

std::string actor_to_hex(ActorId actor) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string s(16, '0');
  for (int i = 15; i >= 0; --i) {
    s[static_cast<size_t>(i)] = kDigits[actor & 0xf];
    actor >>= 4;
  }
  return s;
}

Result<ActorId> actor_from_hex(std::string_view hex) {
  if (hex.size() != 16) return InvalidArgument("actor must be 16 lowercase hex digits");
  ActorId id = 0;
  for (char c : hex) {
    int d;
    if (c >= '0' && c <= '9') d = c - '0';
    else if (c >= 'a' && c <= 'f') d = c - 'a' + 10;
    else return InvalidArgument("actor must be 16 lowercase hex digits");
    id = (id << 4) | static_cast<ActorId>(d);
  }
  if (id == 0) return InvalidArgument("actor must not be zero");
  return id;
}

std::uint64_t HybridClock::now(std::uint64_t wall_millis) {
  const std::uint64_t wall = std::min(wall_millis, kMaxMillis);
  if (wall > millis(last_)) {
    last_ = pack(wall, 0);
  } else if (last_ != UINT64_MAX) {
    ++last_;  // counter overflow carries into the milliseconds
  }
  return last_;
}

VersionVector VersionVector::from_entries(std::vector<Entry> entries) {
  std::sort(entries.begin(), entries.end());
  VersionVector vv;
  for (const auto& [actor, seq] : entries) {
    if (seq == 0) continue;
    if (!vv.entries_.empty() && vv.entries_.back().first == actor) {
      vv.entries_.back().second = std::max(vv.entries_.back().second, seq);
    } else {
      vv.entries_.emplace_back(actor, seq);
    }
  }
  return vv;
}

std::uint64_t VersionVector::get(ActorId actor) const {
  auto it = std::lower_bound(entries_.begin(), entries_.end(), actor,
                             [](const Entry& e, ActorId a) { return e.first < a; });
  return it != entries_.end() && it->first == actor ? it->second : 0;
}

void VersionVector::raise(ActorId actor, std::uint64_t seq) {
  if (seq == 0) return;
  auto it = std::lower_bound(entries_.begin(), entries_.end(), actor,
                             [](const Entry& e, ActorId a) { return e.first < a; });
  if (it != entries_.end() && it->first == actor) {
    it->second = std::max(it->second, seq);
  } else {
    entries_.insert(it, Entry{actor, seq});
  }
}

bool VersionVector::covers(const VersionVector& other) const {
  for (const auto& [actor, seq] : other.entries_) {
    if (get(actor) < seq) return false;
  }
  return true;
}

void VersionVector::merge(const VersionVector& other) {
  for (const auto& [actor, seq] : other.entries_) raise(actor, seq);
}

std::uint64_t VersionVector::total() const {
  std::uint64_t n = 0;
  for (const auto& e : entries_) n += e.second;
  return n;
}

std::string to_string(const VersionVector& vv) {
  std::string s = "{";
  for (const auto& [actor, seq] : vv.entries()) {
    if (s.size() > 1) s += ", ";
    s += actor_to_hex(actor);
    s += ':';
    s += std::to_string(seq);
  }
  s += '}';
  return s;
}

}  // namespace mycelium
