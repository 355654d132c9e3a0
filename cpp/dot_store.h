// The in-memory dot store of a record, and its join.
//
// A record's state is a flat list of cells. An entry cell is one live dot
// (actor, seq) of one key, with its payload:
//   kValue     lww / mvr: the written value, aux = HLC of the write
//   kElement   set: the element, one cell per live add dot
//   kCounter   counter: aux = the actor's running total on that key (one per actor)
//   kPresence  field 255: a live insert of the record
//   kCredit    credit (docs/credit.md): aux = the actor's running total of
//              one component, the value which one (null: added, false:
//              spent, an integer: given to that actor id), one per
//              (actor, component)
// A kOffset cell (counters only) records, per actor, the running total a
// record delete observed; a counter reads sum(entry.total - offset.total).
//
// Every event has one dot and touches one record, so a record join is a set
// operation on dots (DESIGN.md, Join): keep a local entry when the delta has
// its dot or the sender's context does not cover it; add each incoming entry
// the local context does not cover. Offsets and credit cells join by the
// greater seq per (actor, component): never dropped otherwise (a credit
// cell comes in only with a dot the local context lacks).
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <utility>
#include <span>
#include <vector>

#include "key_scope.h"
#include "string_pool.h"
#include "value.h"

namespace mycelium {

enum class CellType : std::uint8_t { kValue, kElement, kPresence, kCounter, kOffset, kCredit };

// A cell as mutations and joins build it.
struct Cell {
  std::uint64_t aux = 0;
  std::uint32_t seq = 0;
  std::uint16_t actor = 0;  // the store's interned actor index (at most 65,535 actors)
  std::uint8_t field = 0;
  CellType type = CellType::kValue;
  StoredValue value;  // kValue, kElement, kCredit

  bool is_offset() const { return type == CellType::kOffset; }
  // Joined by the greater seq per (field, actor, component), not by dots.
  bool by_seq() const { return type == CellType::kOffset || type == CellType::kCredit; }
};

// A cell inside a CellList, read in place. Stable until the list changes.
//
// Layout, in 64-bit words: a header (seq bits 0-31, actor 32-47, field
// 48-55, code 56-63), then aux for kValue/kCounter/kOffset, then the value
// payload for kValue/kElement. code: bits 0-2 the value tag (6 = presence,
// 7 = counter), bits 3-6 the StoredValue's inline flag and length, bit 7 set
// for an element (no aux); for counters bit 3 marks an offset; a credit
// cell is a value cell (aux, payload) of a scalar with bit 6 set (scalars
// leave bits 3-6 clear).
// Hot readers of this layout are forced inline: a size-optimized build
// (-Oz) would call each of them, and a record read visits every cell.
#define MYC_HOT [[gnu::always_inline]] inline

class CellRef {
 public:
  static constexpr std::uint8_t kPresenceCode = 6;
  static constexpr std::uint8_t kCounterCode = 7;
  static constexpr std::uint8_t kOffsetBit = 8;
  static constexpr std::uint8_t kElementBit = 0x80;
  static constexpr std::uint8_t kCreditBit = 0x40;

  MYC_HOT explicit CellRef(const std::uint64_t* p) : p_(p) {}
  MYC_HOT std::uint32_t seq() const { return static_cast<std::uint32_t>(p_[0]); }
  MYC_HOT std::uint16_t actor() const { return static_cast<std::uint16_t>(p_[0] >> 32); }
  MYC_HOT std::uint8_t field() const { return static_cast<std::uint8_t>(p_[0] >> 48); }
  MYC_HOT CellType type() const {
    const std::uint8_t c = code();
    switch (c & 7) {
      case kPresenceCode: return CellType::kPresence;
      case kCounterCode: return (c & kOffsetBit) ? CellType::kOffset : CellType::kCounter;
      default:
        return (c & kElementBit) ? CellType::kElement : (c & 0x48) == kCreditBit ? CellType::kCredit : CellType::kValue;
    }
  }
  MYC_HOT bool is_credit() const { return (code() & (kElementBit | 0x48 | 4)) == kCreditBit; }
  // An offset or credit cell: joined by the greater seq (Cell::by_seq).
  MYC_HOT bool by_seq() const { return is_offset() || is_credit(); }
  MYC_HOT bool is_offset() const { return (code() & (7 | kOffsetBit)) == (kCounterCode | kOffsetBit); }
  MYC_HOT std::uint64_t aux() const { return has_aux() ? p_[1] : 0; }
  // The value (kValue, kElement); inline strings point into the list.
  ValueView value(const StringPool& pool) const;
  Cell decode() const;
  // Whether the value is a string or bytes interned in the pool, and where.
  MYC_HOT bool pooled() const {
    const std::uint8_t c = code();
    return ((c & 7) == static_cast<std::uint8_t>(ValueTag::kString) || (c & 7) == static_cast<std::uint8_t>(ValueTag::kBytes)) &&
           !(c & 8);
  }
  MYC_HOT std::uint32_t pool_offset() const { return static_cast<std::uint32_t>(p_[has_aux() ? 2 : 1]); }
  MYC_HOT std::size_t words() const { return 1 + has_aux() + has_payload(); }
  MYC_HOT const std::uint64_t* data() const { return p_; }

