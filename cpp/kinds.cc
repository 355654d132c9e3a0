#include "kinds.h"

#include <algorithm>

#include "sort_by.h"

namespace mycelium::kinds {

bool visible(const CellList& cells) {
  for (CellRef c : cells) {
    if (!c.is_offset()) return true;
  }
  return false;
}

std::optional<CellRef> lww_winner(const CellList& cells, std::uint8_t field, std::span<const ActorId> actors) {
  std::optional<CellRef> best;
  for (CellRef c : cells) {
    if (c.field() != field || c.is_offset()) continue;
    if (!best || c.aux() > best->aux() || (c.aux() == best->aux() && actors[c.actor()] > actors[best->actor()])) {
      best = c;
    }
  }
  return best;
}

std::int64_t counter_value(const CellList& cells, std::uint8_t field) {
  std::uint64_t sum = 0;  // unsigned: wraps instead of overflowing
  for (CellRef c : cells) {
    if (c.field() != field) continue;
    // total - offset, per actor: entries add, offsets subtract (an offset
    // exists only for an actor whose entry a delete removed or that wrote
    // again since).
    if (c.type() == CellType::kCounter) sum += c.aux();
  }
  for (CellRef o : cells) {
    if (o.field() != field || !o.is_offset()) continue;
    for (CellRef c : cells) {
      if (c.field() == field && c.type() == CellType::kCounter && c.actor() == o.actor()) sum -= o.aux();
    }
  }
  return static_cast<std::int64_t>(sum);
}

std::vector<ValueView> distinct_values(const CellList& cells, std::uint8_t field, const StringPool& pool) {
  std::vector<ValueView> out;
  distinct_values(cells, field, pool, out);
  return out;
}

void distinct_values(const CellList& cells, std::uint8_t field, const StringPool& pool, std::vector<ValueView>& out) {
  out.clear();
  for (CellRef c : cells) {
    if (c.field() == field && !c.is_offset()) out.push_back(c.value(pool));
  }
  sort_by(std::span(out), [](const ValueView& a, const ValueView& b) { return compare(a, b) < 0; });
  out.erase(std::unique(out.begin(), out.end(), [](const ValueView& a, const ValueView& b) { return equal(a, b); }),
            out.end());
}

bool contains(const CellList& cells, std::uint8_t field, const ValueView& element, const StringPool& pool) {
  for (CellRef c : cells) {
    if (c.field() == field && c.type() == CellType::kElement && equal(c.value(pool), element)) return true;
  }
  return false;
}

std::size_t assign(CellList& cells, const Cell& fresh, const StringPool& pool) {
  const std::size_t dropped = cells.erase_if([&](CellRef c) { return c.field() == fresh.field && !c.is_offset(); }, &pool);
  cells.push_back(fresh);
  return dropped;
}

void increment(CellList& cells, std::uint8_t field, std::uint16_t actor, std::uint32_t seq, std::int64_t n) {
  // The running total continues from the actor's entry, or from its offset
  // when a delete removed the entry.
  std::uint64_t total = 0;
  for (CellRef c : cells) {
    if (c.field() != field || c.actor() != actor) continue;
    if (c.type() == CellType::kCounter) {
      total = c.aux();
      break;
    }
    if (c.is_offset()) total = c.aux();
  }
  cells.erase_if([&](CellRef c) { return c.field() == field && c.actor() == actor && c.type() == CellType::kCounter; });
  Cell fresh;
  fresh.type = CellType::kCounter;
  fresh.field = field;
  fresh.actor = actor;
  fresh.seq = seq;
  fresh.aux = total + static_cast<std::uint64_t>(n);
  cells.push_back(fresh);
}

std::size_t set_add(CellList& cells, const Cell& fresh, const StringPool& pool) {
  const std::size_t dropped = set_remove(cells, fresh.field, load_value(fresh.value, pool), pool);
  cells.push_back(fresh);
  return dropped;
}

std::size_t set_remove(CellList& cells, std::uint8_t field, const ValueView& element, const StringPool& pool) {
  return cells.erase_if(
      [&](CellRef c) { return c.field() == field && c.type() == CellType::kElement && equal(c.value(pool), element); },
      &pool);
}

std::size_t delete_record(CellList& cells, const StringPool& pool) {
  // Each counter entry becomes its actor's offset (newer than any old one).
  std::vector<Cell> offsets;
  for (CellRef c : cells) {
    if (c.type() != CellType::kCounter) continue;
    Cell o = c.decode();
    o.type = CellType::kOffset;
    offsets.push_back(o);
  }
  const std::size_t dropped = cells.erase_if(
      [&](CellRef c) {
        if (!c.is_offset()) return true;
        return std::any_of(offsets.begin(), offsets.end(),
                           [&](const Cell& o) { return o.field == c.field() && o.actor == c.actor(); });
      },
      &pool);
  for (const Cell& o : offsets) cells.push_back(o);
  return dropped;
}

}  // namespace mycelium::kinds
