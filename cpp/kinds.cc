#include "kinds.h"

#include <algorithm>

#include "sort_by.h"

namespace mycelium::kinds {

bool visible(const CellList& cells) {
  bool credit = false;
  for (CellRef c : cells) {
    if (c.is_credit()) credit = true;
    else if (!c.is_offset()) return true;
  }
  if (!credit) return false;
  // Only credit cells: visible while some credit field holds a balance.
  for (CellRef c : cells) {
    if (c.is_credit() && credit_balance(cells, c.field()) != 0) return true;
  }
  return false;
}

Entries entries(const CellList& cells) {
  Entries out = Entries::kNone;
  for (CellRef c : cells) {
    if (c.is_credit() || c.is_offset()) continue;
    if (c.type() != CellType::kElement) return Entries::kFixed;
    out = Entries::kElements;
  }
  return out;
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
        if (c.is_credit()) return false;
        if (!c.is_offset()) return true;
        return std::any_of(offsets.begin(), offsets.end(),
                           [&](const Cell& o) { return o.field == c.field() && o.actor == c.actor(); });
      },
      &pool);
  for (const Cell& o : offsets) cells.push_back(o);
  return dropped;
}

namespace {
// A credit cell's component, a scalar read from the payload (no pool).
ValueView component_of(CellRef c) {
  const Cell d = c.decode();
  return {d.value.tag(), d.value.bits(), {}};
}
bool same_component(const ValueView& a, const ValueView& b) { return a.tag == b.tag && a.bits == b.bits; }
}  // namespace

std::int64_t credit_balance(const CellList& cells, std::uint8_t field) {
  CreditSum sum = 0;
  for (CellRef c : cells) {
    if (c.field() != field || !c.is_credit()) continue;
    const ValueView k = component_of(c);
    if (k.tag == ValueTag::kNull) sum += c.aux();
    else if (k.tag == ValueTag::kBool) sum -= c.aux();
  }
  return static_cast<std::int64_t>(sum);  // within [0, kMaxCredit]: joins check it
}

CreditSum credit_rights(const CellList& cells, std::uint8_t field, std::uint16_t actor, ActorId id) {
  CreditSum sum = 0;
  for (CellRef c : cells) {
    if (c.field() != field || !c.is_credit()) continue;
    const ValueView k = component_of(c);
    if (k.tag == ValueTag::kInt && k.bits == id) sum += c.aux();  // given to it
    if (c.actor() != actor) continue;
    if (k.tag == ValueTag::kNull) sum += c.aux();
    else sum -= c.aux();  // spent, or given away
  }
  return sum;
}

std::uint64_t credit_total(const CellList& cells, std::uint8_t field, std::uint16_t actor, const ValueView& component) {
  for (CellRef c : cells) {
    if (c.field() == field && c.actor() == actor && c.is_credit() && same_component(component_of(c), component)) {
      return c.aux();
    }
  }
  return 0;
}

void credit_record(CellList& cells, std::uint8_t field, std::uint16_t actor, std::uint32_t seq,
                   const ValueView& component, std::uint64_t n) {
  const std::uint64_t total = credit_total(cells, field, actor, component);
  cells.erase_if([&](CellRef c) {
    return c.field() == field && c.actor() == actor && c.is_credit() && same_component(component_of(c), component);
  });
  Cell fresh;
  fresh.type = CellType::kCredit;
  fresh.field = field;
  fresh.actor = actor;
  fresh.seq = seq;
  fresh.aux = total + n;
  fresh.value.vtag = static_cast<std::uint8_t>(component.tag);
  fresh.value.set_bits(component.bits);
  cells.push_back(fresh);
}

bool credit_holds(std::vector<CreditEntry>& entries) {
  // One entry per (actor, component): the greater (seq, total), as the join keeps.
  sort_by(std::span(entries), [](const CreditEntry& a, const CreditEntry& b) {
    if (a.actor != b.actor) return a.actor < b.actor;
    if (a.component.tag != b.component.tag) return a.component.tag < b.component.tag;
    if (a.component.bits != b.component.bits) return a.component.bits < b.component.bits;
    if (a.seq != b.seq) return a.seq < b.seq;
    return a.total < b.total;
  });
  // (actor, signed amount) for every term of every actor's rights, then
  // summed per actor after one sort.
  std::vector<std::pair<ActorId, CreditSum>> terms;
  terms.reserve(entries.size() * 2);
  CreditSum added = 0;
  for (std::size_t i = 0; i < entries.size(); ++i) {
    const CreditEntry& e = entries[i];
    if (i + 1 < entries.size() && entries[i + 1].actor == e.actor && entries[i + 1].component.tag == e.component.tag &&
        entries[i + 1].component.bits == e.component.bits) {
      continue;  // an older total of the same component
    }
    const CreditSum t = e.total;
    switch (e.component.tag) {
      case ValueTag::kNull:
        terms.emplace_back(e.actor, t);
        added += t;
        break;
      case ValueTag::kBool: terms.emplace_back(e.actor, -t); break;
      default:
        terms.emplace_back(e.actor, -t);
        terms.emplace_back(static_cast<ActorId>(e.component.bits), t);
        break;
    }
  }
  if (added > kMaxCredit) return false;
  sort_by(std::span(terms), [](const auto& a, const auto& b) { return a.first < b.first; });
  for (std::size_t i = 0; i < terms.size();) {
    CreditSum rights = 0;
    std::size_t j = i;
    for (; j < terms.size() && terms[j].first == terms[i].first; ++j) rights += terms[j].second;
    if (rights < 0) return false;
    i = j;
  }
  return true;
}

}  // namespace mycelium::kinds
