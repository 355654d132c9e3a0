// The in-memory dot store of a record, and its join.
//
// A record's state is a flat list of cells. An entry cell is one live dot
// (actor, seq) of one key, with its payload:
//   lww / mvr   the written value, aux = HLC of the write
//   counter     aux = the actor's running total on that key (one entry per actor)
//   set         the element, one cell per live add dot
//   presence    field 255: a live insert of the record (no value, aux 0)
// An offset cell (counters only) records, per actor, the running total a
// record delete observed; a counter reads sum(entry.total - offset.total).
//
// Every event has one dot and touches one record, so a record join is a set
// operation on dots (DESIGN.md, Join): keep a local entry when the delta has
// its dot or the sender's context does not cover it; add each incoming entry
// the local context does not cover. Offsets join by the greater seq.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <span>
#include <utility>
#include <vector>

#include "value.h"

namespace mycelium {

// 24 bytes. actor is the store's interned actor index (a store holds at most
// 65,535 actors: actors are reused across sessions, DESIGN.md Causality).
struct Cell {
  std::uint64_t aux = 0;
  std::uint32_t seq = 0;
  std::uint16_t actor = 0;
  std::uint8_t field = 0;
  StoredValue value;  // vtag kOffsetTag marks a counter offset

  static constexpr std::uint8_t kOffsetTag = 0xff;
  bool is_offset() const { return value.vtag == kOffsetTag; }
  void mark_offset() { value = StoredValue{}; value.vtag = kOffsetTag; }
};
static_assert(sizeof(Cell) == 24, "cells are compact: memory per record matters");

// The cells of one record: a growable array that grows by half (not double)
// and costs 16 bytes when empty. Cells are trivially copyable, so growth is
// a memcpy.
class CellList {
 public:
  CellList() = default;
  CellList(std::initializer_list<Cell> cells);
  CellList(const CellList&) = delete;
  CellList& operator=(const CellList&) = delete;
  CellList(CellList&& o) noexcept : p_(o.p_), n_(o.n_), cap_(o.cap_) { o.p_ = nullptr, o.n_ = o.cap_ = 0; }
  CellList& operator=(CellList&& o) noexcept {
    std::swap(p_, o.p_);
    std::swap(n_, o.n_);
    std::swap(cap_, o.cap_);
    return *this;
  }
  ~CellList();

  Cell* begin() { return p_; }
  Cell* end() { return p_ + n_; }
  const Cell* begin() const { return p_; }
  const Cell* end() const { return p_ + n_; }
  std::size_t size() const { return n_; }
  std::size_t capacity() const { return cap_; }
  bool empty() const { return n_ == 0; }
  Cell& operator[](std::size_t i) { return p_[i]; }
  const Cell& operator[](std::size_t i) const { return p_[i]; }
  operator std::span<const Cell>() const { return {p_, n_}; }  // NOLINT: a view

  void push_back(const Cell& c) {
    if (n_ == cap_) grow();
    p_[n_++] = c;
  }
  void truncate(std::size_t n) { n_ = static_cast<std::uint32_t>(n); }
  template <typename Pred>
  void erase_if(Pred pred) {
    std::uint32_t keep = 0;
    for (std::uint32_t i = 0; i < n_; ++i) {
      if (!pred(p_[i])) p_[keep++] = p_[i];
    }
    n_ = keep;
  }

 private:
  void grow();
  Cell* p_ = nullptr;
  std::uint32_t n_ = 0;
  std::uint32_t cap_ = 0;
};

struct Record {
  CellList cells;
  std::uint32_t id = 0;  // offset in the store's id arena
  std::uint16_t collection = 0;
};

// Seq of each interned actor that a context covers.
using Coverage = std::vector<std::uint64_t>;

inline bool covered(const Coverage& c, std::uint32_t actor, std::uint64_t seq) {
  return actor < c.size() && seq <= c[actor];
}

// Joins the sender's complete cells of one record (all keys; keys absent are
// empty) into the local cells.
void join_record(CellList& local, std::span<const Cell> incoming, const Coverage& sender,
                 const Coverage& receiver);

}  // namespace mycelium
