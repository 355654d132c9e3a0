#include "dot_store.h"

#include <algorithm>

namespace mycelium {

void join_record(std::vector<Cell>& local, std::span<const Cell> incoming, const Coverage& sender,
                 const Coverage& receiver) {
  auto has_dot = [&](const Cell& l) {
    return std::any_of(incoming.begin(), incoming.end(), [&](const Cell& d) {
      return !d.offset && d.actor == l.actor && d.seq == l.seq;
    });
  };
  // Local side: entries survive unless the sender saw them and dropped them.
  std::size_t keep = 0;
  for (std::size_t i = 0; i < local.size(); ++i) {
    const Cell& l = local[i];
    if (l.offset || !covered(sender, l.actor, l.seq) || has_dot(l)) local[keep++] = l;
  }
  local.resize(keep);
  const std::size_t local_end = local.size();
  for (const Cell& d : incoming) {
    if (!d.offset) {
      if (!covered(receiver, d.actor, d.seq)) local.push_back(d);
      continue;
    }
    auto it = std::find_if(local.begin(), local.begin() + static_cast<std::ptrdiff_t>(local_end),
                           [&](const Cell& l) { return l.offset && l.field == d.field && l.actor == d.actor; });
    if (it == local.begin() + static_cast<std::ptrdiff_t>(local_end)) {
      local.push_back(d);
    } else if (d.seq > it->seq || (d.seq == it->seq && d.aux > it->aux)) {
      *it = d;
    }
  }
}

}  // namespace mycelium
