#include "dot_store.h"

#include <algorithm>
#include <new>

namespace mycelium {
namespace {

constexpr std::uint8_t kPresenceCode = CellRef::kPresenceCode;
constexpr std::uint8_t kCounterCode = CellRef::kCounterCode;
constexpr std::uint8_t kOffsetBit = CellRef::kOffsetBit;
constexpr std::uint8_t kElementBit = CellRef::kElementBit;
constexpr std::uint8_t kCreditBit = CellRef::kCreditBit;

std::uint8_t code_of(const Cell& c) {
  switch (c.type) {
    case CellType::kValue: return c.value.vtag;
    case CellType::kElement: return static_cast<std::uint8_t>(c.value.vtag | kElementBit);
    case CellType::kPresence: return kPresenceCode;
    case CellType::kCounter: return kCounterCode;
    case CellType::kOffset: return kCounterCode | kOffsetBit;
    case CellType::kCredit: return static_cast<std::uint8_t>((c.value.vtag & 7) | kCreditBit);
  }
  return kPresenceCode;
}

}  // namespace

ValueView CellRef::value(const StringPool& pool) const {
  if (!has_payload()) return ValueView::null();
  return load_value(reinterpret_cast<const char*>(p_ + (has_aux() ? 2 : 1)),
                    static_cast<std::uint8_t>(code() & (is_credit() ? 7 : 0x7f)), pool);
}

Cell CellRef::decode() const {
  Cell c;
  c.seq = seq();
  c.actor = actor();
  c.field = field();
  c.type = type();
  c.aux = aux();
  if (has_payload()) {
    std::memcpy(c.value.payload, p_ + (has_aux() ? 2 : 1), 8);
    c.value.vtag = static_cast<std::uint8_t>(code() & (is_credit() ? 7 : 0x7f));
  }
  return c;
}

CellList::CellList(std::initializer_list<Cell> cells) {
  for (const Cell& c : cells) push_back(c);
}

CellList& CellList::operator=(CellList&& o) noexcept {
  std::swap(p_, o.p_);
  return *this;
}

CellList::~CellList() { ::operator delete(p_); }

std::size_t CellList::size() const {
  std::size_t n = 0;
  for (auto it = begin(); it != end(); ++it) ++n;
  return n;
}

void CellList::reserve_words(std::size_t cap) {
  if (cap <= capacity_words()) return;
  const std::size_t n = words();
  auto* p = static_cast<std::uint64_t*>(::operator new(sizeof(std::uint64_t) * (cap + 1)));
  p[0] = n | (std::uint64_t{cap} << 32);
  if (n) std::memcpy(p + 1, data(), sizeof(std::uint64_t) * n);
  ::operator delete(p_);
  p_ = p;
}

void CellList::shrink_to(std::size_t cap) {
  const std::size_t n = words();
  cap = std::max(cap, n);
  if (cap >= capacity_words()) return;
  if (cap == 0) {
    ::operator delete(p_);
    p_ = nullptr;
    return;
  }
  auto* p = static_cast<std::uint64_t*>(::operator new(sizeof(std::uint64_t) * (cap + 1)));
  p[0] = n | (std::uint64_t{cap} << 32);
  if (n) std::memcpy(p + 1, data(), sizeof(std::uint64_t) * n);
  ::operator delete(p_);
  p_ = p;
}

std::size_t CellList::words_of(const Cell& c) {
  const bool value = c.type == CellType::kValue || c.type == CellType::kCredit;
  return 1 + (value || c.type == CellType::kCounter || c.type == CellType::kOffset) +
         (value || c.type == CellType::kElement);
}

void CellList::push_back(const Cell& c) {
  std::uint64_t words[3];
  std::size_t n = 0;
  words[n++] = std::uint64_t{c.seq} | std::uint64_t{c.actor} << 32 | std::uint64_t{c.field} << 48 |
               std::uint64_t{code_of(c)} << 56;
  const bool value = c.type == CellType::kValue || c.type == CellType::kCredit;
  if (value || c.type == CellType::kCounter || c.type == CellType::kOffset) words[n++] = c.aux;
  if (value || c.type == CellType::kElement) words[n++] = c.value.bits();
  const std::size_t used = this->words();
  if (used + n > capacity_words()) {
    // Small records (most of them) grow to fit exactly; large ones by half.
    const std::size_t need = used + n;
    reserve_words(need <= 32 ? need : std::max(need, capacity_words() + capacity_words() / 2));
  }
  std::memcpy(data() + used, words, n * sizeof(std::uint64_t));
  set_words(used + n);
}

std::size_t join_record(CellList& local, std::span<const Cell> incoming, const Coverage& sender,
                        const Coverage& receiver, const StringPool& pool, const KeyFilter& keys) {
  // Whether the delta has a local entry's dot: a scan for the usual few
  // cells, a sorted lookup for large records (a set of thousands).
  std::vector<std::uint64_t> sorted;
  if (incoming.size() > 16) {
    for (const Cell& d : incoming) {
      if (!d.by_seq()) sorted.push_back(std::uint64_t{d.actor} << 32 | d.seq);
    }
    std::sort(sorted.begin(), sorted.end());
  }
  auto in_delta = [&](CellRef l) {
    if (incoming.size() > 16) {
      return std::binary_search(sorted.begin(), sorted.end(), std::uint64_t{l.actor()} << 32 | l.seq());
    }
    return std::any_of(incoming.begin(), incoming.end(), [&](const Cell& d) {
      return !d.by_seq() && d.actor == l.actor() && d.seq == l.seq();
    });
  };
  // Offsets and credit cells: one per (field, actor, component); the greater
  // (seq, total) wins, and an incoming one replaces the local one.
  auto same_slot = [&](CellRef l, const Cell& d) {
    if (l.type() != d.type || l.field() != d.field || l.actor() != d.actor) return false;
    if (d.type == CellType::kOffset) return true;
    const ValueView v = l.value(pool);  // a credit's component: a scalar
    return v.tag == d.value.tag() && v.bits == d.value.bits();
  };
  std::vector<const Cell*> replacing;
  for (const Cell& d : incoming) {
    if (!d.by_seq()) continue;
    // A credit cell whose dot this replica covers is one it holds, or an
    // older total: never a replacement (docs/credit.md, Join).
    if (d.type == CellType::kCredit && covered(receiver, d.actor, d.seq)) continue;
    bool replace = true;
    for (CellRef l : local) {
      if (same_slot(l, d)) replace = d.seq > l.seq() || (d.seq == l.seq() && d.aux > l.aux());
    }
    if (replace) replacing.push_back(&d);
  }
  // Local side: entries survive unless the sender saw them and dropped them.
  const std::size_t dropped = local.erase_if(
      [&](CellRef l) {
        if (l.by_seq()) {
          return std::any_of(replacing.begin(), replacing.end(), [&](const Cell* d) { return same_slot(l, *d); });
        }
        return covered(sender, l.actor(), l.seq()) && !in_delta(l) && keys.has(l);
      },
      &pool);
  std::size_t words = local.words();
  for (const Cell* d : replacing) words += CellList::words_of(*d);
  for (const Cell& d : incoming) {
    if (!d.by_seq() && !covered(receiver, d.actor, d.seq)) words += CellList::words_of(d);
  }
  local.reserve_words(words);
  for (const Cell* d : replacing) local.push_back(*d);
  for (const Cell& d : incoming) {
    if (!d.by_seq() && !covered(receiver, d.actor, d.seq)) local.push_back(d);
  }
  return dropped;
}

}  // namespace mycelium
