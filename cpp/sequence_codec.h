// The sequences section of a delta (docs/sequences.md, Formats): per
// (record, sequence field), the run parts a delta carries with their live
// stretches and content, and the targets of the field's delete events.
//
//   entries   count, then per entry (strictly increasing by record, field):
//             record index, field, part count, then per part (strictly
//             increasing by actor index, first seq; never overlapping, never
//             continuing each other — Sequence::parts() is maximal):
//               actor index, first seq (*), length,
//               left origin  (0: the start, else 1 + actor index, then seq (**)),
//               right origin (0: the end,   else 1 + actor index, then seq (**)),
//               live count, then per live stretch (increasing, never
//               touching): gap from the previous one's end (or the part's
//               start), length, content byte count, content
//             delete group count, then per group of delete events (strictly
//               increasing by actor index, seq; maximal, below): actor
//               index, seq of the first (*), k (the group's size, 1 ..
//               kMaxDeleteGroup), then
//                 k = 1: target count, then per target (increasing, never
//                   overlapping or touching): actor index, first seq (**), length
//                 k > 1: direction (0: backward, 1: forward), actor index and
//                   seq (**) of the first delete's target; delete i (seq
//                   first + i) removes the one element at target seq -i or +i
//             (format version 4) set count, then per set (strictly
//               increasing by target; a list's only): the target's actor
//               index and seq (*), the set's dot: actor index, seq (**),
//               its HLC, and the value (an element: byte count, value)
//             (an entry has parts, deletes, sets or some of them)
//   (*)  when the actor is the previous part's (delete's), the gap past its end
//   (**) when the actor is the part's (delete's), the zigzag distance from
//        its first seq (its seq); else the seq
// A group is maximal: a run of backspaces (or of forward deletes) by one
// actor, each removing one element next to the previous one's, is one group,
// and a decoder refuses groups that could have been one, so one state has
// one encoding.
// Content is UTF-8 for a text (its elements are its characters) and, for a
// list, each element's value behind its varint length.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "codec.h"
#include "one_inline.h"
#include "sequence.h"
#include "status.h"

namespace mycelium {

struct SeqRef {
  std::uint32_t actor = 0;  // index into the delta's actors
  std::uint32_t seq = 0;
  friend bool operator==(const SeqRef&, const SeqRef&) = default;
  friend auto operator<=>(const SeqRef&, const SeqRef&) = default;
};

struct SeqPart {
  SeqRef first;
  std::uint32_t length = 0;
  std::optional<SeqRef> left, right;
  std::vector<Sequence::Live> live;  // maximal, by offset
  std::string content;               // of the live stretches, in order
};

struct SeqTarget {
  SeqRef first;
  std::uint32_t length = 0;
};

struct SeqDelete {
  SeqRef dot;  // the delete event
  OneInline<SeqTarget> targets;  // elements of the entry's field
};

// The winning set of a list element (docs/sequences.md, Writes): the
// element's value register, of which only the greatest (HLC, actor) is kept.
struct SeqSet {
  SeqRef target;      // the element
  SeqRef dot;         // the set event
  std::uint64_t hlc = 0;
  std::string value;  // one element of list content: byte count, value
};

struct SeqEntry {
  std::uint32_t record = 0;
  std::uint8_t field = 0;
  std::vector<SeqPart> parts;
  std::vector<SeqDelete> deletes;
  std::vector<SeqSet> sets;  // by target
};

// fn(ref) for every element and dot an entry names (parts, their origins,
// deletes, their targets, sets): what renumbering actors visits. E is
// SeqEntry or const SeqEntry.
template <typename E, typename Fn>
void for_each_ref(E& e, Fn&& fn) {
  for (auto& p : e.parts) {
    fn(p.first);
    if (p.left) fn(*p.left);
    if (p.right) fn(*p.right);
  }
  for (auto& d : e.deletes) {
    fn(d.dot);
    for (auto& t : d.targets) fn(t.first);
  }
  for (auto& s : e.sets) {
    fn(s.target);
    fn(s.dot);
  }
}

struct SeqSection {
  std::vector<SeqEntry> entries;
};

// Whether any entry carries a set (then the section is written at format
// version 4, kSetsFormatVersion).
bool has_sets(const SeqSection& section);
// `sets`: whether to write the entries' sets (format version 4).
void write_sequences(Writer& w, const SeqSection& section, bool sets);

// The most deletes one group holds: a group's few bytes decode to k deletes,
// so k is bounded (and each group is charged to SeqTables::grow).
inline constexpr std::uint64_t kMaxDeleteGroup = 1u << 16;

// What the reader needs from the delta around the section: its table
// sizes, the content of a record's field (nothing: not a sequence field),
// and the decode budget a group of k deletes is charged to (false: over it).
struct SeqTables {
  bool sets = false;  // format version 4: entries end with their sets
  std::size_t actors = 0;
  std::size_t records = 0;
  std::function<std::optional<Sequence::Content>(std::uint32_t record, std::uint8_t field)> content;
  std::function<bool(std::uint64_t deletes)> grow;
};

// Reads and checks the section: indexes in range, canonical order, content
// that is whole elements of its field's kind (text: valid UTF-8), seqs
// within 1 .. 2^32 - 1.
Status read_sequences(Reader& r, const SeqTables& tables, SeqSection& out);

// The entry of one field: its canonical parts (Sequence::parts()), actors
// numbered by `index` (the delta's table).
SeqEntry sequence_entry(const Sequence& s, std::uint32_t record, std::uint8_t field,
                        const std::function<std::uint32_t(ActorId)>& index);
// What Sequence::integrate_all() takes for an entry read from a delta: its
// runs (a text's wide characters found from its content) and their live
// stretches, viewing e's content. `actors` is the delta's table.
void entry_runs(const SeqEntry& e, std::span<const ActorId> actors, Sequence::Content content,
                std::vector<Sequence::Run>& runs, std::vector<std::vector<Sequence::Stretch>>& live);

}  // namespace mycelium
