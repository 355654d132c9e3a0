// Writes the fuzzer's seed corpus: real deltas and snapshots, in the
// fuzzer's input form (mode byte, kind byte, unframed payload).
#include <cstdio>
#include <fstream>
#include <string>

#include "fuzz_fixture.h"

using namespace mycelium;

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: make_seeds DIR\n");
    return 2;
  }
  int n = 0;
  auto write = [&](const ByteVec& framed) {
    auto u = unframe(framed);
    if (!u.ok()) return;
    ByteVec seed = {0, static_cast<std::uint8_t>(u->kind == PayloadKind::kDelta ? 0 : 1)};
    seed.insert(seed.end(), u->payload.begin(), u->payload.end());
    std::ofstream(std::string(argv[1]) + "/seed-" + std::to_string(n++), std::ios::binary)
        .write(reinterpret_cast<const char*>(seed.data()), static_cast<std::streamsize>(seed.size()));
  };
  auto target = std::move(Store::load(fuzz::schema(), fuzz::target_snapshot(), fuzz::options(0x7a))).value();
  for (std::uint64_t seed = 2; seed < 10; ++seed) {
    auto peer = std::move(Store::open(fuzz::schema(), fuzz::options(0x100 + seed))).value();
    (void)peer->apply(target->save());
    const VersionVector seen = peer->version();
    fuzz::writes(*peer, seed, 10 + static_cast<int>(seed) * 3);
    write(peer->delta_since(seen));               // joins at the target
    write(peer->delta_since(VersionVector()));    // everything
    fuzz::writes(*peer, seed + 100, 5);
    write(peer->delta_since(peer->version()));    // empty
    write(peer->save());
  }
  // A decompression bomb, as is (mode byte odd): a compressed payload of
  // mostly empty strings that would decode into tables 16x its size.
  {
    Writer w;
    const std::size_t count = std::size_t{5} << 20;
    w.varint(count);
    for (std::size_t i = 0; i < count; ++i) {
      w.varint(i % 128 == 0 ? 1 : 0);
      if (i % 128 == 0) w.u8(static_cast<std::uint8_t>(i * 2654435761u >> 24));
    }
    ByteVec seed = {1};
    const ByteVec bomb = frame(PayloadKind::kDelta, w.view());
    seed.insert(seed.end(), bomb.begin(), bomb.end());
    std::ofstream(std::string(argv[1]) + "/seed-bomb", std::ios::binary)
        .write(reinterpret_cast<const char*>(seed.data()), static_cast<std::streamsize>(seed.size()));
    std::printf("bomb seed: %zu bytes\n", seed.size());
  }
  std::printf("%d seeds\n", n);
  return 0;
}
