// libFuzzer target for everything that reaches the engine from outside:
// Store::apply and Store::load. The first input byte picks the mode:
//   even  the rest is a payload: framed with a correct checksum (so the
//         mutations reach the decoder rather than the CRC check), as a delta
//         (byte 1 even) or a snapshot
//   odd   the rest is passed as is
// Every input is applied twice: to a store that decodes deltas whole and to
// one that streams every delta (StoreOptions::stream_cells_above = 0, the
// path of deltas above 65,536 cells); both must agree on the outcome, the
// error and the state (the second records changes, as subscriptions do).
// Checked beyond "no crash": a rejected input leaves the store byte-identical;
// an accepted one leaves a store whose snapshot loads and saves back the same;
// and apply or load of an input allocates (in all, not only at the peak) at
// most kAllocFactor x max(16 MiB, 256 x its size): the decoder's budget
// (delta.h), the join's growth of the store and the held copy of a pending
// delta together. Stated here apart from delta.h so that a change there
// cannot loosen it. A compressed input that once cost ~2,600x its size
// breaks it (make_seeds writes one).
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <new>
#include <random>

#include "fuzz_fixture.h"

using namespace mycelium;

namespace {

constexpr std::size_t kAllocFactor = 4;
std::size_t g_allocated = 0;
bool g_counting = false;

void* counted(std::size_t n) {
  if (g_counting) g_allocated += n;
  void* p = std::malloc(n ? n : 1);
  if (p == nullptr) std::abort();
  return p;
}

[[noreturn]] void fail(const char* what) {
  std::fprintf(stderr, "invariant broken: %s\n", what);
  std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 2) return 0;
  static const ByteVec base_snapshot = fuzz::target_snapshot();
  ByteVec input;
  if (data[0] % 2 == 0) {
    const PayloadKind kind = data[1] % 2 == 0 ? PayloadKind::kDelta : PayloadKind::kSnapshot;
    input = frame(kind, std::span(data + 2, size - 2));
  } else {
    input.assign(data + 1, data + size);
  }

  auto store = std::move(Store::load(fuzz::schema(), base_snapshot, fuzz::options(0x7a))).value();
  const std::size_t allowed = kAllocFactor * std::max<std::size_t>(std::size_t{16} << 20, 256 * input.size());
  g_allocated = 0;
  g_counting = true;
  auto r = store->apply(input);
  g_counting = false;
  if (g_allocated > allowed) fail("apply allocated more than the input justifies");
  StoreOptions streaming = fuzz::options(0x7a);
  streaming.stream_cells_above = 0;
  auto streamed = std::move(Store::load(fuzz::schema(), base_snapshot, streaming)).value();
  // This one records what changed, as subscriptions do (the splices of
  // lists and texts included): recording must not change the join.
  streamed->capture_changes(true);
  auto rs = streamed->apply(input);
  for (const auto& c : streamed->take_sequence_changes()) {
    if (c.splices.empty()) fail("a list or text change without splices");
  }
  (void)streamed->take_changes();
  if (rs.ok() != r.ok()) fail("streamed and whole decoding disagree on accepting a delta");
  if (r.ok() ? *rs != *r : rs.status().code() != r.status().code()) fail("streamed and whole decoding disagree on the outcome");
  if (streamed->save() != store->save()) fail("streamed and whole decoding joined different states");
  if (!r.ok()) {
    if (r.status().message().empty()) fail("error without a message");
    if (store->save() != base_snapshot) fail("a rejected delta changed the store");
  } else {
    const ByteVec after = store->save();
    auto again = Store::load(fuzz::schema(), after, fuzz::options(0x7a));
    if (!again.ok()) fail("an accepted delta left a store whose snapshot does not load");
    if ((*again)->save() != after) fail("save -> load -> save changed the bytes");
  }

  g_allocated = 0;
  g_counting = true;
  auto loaded = Store::load(fuzz::schema(), input, fuzz::options(0x7b));
  g_counting = false;
  if (g_allocated > allowed) fail("load allocated more than the input justifies");
  if (loaded.ok()) {
    const ByteVec s = (*loaded)->save();
    auto twice = Store::load(fuzz::schema(), s, fuzz::options(0x7b));
    if (!twice.ok() || (*twice)->save() != s) fail("a loaded snapshot does not round-trip");
  }
  return 0;
}

// Every allocation of the process goes through these (malloc and free, so
// ASan still sees them, and every new is paired with a matching delete);
// they count while counting is on.
void* operator new(std::size_t n) { return counted(n); }
void* operator new[](std::size_t n) { return counted(n); }
void* operator new(std::size_t n, const std::nothrow_t&) noexcept { return counted(n); }
void* operator new[](std::size_t n, const std::nothrow_t&) noexcept { return counted(n); }
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }
void operator delete(void* p, const std::nothrow_t&) noexcept { std::free(p); }
void operator delete[](void* p, const std::nothrow_t&) noexcept { std::free(p); }
