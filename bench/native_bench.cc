// Native benchmarks (Google Benchmark). Prints Google Benchmark's table, then
// a summary against the targets (medians of repeated runs; *_min_ms the best
// run), and writes bench/results/native.json.
//   merge_10k_ms              apply a 10,000-op delta into an empty replica
//   merge_10k_concurrent_ms   the same into a replica with 10,000 concurrent ops
//   delta_since_100_ms        100,000-record store: delta of the last 100 ops
//   memory_100k_bytes         heap held by 100,000 records x 5 fields (allocation hook)
//   snapshot_100k_bytes       snapshot size of that store
//   snapshot_load_100k_ms     Store::load of that snapshot
#include <benchmark/benchmark.h>
#include <malloc.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <new>
#include <string>

#include "replica.h"
#include "workloads.h"

// --- allocation hook: live heap bytes -------------------------------------
namespace {
std::atomic<long long> g_live{0};
}
void* operator new(std::size_t n) {
  void* p = std::malloc(n ? n : 1);
  if (!p) std::abort();
  g_live += static_cast<long long>(malloc_usable_size(p));
  return p;
}
void* operator new[](std::size_t n) { return operator new(n); }
void operator delete(void* p) noexcept {
  if (!p) return;
  g_live -= static_cast<long long>(malloc_usable_size(p));
  std::free(p);
}
void operator delete[](void* p) noexcept { operator delete(p); }
void operator delete(void* p, std::size_t) noexcept { operator delete(p); }
void operator delete[](void* p, std::size_t) noexcept { operator delete(p); }

using namespace mycelium;
using namespace mycelium::bench;