 private:
  MYC_HOT std::uint8_t code() const { return static_cast<std::uint8_t>(p_[0] >> 56); }
  MYC_HOT bool has_aux() const {
    const std::uint8_t c = code();
    return (c & 7) == kCounterCode || ((c & 7) < 6 && !(c & kElementBit));
  }
  MYC_HOT bool has_payload() const { return (code() & 7) < 6; }
  const std::uint64_t* p_;
};

// The cells of one record in the layout above. One pointer: the word count
// and capacity live in the allocation's first word, so a record costs 16
// bytes plus its cells. Small lists grow to fit exactly, large ones by half.
class CellList {
 public:
  CellList() = default;
  CellList(std::initializer_list<Cell> cells);
  CellList(const CellList&) = delete;
  CellList& operator=(const CellList&) = delete;
  CellList(CellList&& o) noexcept : p_(o.p_) { o.p_ = nullptr; }
  CellList& operator=(CellList&& o) noexcept;
  ~CellList();

  class Iterator {
   public:
    MYC_HOT explicit Iterator(const std::uint64_t* p) : p_(p) {}
    MYC_HOT CellRef operator*() const { return CellRef(p_); }
    MYC_HOT Iterator& operator++() {
      p_ += CellRef(p_).words();
      return *this;
    }
    MYC_HOT bool operator==(const Iterator& o) const { return p_ == o.p_; }

   private:
    const std::uint64_t* p_;
  };
  MYC_HOT Iterator begin() const { return Iterator(data()); }
  MYC_HOT Iterator end() const { return Iterator(data() + words()); }
  bool empty() const { return words() == 0; }
  std::span<const std::uint64_t> raw() const { return {data(), words()}; }  // the packed cells
  std::size_t size() const;  // number of cells (walks the list)
  MYC_HOT std::size_t words() const { return p_ ? static_cast<std::uint32_t>(p_[0]) : 0; }
  std::size_t capacity_words() const { return p_ ? static_cast<std::uint32_t>(p_[0] >> 32) : 0; }
  std::size_t bytes_used() const { return p_ ? (capacity_words() + 1) * sizeof(std::uint64_t) : 0; }

  void push_back(const Cell& c);
  void reserve_words(std::size_t words);
  void shrink_to(std::size_t words);  // capacity max(words, size)
  static std::size_t words_of(const Cell& c);
  // Drops the cells pred(CellRef) picks; returns the bytes of the pooled
  // strings they referred to (which other cells may still use: the store
  // counts them as possible garbage of its pool), 0 without a pool. A list
  // left at a quarter of its capacity gives the rest back.
  template <typename Pred>
  std::size_t erase_if(Pred pred, const StringPool* pool = nullptr) {
    std::uint64_t* w = data();
    const std::size_t n = words();
    std::size_t out = 0;
    std::size_t dropped = 0;
    for (std::size_t i = 0; i < n;) {
      const CellRef c(w + i);
      const std::size_t k = c.words();
      if (!pred(c)) {
        if (out != i) std::memmove(w + out, w + i, k * sizeof(std::uint64_t));
        out += k;
      } else if (pool && c.pooled()) {
        dropped += pool->get(c.pool_offset()).size() + 1;
      }
      i += k;
    }
    set_words(out);
    if (capacity_words() >= 64 && out <= capacity_words() / 4) shrink_to(out * 2);
    return dropped;
  }
  // Calls fn(std::uint64_t& offset) for each cell's pooled string, whose
  // offset fn may change (the pool's compaction moves strings).
  template <typename Fn>
  void for_each_pooled(Fn&& fn) {
    std::uint64_t* w = data();
    const std::size_t n = words();
    for (std::size_t i = 0; i < n;) {
      const CellRef c(w + i);
      if (c.pooled()) fn(w[i + c.words() - 1]);
      i += c.words();
    }
  }

 private:
  MYC_HOT std::uint64_t* data() const { return p_ ? p_ + 1 : nullptr; }
  void set_words(std::size_t n) {
    if (p_) p_[0] = (p_[0] & 0xffffffff00000000ull) | n;
  }
  std::uint64_t* p_ = nullptr;  // [words used | capacity << 32][cells...]
};

struct Record {
  CellList cells;
  std::uint32_t id = 0;  // offset in the store's id arena
  std::uint16_t collection = 0;
};
static_assert(sizeof(Record) == (sizeof(void*) == 8 ? 16 : 12), "a record is a pointer, an id and a collection");

// Seq of each interned actor that a context covers.
using Coverage = std::vector<std::uint64_t>;

inline bool covered(const Coverage& c, std::uint32_t actor, std::uint64_t seq) {
  return actor < c.size() && seq <= c[actor];
}

// The keys of one record that a delta touches (the union of its events'
// scopes, key_scope.h): a join leaves local cells of other keys alone.
struct KeyFilter {
  KeyScope mask = kWholeRecord;
  std::span<const std::pair<std::uint32_t, KeyScope>> elements;  // (record, element scope), sorted
  const StringPool* pool = nullptr;  // to read element values

  bool has(CellRef c) const {
    const KeyScope f = field_scope(c.field());
    if ((mask & f) == f) return true;
    if (elements.empty() || c.type() != CellType::kElement) return false;
    const KeyScope e = element_scope(c.field(), c.value(*pool));
    return std::binary_search(elements.begin(), elements.end(), std::pair{elements.front().first, e});
  }
};

// Joins the sender's cells of one record into the local cells: complete for
// every key the filter names (keys absent are empty), none of other keys.
// Returns the pooled-string bytes of the local cells it dropped (erase_if).
std::size_t join_record(CellList& local, std::span<const Cell> incoming, const Coverage& sender,
                        const Coverage& receiver, const StringPool& pool, const KeyFilter& keys = {});

}  // namespace mycelium
