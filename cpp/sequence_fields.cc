#include "sequence_fields.h"

#include <algorithm>

namespace mycelium {
namespace {

// Stretches of new elements (not known here) an entry brings, by id: what
// an origin or a delete target may name besides known elements.
class NewStretches {
 public:
  void add(Sequence::Id first, std::uint32_t length, std::uint32_t run) { items_.push_back({first, length, run}); }
  void seal() {
    std::sort(items_.begin(), items_.end(), [](const Item& a, const Item& b) { return a.first < b.first; });
  }
  // The run holding id, if one of these holds it; `end` set to the seq
  // after its stretch.
  std::optional<std::uint32_t> holder(Sequence::Id id, std::uint64_t* end = nullptr) const {
    auto it = std::upper_bound(items_.begin(), items_.end(), id, [](Sequence::Id x, const Item& i) { return x < i.first; });
    if (it == items_.begin()) return std::nullopt;
    const Item& i = *(it - 1);
    if (i.first.actor != id.actor || id.seq - i.first.seq >= i.length) return std::nullopt;
    if (end) *end = i.first.seq + std::uint64_t{i.length};
    return i.run;
  }

 private:
  struct Item {
    Sequence::Id first;
    std::uint32_t length;
    std::uint32_t run;
  };
  std::vector<Item> items_;
};

Sequence::Id id_of(const SeqRef& r, std::span<const ActorId> actors) { return Sequence::Id{actors[r.actor], r.seq}; }

// The delete's targets, as ids, in the entry's order.
OneInline<SequenceFields::Target> targets_of(const SeqDelete& d, std::span<const ActorId> actors) {
  OneInline<SequenceFields::Target> out;
  out.reserve(d.targets.size());
  for (const SeqTarget& t : d.targets) out.push_back({id_of(t.first, actors), t.length});
  return out;
}

}  // namespace

// --- the fields --------------------------------------------------------------

SequenceFields::Field* SequenceFields::find_field(Key k) {
  return const_cast<Field*>(static_cast<const SequenceFields*>(this)->find_field(k));
}

const SequenceFields::Field* SequenceFields::find_field(Key k) const {
  auto it = std::lower_bound(fields_.begin(), fields_.end(), k, [](const auto& f, Key x) { return f->key < x; });
  return it != fields_.end() && (*it)->key == k ? it->get() : nullptr;
}

SequenceFields::Field& SequenceFields::field(Key k, Sequence::Content content) {
  auto it = std::lower_bound(fields_.begin(), fields_.end(), k, [](const auto& f, Key x) { return f->key < x; });
  if (it == fields_.end() || (*it)->key != k) it = fields_.insert(it, std::make_unique<Field>(k, content));
  return **it;
}

const Sequence* SequenceFields::find(Key k) const {
  const Field* f = find_field(k);
  return f ? &f->seq : nullptr;
}

bool SequenceFields::any_live(std::uint32_t record) const {
  auto it = std::lower_bound(fields_.begin(), fields_.end(), Key{record, 0},
                             [](const auto& f, Key x) { return f->key < x; });
  for (; it != fields_.end() && (*it)->key.record == record; ++it) {
    if ((*it)->seq.size() > 0) return true;
  }
  return false;
}

std::vector<std::uint8_t> SequenceFields::fields_of(std::uint32_t record) const {
  std::vector<std::uint8_t> out;
  auto it = std::lower_bound(fields_.begin(), fields_.end(), Key{record, 0},
                             [](const auto& f, Key x) { return f->key < x; });
  for (; it != fields_.end() && (*it)->key.record == record; ++it) out.push_back((*it)->key.field);
  return out;
}

const SequenceFields::Delete* SequenceFields::find_delete(const Field& f, Id dot) {
  auto a = std::lower_bound(f.deletes.begin(), f.deletes.end(), dot.actor,
                            [](const auto& e, ActorId x) { return e.first < x; });
  if (a == f.deletes.end() || a->first != dot.actor) return nullptr;
  auto d = std::lower_bound(a->second.begin(), a->second.end(), dot.seq,
                            [](const Delete& x, std::uint32_t s) { return x.seq < s; });
  return d != a->second.end() && d->seq == dot.seq ? &*d : nullptr;
}

void SequenceFields::add_delete(Field& f, Id dot, std::span<const Target> targets) {
  auto a = std::lower_bound(f.deletes.begin(), f.deletes.end(), dot.actor,
                            [](const auto& e, ActorId x) { return e.first < x; });
  if (a == f.deletes.end() || a->first != dot.actor) a = f.deletes.insert(a, {dot.actor, {}});
  auto& list = a->second;
  // A delete event of an actor usually comes after its earlier ones.
  auto at = list.empty() || list.back().seq < dot.seq
                ? list.end()
                : std::upper_bound(list.begin(), list.end(), dot.seq,
                                   [](std::uint32_t s, const Delete& x) { return s < x.seq; });
  list.insert(at, Delete{dot.seq, static_cast<std::uint32_t>(f.targets.size()), static_cast<std::uint32_t>(targets.size())});
  f.targets.insert(f.targets.end(), targets.begin(), targets.end());
}

const SequenceFields::Winner* SequenceFields::find_set(const Field& f, Id target) {
  auto it = std::lower_bound(f.sets.begin(), f.sets.end(), target, [](const Winner& w, Id t) { return w.target < t; });
  return it != f.sets.end() && it->target == target ? &*it : nullptr;
}

Status SequenceFields::win(Field& f, Id target, Id dot, std::uint64_t hlc, std::string_view element) {
  MYC_TRY(f.seq.replace(target, element));
  auto it = std::lower_bound(f.sets.begin(), f.sets.end(), target, [](const Winner& w, Id t) { return w.target < t; });
  if (it != f.sets.end() && it->target == target) {
    it->dot = dot;
    it->hlc = hlc;
  } else {
    f.sets.insert(it, Winner{target, dot, hlc});
  }
  return Status::Ok();
}

void SequenceFields::prune(Field& f) {
  std::erase_if(f.sets, [&](const Winner& w) { return f.seq.deleted(w.target); });
}

std::size_t SequenceFields::delete_count(Key k) const {
  const Field* f = find_field(k);
  if (!f) return 0;
  std::size_t n = 0;
  for (const auto& [actor, list] : f->deletes) n += list.size();
  return n;
}

// --- local writes ------------------------------------------------------------

Result<Sequence::Run> SequenceFields::insert(Key k, Sequence::Content content, std::size_t index, Id first,
                                             std::uint32_t length, std::span<const std::uint32_t> wide,
                                             std::string_view bytes) {
  Field* f = find_field(k);
  if (!f) {
    // Check on a fresh sequence first, so a refused insert adds no field.
    if (index > 0) return InvalidArgument("insert past the end of the sequence");
    Sequence probe(content);
    MYC_TRY(probe.insert(index, first, length, wide, bytes).status());
    f = &field(k, content);
  }
  return f->seq.insert(index, first, length, wide, bytes);
}

Status SequenceFields::erase(Key k, std::size_t index, std::size_t count, Id dot) {
  Field* f = find_field(k);
  if (!f) {
    if (index == 0 && count == 0) return Status::Ok();
    return InvalidArgument("delete past the end of the sequence");
  }
  if (count == 0) return index <= f->seq.size() ? Status::Ok() : InvalidArgument("delete past the end of the sequence");
  if (find_delete(*f, dot)) return AlreadyExists("a delete event with this dot exists");
  MYC_ASSIGN_OR_RETURN(const auto spans, f->seq.erase(index, count));
  // Targets by id, touching stretches joined (the section's canonical form).
  std::vector<Target> targets;
  targets.reserve(spans.size());
  for (const Sequence::Span& s : spans) targets.push_back({s.first, s.length});
  std::sort(targets.begin(), targets.end(), [](const Target& a, const Target& b) { return a.first < b.first; });
  std::size_t n = 0;
  for (const Target& t : targets) {
    if (n > 0 && targets[n - 1].first.actor == t.first.actor &&
        targets[n - 1].first.seq + std::uint64_t{targets[n - 1].length} == t.first.seq) {
      targets[n - 1].length += t.length;
    } else {
      targets[n++] = t;
    }
  }
  targets.resize(n);
  add_delete(*f, dot, targets);
  if (!f->sets.empty()) prune(*f);
  return Status::Ok();
}

Status SequenceFields::set(Key k, std::size_t index, Id dot, std::uint64_t hlc, std::string_view element) {
  Field* f = find_field(k);
  if (!f || index >= f->seq.size()) return InvalidArgument("set past the end of the list");
  return win(*f, f->seq.at(index), dot, hlc, element);
}

void SequenceFields::erase_record(std::uint32_t record) {
  auto it = std::lower_bound(fields_.begin(), fields_.end(), Key{record, 0},
                             [](const auto& f, Key x) { return f->key < x; });
  for (; it != fields_.end() && (*it)->key.record == record; ++it) {
    Sequence& s = (*it)->seq;
    if (s.size() > 0) (void)s.erase(0, s.size());  // in range: cannot fail
    (*it)->sets.clear();
  }
}

// --- deltas ------------------------------------------------------------------

std::optional<SeqEntry> SequenceFields::entry_since(Key k, std::uint32_t delta_record,
                                                    const std::function<std::uint32_t(ActorId)>& from, bool whole,
                                                    const std::function<std::uint32_t(ActorId)>& index) const {
  const Field* f = find_field(k);
  if (!f) return std::nullopt;
  SeqEntry e{delta_record, k.field, {}, {}, {}};
  auto ref = [&](const Sequence::Origin& o) -> std::optional<SeqRef> {
    if (!o) return std::nullopt;
    return SeqRef{index(o->actor), o->seq};
  };
  for (Sequence::Part& p : whole ? f->seq.parts() : f->seq.parts_since(from)) {
    e.parts.push_back(SeqPart{SeqRef{index(p.run.first.actor), p.run.first.seq}, p.run.length, ref(p.run.left),
                              ref(p.run.right), std::move(p.live), std::move(p.content)});
  }
  // Delete events by (actor index, seq): actors sorted by id are sorted by
  // index in a delta's table (it is strictly increasing).
  for (const auto& [actor, list] : f->deletes) {
    const std::uint32_t after = from(actor);
    auto d = std::upper_bound(list.begin(), list.end(), after, [](std::uint32_t s, const Delete& x) { return s < x.seq; });
    for (; d != list.end(); ++d) {
      SeqDelete out{SeqRef{index(actor), d->seq}, {}};
      for (std::uint32_t t = 0; t < d->targets; ++t) {
        const Target& target = f->targets[d->first_target + t];
        out.targets.push_back(SeqTarget{SeqRef{index(target.first.actor), target.first.seq}, target.length});
      }
      std::sort(out.targets.begin(), out.targets.end(),
                [](const SeqTarget& a, const SeqTarget& b) { return a.first < b.first; });
      e.deletes.push_back(std::move(out));
    }
  }
  // Winning sets past from(actor), or every one when `whole`: a part past
  // `from` carries its element's value already, but the receiver needs the
  // winner to weigh later sets against.
  for (const Winner& w : f->sets) {
    if (f->seq.deleted(w.target) || (!whole && w.dot.seq <= from(w.dot.actor))) continue;
    SeqSet out{SeqRef{index(w.target.actor), w.target.seq}, SeqRef{index(w.dot.actor), w.dot.seq}, w.hlc, {}};
    f->seq.content_of(w.target, 1, out.value);
    e.sets.push_back(std::move(out));
  }
  if (e.parts.empty() && e.deletes.empty() && e.sets.empty()) return std::nullopt;
  return e;
}

Status SequenceFields::check(const SeqEntry& e, std::optional<Key> k, Sequence::Content content,
                             std::span<const ActorId> actors, const NewDots& new_dots, const Covered& covered) const {
  const Field* f = k ? find_field(*k) : nullptr;
  const Sequence none(content);
  const Sequence& seq = f ? f->seq : none;
  std::vector<Sequence::Run> runs;
  std::vector<std::vector<Sequence::Stretch>> live;
  entry_runs(e, actors, content, runs, live);
  // What each run adds: its elements past those known here.
  NewStretches fresh;
  std::vector<std::uint32_t> have(runs.size());
  for (std::uint32_t i = 0; i < runs.size(); ++i) {
    MYC_ASSIGN_OR_RETURN(have[i], seq.known_prefix(runs[i]));
    if (have[i] == runs[i].length) continue;
    const Id first{runs[i].first.actor, runs[i].first.seq + have[i]};
    MYC_TRY(new_dots(first, runs[i].length - have[i]));
    fresh.add(first, runs[i].length - have[i], i);
  }
  fresh.seal();
  // The new stretches' origins: known, or in a new stretch placed first.
  std::vector<std::uint32_t> waits(runs.size(), 0);
  std::vector<std::vector<std::uint32_t>> waiting(runs.size());
  std::vector<std::uint32_t> ready;
  std::size_t adding = 0;
  for (std::uint32_t i = 0; i < runs.size(); ++i) {
    if (have[i] == runs[i].length) continue;
    ++adding;
    const Sequence::Origin left = have[i] > 0 ? Sequence::Origin(Id{runs[i].first.actor, runs[i].first.seq + have[i] - 1})
                                              : runs[i].left;
    for (const Sequence::Origin& o : {left, runs[i].right}) {
      if (!o || seq.contains(*o)) continue;
      const auto h = fresh.holder(*o);
      if (!h) return Corrupt("a sequence element's origin is neither known nor in the delta");
      waiting[*h].push_back(i);
      ++waits[i];
    }
    if (waits[i] == 0) ready.push_back(i);
  }
  std::size_t placed = 0;
  while (!ready.empty()) {
    const std::uint32_t i = ready.back();
    ready.pop_back();
    ++placed;
    for (std::uint32_t w : waiting[i]) {
      if (--waits[w] == 0) ready.push_back(w);
    }
  }
  if (placed != adding) return Corrupt("sequence runs whose origins wait on each other");
  // Delete events: known ones name what they named; new ones are new dots
  // whose targets are known or new here.
  for (const SeqDelete& d : e.deletes) {
    const Id dot = id_of(d.dot, actors);
    const OneInline<Target> targets = targets_of(d, actors);
    if (const Delete* known = f ? find_delete(*f, dot) : nullptr) {
      bool same = known->targets == targets.size();
      for (std::size_t t = 0; same && t < targets.size(); ++t) {
        const Target& a = f->targets[known->first_target + t];
        same = a.first == targets[t].first && a.length == targets[t].length;
      }
      if (!same) return Corrupt("a known sequence delete sent with other targets");
      continue;
    }
    MYC_TRY(new_dots(dot, 1));
    for (const Target& t : targets) {
      std::uint64_t at = t.first.seq;
      const std::uint64_t end = at + t.length;
      while (at < end) {
        const Id id{t.first.actor, static_cast<std::uint32_t>(at)};
        std::uint64_t next = 0;
        if (auto known_end = seq.run_end(id)) {
          next = *known_end;
        } else if (auto run = fresh.holder(id, &next)) {
          // A new element a delete of the same entry names is one its part
          // carries deleted (the sender had both): join() relies on it.
          const std::uint64_t from = at - runs[*run].first.seq, to = std::min(next, end) - runs[*run].first.seq;
          for (const Sequence::Stretch& st : live[*run]) {
            if (st.offset < to && from < std::uint64_t{st.offset} + st.length) {
              return Corrupt("a sequence delete names a new element its part carries live");
            }
          }
        } else {
          return Corrupt("a sequence delete names an element neither known nor in the delta");
        }
        at = next;
      }
    }
  }
  // Sets: of an element known or new here; the winner known here is sent
  // with the value it has here; any other set not covered is a new dot.
  for (const SeqSet& x : e.sets) {
    const Id target = id_of(x.target, actors), dot = id_of(x.dot, actors);
    if (!seq.contains(target) && !fresh.holder(target)) {
      return Corrupt("a sequence set names an element neither known nor in the delta");
    }
    if (const Winner* w = f ? find_set(*f, target) : nullptr; w && w->dot == dot) {
      std::string value;
      seq.content_of(target, 1, value);
      if (w->hlc != x.hlc || value != x.value) return Corrupt("a known set sent with another value");
      continue;
    }
    if (!covered(dot)) MYC_TRY(new_dots(dot, 1));
  }
  return Status::Ok();
}

Result<bool> SequenceFields::join(const SeqEntry& e, Key k, Sequence::Content content, std::span<const ActorId> actors,
                                  const Covered& covered, std::vector<Sequence::Splice>* splices) {
  Field& f = field(k, content);
  Sequence& seq = f.seq;
  struct Recording {
    Sequence& seq;
    ~Recording() { seq.record_splices(nullptr); }
  } recording{seq};
  seq.record_splices(splices);
  const std::size_t elements = seq.elements(), visible = seq.size();
  bool erased = false;
  std::vector<Sequence::Run> runs;
  std::vector<std::vector<Sequence::Stretch>> live;
  entry_runs(e, actors, content, runs, live);
  // Into a field with no elements yet (a load, a first sync) every element
  // is new and placed as its part carries it, and every delete target is
  // one of them, carried deleted (check() saw to it): nothing to erase.
  const bool fresh = elements == 0;
  MYC_TRY(seq.integrate_all(runs, live, Sequence::Crossed::kPlaceAtEnd));
  // Elements a part carries as deleted are deleted here (new ones came so).
  auto erase = [&](Id first, std::uint32_t length) -> Status {
    if (fresh) return Status::Ok();
    const std::size_t before = seq.size();
    MYC_TRY(seq.erase_ids(first, length));
    erased = erased || seq.size() != before;
    return Status::Ok();
  };
  for (const Sequence::Run& run : runs) {
    std::uint32_t at = 0;
    const auto& stretches = live[static_cast<std::size_t>(&run - runs.data())];
    for (const Sequence::Stretch& st : stretches) {
      if (st.offset > at) MYC_TRY(erase(Id{run.first.actor, run.first.seq + at}, st.offset - at));
      at = st.offset + st.length;
    }
    if (at < run.length) MYC_TRY(erase(Id{run.first.actor, run.first.seq + at}, run.length - at));
  }
  for (const SeqDelete& d : e.deletes) {
    const Id dot = id_of(d.dot, actors);
    if (find_delete(f, dot)) continue;
    const OneInline<Target> targets = targets_of(d, actors);
    add_delete(f, dot, targets);
    for (const Target& t : targets) MYC_TRY(erase(t.first, t.length));
  }
  if (erased && !f.sets.empty()) prune(f);
  // Sets not covered here, onto live elements, when they pass the winner:
  // (HLC, actor) as lww, which causality agrees with (a set's HLC passes
  // every one its replica had observed, docs/sequences.md).
  bool set = false;
  for (const SeqSet& x : e.sets) {
    const Id target = id_of(x.target, actors), dot = id_of(x.dot, actors);
    if (covered(dot) || seq.deleted(target)) continue;
    if (const Winner* w = find_set(f, target); w && std::pair(w->hlc, w->dot.actor) >= std::pair(x.hlc, dot.actor)) continue;
    MYC_TRY(win(f, target, dot, x.hlc, x.value));
    set = true;
  }
  return seq.elements() != elements || seq.size() != visible || erased || set;
}

std::size_t SequenceFields::bytes_used() const {
  std::size_t n = fields_.capacity() * sizeof(void*);
  for (const auto& f : fields_) {
    n += sizeof(Field) + f->targets.capacity() * sizeof(Target) + f->deletes.capacity() * sizeof(f->deletes[0]) +
         f->sets.capacity() * sizeof(Winner);
    for (const auto& [actor, list] : f->deletes) n += list.capacity() * sizeof(Delete);
  }
  return n;
}

}  // namespace mycelium
