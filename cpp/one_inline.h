// OneInline<T>: a vector that keeps its first element inline, so a list of
// one costs no allocation. A sequence delete has one target almost always,
// and loading a long editing history makes one list per delete (automerge-
// paper: 77,463 of them), twice over in the join's check and apply.
#pragma once

#include <cstddef>
#include <initializer_list>
#include <vector>

namespace mycelium {

template <typename T>
class OneInline {
 public:
  OneInline() = default;
  OneInline(std::initializer_list<T> xs) {
    for (const T& x : xs) push_back(x);
  }

  void push_back(const T& x) {
    if (!more_.empty()) {
      more_.push_back(x);
    } else if (size_ == 0) {
      one_ = x;
    } else {
      more_.reserve(2);
      more_.push_back(one_);
      more_.push_back(x);
    }
    ++size_;
  }
  void reserve(std::size_t n) {
    if (n > 1 && more_.empty()) {
      more_.reserve(n);
      if (size_ == 1) more_.push_back(one_);
    } else if (n > 1) {
      more_.reserve(n);
    }
  }
  void resize(std::size_t n) {
    if (more_.empty() && n <= 1) {
      if (n == 1 && size_ == 0) one_ = T{};
    } else {
      if (more_.empty()) more_.assign(size_, one_);
      more_.resize(n);
    }
    size_ = n;
  }

  std::size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  T* data() { return more_.empty() ? &one_ : more_.data(); }
  const T* data() const { return more_.empty() ? &one_ : more_.data(); }
  T* begin() { return data(); }
  T* end() { return data() + size_; }
  const T* begin() const { return data(); }
  const T* end() const { return data() + size_; }
  T& operator[](std::size_t i) { return data()[i]; }
  const T& operator[](std::size_t i) const { return data()[i]; }
  T& back() { return data()[size_ - 1]; }
  const T& back() const { return data()[size_ - 1]; }

 private:
  T one_{};
  std::vector<T> more_;  // every element, once there are two or more
  std::size_t size_ = 0;
};

}  // namespace mycelium
