// libFuzzer target for the sequences section of a delta
// (cpp/sequence_codec.h) and the placement of what it carries
// (Sequence::integrate_all, erase_ids, replace): what a peer's delta reaches
// in the store's list and text fields. Checked beyond "no crash": an
// accepted section writes bytes that read back to a section writing the same
// bytes (the writer's encoding is a fixed point; the reader, like every
// reader of the engine, also takes varints longer than they need be); every
// entry either fails to place with an error or leaves a
// sequence whose counts agree with its content, and whose canonical parts
// write the same content again.
#include <cstdint>
#include <cstdio>
#include <cstdlib>

#include "sequence_codec.h"

using namespace mycelium;

namespace {

[[noreturn]] void fail(const char* what) {
  std::fprintf(stderr, "invariant broken: %s\n", what);
  std::abort();
}

const ActorId kActors[] = {0x11, 0x22, 0x33};

std::optional<Sequence::Content> content_of(std::uint32_t, std::uint8_t field) {
  if (field == 1) return Sequence::Content::kUtf8;
  if (field == 2) return Sequence::Content::kValues;
  return std::nullopt;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  Reader r(std::span<const std::uint8_t>(data, size));
  SeqTables tables;
  tables.sets = true;  // format version 4
  tables.actors = 3;
  tables.records = 4;
  tables.content = content_of;
  SeqSection section;
  if (!read_sequences(r, tables, section).ok()) return 0;
  {
    Writer w;
    write_sequences(w, section, true);
    Reader again(w.view());
    SeqSection back;
    if (!read_sequences(again, tables, back).ok() || again.remaining() != 0) fail("a written section does not read back");
    Writer w2;
    write_sequences(w2, back, true);
    if (!std::equal(w.view().begin(), w.view().end(), w2.view().begin(), w2.view().end())) {
      fail("a written section reads back to another");
    }
  }
  for (const SeqEntry& e : section.entries) {
    const Sequence::Content content = *content_of(e.record, e.field);
    std::vector<Sequence::Run> runs;
    std::vector<std::vector<Sequence::Stretch>> live;
    entry_runs(e, kActors, content, runs, live);
    Sequence s(content);
    if (!s.integrate_all(runs, live).ok()) continue;
    for (const SeqDelete& d : e.deletes) {
      for (const SeqTarget& t : d.targets) (void)s.erase_ids(Sequence::Id{kActors[t.first.actor], t.first.seq}, t.length);
    }
    for (const SeqSet& x : e.sets) (void)s.replace(Sequence::Id{kActors[x.target.actor], x.target.seq}, x.value);
    const std::string text = s.content();
    std::uint32_t elements;
    std::vector<std::uint32_t> wide;
    if (!Sequence::shape(content, text, elements, wide) || elements != s.size()) fail("size and content disagree");
    if (content == Sequence::Content::kUtf8 && s.units() != elements + wide.size()) fail("units and content disagree");
    std::string again;
    for (const SeqPart& p : sequence_entry(s, e.record, e.field, [](ActorId a) {
           return static_cast<std::uint32_t>(a == 0x11 ? 0 : a == 0x22 ? 1 : 2);
         }).parts) {
      again += p.content;
    }
    std::size_t live_elements = 0;
    for (const auto& span : s.spans()) live_elements += span.deleted ? 0 : span.length;
    if (live_elements != s.size()) fail("spans and size disagree");
    if (again.size() != text.size()) fail("canonical parts lose or add content");
  }
  return 0;
}
