// The engine without the SDK: builds a store of n records, saves it, loads
// the snapshot into a new store and saves again. Returns 0 when the two
// snapshots are byte-identical (always, on a correct runtime), 1 when the
// load fails, 2 when the bytes differ. No JS glue: a standalone module whose
// only imports (WASI clock/random/fd stubs) the page answers with zeros.
#include <cstdint>
#include <string>

#include "store.h"

using namespace mycelium;

extern "C" __attribute__((export_name("roundtrip"))) std::uint32_t roundtrip(std::uint32_t n) {
  auto schema = Schema::create({{"todos", {{"title", Kind::kLww}, {"votes", Kind::kCounter}, {"tags", Kind::kSet}}}});
  if (!schema.ok()) return 10;
  StoreOptions o;
  o.actor = 0x1234;
  o.now = [] { return std::uint64_t{1700000000000}; };
  auto opened = Store::open(*schema, o);
  if (!opened.ok()) return 11;
  Store& s = **opened;
  auto todos = *s.collection("todos");
  auto title = *s.field(todos, "title");
  auto votes = *s.field(todos, "votes");
  auto tags = *s.field(todos, "tags");
  for (std::uint32_t i = 0; i < n; ++i) {
    const std::string id = "r" + std::to_string(i);
    const std::string t = "row " + std::to_string(i);
    if (!s.insert(todos, id).ok() || !s.set(title, id, ValueView::string(t)).ok() ||
        !s.increment(votes, id, i).ok() || !s.add(tags, id, ValueView::integer(i % 4)).ok()) {
      return 12;
    }
  }
  const ByteVec snapshot = s.save();
  o.actor = 0x5678;
  auto loaded = Store::load(*schema, snapshot, o);
  if (!loaded.ok()) return 1;
  return (*loaded)->save() == snapshot ? 0 : 2;
}
