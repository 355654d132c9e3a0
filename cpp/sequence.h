// Sequence: one list or text field's elements (docs/sequences.md): their
// ids, origins, whether each is deleted, and the live ones' content.
//
// The order is FugueMax (Weidner and Kleppmann 2023). An element is placed
// by its left origin L (the element before it when it was inserted, or the
// start) and right origin R (the element after L then, tombstones included,
// or the end); a remote element is integrated by scanning from L towards R
// past the elements that belong between them, as diamond-types' "YjsMod"
// does, which orders the list as the FugueMax tree does (tests-cpp
// sequence_test.cc checks it against a plain FugueMax tree).
//
// Elements live in runs: one actor's consecutive seqs, each element's left
// origin the one before it, one right origin for all (what typing forward
// makes). Runs are never split; document order is a list of pieces (a
// stretch of one run, live or deleted) in blocks of up to 128 that count
// their elements, with prefix sums over the blocks (Fenwick trees), so an
// index or id lookup costs O(log blocks) plus one block.
// Content lives in the pieces, so a deleted piece drops it: a text's pieces
// hold UTF-8, a list's each element's encoded value behind its varint
// length.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "clock.h"
#include "status.h"

namespace mycelium {

class Sequence {
 public:
  struct Id {
    ActorId actor = 0;
    std::uint32_t seq = 0;
    friend bool operator==(const Id&, const Id&) = default;
    friend auto operator<=>(const Id&, const Id&) = default;
  };
  // An origin: an element, or the start (left) / end (right) when empty.
  using Origin = std::optional<Id>;
  struct Run {
    Id first;
    std::uint32_t length = 0;
    Origin left, right;  // of the first element; element k > 0 has left = k - 1
    // Offsets of its elements two UTF-16 units wide (a text's astral
    // characters), increasing; every other element is one unit.
    std::vector<std::uint32_t> wide;
  };
  // A stretch of consecutive elements of one run, in document order.
  struct Span {
    Id first;
    std::uint32_t length = 0;
    bool deleted = false;
  };

  enum class Content : std::uint8_t { kNone, kUtf8, kValues };
  // A stretch of a run's elements, by offset in the run, with its content.
  struct Stretch {
    std::uint32_t offset = 0, length = 0;
    std::string_view bytes;
  };

  explicit Sequence(Content content = Content::kNone);

  // The elements and UTF-16 offsets of wide ones that `bytes` holds, or
  // false when it is not whole elements of this content (text: valid
  // UTF-8 is the caller's to check).
  static bool shape(Content content, std::string_view bytes, std::uint32_t& length, std::vector<std::uint32_t>& wide);

  std::size_t size() const { return visible_; }        // live elements
  std::size_t elements() const { return total_; }  // tombstones included
  std::size_t units() const { return visible_units_; }  // UTF-16 units of the live elements
  // The live index at UTF-16 offset `unit` (<= units()); invalid_argument
  // past the end or inside a two-unit element.
  Result<std::size_t> index_at_unit(std::size_t unit) const;
  // The UTF-16 offset of live index `index` (<= size()).
  std::size_t unit_at_index(std::size_t index) const;

  // Inserts `length` elements with ids first, first + 1, ... at live index
  // `index` (<= size()). The run they form, with its origins, is what
  // travels. first.seq + length must not pass 2^32 - 1.
  // `bytes` is their content (length elements of it; none without content).
  Result<Run> insert(std::size_t index, Id first, std::uint32_t length, std::span<const std::uint32_t> wide = {},
                     std::string_view bytes = {});
  // What integrate() does with a run whose right origin is not after its
  // left one (both known): only a lying peer sends one. kPlaceAtEnd places
  // it as if its right origin were the end, the same way on every replica
  // (for a join that must not fail half way, docs/sequences.md).
  enum class Crossed : std::uint8_t { kRefuse, kPlaceAtEnd };
  // How many elements at the start of `run` are here already (a run may
  // arrive grown since its start came, or in stretches relayed by a replica
  // that got it in parts): run.length when all are. Corrupt when the known
  // ones are given other origins (origins are immutable) or the rest
  // overlaps elements of another run. Reads the run's ids and origins only.
  Result<std::uint32_t> known_prefix(const Run& run) const;
  // Places a run made elsewhere. Its origins must be known here; elements
  // already here are left alone (a run is the same everywhere). `live`
  // names its live stretches with their content, increasing; the rest of
  // its new elements are tombstones.
  Status integrate(const Run& run, std::span<const Stretch> live, Crossed crossed = Crossed::kRefuse);
  // The same with every element live (no content).
  Status integrate(const Run& run) {
    const Stretch all[] = {Stretch{0, run.length, {}}};
    return integrate(run, all);
  }
  // Places runs given in any order (a snapshot's, by id): each once the
  // runs holding its origins are placed. An origin neither here nor in
  // `runs`, or origins that wait on each other, is corrupt; runs before the
  // failing one stay placed (the store checks a delta before it joins).
  // live[i]: run i's live stretches (none given: every element live).
  Status integrate_all(std::span<const Run> runs, std::span<const std::vector<Stretch>> live = {},
                       Crossed crossed = Crossed::kRefuse);
  // Deletes the live elements [index, index + count): the id stretches
  // they were, in document order, for the delete event to name.
  Result<std::vector<Span>> erase(std::size_t index, std::size_t count);
  // Deletes the elements first .. first + length - 1 wherever they are
  // (a remote delete); deleted ones stay deleted. They must be known.
  Status erase_ids(Id first, std::uint32_t length);
  // A list's element `id` (known, live) gets the value `element` (its
  // encoded value behind its varint length, one element of content): what
  // a set does. Recorded as a splice of one element out and one in.
  Status replace(Id id, std::string_view element);

