#include "kinds.h"

#include <algorithm>

namespace mycelium::kinds {

bool visible(std::span<const Cell> cells) {
  return std::any_of(cells.begin(), cells.end(), [](const Cell& c) { return !c.is_offset(); });
}

const Cell* lww_winner(std::span<const Cell> cells, std::uint8_t field,
                       std::span<const ActorId> actors) {
  const Cell* best = nullptr;
  for (const Cell& c : cells) {
    if (c.is_offset() || c.field != field) continue;
    if (!best || c.aux > best->aux || (c.aux == best->aux && actors[c.actor] > actors[best->actor])) {
      best = &c;
    }
  }
  return best;
}

std::int64_t counter_value(std::span<const Cell> cells, std::uint8_t field) {
  std::uint64_t sum = 0;  // unsigned: wraps instead of overflowing
  for (const Cell& c : cells) {
    if (c.is_offset() || c.field != field) continue;
    sum += c.aux;
    for (const Cell& o : cells) {
      if (o.is_offset() && o.field == field && o.actor == c.actor) sum -= o.aux;
    }
  }
  return static_cast<std::int64_t>(sum);
}

std::vector<ValueView> distinct_values(std::span<const Cell> cells, std::uint8_t field,
                                       const StringPool& pool) {
  std::vector<ValueView> out;
  for (const Cell& c : cells) {
    if (!c.is_offset() && c.field == field) out.push_back(load_value(c.value, pool));
  }
  std::sort(out.begin(), out.end(), [](const ValueView& a, const ValueView& b) { return compare(a, b) < 0; });
  out.erase(std::unique(out.begin(), out.end(), [](const ValueView& a, const ValueView& b) { return equal(a, b); }),
            out.end());
  return out;
}

void assign(CellList& cells, const Cell& fresh) {
  cells.erase_if([&](const Cell& c) { return !c.is_offset() && c.field == fresh.field; });
  cells.push_back(fresh);
}

void increment(CellList& cells, std::uint8_t field, std::uint16_t actor,
               std::uint32_t seq, std::int64_t n) {
  std::uint64_t total = 0;
  bool found = false;
  for (Cell& c : cells) {
    if (c.field != field || c.actor != actor) continue;
    if (!c.is_offset()) {
      total = c.aux;
      c.seq = seq;
      c.aux = total + static_cast<std::uint64_t>(n);
      return;
    }
    total = c.aux;  // the entry was deleted: continue from the offset
    found = true;
  }
  Cell fresh;
  fresh.field = field;
  fresh.actor = actor;
  fresh.seq = seq;
  fresh.aux = (found ? total : 0) + static_cast<std::uint64_t>(n);
  cells.push_back(fresh);
}

void set_add(CellList& cells, const Cell& fresh, const StringPool& pool) {
  set_remove(cells, fresh.field, load_value(fresh.value, pool), pool);
  cells.push_back(fresh);
}

void set_remove(CellList& cells, std::uint8_t field, const ValueView& element,
                const StringPool& pool) {
  cells.erase_if([&](const Cell& c) {
    return !c.is_offset() && c.field == field && equal(load_value(c.value, pool), element);
  });
}

void delete_record(CellList& cells, std::span<const FieldSchema> fields) {
  const std::size_t n = cells.size();
  for (std::size_t i = 0; i < n; ++i) {
    const Cell e = cells[i];
    if (e.is_offset() || e.field == 255 || fields[e.field].kind != Kind::kCounter) continue;
    Cell* it = std::find_if(cells.begin(), cells.end(), [&](const Cell& o) {
      return o.is_offset() && o.field == e.field && o.actor == e.actor;
    });
    Cell off = e;
    off.mark_offset();
    if (it == cells.end()) {
      cells.push_back(off);
    } else {
      *it = off;  // the entry is always newer than the actor's old offset
    }
  }
  cells.erase_if([](const Cell& c) { return !c.is_offset(); });
}

}  // namespace mycelium::kinds
