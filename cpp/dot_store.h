// The in-memory dot store of a record, and its join.
//
// A record's state is a flat list of cells. An entry cell is one live dot
// (actor, seq) of one key, with its payload:
//   lww / mvr   the written value, aux = HLC of the write
//   counter     aux = the actor's running total on that key (one entry per actor)
//   set         the element, one cell per live add dot
//   presence    field 255: a live insert of the record
// An offset cell (counters only) records, per actor, the running total a
// record delete observed; a counter reads sum(entry.total - offset.total).
//
// Every event has one dot and touches one record, so a record join is a set
// operation on dots (DESIGN.md, Join): keep a local entry when the delta has
// its dot or the sender's context does not cover it; add each incoming entry
// the local context does not cover. Offsets join by the greater seq.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "value.h"

namespace mycelium {

#pragma pack(push, 4)
struct Cell {
  std::uint64_t aux = 0;
  std::uint32_t actor = 0;  // the store's interned actor index
  std::uint32_t seq = 0;
  StoredValue value;
  std::uint8_t field = 0;
  bool offset = false;
};
#pragma pack(pop)
static_assert(sizeof(Cell) == 28, "cells are packed: memory per record matters");

struct Record {
  std::vector<Cell> cells;
  std::uint32_t id = 0;  // offset in the store's id pool
  std::uint16_t collection = 0;
};

// Seq of each interned actor that a context covers.
using Coverage = std::vector<std::uint64_t>;

inline bool covered(const Coverage& c, std::uint32_t actor, std::uint64_t seq) {
  return actor < c.size() && seq <= c[actor];
}

// Joins the sender's complete cells of one record (all keys; keys absent are
// empty) into the local cells.
void join_record(std::vector<Cell>& local, std::span<const Cell> incoming, const Coverage& sender,
                 const Coverage& receiver);

}  // namespace mycelium