  bool contains(Id id) const;
  // When `id` is known: the seq after the last element of the run holding
  // it (so the known stretch from id on ends there). One lookup.
  std::optional<std::uint64_t> run_end(Id id) const;
  bool deleted(Id id) const;  // id must be known
  // The live index of a known element: if deleted, where it was (the count
  // of live elements before it).
  std::size_t index_of(Id id) const;
  // The id of the live element at `index` (< size()).
  Id at(std::size_t index) const;

  // Everything in document order, tombstones included; adjacent stretches
  // of one run with the same state are joined.
  std::vector<Span> spans() const;
  // The live elements' content in order (a text's UTF-8).
  std::string content() const;
  // fn(bytes) for the live content in order, piece by piece (no copy).
  template <typename Fn>
  void for_each_content(Fn&& fn) const {
    for (const Block& b : blocks_) {
      for (std::uint32_t p : b.pieces) {
        if (!pieces_[p].deleted) fn(std::string_view(pieces_[p].bytes));
      }
    }
  }
  // The live content of the known elements first .. first + length - 1
  // that are live, appended to `out` in id order (what a delta carries).
  void content_of(Id first, std::uint32_t length, std::string& out) const;
  // The runs, by (actor, first seq), as held (a run received in parts is
  // several).
  std::vector<Run> runs() const;
  // A run as it travels: maximal (parts that continue each other joined),
  // its live stretches (maximal, by offset) and their content in order.
  struct Live {
    std::uint32_t offset = 0, length = 0;  // elements of the run
    std::size_t bytes = 0;                  // of content
    friend bool operator==(const Live&, const Live&) = default;
  };
  struct Part {
    Run run;
    std::vector<Live> live;  // maximal, by offset
    std::string content;     // theirs, in order
  };
  // A change of the live elements, for subscriptions: at live `index`
  // (a text's UTF-16 units), `deleted` live elements (units) removed, then
  // the content `inserted` added. Each is against the sequence as the ones
  // before it left it.
  struct Splice {
    std::size_t index = 0, deleted = 0;
    std::string inserted;
  };
  // While out is set, every change integrate() and erase_ids() make to the
  // live elements is appended to it, in order (nullptr: none recorded).
  void record_splices(std::vector<Splice>* out) { splices_ = out; }

  // Every run as a part, by (actor, first seq): the canonical form a
  // snapshot writes, whatever order this replica received them in.
  std::vector<Part> parts() const { return parts_since({}); }
  // The parts of the elements whose seq is past from(their actor) (what a
  // delta since a version carries): a run cut there starts at its first
  // such element, whose left origin is the one before it. Costs one lookup
  // per actor plus the parts returned.
  std::vector<Part> parts_since(const std::function<std::uint32_t(ActorId)>& from) const;

