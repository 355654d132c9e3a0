// The test schema and random writes for property tests and the fuzzer:
// varied states with every kind, deletes, long and short strings. No
// GoogleTest here, so the libFuzzer target can use it too.
#pragma once

#include <random>
#include <string>

#include "store.h"

namespace mycelium::testing {

// items: title lww, votes counter, tags set, owner mvr; notes: body lww.
inline Schema test_schema() {
  return *Schema::create({
      {"items",
       {{"title", Kind::kLww}, {"votes", Kind::kCounter}, {"tags", Kind::kSet}, {"owner", Kind::kMvr}}},
      {"notes", {{"body", Kind::kLww}}},
  });
}

inline void random_writes(Store& s, std::mt19937_64& rng, int count, int records = 6) {
  auto items = *s.collection("items");
  auto notes = *s.collection("notes");
  auto title = *s.field(items, "title");
  auto votes = *s.field(items, "votes");
  auto tags = *s.field(items, "tags");
  auto owner = *s.field(items, "owner");
  auto body = *s.field(notes, "body");
  for (int i = 0; i < count; ++i) {
    const std::string id = "rec-" + std::to_string(rng() % static_cast<unsigned>(records));
    const std::string text = std::string(rng() % 2 ? "x" : "a much longer text ") + std::to_string(rng() % 5);
    if (rng() % 8 == 0) {
      if (!s.exists(notes, id)) (void)s.insert(notes, id);
      (void)s.set(body, id, ValueView::string(text));
      continue;
    }
    if (!s.exists(items, id)) {
      (void)s.insert(items, id);
      continue;
    }
    switch (rng() % 7) {
      case 0: (void)s.set(title, id, ValueView::string(text)); break;
      case 1: (void)s.set(owner, id, ValueView::integer(static_cast<std::int64_t>(rng() % 4))); break;
      case 2: (void)s.increment(votes, id, static_cast<std::int64_t>(rng() % 9) - 3); break;
      case 3: (void)s.add(tags, id, ValueView::string(std::string(1, static_cast<char>('a' + rng() % 4)))); break;
      case 4: (void)s.remove(tags, id, ValueView::string(std::string(1, static_cast<char>('a' + rng() % 4)))); break;
      case 5: (void)s.set(title, id, ValueView::number(static_cast<double>(rng() % 100) / 7)); break;
      default: (void)s.remove_record(items, id); break;
    }
  }
}

}  // namespace mycelium::testing