namespace {

const ByteVec& merge_delta() {
  static const ByteVec d = [] {
    auto s = open_people(0x1111);
    mixed_ops(*s, 1, true);
    return s->delta_since(VersionVector());
  }();
  return d;
}

void BM_merge_10k(benchmark::State& state) {
  const ByteVec& d = merge_delta();
  for (auto _ : state) {
    state.PauseTiming();
    auto s = open_people(0x2222);
    state.ResumeTiming();
    auto r = s->apply(d);
    if (!r.ok()) state.SkipWithError(r.status().to_string().c_str());
    benchmark::DoNotOptimize(s);
    state.PauseTiming();
    s.reset();
    state.ResumeTiming();
  }
  state.counters["delta_bytes"] = static_cast<double>(d.size());
}
BENCHMARK(BM_merge_10k)->Unit(benchmark::kMillisecond)->Repetitions(5);

void BM_merge_10k_concurrent(benchmark::State& state) {
  const ByteVec& d = merge_delta();
  // A replica that saw the inserts, then made 10,000 ops of its own.
  static const ByteVec base = [] {
    auto src = open_people(0x1111);
    auto s = open_people(0x3333);
    auto people = *src->collection("people");
    for (int i = 0; i < 1000; ++i) (void)src->insert(people, record_id(i));
    (void)s->apply(src->save());
    mixed_ops(*s, 2, false);
    return s->save();
  }();
  StoreOptions o;
  o.actor = 0x3333;
  for (auto _ : state) {
    state.PauseTiming();
    auto s = std::move(Store::load(people_schema(), base, o)).value();
    state.ResumeTiming();
    auto r = s->apply(d);
    if (!r.ok()) state.SkipWithError(r.status().to_string().c_str());
    state.PauseTiming();
    s.reset();
    state.ResumeTiming();
  }
}
BENCHMARK(BM_merge_10k_concurrent)->Unit(benchmark::kMillisecond)->Repetitions(5);

struct Big {
  std::unique_ptr<Store> store;
  VersionVector before_last_100;
  ByteVec snapshot;
  long long heap_bytes = 0;    // operator new hook
  long long malloc_bytes = 0;  // glibc's own count, a cross-check
};

Big& big() {
  static Big b = [] {
    Big x;
    const long long before = g_live.load();
    const std::size_t malloc_before = mallinfo2().uordblks + mallinfo2().hblkhd;
    x.store = open_people(0x4444);
    fill_people(*x.store, 100'000);
    x.heap_bytes = g_live.load() - before;
    x.malloc_bytes = static_cast<long long>(mallinfo2().uordblks + mallinfo2().hblkhd - malloc_before);
    x.snapshot = x.store->save();
    x.before_last_100 = x.store->version();
    auto people = *x.store->collection("people");
    auto age = *x.store->field(people, "age");
    for (int i = 0; i < 100; ++i) (void)x.store->set(age, record_id(i * 997), ValueView::integer(i));
    return x;
  }();
  return b;
}

void BM_delta_since_100(benchmark::State& state) {
  Big& b = big();
  std::size_t bytes = 0;
  for (auto _ : state) {
    ByteVec d = b.store->delta_since(b.before_last_100);
    bytes = d.size();
    benchmark::DoNotOptimize(d);
  }
  state.counters["delta_bytes"] = static_cast<double>(bytes);
}
BENCHMARK(BM_delta_since_100)->Unit(benchmark::kMillisecond)->Repetitions(5);

void BM_snapshot_load_100k(benchmark::State& state) {
  Big& b = big();
  for (auto _ : state) {
    auto s = Store::load(people_schema(), b.snapshot);
    if (!s.ok()) state.SkipWithError(s.status().to_string().c_str());
    benchmark::DoNotOptimize(s);
    state.PauseTiming();
    { auto drop = std::move(s); }
    state.ResumeTiming();
  }
}
BENCHMARK(BM_snapshot_load_100k)->Unit(benchmark::kMillisecond)->Iterations(10)->Repetitions(5);

void BM_snapshot_save_100k(benchmark::State& state) {
  Big& b = big();
  for (auto _ : state) {
    ByteVec d = b.store->save();
    benchmark::DoNotOptimize(d);
  }
}
BENCHMARK(BM_snapshot_save_100k)->Unit(benchmark::kMillisecond)->Iterations(5)->Repetitions(3);

// local writes through the host interface (cpp/replica.h, the bytes the
// TypeScript layer sends): 100,000 single-field lww writes over 1,000
// records, one batch each (state.range(0) == 1) or in batches of
// state.range(0) (store.transact): the batch check's cost per op.
ByteVec people_open_input(ActorId actor) {
  Writer w;
  w.varint(1);
  w.bytes("people");
  w.varint(5);
  for (const char* f : {"name", "email", "age"}) {
    w.bytes(f);
    w.u8(0);
  }
  w.bytes("visits");
  w.u8(1);
  w.bytes("tags");
  w.u8(3);
  w.fixed64(actor);
  w.varint(0);
  return w.take();
}

void BM_replica_writes_100k(benchmark::State& state) {
  const int per_batch = static_cast<int>(state.range(0));
  for (auto _ : state) {
    state.PauseTiming();
    auto r = std::move(Replica::open(people_open_input(0x5555))).value();
    for (int i = 0; i < 1000; i++) {
      Writer w;
      w.varint(1000);
      w.u8(1);
      w.varint(0);
      w.bytes(record_id(i));
      if (!r->write(w.view()).ok()) std::abort();
    }
    std::vector<ByteVec> batches;
    for (int start = 0; start < 100'000; start += per_batch) {
      Writer w;
      w.varint(2000);
      for (int i = start; i < start + per_batch; i++) {
        w.u8(2);
        w.varint(0);
        w.u8(2);
        w.bytes(record_id(i % 1000));
        w.u8(3);
        w.zigzag(i);
      }
      batches.push_back(w.take());
    }
    state.ResumeTiming();
    for (const ByteVec& b : batches) {
      if (!r->write(b).ok()) std::abort();
    }
  }
  state.SetItemsProcessed(state.iterations() * 100'000);
}
BENCHMARK(BM_replica_writes_100k)->Arg(1)->Arg(1000)->Unit(benchmark::kMillisecond)->Repetitions(3);

// Bytes of one counter increment's delta (since the version before it) on a
// record whose set holds n elements (issue 14: deltas carry the keys their
// events touched, not whole records). The set arrives as one hand-built
// delta: n adds through the API would scan the set each time.
std::size_t increment_delta_bytes(std::uint32_t n) {
  const Schema schema = *Schema::create({{"items", {{"votes", Kind::kCounter}, {"tags", Kind::kSet}}}});
  DeltaData d;
  d.collections.push_back({"items", {{"votes", Kind::kCounter}, {"tags", Kind::kSet}}});
  d.actors = {0xfeed};
  d.context = {{0, n + 1}};
  d.records.push_back({0, "big", 0, 0});
  d.events.push_back({0, 0, 1, 1, kPresenceScopeBit});
  for (std::uint32_t i = 0; i < n; ++i) {
    d.events.push_back({0, 0, i + 2, 1, element_scope(1, ValueView::integer(i))});
    d.cells.push_back(d.make_cell(1, false, 0, i + 2, 0, ValueView::integer(i)));  // cells sort by field
  }
  d.cells.push_back(d.make_cell(kPresenceField, false, 0, 1, 0, ValueView::null()));
  d.records[0].cell_count = static_cast<std::uint32_t>(d.cells.size());
  StoreOptions o;
  o.actor = 0xa1;
  auto opened = Store::open(schema, o);
  auto s = std::move(opened).value();
  if (!s->apply(encode_delta(d)).ok()) return 0;
  const VersionVector before = s->version();
  if (!s->increment(*s->field("items", "votes"), "big", 1).ok()) return 0;
  return s->delta_since(before).size();
}

// Keeps each benchmark's median and minimum over its repetitions (ms): this
// machine is shared and noisy, so single runs swing by tens of percent.
class Collector : public benchmark::ConsoleReporter {
 public:
  std::map<std::string, double> median, min;
  void ReportRuns(const std::vector<Run>& runs) override {
    ConsoleReporter::ReportRuns(runs);
    for (const auto& r : runs) {
      const double ms = r.GetAdjustedRealTime() * (r.time_unit == benchmark::kMillisecond ? 1.0 : 1e-6);
      const std::string name = r.run_name.function_name;
      if (r.run_type == Run::RT_Aggregate && r.aggregate_name == "median") median[name] = ms;
      if (r.run_type == Run::RT_Iteration && r.iterations > 0 && !r.error_occurred) {
        auto it = min.find(name);
        if (it == min.end() || ms < it->second) min[name] = ms;
      }
    }
  }
};

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  Collector collector;
  benchmark::RunSpecifiedBenchmarks(&collector);
  Big& b = big();
  struct Row {
    const char* key;
    double value;
    double target;  // 0: none
    const char* unit;
  };
  auto get = [&](const char* name) {
    auto it = collector.median.find(name);
    return it == collector.median.end() ? -1.0 : it->second;
  };
  auto best = [&](const char* name) {
    auto it = collector.min.find(name);
    return it == collector.min.end() ? -1.0 : it->second;
  };
  const Row rows[] = {
      {"merge_10k_ms", get("BM_merge_10k"), 1, "ms"},
      {"merge_10k_concurrent_ms", get("BM_merge_10k_concurrent"), 0, "ms"},
      {"delta_since_100_ms", get("BM_delta_since_100"), 0.2, "ms"},
      {"memory_100k_bytes", static_cast<double>(b.heap_bytes), 24e6, "bytes"},
      {"memory_100k_malloc_bytes", static_cast<double>(b.malloc_bytes), 0, "bytes"},
      {"snapshot_100k_bytes", static_cast<double>(b.snapshot.size()), 0, "bytes"},
      {"snapshot_load_100k_ms", get("BM_snapshot_load_100k"), 50, "ms"},
      {"snapshot_save_100k_ms", get("BM_snapshot_save_100k"), 0, "ms"},
      {"merge_10k_min_ms", best("BM_merge_10k"), 0, "ms"},
      {"snapshot_load_100k_min_ms", best("BM_snapshot_load_100k"), 0, "ms"},
      {"increment_delta_set_1_bytes", static_cast<double>(increment_delta_bytes(1)), 0, "bytes"},
      {"increment_delta_set_1k_bytes", static_cast<double>(increment_delta_bytes(1000)), 0, "bytes"},
      {"increment_delta_set_100k_bytes", static_cast<double>(increment_delta_bytes(100000)), 0, "bytes"},
  };
  const auto use = b.store->memory_use();
  std::printf("\nmemory of the 100k store by part (container capacity, bytes): records %zu, cells %zu, "
              "events %zu, ids %zu, strings %zu, index %zu\n",
              use.records, use.cells, use.events, use.ids, use.strings, use.index);
  std::printf("\n%-30s %14s %12s  %s\n", "budget (median of runs)", "measured", "target", "");
  std::string json = "{\n";
  for (const Row& r : rows) {
    const bool pass = r.target == 0 || r.value <= r.target;
    char target[32] = "-";
    if (r.target > 0) std::snprintf(target, sizeof target, "<= %g", r.target);
    std::printf("%-30s %14.4f %12s  %s\n", r.key, r.value, target, r.target == 0 ? "" : (pass ? "ok" : "MISSED"));
    char line[128];
    std::snprintf(line, sizeof line, "  \"%s\": %.10g,\n", r.key, r.value);
    json += line;
  }
  json += "  \"engine\": \"native\"\n}\n";
  const char* out = std::getenv("MYC_BENCH_OUT");
  std::ofstream(out ? out : "bench/results/native.json") << json;
  benchmark::Shutdown();
  return 0;
}