 private:
  struct RunData {
    Run run;
    std::vector<std::uint32_t> pieces;  // its pieces, by offset
  };
  struct Piece {
    std::uint32_t run;     // index into runs_
    std::uint32_t offset;  // of its first element in the run
    std::uint32_t length;
    std::uint32_t width;  // UTF-16 units
    bool deleted;
    std::string bytes;  // content, when live
  };
  struct Block {
    std::vector<std::uint32_t> pieces;  // indexes into pieces_, in order
    std::size_t elements = 0, visible = 0, units = 0;  // units: of the live ones
    std::uint32_t id = 0;                              // stable; piece_block_ names it
  };
  // Prefix sums over the blocks in order.
  class Sums {
   public:
    void reset(std::size_t n) { t_.assign(n + 1, 0); }
    void add(std::size_t i, std::int64_t d) {
      for (++i; i < t_.size(); i += i & (~i + 1)) t_[i] += d;
    }
    std::size_t prefix(std::size_t i) const {  // of blocks [0, i)
      std::int64_t s = 0;
      for (; i > 0; i -= i & (~i + 1)) s += t_[i];
      return static_cast<std::size_t>(s);
    }
    // The block holding x (the first whose prefix through it passes x),
    // and x less the blocks before it.
    std::size_t find(std::size_t& x) const {
      std::size_t pos = 0, step = 1;
      while (step * 2 < t_.size()) step *= 2;
      auto rest = static_cast<std::int64_t>(x);
      for (; step > 0; step /= 2) {
        if (pos + step < t_.size() && t_[pos + step] <= rest) {
          pos += step;
          rest -= t_[pos];
        }
      }
      x = static_cast<std::size_t>(rest);
      return pos;
    }

   private:
    std::vector<std::int64_t> t_{0};
  };
  // A place in document order: a block, a piece in it, an offset in the piece.
  struct Cursor {
    std::size_t block = 0, slot = 0;
    std::uint32_t offset = 0;
  };

  // by_actor_'s entry for an actor, or where it would go.
  std::vector<std::pair<ActorId, std::vector<std::uint32_t>>>::const_iterator actor_entry(ActorId actor) const;
  // The first of an actor's runs (by first seq) that starts after seq.
  std::size_t first_after(const std::vector<std::uint32_t>& runs, std::uint32_t seq) const;
  std::optional<std::uint32_t> find_run(Id id) const;
  bool any_known(Id first, std::uint32_t length) const;
  bool all_known(Id first, std::uint32_t length) const;
  // The piece holding element `offset` of run r.
  std::uint32_t piece_of(std::uint32_t r, std::uint32_t offset) const;
  Cursor cursor_of(Id id) const;
  std::size_t position(const Cursor& c) const;  // tombstones included
  std::size_t position_of(const Origin& o, bool right) const;
  Cursor at_live(std::size_t index) const;  // the live element at index, or the end
  Cursor at_position(std::size_t pos) const;
  Id id_at(const Cursor& c) const;
  bool next(Cursor& c) const;  // to the next element; false at the end
  Origin left_origin(const Cursor& c) const;
  Origin right_origin(const Cursor& c) const;
  // Splits the piece at c so c starts a piece; returns the cursor to it.
  Cursor split(Cursor c);
  // Adds a piece before c (c at a piece start, or the end).
  void insert_piece(Cursor c, std::uint32_t piece);
  void add_run(const Run& run);
  void set_deleted(Cursor c, std::uint32_t length);  // c at a piece start; within one piece
  void fix_block(std::size_t b);
  // Adds to block b's counts (and the sums).
  void count(std::size_t b, std::int64_t elements, std::int64_t visible, std::int64_t units);
  std::size_t block_of(std::uint32_t piece) const { return block_pos_[piece_block_[piece]]; }
  std::uint32_t new_piece(std::uint32_t run, std::uint32_t offset, std::uint32_t length, bool deleted,
                          std::string_view bytes = {});
  // Bytes of the first k elements of `bytes`.
  std::size_t skip(std::string_view bytes, std::uint32_t k) const;
  // Places pieces, in order, before the element at c (or at the end).
  void place(Cursor c, std::span<const std::uint32_t> pieces);
  std::uint32_t width_of(std::uint32_t run, std::uint32_t offset, std::uint32_t length) const;
  // Elements of piece p before UTF-16 unit u of it, and whether u falls
  // inside a two-unit element.
  std::uint32_t elements_before_unit(std::uint32_t p, std::size_t u, bool& inside) const;

  // The live index of the element at c (or of where it would be, deleted).
  std::size_t live_index(const Cursor& c) const;
  // Appends a splice (see record_splices), joined to the last one when it
  // continues it.
  void note_splice(std::size_t index, std::size_t deleted, std::string_view inserted);

  Content content_;
  std::vector<Splice>* splices_ = nullptr;
  std::vector<RunData> runs_;
  std::vector<std::pair<ActorId, std::vector<std::uint32_t>>> by_actor_;  // sorted; runs by first seq
  std::vector<Piece> pieces_;
  std::vector<std::uint32_t> piece_block_;  // block id of each piece
  std::vector<Block> blocks_;               // in document order
  std::vector<std::uint32_t> block_pos_;    // block id -> place in blocks_
  Sums sum_elements_, sum_visible_, sum_units_;
  std::size_t visible_ = 0, total_ = 0, visible_units_ = 0;
};

}  // namespace mycelium
