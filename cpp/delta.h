// Delta: the unit of exchange. A snapshot is a delta since the empty vector.
//
// Contents (DESIGN.md, Delta-state CRDT): the base (the vector the delta was
// computed against), the sender's causal context, every event dot between
// the two with the key it touched (a record and a KeyScope, key_scope.h),
// and the complete current dot store of every key those events touched: of
// each record, the cells of the keys in the union of its events' scopes.
//
// Payload layout (inside a codec.h frame), all counts and indexes varints:
//   strings      count, then (length, bytes) each
//   collections  count, then per collection: name, field count, (name, kind:u8) each
//   actors       count, then fixed64 ids, strictly increasing
//   base         count, then (actor index, seq) with increasing actor index
//   context      the same
//   records      count, then column collection[], column id[] (string index);
//                strictly increasing by (collection, id bytes)
//   events       for each context entry, runs covering its (base, context]:
//                (zigzag record-index delta, run length - 1, scope); format
//                version 1 had no scope (every event touched its whole record)
//   cells        count per record, then six columns over all cells, each
//                prefixed by its byte length (so a decoder reads them side
//                by side in one pass): field:u8, tag:u8 (value tag, bit 3
//                bool value, bit 4 counter offset), actor index, seq (zigzag
//                delta from the previous cell), aux (lww/mvr: zigzag HLC
//                delta; counter: zigzag total; set and presence: absent),
//                value (int zigzag, double fixed64, string/bytes string index)
//   sequences    (format version 3, only when the delta names a list or
//                text field) the elements of its list and text fields and
//                their delete events: sequence_codec.h, its record and
//                actor indexes the delta's
// Cells within a record are strictly increasing by (field, role, value,
// actor, seq), which makes the encoding canonical. The string table is in
// order of first use (names, record ids, values).
//
// A detached delta (PayloadKind::kDetachedDelta) leaves its context out: it
// travels beside the delta (a sync message's version, which is sent as the
// entries that changed since the last one). Its actor table names only the
// actors with events in it or dots in its cells; every other actor of the
// context has base = context. So a live write among thousands of actors
// costs bytes for what changed, not for every actor. decode_delta() needs
// that context and returns the delta as if it had been sent whole.
#pragma once

#include <algorithm>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string_view>
#include <utility>
#include <vector>

#include "clock.h"
#include "codec.h"
#include "key_scope.h"
#include "schema.h"
#include "sequence_codec.h"
#include "status.h"
#include "value.h"

namespace mycelium {

inline constexpr std::uint8_t kPresenceField = 255;
inline constexpr std::uint64_t kMaxSeq = 0xffffffffu;

// What decoding one input may allocate (the decompressed payload and every
// table built from it), as SQLite bounds what a corrupt input may cost: at
// most kDecodeBytesPerInputByte times the input as it arrived (compressed),
// never less than kDecodeFloorBytes, never more than kDecodeMaxBytes. Real
// snapshots need 10-110x their compressed size (the most compressible one we
// know, sequential ids and one value everywhere, about 3 bytes a record
// compressed and 300 decoded: tests-cpp/store_test.cc); a decompression bomb
// is refused with limit_exceeded before its tables are built (it could cost
// ~2,600x before).
inline constexpr std::size_t kDecodeBytesPerInputByte = 256;
inline constexpr std::size_t kDecodeFloorBytes = std::size_t{16} << 20;
inline constexpr std::size_t kDecodeMaxBytes = std::size_t{1} << 30;
std::size_t decode_budget(std::size_t input_bytes);

// A delta of more cells than this is decoded streamed (DeltaData::streamed):
// the decoder checks every cell and keeps none, and for_each_record()
// decodes them again, piece by piece. A snapshot of 100,000 records has
// ~700,000 cells, 22 MB decoded; the receiving store holds them in ~16.
inline constexpr std::size_t kStreamCellsAbove = std::size_t{1} << 16;
inline constexpr std::size_t kStreamPieceCells = std::size_t{1} << 14;

// The six cell columns of a delta (layout above), read side by side, and
// the running values their deltas are taken from.
struct CellColumns {
  Reader field{{}}, tag{{}}, actor{{}}, seq{{}}, aux{{}}, value{{}};
  std::uint64_t prev_seq = 0, prev_hlc = 0;
};

struct DeltaData {
  struct Field {
    std::string_view name;
    Kind kind;
  };
  struct Collection {
    std::string_view name;
    std::vector<Field> fields;
  };
  struct Record {
    std::uint32_t collection;
    std::string_view id;
    std::uint32_t first_cell;
    std::uint32_t cell_count;
    KeyScope mask = 0;  // the field masks of its events, united (kWholeRecord: every key)
  };
  static constexpr std::uint32_t kNoString = 0xffffffffu;

