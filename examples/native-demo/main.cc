// Native demo: two replicas edit the same todo list while offline, then
// exchange deltas and converge. Prints the tables before and after.
#include <cstdio>
#include <string>
#include <vector>

#include "store.h"

using namespace mycelium;

namespace {

void check(const Status& s) {
  if (!s.ok()) {
    std::fprintf(stderr, "error: %s\n", s.to_string().c_str());
    std::exit(1);
  }
}

std::string join(const std::vector<Value>& vs) {
  std::string s = "[";
  for (const auto& v : vs) {
    if (s.size() > 1) s += ", ";
    s += to_string(v);
  }
  return s + "]";
}

void print_table(const char* who, const Store& s) {
  auto todos = *s.collection("todos");
  auto title = *s.field(todos, "title");
  auto done = *s.field(todos, "done");
  auto votes = *s.field(todos, "votes");
  auto tags = *s.field(todos, "tags");
  auto owner = *s.field(todos, "owner");
  std::printf("  %-6s %-8s %-20s %-6s %-5s %-22s %s\n", who, "id", "title", "done", "votes", "tags", "owner");
  for (const auto& id : s.ids(todos)) {
    std::printf("  %-6s %-8s %-20s %-6s %-5lld %-22s %s\n", "", id.c_str(), to_string(*s.lww(title, id)).c_str(),
                to_string(*s.lww(done, id)).c_str(), static_cast<long long>(*s.counter(votes, id)),
                join(*s.values(tags, id)).c_str(), join(*s.values(owner, id)).c_str());
  }
  std::printf("  %-6s version %s, snapshot %zu bytes\n\n", "", to_string(s.version()).c_str(), s.save().size());
}

}  // namespace

int main() {
  auto schema = Schema::create({{"todos",
                                 {{"title", Kind::kLww},
                                  {"done", Kind::kLww},
                                  {"votes", Kind::kCounter},
                                  {"tags", Kind::kSet},
                                  {"owner", Kind::kMvr}}}});
  check(schema.status());
  StoreOptions ao, bo;
  ao.actor = 0xa11ce00000000001;
  bo.actor = 0xb0b0000000000002;
  auto alice = std::move(Store::open(*schema, ao)).value();
  auto bob = std::move(Store::open(*schema, bo)).value();
  auto todos = *alice->collection("todos");
  auto f = [&](const char* name) { return *alice->field(todos, name); };

  // A shared start.
  check(alice->insert(todos, "milk"));
  check(alice->set(f("title"), "milk", ValueView::string("Buy milk")));
  check(alice->set(f("done"), "milk", ValueView::boolean(false)));
  check(alice->add(f("tags"), "milk", ValueView::string("home")));
  check(alice->insert(todos, "tax"));
  check(alice->set(f("title"), "tax", ValueView::string("File taxes")));
  auto r = bob->apply(alice->delta_since(bob->version()));
  check(r.status());
  std::printf("mycelium-sync native demo: two replicas, offline edits, then one delta each way.\n\n");
  std::printf("1. shared start (bob joined alice's delta)\n");
  print_table("alice", *alice);

  // Offline, concurrently.
  check(alice->set(f("done"), "milk", ValueView::boolean(true)));
  check(alice->increment(f("votes"), "milk", 2));
  check(alice->remove(f("tags"), "milk", ValueView::string("home")));
  check(alice->add(f("tags"), "milk", ValueView::string("urgent")));
  check(alice->set(f("owner"), "milk", ValueView::string("alice")));
  check(alice->remove_record(todos, "tax"));

  check(bob->increment(f("votes"), "milk", 1));
  check(bob->add(f("tags"), "milk", ValueView::string("dairy")));
  check(bob->set(f("owner"), "milk", ValueView::string("bob")));
  check(bob->set(f("title"), "tax", ValueView::string("File taxes by May")));  // concurrent with the delete
  check(bob->insert(todos, "bread"));
  check(bob->set(f("title"), "bread", ValueView::string("Bake bread")));

  std::printf("2. diverged (each edited offline)\n");
  print_table("alice", *alice);
  print_table("bob", *bob);

  const ByteVec to_bob = alice->delta_since(bob->version());
  const ByteVec to_alice = bob->delta_since(alice->version());
  check(bob->apply(to_bob).status());
  check(alice->apply(to_alice).status());
  std::printf("3. converged after exchanging deltas (%zu bytes to bob, %zu bytes to alice)\n", to_bob.size(),
              to_alice.size());
  print_table("alice", *alice);
  print_table("bob", *bob);
  const bool same = alice->save() == bob->save();
  std::printf("snapshots byte-identical: %s\n", same ? "yes" : "NO");
  std::printf("votes add up (2 + 1), tags: add wins, owner keeps both concurrent writes,\n"
              "'tax' survives its delete with only bob's concurrent title (update wins over delete).\n");
  return same ? 0 : 1;
}
