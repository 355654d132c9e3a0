#include "dot_store.h"

#include <algorithm>
#include <cstring>
#include <new>

namespace mycelium {

CellList::CellList(std::initializer_list<Cell> cells) {
  for (const Cell& c : cells) push_back(c);
}

CellList::~CellList() { ::operator delete(p_); }

void CellList::grow() {
  const std::uint32_t cap = cap_ + cap_ / 2 + 1;
  auto* p = static_cast<Cell*>(::operator new(sizeof(Cell) * cap));
  if (n_) std::memcpy(static_cast<void*>(p), p_, sizeof(Cell) * n_);
  ::operator delete(p_);
  p_ = p;
  cap_ = cap;
}

void join_record(CellList& local, std::span<const Cell> incoming, const Coverage& sender,
                 const Coverage& receiver) {
  auto has_dot = [&](const Cell& l) {
    return std::any_of(incoming.begin(), incoming.end(), [&](const Cell& d) {
      return !d.is_offset() && d.actor == l.actor && d.seq == l.seq;
    });
  };
  // Local side: entries survive unless the sender saw them and dropped them.
  std::size_t keep = 0;
  for (std::size_t i = 0; i < local.size(); ++i) {
    const Cell& l = local[i];
    if (l.is_offset() || !covered(sender, l.actor, l.seq) || has_dot(l)) local[keep++] = l;
  }
  local.truncate(keep);
  const std::size_t local_end = local.size();
  for (const Cell& d : incoming) {
    if (!d.is_offset()) {
      if (!covered(receiver, d.actor, d.seq)) local.push_back(d);
      continue;
    }
    Cell* it = std::find_if(local.begin(), local.begin() + local_end,
                            [&](const Cell& l) { return l.is_offset() && l.field == d.field && l.actor == d.actor; });
    if (it == local.begin() + local_end) {
      local.push_back(d);
    } else if (d.seq > it->seq || (d.seq == it->seq && d.aux > it->aux)) {
      *it = d;
    }
  }
}

}  // namespace mycelium
