#include "sequence.h"

#include <algorithm>

namespace mycelium {
namespace {

// Pieces per block before it splits in two: a lookup scans the block
// counts, then one block.
constexpr std::size_t kBlockPieces = 64;
constexpr std::uint64_t kMaxSeqEnd = 0xffffffffu;

}  // namespace

Sequence::Sequence() = default;

// --- lookups -----------------------------------------------------------------

std::optional<std::uint32_t> Sequence::find_run(Id id) const {
  auto a = std::lower_bound(by_actor_.begin(), by_actor_.end(), id.actor,
                            [](const auto& e, ActorId x) { return e.first < x; });
  if (a == by_actor_.end() || a->first != id.actor) return std::nullopt;
  const auto& runs = a->second;
  auto it = std::upper_bound(runs.begin(), runs.end(), id.seq,
                             [&](std::uint32_t seq, std::uint32_t r) { return seq < runs_[r].run.first.seq; });
  if (it == runs.begin()) return std::nullopt;
  const Run& run = runs_[*(it - 1)].run;
  if (id.seq - run.first.seq >= run.length) return std::nullopt;
  return *(it - 1);
}

bool Sequence::contains(Id id) const { return find_run(id).has_value(); }

// Whether any of first .. first + length - 1 is here: one probe per run.
bool Sequence::any_known(Id first, std::uint32_t length) const {
  if (contains(first)) return true;
  auto a = std::lower_bound(by_actor_.begin(), by_actor_.end(), first.actor,
                            [](const auto& e, ActorId x) { return e.first < x; });
  if (a == by_actor_.end() || a->first != first.actor) return false;
  const auto& runs = a->second;
  auto it = std::upper_bound(runs.begin(), runs.end(), first.seq,
                             [&](std::uint32_t seq, std::uint32_t r) { return seq < runs_[r].run.first.seq; });
  return it != runs.end() && runs_[*it].run.first.seq - std::uint64_t{first.seq} < length;
}

// Whether all of first .. first + length - 1 are here: one probe per run.
bool Sequence::all_known(Id first, std::uint32_t length) const {
  std::uint64_t seq = first.seq;
  const std::uint64_t end = seq + length;
  while (seq < end) {
    auto r = find_run(Id{first.actor, static_cast<std::uint32_t>(seq)});
    if (!r) return false;
    seq = runs_[*r].run.first.seq + std::uint64_t{runs_[*r].run.length};
  }
  return true;
}

std::uint32_t Sequence::piece_of(std::uint32_t r, std::uint32_t offset) const {
  const auto& ps = runs_[r].pieces;
  auto it = std::upper_bound(ps.begin(), ps.end(), offset,
                             [&](std::uint32_t o, std::uint32_t p) { return o < pieces_[p].offset; });
  return *(it - 1);
}

Sequence::Cursor Sequence::cursor_of(Id id) const {
  const std::uint32_t r = *find_run(id);
  const std::uint32_t k = id.seq - runs_[r].run.first.seq;
  const std::uint32_t p = piece_of(r, k);
  Cursor c;
  c.block = piece_block_[p];
  const auto& slots = blocks_[c.block].pieces;
  c.slot = static_cast<std::size_t>(std::find(slots.begin(), slots.end(), p) - slots.begin());
  c.offset = k - pieces_[p].offset;
  return c;
}

bool Sequence::deleted(Id id) const {
  const std::uint32_t r = *find_run(id);
  return pieces_[piece_of(r, id.seq - runs_[r].run.first.seq)].deleted;
}

std::size_t Sequence::position(const Cursor& c) const {
  std::size_t pos = 0;
  for (std::size_t b = 0; b < c.block && b < blocks_.size(); ++b) pos += blocks_[b].elements;
  if (c.block >= blocks_.size()) return pos;
  const auto& slots = blocks_[c.block].pieces;
  for (std::size_t s = 0; s < c.slot; ++s) pos += pieces_[slots[s]].length;
  return pos + c.offset;
}

// Positions count from 1 so the start is 0 and the end total_ + 1.
std::size_t Sequence::position_of(const Origin& o, bool right) const {
  if (!o) return right ? total_ + 1 : 0;
  return position(cursor_of(*o)) + 1;
}

std::size_t Sequence::index_of(Id id) const {
  const Cursor c = cursor_of(id);
  std::size_t index = 0;
  for (std::size_t b = 0; b < c.block; ++b) index += blocks_[b].visible;
  const auto& slots = blocks_[c.block].pieces;
  for (std::size_t s = 0; s < c.slot; ++s) {
    if (!pieces_[slots[s]].deleted) index += pieces_[slots[s]].length;
  }
  return index + (pieces_[slots[c.slot]].deleted ? 0 : c.offset);
}

Sequence::Cursor Sequence::at_live(std::size_t index) const {
  Cursor c;
  for (; c.block < blocks_.size(); ++c.block) {
    const Block& b = blocks_[c.block];
    if (index < b.visible) {
      for (; c.slot < b.pieces.size(); ++c.slot) {
        const Piece& p = pieces_[b.pieces[c.slot]];
        if (p.deleted) continue;
        if (index < p.length) {
          c.offset = static_cast<std::uint32_t>(index);
          return c;
        }
        index -= p.length;
      }
    }
    index -= b.visible;
  }
  return Cursor{blocks_.size(), 0, 0};
}

Sequence::Cursor Sequence::at_position(std::size_t pos) const {
  Cursor c;
  for (; c.block < blocks_.size(); ++c.block) {
    const Block& b = blocks_[c.block];
    if (pos < b.elements) {
      for (; c.slot < b.pieces.size(); ++c.slot) {
        const Piece& p = pieces_[b.pieces[c.slot]];
        if (pos < p.length) {
          c.offset = static_cast<std::uint32_t>(pos);
          return c;
        }
        pos -= p.length;
      }
    }
    pos -= b.elements;
  }
  return Cursor{blocks_.size(), 0, 0};
}

Sequence::Id Sequence::id_at(const Cursor& c) const {
  const Piece& p = pieces_[blocks_[c.block].pieces[c.slot]];
  const Run& run = runs_[p.run].run;
  return Id{run.first.actor, run.first.seq + p.offset + c.offset};
}

Sequence::Id Sequence::at(std::size_t index) const { return id_at(at_live(index)); }

bool Sequence::next(Cursor& c) const {
  if (c.block >= blocks_.size()) return false;
  const Block& b = blocks_[c.block];
  if (c.offset + 1 < pieces_[b.pieces[c.slot]].length) {
    ++c.offset;
    return true;
  }
  c.offset = 0;
  if (++c.slot < b.pieces.size()) return true;
  c.slot = 0;
  return ++c.block < blocks_.size();  // blocks are never empty
}

Sequence::Origin Sequence::left_origin(const Cursor& c) const {
  const Piece& p = pieces_[blocks_[c.block].pieces[c.slot]];
  const Run& run = runs_[p.run].run;
  const std::uint32_t k = p.offset + c.offset;
  if (k == 0) return run.left;
  return Id{run.first.actor, run.first.seq + k - 1};
}

Sequence::Origin Sequence::right_origin(const Cursor& c) const {
  return runs_[pieces_[blocks_[c.block].pieces[c.slot]].run].run.right;
}

// --- structure ---------------------------------------------------------------

std::uint32_t Sequence::width_of(std::uint32_t run, std::uint32_t offset, std::uint32_t length) const {
  const auto& w = runs_[run].run.wide;
  if (w.empty()) return length;
  const auto lo = std::lower_bound(w.begin(), w.end(), offset), hi = std::lower_bound(lo, w.end(), offset + length);
  return length + static_cast<std::uint32_t>(hi - lo);
}

std::uint32_t Sequence::elements_before_unit(std::uint32_t p, std::size_t u, bool& inside) const {
  const Piece& piece = pieces_[p];
  inside = false;
  const auto& w = runs_[piece.run].run.wide;
  std::uint32_t widened = 0;
  for (auto it = std::lower_bound(w.begin(), w.end(), piece.offset); it != w.end() && *it < piece.offset + piece.length; ++it) {
    const std::size_t at = *it - piece.offset + widened;  // the wide element's first unit
    if (u <= at) break;
    if (u == at + 1) {
      inside = true;
      return *it - piece.offset;
    }
    ++widened;
  }
  return static_cast<std::uint32_t>(u - widened);
}

Result<std::size_t> Sequence::index_at_unit(std::size_t unit) const {
  if (unit > visible_units_) return InvalidArgument("a text offset past the end");
  if (unit == visible_units_) return visible_;
  std::size_t index = 0;
  for (const Block& b : blocks_) {
    if (unit >= b.units) {
      unit -= b.units;
      index += b.visible;
      continue;
    }
    for (std::uint32_t p : b.pieces) {
      const Piece& piece = pieces_[p];
      if (piece.deleted) continue;
      if (unit >= piece.width) {
        unit -= piece.width;
        index += piece.length;
        continue;
      }
      bool inside;
      const std::uint32_t k = elements_before_unit(p, unit, inside);
      if (inside) return InvalidArgument("a text offset inside a character of two UTF-16 units (a surrogate pair)");
      return index + k;
    }
  }
  return visible_;  // not reached: unit < visible_units_
}

std::size_t Sequence::unit_at_index(std::size_t index) const {
  std::size_t unit = 0;
  for (const Block& b : blocks_) {
    if (index >= b.visible) {
      index -= b.visible;
      unit += b.units;
      continue;
    }
    for (std::uint32_t p : b.pieces) {
      const Piece& piece = pieces_[p];
      if (piece.deleted) continue;
      if (index >= piece.length) {
        index -= piece.length;
        unit += piece.width;
        continue;
      }
      return unit + width_of(piece.run, piece.offset, static_cast<std::uint32_t>(index));
    }
  }
  return unit;
}

std::uint32_t Sequence::new_piece(std::uint32_t run, std::uint32_t offset, std::uint32_t length, bool deleted) {
  const auto p = static_cast<std::uint32_t>(pieces_.size());
  pieces_.push_back({run, offset, length, width_of(run, offset, length), deleted});
  piece_block_.push_back(0);
  auto& ps = runs_[run].pieces;
  ps.insert(std::upper_bound(ps.begin(), ps.end(), offset,
                             [&](std::uint32_t o, std::uint32_t q) { return o < pieces_[q].offset; }),
            p);
  return p;
}

void Sequence::insert_piece(Cursor c, std::uint32_t piece) {
  if (blocks_.empty()) blocks_.emplace_back();
  if (c.block >= blocks_.size()) {  // the end: after the last piece
    c.block = blocks_.size() - 1;
    c.slot = blocks_[c.block].pieces.size();
  }
  Block& b = blocks_[c.block];
  b.pieces.insert(b.pieces.begin() + static_cast<std::ptrdiff_t>(c.slot), piece);
  piece_block_[piece] = static_cast<std::uint32_t>(c.block);
  const Piece& p = pieces_[piece];
  b.elements += p.length;
  if (!p.deleted) {
    b.visible += p.length;
    b.units += p.width;
  }
  fix_block(c.block);
}

void Sequence::fix_block(std::size_t at) {
  if (blocks_[at].pieces.size() <= 2 * kBlockPieces) return;
  Block upper;
  auto& lower = blocks_[at].pieces;
  upper.pieces.assign(lower.begin() + static_cast<std::ptrdiff_t>(kBlockPieces), lower.end());
  lower.resize(kBlockPieces);
  for (std::uint32_t p : upper.pieces) {
    upper.elements += pieces_[p].length;
    if (!pieces_[p].deleted) {
      upper.visible += pieces_[p].length;
      upper.units += pieces_[p].width;
    }
  }
  blocks_[at].elements -= upper.elements;
  blocks_[at].visible -= upper.visible;
  blocks_[at].units -= upper.units;
  blocks_.insert(blocks_.begin() + static_cast<std::ptrdiff_t>(at) + 1, std::move(upper));
  for (std::size_t b = at + 1; b < blocks_.size(); ++b) {
    for (std::uint32_t p : blocks_[b].pieces) piece_block_[p] = static_cast<std::uint32_t>(b);
  }
}

Sequence::Cursor Sequence::split(Cursor c) {
  if (c.block >= blocks_.size() || c.offset == 0) return c;
  const std::uint32_t p = blocks_[c.block].pieces[c.slot];
  const std::uint32_t k = c.offset;
  const std::uint32_t q = new_piece(pieces_[p].run, pieces_[p].offset + k, pieces_[p].length - k, pieces_[p].deleted);
  pieces_[p].length = k;
  pieces_[p].width = width_of(pieces_[p].run, pieces_[p].offset, k);
  // The block's counts stay: q holds what p gave up.
  Block& b = blocks_[c.block];
  b.pieces.insert(b.pieces.begin() + static_cast<std::ptrdiff_t>(c.slot) + 1, q);
  piece_block_[q] = static_cast<std::uint32_t>(c.block);
  fix_block(c.block);
  Cursor out;
  out.block = piece_block_[q];
  const auto& slots = blocks_[out.block].pieces;
  out.slot = static_cast<std::size_t>(std::find(slots.begin(), slots.end(), q) - slots.begin());
  return out;
}

void Sequence::set_deleted(Cursor c, std::uint32_t length) {
  c = split(c);
  const std::uint32_t p = blocks_[c.block].pieces[c.slot];
  if (length < pieces_[p].length) split(Cursor{c.block, c.slot, length});
  if (pieces_[p].deleted) return;
  pieces_[p].deleted = true;
  blocks_[piece_block_[p]].visible -= pieces_[p].length;
  blocks_[piece_block_[p]].units -= pieces_[p].width;
  visible_ -= pieces_[p].length;
  visible_units_ -= pieces_[p].width;
}

void Sequence::add_run(const Run& run) {
  const auto r = static_cast<std::uint32_t>(runs_.size());
  runs_.push_back({run, {}});
  auto a = std::lower_bound(by_actor_.begin(), by_actor_.end(), run.first.actor,
                            [](const auto& e, ActorId x) { return e.first < x; });
  if (a == by_actor_.end() || a->first != run.first.actor) a = by_actor_.insert(a, {run.first.actor, {}});
  auto& runs = a->second;
  runs.insert(std::upper_bound(runs.begin(), runs.end(), run.first.seq,
                               [&](std::uint32_t seq, std::uint32_t x) { return seq < runs_[x].run.first.seq; }),
              r);
}

// --- edits -------------------------------------------------------------------

namespace {
bool valid_wide(std::span<const std::uint32_t> wide, std::uint32_t length) {
  for (std::size_t i = 0; i < wide.size(); ++i) {
    if (wide[i] >= length || (i > 0 && wide[i] <= wide[i - 1])) return false;
  }
  return true;
}
}  // namespace

Result<Sequence::Run> Sequence::insert(std::size_t index, Id first, std::uint32_t length,
                                       std::span<const std::uint32_t> wide) {
  if (index > visible_) return InvalidArgument("insert past the end of the sequence");
  if (length == 0 || first.seq == 0 || first.seq + std::uint64_t{length} - 1 > kMaxSeqEnd) {
    return InvalidArgument("an insert takes 1 or more fresh seqs");
  }
  if (!valid_wide(wide, length)) return InvalidArgument("wide offsets must increase and lie in the run");
  if (any_known(first, length)) return AlreadyExists("element id already in the sequence");
  Origin left;
  Cursor c;  // the element after the left origin, tombstones included
  if (index > 0) {
    c = at_live(index - 1);
    left = id_at(c);
    next(c);
  } else if (blocks_.empty()) {
    c = Cursor{0, 0, 0};
  }
  const Origin right = c.block < blocks_.size() ? Origin(id_at(c)) : std::nullopt;
  Run run{first, length, left, right, {wide.begin(), wide.end()}};
  const std::uint32_t width = length + static_cast<std::uint32_t>(wide.size());
  total_ += length;
  visible_ += length;
  visible_units_ += width;
  // Typing on: the left origin ends a run of this actor whose next seq is
  // `first` and that shares the right origin; that run grows.
  if (left && left->actor == first.actor && left->seq + 1 == first.seq) {
    const std::uint32_t r = *find_run(*left);
    Run& prev = runs_[r].run;
    if (prev.first.seq + prev.length == first.seq && prev.right == right) {
      const std::uint32_t p = runs_[r].pieces.back();  // holds the left origin, its last element
      for (std::uint32_t w : wide) prev.wide.push_back(prev.length + w);
      prev.length += length;
      pieces_[p].length += length;
      pieces_[p].width += width;
      Block& b = blocks_[piece_block_[p]];
      b.elements += length;
      b.visible += length;
      b.units += width;
      return run;
    }
  }
  add_run(run);
  c = split(c);
  insert_piece(c, new_piece(static_cast<std::uint32_t>(runs_.size() - 1), 0, length, false));
  return run;
}

Status Sequence::integrate(const Run& in) {
  Run run = in;
  if (run.length == 0 || run.first.seq == 0 || run.first.seq + std::uint64_t{run.length} - 1 > kMaxSeqEnd) {
    return Corrupt("a sequence run of no elements or past the last seq");
  }
  if (!valid_wide(run.wide, run.length)) return Corrupt("a sequence run's wide offsets must increase and lie in it");
  // A run may arrive grown since its start came (its actor typed on), or
  // as stretches relayed by a replica that got it in parts: what is known
  // must be what this replica knows (origins are immutable) and is left
  // alone; the rest follows the last known element.
  while (auto known = find_run(run.first)) {
    const Run& k = runs_[*known].run;
    const std::uint32_t offset = run.first.seq - k.first.seq;
    const Origin left = offset == 0 ? k.left : Origin(Id{k.first.actor, run.first.seq - 1});
    if (left != run.left || k.right != run.right) {
      return Corrupt("a sequence run gives known elements other origins");
    }
    const std::uint32_t have = std::min(run.length, k.length - offset);
    if (have == run.length) return Status::Ok();
    run.left = Id{run.first.actor, run.first.seq + have - 1};
    run.first.seq += have;
    run.length -= have;
    std::vector<std::uint32_t> rest;
    for (std::uint32_t w : run.wide) {
      if (w >= have) rest.push_back(w - have);
    }
    run.wide = std::move(rest);
  }
  if (any_known(run.first, run.length)) {
    return Corrupt("a sequence run overlaps elements this replica knows as another run");
  }
  if ((run.left && !contains(*run.left)) || (run.right && !contains(*run.right))) {
    return Corrupt("a sequence element's origin is not known");
  }
  const std::size_t left_pos = position_of(run.left, false), right_pos = position_of(run.right, true);
  if (right_pos <= left_pos) return Corrupt("a sequence element's right origin is not after its left origin");

  // Scan from the element after the left origin towards the right origin
  // past the elements that belong between them (positions count from 1).
  Cursor c = at_position(left_pos);  // position left_pos + 1
  std::size_t pos = left_pos + 1;
  bool scanning = false;
  Cursor scan_start;
  while (c.block < blocks_.size() && pos != right_pos) {
    const std::size_t other_left = position_of(left_origin(c), false);
    if (other_left < left_pos) break;
    if (other_left == left_pos) {
      const Origin other_right = right_origin(c);
      if (other_right == run.right) {
        if (run.first < id_at(c)) break;
        scanning = false;
      } else if (position_of(other_right, true) < right_pos) {
        if (!scanning) {
          scanning = true;
          scan_start = c;
        }
      } else {
        scanning = false;
      }
    }
    // The rest of this piece follows its element: each one's left origin is
    // the element before it, after ours. Skip to the piece's end (or the
    // right origin).
    const Piece& p = pieces_[blocks_[c.block].pieces[c.slot]];
    const std::size_t rest = p.length - c.offset - 1;
    if (rest > 0) {
      const std::size_t jump = std::min(rest, right_pos - pos);
      c.offset += static_cast<std::uint32_t>(jump);
      pos += jump;
      if (pos == right_pos) break;
    }
    next(c);
    ++pos;
  }
  if (scanning) c = scan_start;
  add_run(run);
  total_ += run.length;
  visible_ += run.length;
  visible_units_ += run.length + run.wide.size();
  c = split(c);
  insert_piece(c, new_piece(static_cast<std::uint32_t>(runs_.size() - 1), 0, run.length, false));
  return Status::Ok();
}

Status Sequence::integrate_all(std::span<const Run> runs) {
  // The runs by id, to find the one holding an origin.
  std::vector<std::uint32_t> by_id(runs.size());
  for (std::uint32_t i = 0; i < runs.size(); ++i) by_id[i] = i;
  std::sort(by_id.begin(), by_id.end(), [&](std::uint32_t a, std::uint32_t b) { return runs[a].first < runs[b].first; });
  auto holder = [&](Id id) -> std::optional<std::uint32_t> {
    auto it = std::upper_bound(by_id.begin(), by_id.end(), id, [&](Id x, std::uint32_t r) { return x < runs[r].first; });
    if (it == by_id.begin()) return std::nullopt;
    const Run& r = runs[*(it - 1)];
    if (r.first.actor != id.actor || id.seq - r.first.seq >= r.length) return std::nullopt;
    return *(it - 1);
  };
  std::vector<std::uint32_t> waits(runs.size(), 0);
  std::vector<std::vector<std::uint32_t>> waiting(runs.size());  // on run i
  std::vector<std::uint32_t> ready;
  for (std::uint32_t i = 0; i < runs.size(); ++i) {
    for (const Origin& o : {runs[i].left, runs[i].right}) {
      if (!o || contains(*o)) continue;
      const auto h = holder(*o);
      if (!h) return Corrupt("a sequence element's origin is not known");
      waiting[*h].push_back(i);
      ++waits[i];
    }
    if (waits[i] == 0) ready.push_back(i);
  }
  std::size_t placed = 0;
  while (!ready.empty()) {
    const std::uint32_t i = ready.back();
    ready.pop_back();
    MYC_TRY(integrate(runs[i]));
    ++placed;
    for (std::uint32_t w : waiting[i]) {
      if (--waits[w] == 0) ready.push_back(w);
    }
  }
  if (placed != runs.size()) return Corrupt("sequence runs whose origins wait on each other");
  return Status::Ok();
}

Result<std::vector<Sequence::Span>> Sequence::erase(std::size_t index, std::size_t count) {
  if (index > visible_ || count > visible_ - index) return InvalidArgument("delete past the end of the sequence");
  std::vector<Span> out;
  while (count > 0) {
    Cursor c = split(at_live(index));
    const std::uint32_t p = blocks_[c.block].pieces[c.slot];
    const auto n = static_cast<std::uint32_t>(std::min<std::size_t>(count, pieces_[p].length));
    const Run& run = runs_[pieces_[p].run].run;
    const Id first{run.first.actor, run.first.seq + pieces_[p].offset};
    set_deleted(c, n);
    if (!out.empty() && out.back().first.actor == first.actor && out.back().first.seq + out.back().length == first.seq) {
      out.back().length += n;
    } else {
      out.push_back({first, n, true});
    }
    count -= n;
  }
  return out;
}

Status Sequence::erase_ids(Id first, std::uint32_t length) {
  if (first.seq + std::uint64_t{length} - 1 > kMaxSeqEnd) return Corrupt("a deleted stretch past the last seq");
  if (!all_known(first, length)) return Corrupt("a deleted element is not known");
  while (length > 0) {
    const Cursor c = cursor_of(first);
    const Piece& p = pieces_[blocks_[c.block].pieces[c.slot]];
    const std::uint32_t n = std::min(length, p.length - c.offset);
    set_deleted(c, n);
    first.seq += n;
    length -= n;
  }
  return Status::Ok();
}

// --- reads -------------------------------------------------------------------

std::vector<Sequence::Span> Sequence::spans() const {
  std::vector<Span> out;
  for (const Block& b : blocks_) {
    for (std::uint32_t pi : b.pieces) {
      const Piece& p = pieces_[pi];
      const Run& run = runs_[p.run].run;
      const Id first{run.first.actor, run.first.seq + p.offset};
      if (!out.empty() && out.back().deleted == p.deleted && out.back().first.actor == first.actor &&
          out.back().first.seq + out.back().length == first.seq) {
        out.back().length += p.length;
      } else {
        out.push_back({first, p.length, p.deleted});
      }
    }
  }
  return out;
}

std::vector<Sequence::Run> Sequence::runs() const {
  std::vector<Run> out;
  for (const auto& [actor, runs] : by_actor_) {
    for (std::uint32_t r : runs) out.push_back(runs_[r].run);
  }
  return out;
}

}  // namespace mycelium
