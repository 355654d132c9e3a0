// EventLog: for one actor, which key each of its seqs touched (DESIGN.md,
// the event index): the record and a KeyScope (key_scope.h), stored as runs
// of consecutive seqs on one record and scope. A batch of field writes to one
// record (an insert with its fields) takes one run; memory grows with runs
// (12 bytes each), which each cost bytes in any delta that carries them, so
// a peer cannot make a store allocate for events it merely claims.
#pragma once

#include <algorithm>
#include <cstdint>
#include <vector>

#include "key_scope.h"

namespace mycelium {

class EventLog {
 public:
  struct Run {
    std::uint32_t first;   // first seq of the run
    std::uint32_t record;  // record index
    KeyScope scope;        // the keys its events touched
  };

  std::uint32_t size() const { return size_; }  // highest seq (seqs are 1..size)
  bool empty() const { return size_ == 0; }

  // Appends `count` events on one key. A run grows only by events of its own
  // scope, so every delta that splits it still names exactly its events'
  // keys; except that local writes (local = true) no delta has seen apart
  // yet widen the last run's field mask (an insert with its fields: one run).
  void append(std::uint32_t record, KeyScope scope, std::uint32_t count = 1, bool local = false) {
    if (count == 0) return;
    KeyScope merged = 0;
    if (!runs_.empty() && runs_.back().record == record) {
      if (runs_.back().scope == scope) merged = scope;
      else if (local && open_) merged = merge_scopes(runs_.back().scope, scope);
    }
    if (merged != 0) {
      runs_.back().scope = merged;
      open_ = open_ && local;  // a run a delta has read (part of) never widens
      // Widened to the scope of the run before it (a delete after a field
      // write): one run, as a replica receiving them would keep it.
      const std::size_t n = runs_.size();
      if (n >= 2 && runs_[n - 2].record == record && runs_[n - 2].scope == merged) {
        runs_.pop_back();
        open_ = false;
      }
    } else {
      if (runs_.size() == runs_.capacity()) runs_.reserve(runs_.capacity() + runs_.capacity() / 4 + 4);
      runs_.push_back({size_ + 1, record, scope});
      open_ = local;
    }
    size_ += count;
  }

  // Calls fn(record, scope, first_seq, count) for the runs covering seqs (after, size].
  template <typename Fn>
  void for_each_after(std::uint32_t after, Fn&& fn) const {
    if (after >= size_) return;
    std::size_t i = run_of(after + 1);
    for (; i < runs_.size(); ++i) {
      const std::uint32_t first = std::max(runs_[i].first, after + 1);
      const std::uint32_t end = i + 1 < runs_.size() ? runs_[i + 1].first : size_ + 1;
      fn(runs_[i].record, runs_[i].scope, first, end - first);
    }
  }

  // How many runs for_each_after(after) calls back.
  std::size_t runs_after(std::uint32_t after) const { return after >= size_ ? 0 : runs_.size() - run_of(after + 1); }

  // Room for `runs` more runs (a join knows how many it brings).
  // Grows as append() does (x1.25), so many small joins stay linear.
  void reserve_runs(std::size_t runs) {
    const std::size_t need = runs_.size() + runs;
    if (need > runs_.capacity()) runs_.reserve(std::max(need, runs_.capacity() + runs_.capacity() / 4 + 4));
  }

  std::size_t bytes_used() const { return runs_.capacity() * sizeof(Run); }

  // A delta or a version has read the events: later writes start their own
  // scope (reads come between write batches, so a run's widened scope is
  // exactly its batch's keys, and no base falls inside a widened run). Every
  // replica then splits one actor's runs alike.
  void seal() const { open_ = false; }

 private:
  // Index of the run holding seq (1 <= seq <= size).
  std::size_t run_of(std::uint32_t seq) const {
    std::size_t lo = 0, hi = runs_.size();
    while (hi - lo > 1) {
      const std::size_t mid = (lo + hi) / 2;
      if (runs_[mid].first <= seq) lo = mid;
      else hi = mid;
    }
    return lo;
  }

  std::vector<Run> runs_;
  std::uint32_t size_ = 0;
  mutable bool open_ = false;  // the last run may still widen (local writes no delta has read)
};

}  // namespace mycelium
