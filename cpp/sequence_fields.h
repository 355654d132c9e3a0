// SequenceFields: a store's list and text fields (docs/sequences.md). One
// Sequence per (record, field), each field's delete events with their
// targets, the entry a delta carries of a field, and the two steps of a
// join: check (changes nothing) and join (cannot fail on a checked entry).
//
// Elements and delete events are named by dots (actor id, seq). The store
// owns the event index (which record and fields each dot touched); this
// class asks it, through NewDot, whether a dot an entry brings is one the
// delta's events put on that field.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <vector>

#include "sequence.h"
#include "sequence_codec.h"
#include "status.h"

namespace mycelium {

class SequenceFields {
 public:
  struct Key {
    std::uint32_t record = 0;
    std::uint8_t field = 0;
    friend bool operator==(const Key&, const Key&) = default;
    friend auto operator<=>(const Key&, const Key&) = default;
  };
  using Id = Sequence::Id;
  struct Target {
    Id first;
    std::uint32_t length = 0;
  };

  const Sequence* find(Key k) const;
  bool empty() const { return fields_.empty(); }
  // Whether any sequence of the record has a live element.
  bool any_live(std::uint32_t record) const;
  // The fields of one record that hold a sequence, increasing.
  std::vector<std::uint8_t> fields_of(std::uint32_t record) const;

  // Local writes (the store checks the field's kind and takes the dots).
  // Inserts `length` elements, ids first, first + 1, ..., at live index
  // `index`; `bytes` is their content.
  Result<Sequence::Run> insert(Key k, Sequence::Content content, std::size_t index, Id first, std::uint32_t length,
                               std::span<const std::uint32_t> wide, std::string_view bytes);
  // Deletes the live elements [index, index + count) by delete event `dot`.
  Status erase(Key k, std::size_t index, std::size_t count, Id dot);
  // A list's live element at `index` takes the value `element` (one element
  // of list content) by set event `dot` at `hlc`: it replaces the element's
  // winning set, which this replica has observed.
  Status set(Key k, std::size_t index, Id dot, std::uint64_t hlc, std::string_view element);
  // A record delete: every element of the record's sequences is deleted.
  void erase_record(std::uint32_t record);

  // The delete events of field k, by dot.
  std::size_t delete_count(Key k) const;

  // What a delta carries of field k: the parts of the elements past
  // from(actor), every part when `whole` (a record delete the receiver
  // lacks), and the delete events past from(actor); actors numbered by
  // `index` (the delta's table). Nothing when there is nothing to carry.
  std::optional<SeqEntry> entry_since(Key k, std::uint32_t delta_record, const std::function<std::uint32_t(ActorId)>& from,
                                      bool whole, const std::function<std::uint32_t(ActorId)>& index) const;

  // Whether a dot an entry brings (a new element or a new delete event)
  // was made by the delta's events on this field, and not one this
  // replica has already joined elsewhere. first .. first + length - 1.
  using NewDots = std::function<Status(Id first, std::uint32_t length)>;
  // Whether this replica's context covers a dot (before the join).
  using Covered = std::function<bool(Id dot)>;

  // Checks an entry a delta brings for field k (k: nullopt when its record
  // is new here), changing nothing: its parts agree with what is known
  // (Sequence::known_prefix), new elements and delete events are new dots
  // (new_dots), every origin is known or new in the entry and they do not
  // wait on each other, and every delete target is known or new in the
  // entry; a delete event known here names the same targets. A set names
  // an element known or new in the entry; one this replica has not covered
  // is a new dot, and the winning set known here is sent with its value.
  // `actors` is the delta's actor table.
  Status check(const SeqEntry& e, std::optional<Key> k, Sequence::Content content, std::span<const ActorId> actors,
               const NewDots& new_dots, const Covered& covered) const;
  // Joins a checked entry: its new parts placed, every element a part
  // carries as deleted deleted here (the sender covers its insert dot), its
  // new delete events kept and their targets deleted, then each set this
  // replica has not covered made the value of its element if the element
  // is live and the set's (HLC, actor) passes the winner's. True when the
  // field's elements, their states or values changed. With `splices`, what
  // it changed in the live elements is appended to it (Sequence::Splice).
  Result<bool> join(const SeqEntry& e, Key k, Sequence::Content content, std::span<const ActorId> actors,
                    const Covered& covered, std::vector<Sequence::Splice>* splices = nullptr);

  // Heap bytes held (capacity), approximately.
  std::size_t bytes_used() const;

 private:
  struct Delete {
    std::uint32_t seq;
    std::uint32_t first_target;  // into Field::targets
    std::uint32_t targets;
  };
  // A list element's winning set; its value is the element's content.
  struct Winner {
    Id target, dot;
    std::uint64_t hlc;
  };
  struct Field {
    Key key;
    Sequence seq;
    std::vector<Winner> sets;  // by target; none of a deleted element once pruned
    // Delete events per actor, by seq; targets of them all, in order.
    std::vector<std::pair<ActorId, std::vector<Delete>>> deletes;
    std::vector<Target> targets;
    explicit Field(Key k, Sequence::Content c) : key(k), seq(c) {}
  };
  Field* find_field(Key k);
  const Field* find_field(Key k) const;
  Field& field(Key k, Sequence::Content content);
  static const Delete* find_delete(const Field& f, Id dot);
  static void add_delete(Field& f, Id dot, std::span<const Target> targets);
  static const Winner* find_set(const Field& f, Id target);
  // Makes (dot, hlc) the winner of `target` (live) with value `element`.
  static Status win(Field& f, Id target, Id dot, std::uint64_t hlc, std::string_view element);
  // Drops the winners of deleted elements (tombstones hold no value).
  static void prune(Field& f);

  std::vector<std::unique_ptr<Field>> fields_;  // by key
};

}  // namespace mycelium