  // 32 bytes: snapshots decode into hundreds of thousands of these.
  struct Cell {
    std::uint64_t aux = 0;   // lww/mvr: HLC; counter: running total
    std::uint64_t bits = 0;  // bool, int64, double value bits
    std::uint32_t seq = 0;
    std::uint32_t actor = 0;                 // index into actors
    std::uint32_t string = kNoString;        // string/bytes value: index into strings
    std::uint8_t field = 0;                  // kPresenceField for presence
    ValueTag tag = ValueTag::kNull;
    bool offset = false;                     // counter offset recorded by a record delete
  };
  // Consecutive seqs of one actor that touched one record.
  struct EventRun {
    std::uint32_t actor;   // index into actors
    std::uint32_t record;  // index into records
    std::uint64_t first;   // first seq
    std::uint64_t count;
    KeyScope scope = kWholeRecord;
  };
  using VvEntries = std::vector<std::pair<std::uint32_t, std::uint64_t>>;  // (actor index, seq)

  PayloadKind kind = PayloadKind::kDelta;
  std::vector<Collection> collections;
  std::vector<ActorId> actors;  // strictly increasing
  VvEntries base;               // increasing actor index, seq >= 1
  VvEntries context;
  std::vector<Record> records;
  std::vector<EventRun> events;  // in context order; each actor's runs cover (base, context]
  std::vector<Cell> cells;  // all of them, unless streamed
  std::size_t cell_total = 0;
  // A streamed delta's cells: the columns at their first cell, and (a
  // detached delta) the actor index each decoded cell's actor becomes.
  std::optional<CellColumns> streamed;
  std::vector<std::uint32_t> actor_map;
  // Set by decode_delta(), so a join needs no pass over the cells for them:
  // which strings some cell holds as its value, and the greatest HLC of an
  // lww or mvr cell.
  std::vector<bool> value_strings;
  std::uint64_t max_hlc = 0;
  // The element scopes of each record's events, as (record, scope), sorted:
  // with Record::mask, the keys a join of this delta touches.
  std::vector<std::pair<std::uint32_t, KeyScope>> elements;
  // The list and text fields' entries (record and actor indexes the
  // delta's), in (record, field) order.
  SeqSection sequences;
  // Whether the delta names a list or text field (then it is written at
  // format version 3).
  bool names_sequences() const;
  Buffer storage;  // a decompressed payload that the views above point into
  std::vector<std::string_view> strings;  // string and bytes values of cells

  ValueView value(const Cell& c) const {
    ValueView v{c.tag, c.bits, {}};
    if (c.string != kNoString) v.str = strings[c.string];
    return v;
  }
  void set_value(Cell& c, const ValueView& v) {
    c.tag = v.tag;
    c.bits = v.bits;
    c.string = kNoString;
    if (v.tag == ValueTag::kString || v.tag == ValueTag::kBytes) {
      c.string = static_cast<std::uint32_t>(strings.size());
      strings.push_back(v.str);
    }
  }
  // Whether a cell's key is one the record's events touched.
  bool in_scope(std::uint32_t record, const Cell& c) const {
    const KeyScope mask = records[record].mask;
    if ((mask & field_scope(c.field)) == field_scope(c.field)) return true;
    return has_element(record, c.field, value(c));
  }
  bool has_element(std::uint32_t record, std::uint8_t field, const ValueView& v) const {
    if (elements.empty()) return false;
    return std::binary_search(elements.begin(), elements.end(), std::pair{record, element_scope(field, v)});
  }
  // Fills Record::mask and `elements` from the events.
  void unite_scopes();
  Cell make_cell(std::uint8_t field, bool offset, std::uint32_t actor, std::uint32_t seq, std::uint64_t aux,
                 const ValueView& v) {
    Cell c;
    c.field = field;
    c.offset = offset;
    c.actor = actor;
    c.seq = seq;
    c.aux = aux;
    set_value(c, v);
    return c;
  }
  // fn(record index, its cells) for every record, in order; a streamed
  // delta is decoded again in pieces of about kStreamPieceCells cells.
  template <typename Fn>
  void for_each_record(Fn&& fn) const;
  // Every cell, in order (a streamed delta's decoded again).
  std::vector<Cell> all_cells() const;
};

// A delta's cells, record after record: a streamed delta's are decoded
// again a piece (about kStreamPieceCells cells) at a time.
class CellReader {
 public:
  explicit CellReader(const DeltaData& d);
  // The cells of record 0, then 1, 2, ...: each call the next record's.
  std::span<const DeltaData::Cell> next(std::uint32_t record);

