#include "sort_by.h"

#include <algorithm>

namespace mycelium {

void sort_indexes(std::vector<std::uint32_t>& indexes, IndexLess order) {
  std::sort(indexes.begin(), indexes.end(),
            [order](std::uint32_t a, std::uint32_t b) { return order.less(order.context, a, b); });
}

}  // namespace mycelium
