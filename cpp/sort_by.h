#pragma once
// Sorting by a comparison of the caller's, for a smaller download: every
// std::sort with a comparator of its own adds its whole introsort (~2 KB of
// WebAssembly). sort_by() sorts a short range by insertion, where the
// comparator is inlined, and a long one through sort_indexes(), a single
// std::sort instantiation that every caller shares (it compares through a
// function pointer: slower per comparison, used only where ranges are long).
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

namespace mycelium {

struct IndexLess {
  bool (*less)(const void* context, std::uint32_t a, std::uint32_t b);
  const void* context;
};

// Sorts `indexes` by `order`.
void sort_indexes(std::vector<std::uint32_t>& indexes, IndexLess order);

// Sorts `items` by `less(a, b)` (not stable).
template <typename T, typename Less>
void sort_by(std::span<T> items, const Less& less) {
  const std::size_t n = items.size();
  if (n <= 16) {
    for (std::size_t i = 1; i < n; ++i) {
      T x = items[i];
      std::size_t j = i;
      for (; j > 0 && less(x, items[j - 1]); --j) items[j] = items[j - 1];
      items[j] = x;
    }
    return;
  }
  struct Context {
    std::span<T> items;
    const Less& less;
  } context{items, less};
  std::vector<std::uint32_t> indexes(n);
  for (std::size_t i = 0; i < n; ++i) indexes[i] = static_cast<std::uint32_t>(i);
  sort_indexes(indexes, {[](const void* c, std::uint32_t a, std::uint32_t b) {
                           const auto& ctx = *static_cast<const Context*>(c);
                           return ctx.less(ctx.items[a], ctx.items[b]);
                         },
                         &context});
  const std::vector<T> copy(items.begin(), items.end());
  for (std::size_t i = 0; i < n; ++i) items[i] = copy[indexes[i]];
}

}  // namespace mycelium
