// ByteVec: the engine's byte buffers (frames, deltas, snapshots, reads).
#pragma once

#include <cstdint>
#include <memory>
#include <new>
#include <utility>
#include <vector>

namespace mycelium {

// Bytes that resize() leaves unset instead of zeroing them (a Writer's
// buffer and a compressor's output are overwritten; a size-optimized build
// zeroes byte by byte).
template <typename T>
struct UninitAllocator : std::allocator<T> {
  template <typename U>
  struct rebind {
    using other = UninitAllocator<U>;
  };
  UninitAllocator() = default;
  template <typename U>
  UninitAllocator(const UninitAllocator<U>&) noexcept {}
  template <typename U>
  void construct(U* p) noexcept {
    ::new (static_cast<void*>(p)) U;
  }
  template <typename U, typename... Args>
  void construct(U* p, Args&&... args) {
    ::new (static_cast<void*>(p)) U(std::forward<Args>(args)...);
  }
};
using ByteVec = std::vector<std::uint8_t, UninitAllocator<std::uint8_t>>;

}  // namespace mycelium
