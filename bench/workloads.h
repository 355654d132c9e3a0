// The benchmark workloads, shared by the native bench and (later) the
// WebAssembly and browser benches so every engine runs the same thing.
#pragma once

#include <memory>
#include <random>
#include <string>

#include "store.h"

namespace mycelium::bench {

inline Schema people_schema() {
  return *Schema::create({{"people",
                           {{"name", Kind::kLww},
                            {"email", Kind::kLww},
                            {"age", Kind::kLww},
                            {"visits", Kind::kCounter},
                            {"tags", Kind::kSet}}}});
}

inline std::unique_ptr<Store> open_people(ActorId actor) {
  StoreOptions o;
  o.actor = actor;
  return std::move(Store::open(people_schema(), o)).value();
}

inline std::string record_id(int i) {
  std::string id = "p";  // not "p" + to_string(i): GCC 12 warns falsely (-Wrestrict) on that at -O3
  id += std::to_string(i);
  return id;
}

// merge_10k: 1,000 records inserted, then 10,000 ops: 70 % lww sets, 20 %
// counter increments, 10 % set adds, over those records.
inline void mixed_ops(Store& s, std::uint64_t seed, bool insert) {
  std::mt19937_64 rng(seed);
  auto people = *s.collection("people");
  auto name = *s.field(people, "name");
  auto age = *s.field(people, "age");
  auto visits = *s.field(people, "visits");
  auto tags = *s.field(people, "tags");
  if (insert) {
    for (int i = 0; i < 1000; ++i) (void)s.insert(people, record_id(i));
  }
  for (int i = 0; i < 10'000; ++i) {
    const std::string id = record_id(static_cast<int>(rng() % 1000));
    const unsigned k = rng() % 10;
    if (k < 7) {
      if (k % 2) (void)s.set(name, id, ValueView::string("name-" + std::to_string(rng() % 100000)));
      else (void)s.set(age, id, ValueView::integer(static_cast<std::int64_t>(rng() % 100)));
    } else if (k < 9) {
      (void)s.increment(visits, id, 1);
    } else {
      (void)s.add(tags, id, ValueView::string("tag" + std::to_string(rng() % 8)));
    }
  }
}

// 100,000 records x 5 fields: name (~12 chars), email (~20 chars), age,
// a counter, a set of 2 tags.
inline void fill_people(Store& s, int count) {
  auto people = *s.collection("people");
  auto name = *s.field(people, "name");
  auto email = *s.field(people, "email");
  auto age = *s.field(people, "age");
  auto visits = *s.field(people, "visits");
  auto tags = *s.field(people, "tags");
  char buf[64];
  for (int i = 0; i < count; ++i) {
    const std::string id = record_id(i);
    (void)s.insert(people, id);
    std::snprintf(buf, sizeof buf, "Person %06d", i);
    (void)s.set(name, id, ValueView::string(buf));
    std::snprintf(buf, sizeof buf, "user%06d@mail.test", i);
    (void)s.set(email, id, ValueView::string(buf));
    (void)s.set(age, id, ValueView::integer(i % 90));
    (void)s.increment(visits, id, i % 7);
    (void)s.add(tags, id, ValueView::string(i % 2 ? "admin" : "user"));
    (void)s.add(tags, id, ValueView::string(i % 3 ? "active" : "idle"));
  }
}

}  // namespace mycelium::bench