 private:
  const DeltaData& d_;
  CellColumns cols_;
  std::vector<DeltaData::Cell> piece_;
  std::uint32_t piece_end_ = 0;  // records before it are decoded
  std::size_t at_ = 0;           // the next record's first cell in piece_
};

template <typename Fn>
void DeltaData::for_each_record(Fn&& fn) const {
  CellReader reader(*this);
  for (std::uint32_t i = 0; i < records.size(); ++i) fn(i, reader.next(i));
}

// Kind of the field a cell belongs to (presence counts as an mvr without values).
inline Kind cell_kind(const DeltaData& d, const DeltaData::Record& r, const DeltaData::Cell& c) {
  return c.field == kPresenceField ? Kind::kMvr : d.collections[r.collection].fields[c.field].kind;
}

// Canonical order of cells inside a record: (field, role, value, actor, seq).
std::strong_ordering cell_order(const DeltaData& d, const DeltaData::Cell& a, const DeltaData::Cell& b);
// Canonical order of records: (collection, id bytes).
std::strong_ordering record_order(const DeltaData::Record& a, const DeltaData::Record& b);

class StringTable;

// Writes a delta whose cells come in pieces, so that a large one (a
// snapshot) never holds all its cells decoded at once. The head is the
// delta without cells: its records in order (their first_cell and
// cell_count unused), events, actors, versions, collections. Pieces hold the
// cells of consecutive records from the first: a piece's records (the
// head's, in order, with first_cell and cell_count into the piece's cells)
// and its strings. The bytes are those of encode_delta() of the whole.
class DeltaEncoder {
 public:
  // detached: leave the context out (PayloadKind::kDetachedDelta, above);
  // then cell_actors says which of head.actors have dots in the cells to
  // come or are named in its sequences section.
  DeltaEncoder(const DeltaData& head, bool detached, const std::vector<bool>& cell_actors);
  ~DeltaEncoder();
  DeltaEncoder(const DeltaEncoder&) = delete;
  DeltaEncoder& operator=(const DeltaEncoder&) = delete;
  void add(const DeltaData& piece);
  // The sequences section (head actor indexes), written after the cells.
  void sequences(SeqSection section) { sequences_ = std::move(section); }
  // After the last piece: writes what comes before the cell columns and
  // frees the string table. The head is not read after it.
  void close();
  // The framed delta, its payload given to frame() as pieces (the part
  // close() wrote, then the columns): never joined whole when compressed.
  ByteVec frame_pieces();
  ByteVec finish() {
    close();
    return frame_pieces();
  }

 private:
  const DeltaData& head_;
  bool detached_;
  std::vector<std::uint32_t> actor_index_;  // head actor -> written index (kNoString: left out)
  std::vector<ActorId> actors_;             // those written
  std::unique_ptr<StringTable> strings_;
  std::vector<std::uint32_t> name_ids_;  // collection and field names, in order
  std::vector<std::uint32_t> record_ids_;
  std::uint64_t prev_seq_ = 0, prev_hlc_ = 0;
  PayloadKind kind_;
  BlockWriter front_;  // everything before the cell columns (close())
  BlockWriter counts_, fields_, tags_, actor_col_, seqs_, auxs_, values_;
  std::vector<std::uint32_t> value_refs_, found_, value_ids_;  // per piece, reused
  SeqSection sequences_;
  bool names_sequences_ = false;
};

// detached: leave the context out (PayloadKind::kDetachedDelta, above).
ByteVec encode_delta(const DeltaData& delta, bool detached = false);
// Decodes and checks everything that does not need the receiving store:
// bounds, indexes, canonical order, dots covered by the context, events
// naming the records that hold their dots, kinds of cells. String views point
// into `bytes`, which must outlive the result. Allocates at most
// decode_budget(bytes.size()) bytes, else limit_exceeded.
// A detached delta needs `context`, the version it was sent with; the result
// is then the whole delta (kind kDelta), its context that version.
// More than stream_cells_above cells: decoded streamed (DeltaData::streamed).
Result<DeltaData> decode_delta(std::span<const std::uint8_t> bytes, const VersionVector* context = nullptr,
                               std::size_t stream_cells_above = kStreamCellsAbove);

}  // namespace mycelium
