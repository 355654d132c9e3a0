// The fixed stores the fuzzer works against, shared with the seed generator.
#pragma once

#include <random>

#include "store.h"

namespace mycelium::fuzz {

inline Schema schema() {
  return *Schema::create({{"items",
                           {{"title", Kind::kLww}, {"votes", Kind::kCounter}, {"tags", Kind::kSet}, {"owner", Kind::kMvr}}},
                          {"notes", {{"body", Kind::kLww}}}});
}

inline StoreOptions options(ActorId actor) {
  StoreOptions o;
  o.actor = actor;
  o.now = [] { return std::uint64_t{1'700'000'000'000}; };
  return o;
}

// Writes a varied history: every kind, deletes, long and short strings.
inline void writes(Store& s, std::uint64_t seed, int count) {
  std::mt19937_64 rng(seed);
  auto items = *s.collection("items");
  auto notes = *s.collection("notes");
  auto title = *s.field(items, "title");
  auto votes = *s.field(items, "votes");
  auto tags = *s.field(items, "tags");
  auto owner = *s.field(items, "owner");
  auto body = *s.field(notes, "body");
  for (int i = 0; i < count; ++i) {
    const std::string id = "r" + std::to_string(rng() % 5);
    if (!s.exists(items, id)) {
      (void)s.insert(items, id);
      continue;
    }
    switch (rng() % 8) {
      case 0: (void)s.set(title, id, ValueView::string(rng() % 2 ? "short" : "a longer title text")); break;
      case 1: (void)s.set(owner, id, ValueView::integer(static_cast<std::int64_t>(rng() % 3))); break;
      case 2: (void)s.increment(votes, id, static_cast<std::int64_t>(rng() % 7) - 3); break;
      case 3: (void)s.add(tags, id, ValueView::bytes(std::string(1 + rng() % 9, 'b'))); break;
      case 4: (void)s.remove(tags, id, ValueView::bytes(std::string(1 + rng() % 9, 'b'))); break;
      case 5: (void)s.set(title, id, ValueView::number(0.5)); break;
      case 6:
        if (!s.exists(notes, id)) (void)s.insert(notes, id);
        (void)s.set(body, id, ValueView::boolean(true));
        break;
      default: (void)s.remove_record(items, id); break;
    }
  }
}

// The store every input is applied to.
inline ByteVec target_snapshot() {
  auto s = std::move(Store::open(schema(), options(0x7a))).value();
  writes(*s, 1, 30);
  return s->save();
}

}  // namespace mycelium::fuzz
