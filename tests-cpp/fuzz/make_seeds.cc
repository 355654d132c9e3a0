// Writes the fuzzers' seed corpora: real deltas and snapshots, in
// apply_fuzzer's input form (mode byte, kind byte, unframed payload), and,
// given a second directory, sequences sections of edited texts and lists
// for sequence_fuzzer.
#include <cstdio>
#include <fstream>
#include <string>

#include "fuzz_fixture.h"
#include "sequence_codec.h"

using namespace mycelium;

int main(int argc, char** argv) {
  if (argc != 2 && argc != 3) {
    std::fprintf(stderr, "usage: make_seeds DIR [SEQUENCE_DIR]\n");
    return 2;
  }
  if (argc == 3) {
    // Two replicas edit a text (field 1) and a list (field 2) of record 0
    // concurrently; each seed is a section of one state.
    const ActorId actors[] = {0x11, 0x22};
    auto index = [](ActorId a) { return static_cast<std::uint32_t>(a == 0x11 ? 0 : 1); };
    for (int seed = 0; seed < 8; ++seed) {
      Sequence text(Sequence::Content::kUtf8), list(Sequence::Content::kValues);
      std::uint32_t seq[2] = {1, 1};
      std::uint32_t x = 12345u + static_cast<std::uint32_t>(seed);
      auto rnd = [&] { return (x = x * 1103515245u + 12345u) >> 16; };
      SeqSection section;
      std::vector<SeqDelete> deletes;
      for (int step = 0; step < 10 + seed * 4; ++step) {
        const int who = static_cast<int>(rnd() % 2);
        const Sequence::Id first{actors[who], seq[who]};
        if (text.size() > 0 && rnd() % 4 == 0) {
          auto gone = text.erase(rnd() % text.size(), 1);
          if (gone.ok()) {
            SeqDelete d{SeqRef{static_cast<std::uint32_t>(who), seq[who]++}, {}};
            for (const auto& span : *gone) d.targets.push_back(SeqTarget{SeqRef{index(span.first.actor), span.first.seq}, span.length});
            if (deletes.empty() || deletes.back().dot < d.dot) deletes.push_back(d);
          }
          continue;
        }
        const std::string s = rnd() % 3 ? "ab" : "\xc3\xa9\xf0\x9f\x98\x80";
        std::uint32_t n;
        std::vector<std::uint32_t> wide;
        Sequence::shape(Sequence::Content::kUtf8, s, n, wide);
        if (text.insert(rnd() % (text.size() + 1), first, n, wide, s).ok()) seq[who] += n;
        const std::string v = std::string("\x02\x04") + static_cast<char>('0' + step % 10);
        (void)list.insert(rnd() % (list.size() + 1), Sequence::Id{actors[who], 1000 + static_cast<std::uint32_t>(step)}, 1, {}, v);
      }
      section.entries.push_back(sequence_entry(text, 0, 1, index));
      section.entries.back().deletes = deletes;
      section.entries.push_back(sequence_entry(list, 0, 2, index));
      if (list.size() > 0) {  // one set of the first element (format version 4)
        const Sequence::Id target = list.at(0);
        section.entries.back().sets.push_back(
            SeqSet{SeqRef{index(target.actor), target.seq}, SeqRef{0, 5000}, 77, std::string("\x02\x04s")});
      }
      Writer w;
      write_sequences(w, section, true);
      std::ofstream(std::string(argv[2]) + "/seq-" + std::to_string(seed), std::ios::binary)
          .write(reinterpret_cast<const char*>(w.view().data()), static_cast<std::streamsize>(w.view().size()));
    }
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
  // Peers whose schema adds a collection of a text and a list (the target
  // learns them as undeclared fields): inserts, deletes and sets, so the
  // sequences section, at format versions 3 and 4, reaches the join.
  for (std::uint64_t seed = 20; seed < 24; ++seed) {
    auto collections = fuzz::schema().collections();
    collections.push_back({"docs", {{"body", Kind::kText}, {"order", Kind::kList}}});
    auto peer = std::move(Store::open(*Schema::create(std::move(collections)), fuzz::options(0x200 + seed))).value();
    (void)peer->apply(target->save());
    const VersionVector seen = peer->version();
    const CollectionRef docs = *peer->collection("docs");
    const FieldRef body = *peer->field(docs, "body"), order = *peer->field(docs, "order");
    std::mt19937_64 rnd(seed);
    for (int i = 0; i < 12; ++i) {
      const std::string id = "doc-" + std::to_string(rnd() % 2);
      if (!peer->exists(docs, id)) (void)peer->insert(docs, id);
      const std::size_t units = peer->text(body, id)->size(), n = peer->list(order, id)->size();
      const ValueView v[] = {ValueView::integer(static_cast<std::int64_t>(rnd() % 50)), ValueView::string("x")};
      switch (rnd() % 5) {
        case 0: (void)peer->insert_text(body, id, rnd() % (units + 1), "ab\xc3\xa9"); break;
        case 1: if (units > 0) (void)peer->erase_range(body, id, rnd() % units, 1); break;
        case 2: (void)peer->insert_values(order, id, rnd() % (n + 1), v); break;
        case 3: if (n > 0) (void)peer->erase_range(order, id, rnd() % n, 1); break;
        default: if (n > 0) (void)peer->set_element(order, id, rnd() % n, ValueView::integer(-1)); break;
      }
    }
    write(peer->delta_since(seen));
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
