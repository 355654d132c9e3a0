#include "sequence.h"

#include <algorithm>

namespace mycelium {
namespace {

// Pieces per block before it splits in two: a lookup scans the block
// counts, then one block.
constexpr std::size_t kBlockPieces = 64;
constexpr std::uint64_t kMaxSeqEnd = 0xffffffffu;

}  // namespace

Sequence::Sequence(Content content) : content_(content) {}

bool Sequence::shape(Content content, std::string_view bytes, std::uint32_t& length, std::vector<std::uint32_t>& wide) {
  length = 0;
  wide.clear();
  switch (content) {
    case Content::kNone: return bytes.empty();
    case Content::kUtf8:
      for (std::size_t i = 0; i < bytes.size(); ++i) {
        const auto b = static_cast<std::uint8_t>(bytes[i]);
        if ((b & 0xc0) == 0x80) continue;  // a continuation byte
        if (b >= 0xf0) wide.push_back(length);
        ++length;
      }
      return bytes.empty() || (static_cast<std::uint8_t>(bytes[0]) & 0xc0) != 0x80;
    case Content::kValues:
      for (std::size_t i = 0; i < bytes.size(); ++length) {
        std::uint64_t n = 0;
        int shift = 0;
        for (;; shift += 7) {
          if (i == bytes.size() || shift > 28) return false;
          const auto b = static_cast<std::uint8_t>(bytes[i++]);
          n |= std::uint64_t{b & 0x7fu} << shift;
          if (b < 0x80) break;
        }
        if (n > bytes.size() - i) return false;
        i += static_cast<std::size_t>(n);
      }
      return true;
  }
  return false;
}

std::size_t Sequence::skip(std::string_view bytes, std::uint32_t k) const {
  std::size_t i = 0;
  if (content_ == Content::kUtf8) {
    for (; i < bytes.size(); ++i) {
      if ((static_cast<std::uint8_t>(bytes[i]) & 0xc0) != 0x80 && k-- == 0) return i;
    }
    return i;
  }
  if (content_ == Content::kValues) {
    for (; k > 0 && i < bytes.size(); --k) {
      std::uint64_t n = 0;
      for (int shift = 0;; shift += 7) {
        const auto b = static_cast<std::uint8_t>(bytes[i++]);
        n |= std::uint64_t{b & 0x7fu} << shift;
        if (b < 0x80) break;
      }
      i += static_cast<std::size_t>(n);
    }
  }
  return i;
}

// --- lookups -----------------------------------------------------------------

std::vector<std::pair<ActorId, std::vector<std::uint32_t>>>::const_iterator Sequence::actor_entry(ActorId actor) const {
  return std::lower_bound(by_actor_.begin(), by_actor_.end(), actor,
                          [](const auto& e, ActorId x) { return e.first < x; });
}

std::size_t Sequence::first_after(const std::vector<std::uint32_t>& runs, std::uint32_t seq) const {
  return static_cast<std::size_t>(
      std::upper_bound(runs.begin(), runs.end(), seq,
                       [&](std::uint32_t s, std::uint32_t r) { return s < runs_[r].run.first.seq; }) -
      runs.begin());
}

std::optional<std::uint32_t> Sequence::find_run(Id id) const {
  const auto a = actor_entry(id.actor);
  if (a == by_actor_.end() || a->first != id.actor) return std::nullopt;
  const std::size_t i = first_after(a->second, id.seq);
  if (i == 0) return std::nullopt;
  const std::uint32_t r = a->second[i - 1];
  if (id.seq - runs_[r].run.first.seq >= runs_[r].run.length) return std::nullopt;
  return r;
}

bool Sequence::contains(Id id) const { return find_run(id).has_value(); }

std::optional<std::uint64_t> Sequence::run_end(Id id) const {
  const auto r = find_run(id);
  if (!r) return std::nullopt;
  return runs_[*r].run.first.seq + std::uint64_t{runs_[*r].run.length};
}

// Whether any of first .. first + length - 1 is here: one probe per run.
bool Sequence::any_known(Id first, std::uint32_t length) const {
  if (contains(first)) return true;
  const auto a = actor_entry(first.actor);
  if (a == by_actor_.end() || a->first != first.actor) return false;
  const std::size_t i = first_after(a->second, first.seq);
  return i < a->second.size() && runs_[a->second[i]].run.first.seq - std::uint64_t{first.seq} < length;
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
  c.block = block_of(p);
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
  if (c.block >= blocks_.size()) return total_;
  std::size_t pos = sum_elements_.prefix(c.block);
  const auto& slots = blocks_[c.block].pieces;
  for (std::size_t s = 0; s < c.slot; ++s) pos += pieces_[slots[s]].length;
  return pos + c.offset;
}

// Positions count from 1 so the start is 0 and the end total_ + 1.
std::size_t Sequence::position_of(const Origin& o, bool right) const {
  if (!o) return right ? total_ + 1 : 0;
  return position(cursor_of(*o)) + 1;
}

std::size_t Sequence::index_of(Id id) const { return live_index(cursor_of(id)); }

std::size_t Sequence::live_index(const Cursor& c) const {
  std::size_t index = sum_visible_.prefix(c.block);
  const auto& slots = blocks_[c.block].pieces;
  for (std::size_t s = 0; s < c.slot; ++s) {
    if (!pieces_[slots[s]].deleted) index += pieces_[slots[s]].length;
  }
  return index + (pieces_[slots[c.slot]].deleted ? 0 : c.offset);
}

void Sequence::note_splice(std::size_t index, std::size_t deleted, std::string_view inserted) {
  if (content_ == Content::kUtf8) index = unit_at_index(index);
  // The next stretch of a deleted run comes to the same index: one splice.
  if (inserted.empty() && !splices_->empty() && splices_->back().inserted.empty() && splices_->back().index == index) {
    splices_->back().deleted += deleted;
    return;
  }
  splices_->push_back({index, deleted, std::string(inserted)});
}

Sequence::Cursor Sequence::at_live(std::size_t index) const {
  if (index >= visible_) return Cursor{blocks_.size(), 0, 0};
  Cursor c;
  c.block = sum_visible_.find(index);
  const Block& b = blocks_[c.block];
  for (; c.slot < b.pieces.size(); ++c.slot) {
    const Piece& p = pieces_[b.pieces[c.slot]];
    if (p.deleted) continue;
    if (index < p.length) {
      c.offset = static_cast<std::uint32_t>(index);
      return c;
    }
    index -= p.length;
  }
  return Cursor{blocks_.size(), 0, 0};  // not reached: the sums say the block holds it
}

Sequence::Cursor Sequence::at_position(std::size_t pos) const {
  if (pos >= total_) return Cursor{blocks_.size(), 0, 0};
  Cursor c;
  c.block = sum_elements_.find(pos);
  const Block& b = blocks_[c.block];
  for (; c.slot < b.pieces.size(); ++c.slot) {
    const Piece& p = pieces_[b.pieces[c.slot]];
    if (pos < p.length) {
      c.offset = static_cast<std::uint32_t>(pos);
      return c;
    }
    pos -= p.length;
  }
  return Cursor{blocks_.size(), 0, 0};  // not reached
}

void Sequence::count(std::size_t b, std::int64_t elements, std::int64_t visible, std::int64_t units) {
  Block& block = blocks_[b];
  block.elements = static_cast<std::size_t>(static_cast<std::int64_t>(block.elements) + elements);
  block.visible = static_cast<std::size_t>(static_cast<std::int64_t>(block.visible) + visible);
  block.units = static_cast<std::size_t>(static_cast<std::int64_t>(block.units) + units);
  if (elements != 0) sum_elements_.add(b, elements);
  if (visible != 0) sum_visible_.add(b, visible);
  if (units != 0) sum_units_.add(b, units);
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
  const std::size_t block = sum_units_.find(unit);
  std::size_t index = sum_visible_.prefix(block);
  {
    const Block& b = blocks_[block];
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
  if (index >= visible_) return visible_units_;
  const std::size_t block = sum_visible_.find(index);
  std::size_t unit = sum_units_.prefix(block);
  {
    const Block& b = blocks_[block];
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

std::uint32_t Sequence::new_piece(std::uint32_t run, std::uint32_t offset, std::uint32_t length, bool deleted,
                                  std::string_view bytes) {
  const auto p = static_cast<std::uint32_t>(pieces_.size());
  pieces_.push_back({run, offset, length, width_of(run, offset, length), deleted, std::string(bytes)});
  piece_block_.push_back(0);
  auto& ps = runs_[run].pieces;
  ps.insert(std::upper_bound(ps.begin(), ps.end(), offset,
                             [&](std::uint32_t o, std::uint32_t q) { return o < pieces_[q].offset; }),
            p);
  return p;
}

void Sequence::insert_piece(Cursor c, std::uint32_t piece) {
  const bool at_end = c.block >= blocks_.size();
  if (blocks_.empty()) {
    blocks_.emplace_back();
    block_pos_.push_back(0);
    sum_elements_.reset(1);
    sum_visible_.reset(1);
    sum_units_.reset(1);
  }
  if (at_end) {  // after the last piece
    c.block = blocks_.size() - 1;
    c.slot = blocks_[c.block].pieces.size();
  }
  Block& b = blocks_[c.block];
  b.pieces.insert(b.pieces.begin() + static_cast<std::ptrdiff_t>(c.slot), piece);
  piece_block_[piece] = b.id;
  const Piece& p = pieces_[piece];
  const std::int64_t live = p.deleted ? 0 : 1;
  count(c.block, p.length, live * p.length, live * p.width);
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
  upper.id = static_cast<std::uint32_t>(block_pos_.size());
  for (std::uint32_t p : upper.pieces) piece_block_[p] = upper.id;
  block_pos_.push_back(0);
  blocks_.insert(blocks_.begin() + static_cast<std::ptrdiff_t>(at) + 1, std::move(upper));
  // Blocks after it moved one place: renumber them (not their pieces) and
  // rebuild the sums, O(blocks) once per 64 pieces added.
  sum_elements_.reset(blocks_.size());
  sum_visible_.reset(blocks_.size());
  sum_units_.reset(blocks_.size());
  for (std::size_t b = 0; b < blocks_.size(); ++b) {
    block_pos_[blocks_[b].id] = static_cast<std::uint32_t>(b);
    sum_elements_.add(b, static_cast<std::int64_t>(blocks_[b].elements));
    sum_visible_.add(b, static_cast<std::int64_t>(blocks_[b].visible));
    sum_units_.add(b, static_cast<std::int64_t>(blocks_[b].units));
  }
}

Sequence::Cursor Sequence::split(Cursor c) {
  if (c.block >= blocks_.size() || c.offset == 0) return c;
  const std::uint32_t p = blocks_[c.block].pieces[c.slot];
  const std::uint32_t k = c.offset;
  const std::size_t cut = skip(pieces_[p].bytes, k);
  const std::uint32_t q = new_piece(pieces_[p].run, pieces_[p].offset + k, pieces_[p].length - k, pieces_[p].deleted,
                                    std::string_view(pieces_[p].bytes).substr(cut));
  pieces_[p].bytes.resize(cut);
  pieces_[p].length = k;
  pieces_[p].width = width_of(pieces_[p].run, pieces_[p].offset, k);
  // The block's counts stay: q holds what p gave up.
  Block& b = blocks_[c.block];
  b.pieces.insert(b.pieces.begin() + static_cast<std::ptrdiff_t>(c.slot) + 1, q);
  piece_block_[q] = b.id;
  fix_block(c.block);
  Cursor out;
  out.block = block_of(q);
  const auto& slots = blocks_[out.block].pieces;
  out.slot = static_cast<std::size_t>(std::find(slots.begin(), slots.end(), q) - slots.begin());
  return out;
}

void Sequence::set_deleted(Cursor c, std::uint32_t length) {
  c = split(c);
  const std::uint32_t p = blocks_[c.block].pieces[c.slot];
  if (pieces_[p].deleted) return;
  const std::size_t index = splices_ ? live_index(c) : 0;  // before the split below may move the piece
  if (length < pieces_[p].length) split(Cursor{c.block, c.slot, length});
  if (splices_) note_splice(index, pieces_[p].width, {});
  pieces_[p].deleted = true;
  std::string().swap(pieces_[p].bytes);  // a tombstone keeps no content
  count(block_of(p), 0, -std::int64_t{pieces_[p].length}, -std::int64_t{pieces_[p].width});
  visible_ -= pieces_[p].length;
  visible_units_ -= pieces_[p].width;
}

void Sequence::add_run(const Run& run) {
  const auto r = static_cast<std::uint32_t>(runs_.size());
  runs_.push_back({run, {}});
  auto a = by_actor_.begin() + (actor_entry(run.first.actor) - by_actor_.cbegin());
  if (a == by_actor_.end() || a->first != run.first.actor) a = by_actor_.insert(a, {run.first.actor, {}});
  auto& runs = a->second;
  runs.insert(runs.begin() + static_cast<std::ptrdiff_t>(first_after(runs, run.first.seq)), r);
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
                                       std::span<const std::uint32_t> wide, std::string_view bytes) {
  if (index > visible_) return InvalidArgument("insert past the end of the sequence");
  if (length == 0 || first.seq == 0 || first.seq + std::uint64_t{length} - 1 > kMaxSeqEnd) {
    return InvalidArgument("an insert takes 1 or more fresh seqs");
  }
  if (!valid_wide(wide, length)) return InvalidArgument("wide offsets must increase and lie in the run");
  {
    std::uint32_t n;
    std::vector<std::uint32_t> w;
    if (!shape(content_, bytes, n, w) || (content_ != Content::kNone && (n != length || !std::equal(w.begin(), w.end(), wide.begin(), wide.end())))) {
      return InvalidArgument("an insert's content is not its elements");
    }
  }
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
      pieces_[p].bytes.append(bytes);
      count(block_of(p), length, length, width);
      return run;
    }
  }
  add_run(run);
  c = split(c);
  insert_piece(c, new_piece(static_cast<std::uint32_t>(runs_.size() - 1), 0, length, false, bytes));
  return run;
}

Result<std::uint32_t> Sequence::known_prefix(const Run& in) const {
  Id first = in.first;
  std::uint32_t length = in.length;
  Origin left = in.left;
  std::uint32_t have = 0;
  while (auto known = find_run(first)) {
    const Run& k = runs_[*known].run;
    const std::uint32_t offset = first.seq - k.first.seq;
    const Origin known_left = offset == 0 ? k.left : Origin(Id{k.first.actor, first.seq - 1});
    if (known_left != left || k.right != in.right) return Corrupt("a sequence run gives known elements other origins");
    const std::uint32_t n = std::min(length, k.length - offset);
    have += n;
    if (n == length) return have;
    left = Id{first.actor, first.seq + n - 1};
    first.seq += n;
    length -= n;
  }
  if (any_known(first, length)) return Corrupt("a sequence run overlaps elements this replica knows as another run");
  return have;
}

Status Sequence::integrate(const Run& in, std::span<const Stretch> in_live, Crossed crossed) {
  Run run = in;
  if (run.length == 0 || run.first.seq == 0 || run.first.seq + std::uint64_t{run.length} - 1 > kMaxSeqEnd) {
    return Corrupt("a sequence run of no elements or past the last seq");
  }
  if (!valid_wide(run.wide, run.length)) return Corrupt("a sequence run's wide offsets must increase and lie in it");
  std::vector<Stretch> live(in_live.begin(), in_live.end());
  for (std::size_t i = 0; i < live.size(); ++i) {
    const Stretch& st = live[i];
    if (st.length == 0 || st.offset >= run.length || st.length > run.length - st.offset ||
        (i > 0 && st.offset < live[i - 1].offset + live[i - 1].length)) {
      return Corrupt("a sequence run's live stretches must increase and lie in it");
    }
    std::uint32_t n;
    std::vector<std::uint32_t> w;
    if (!shape(content_, st.bytes, n, w) || (content_ != Content::kNone && n != st.length)) {
      return Corrupt("a sequence run's content is not its live elements");
    }
    if (content_ == Content::kUtf8) {  // the run's wide offsets must be its content's
      const auto lo = std::lower_bound(run.wide.begin(), run.wide.end(), st.offset);
      const auto hi = std::lower_bound(lo, run.wide.end(), st.offset + st.length);
      if (static_cast<std::size_t>(hi - lo) != w.size() ||
          !std::equal(w.begin(), w.end(), lo, [&](std::uint32_t x, std::uint32_t y) { return x + st.offset == y; })) {
        return Corrupt("a text run's wide characters are not those of its content");
      }
    }
  }
  MYC_ASSIGN_OR_RETURN(const std::uint32_t have, known_prefix(run));
  if (have == run.length) return Status::Ok();
  if (have > 0) {  // the rest follows the last known element
    run.left = Id{run.first.actor, run.first.seq + have - 1};
    run.first.seq += have;
    run.length -= have;
    std::vector<std::uint32_t> rest;
    for (std::uint32_t w : run.wide) {
      if (w >= have) rest.push_back(w - have);
    }
    run.wide = std::move(rest);
    std::vector<Stretch> kept;
    for (Stretch st : live) {
      if (st.offset + st.length <= have) continue;
      if (st.offset < have) {
        st.bytes = st.bytes.substr(skip(st.bytes, have - st.offset));
        st.length -= have - st.offset;
        st.offset = have;
      }
      st.offset -= have;
      kept.push_back(st);
    }
    live = std::move(kept);
  }
  if ((run.left && !contains(*run.left)) || (run.right && !contains(*run.right))) {
    return Corrupt("a sequence element's origin is not known");
  }
  const std::size_t left_pos = position_of(run.left, false);
  std::size_t right_pos = position_of(run.right, true);
  if (right_pos <= left_pos) {
    if (crossed == Crossed::kRefuse) return Corrupt("a sequence element's right origin is not after its left origin");
    right_pos = total_ + 1;  // placed as if its right origin were the end
  }

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
  const auto r = static_cast<std::uint32_t>(runs_.size() - 1);
  std::vector<std::uint32_t> pieces;
  std::uint32_t at = 0;
  for (const Stretch& st : live) {
    if (st.offset > at) pieces.push_back(new_piece(r, at, st.offset - at, true));
    pieces.push_back(new_piece(r, st.offset, st.length, false, st.bytes));
    visible_ += st.length;
    visible_units_ += pieces_[pieces.back()].width;
    at = st.offset + st.length;
  }
  if (at < run.length) pieces.push_back(new_piece(r, at, run.length - at, true));
  total_ += run.length;
  place(split(c), pieces);
  if (splices_ && !live.empty()) {
    std::string inserted;
    for (const Stretch& st : live) inserted += st.bytes;
    note_splice(index_of(Id{run.first.actor, run.first.seq + live.front().offset}), 0, inserted);
  }
  return Status::Ok();
}

void Sequence::place(Cursor c, std::span<const std::uint32_t> pieces) {
  if (c.block >= blocks_.size()) {
    for (std::uint32_t p : pieces) insert_piece(Cursor{blocks_.size(), 0, 0}, p);
    return;
  }
  // Each before the one placed after it: the last first, before c's piece.
  std::uint32_t before = blocks_[c.block].pieces[c.slot];
  for (auto it = pieces.rbegin(); it != pieces.rend(); ++it) {
    Cursor at;
    at.block = block_of(before);
    const auto& slots = blocks_[at.block].pieces;
    at.slot = static_cast<std::size_t>(std::find(slots.begin(), slots.end(), before) - slots.begin());
    insert_piece(at, *it);
    before = *it;
  }
}

Status Sequence::integrate_all(std::span<const Run> runs, std::span<const std::vector<Stretch>> live, Crossed crossed) {
  if (!live.empty() && live.size() != runs.size()) return InvalidArgument("live stretches for every run, or none");
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
    const Stretch all[] = {Stretch{0, runs[i].length, {}}};
    MYC_TRY(integrate(runs[i], live.empty() ? std::span<const Stretch>(all) : std::span<const Stretch>(live[i]), crossed));
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

Status Sequence::replace(Id id, std::string_view element) {
  std::uint32_t n;
  std::vector<std::uint32_t> wide;
  if (content_ != Content::kValues || !shape(content_, element, n, wide) || n != 1) {
    return InvalidArgument("a list element's value is one element of content");
  }
  const auto r = find_run(id);
  if (!r) return NotFound("the element is not known");
  const std::uint32_t k = id.seq - runs_[*r].run.first.seq;
  Piece& p = pieces_[piece_of(*r, k)];
  if (p.deleted) return NotFound("the element is deleted");
  const std::size_t a = skip(p.bytes, k - p.offset);
  p.bytes.replace(a, skip(p.bytes, k - p.offset + 1) - a, element);
  if (splices_) note_splice(index_of(id), 1, element);
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

std::string Sequence::content() const {
  std::string out;
  for (const Block& b : blocks_) {
    for (std::uint32_t p : b.pieces) out += pieces_[p].bytes;
  }
  return out;
}

void Sequence::content_of(Id first, std::uint32_t length, std::string& out) const {
  while (length > 0) {
    const auto r = find_run(first);
    if (!r) return;
    const std::uint32_t k = first.seq - runs_[*r].run.first.seq;
    const Piece& p = pieces_[piece_of(*r, k)];
    const std::uint32_t from = k - p.offset, n = std::min(length, p.length - from);
    if (!p.deleted) {
      const std::size_t a = skip(p.bytes, from);
      out.append(p.bytes, a, skip(p.bytes, from + n) - a);
    }
    first.seq += n;
    length -= n;
  }
}

std::vector<Sequence::Part> Sequence::parts_since(const std::function<std::uint32_t(ActorId)>& from) const {
  std::vector<Part> out;
  for (const auto& [actor, runs] : by_actor_) {
    const std::uint32_t after = from ? from(actor) : 0;
    // The first run holding a seq after `after`.
    std::size_t i = first_after(runs, after);
    if (i > 0 && runs_[runs[i - 1]].run.first.seq + std::uint64_t{runs_[runs[i - 1]].run.length} - 1 > after) --i;
    for (; i < runs.size(); ++i) {
      const std::uint32_t r = runs[i];
      // The run from its first element after `after` (skip elements cut).
      const Run& whole = runs_[r].run;
      const std::uint32_t cut = whole.first.seq > after ? 0 : after - whole.first.seq + 1;
      Run run{Id{actor, whole.first.seq + cut}, whole.length - cut,
              cut == 0 ? whole.left : Origin(Id{actor, whole.first.seq + cut - 1}), whole.right, {}};
      for (std::uint32_t w : whole.wide) {
        if (w >= cut) run.wide.push_back(w - cut);
      }
      Part* part = out.empty() ? nullptr : &out.back();
      // This run continues the last part: typing on, received in parts.
      const bool continues = part != nullptr && part->run.first.actor == actor &&
                             part->run.first.seq + std::uint64_t{part->run.length} == run.first.seq &&
                             run.left == Origin(Id{actor, run.first.seq - 1}) && run.right == part->run.right;
      std::uint32_t base = 0;
      if (continues) {
        base = part->run.length;
        for (std::uint32_t w : run.wide) part->run.wide.push_back(base + w);
        part->run.length += run.length;
      } else {
        out.push_back(Part{run, {}, {}});
        part = &out.back();
      }
      for (std::uint32_t p : runs_[r].pieces) {  // by offset
        const Piece& piece = pieces_[p];
        if (piece.deleted || piece.offset + piece.length <= cut) continue;
        const std::uint32_t skipped = piece.offset < cut ? cut - piece.offset : 0;
        const std::uint32_t at = base + piece.offset + skipped - cut, length = piece.length - skipped;
        const std::string_view bytes = std::string_view(piece.bytes).substr(skipped ? skip(piece.bytes, skipped) : 0);
        if (!part->live.empty() && part->live.back().offset + part->live.back().length == at) {
          part->live.back().length += length;
          part->live.back().bytes += bytes.size();
        } else {
          part->live.push_back(Live{at, length, bytes.size()});
        }
        part->content += bytes;
      }
    }
  }
  // Widths of tombstones are never counted, and a replica that received a
  // run with holes does not know them: a part names the live ones only.
  for (Part& part : out) {
    std::vector<std::uint32_t> wide;
    std::size_t i = 0;
    for (std::uint32_t w : part.run.wide) {
      while (i < part.live.size() && part.live[i].offset + part.live[i].length <= w) ++i;
      if (i < part.live.size() && part.live[i].offset <= w) wide.push_back(w);
    }
    part.run.wide = std::move(wide);
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
