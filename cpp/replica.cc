#include "replica.h"

#include <algorithm>
#include <string>
#include <vector>

#include "crc32c.h"
#include "sort_by.h"

namespace mycelium {
namespace {

enum Op : std::uint8_t { kInsert = 1, kSet, kIncrement, kAdd, kRemove, kDelete, kSplice, kErase, kSetAt, kCreditAdd, kSpend, kTransfer };

bool read_value(Reader& r, ValueView& v) {
  std::uint8_t tag;
  if (!r.u8(tag, "value tag")) return false;
  switch (tag) {
    case 0: v = ValueView::null(); return true;
    case 1: v = ValueView::boolean(false); return true;
    case 2: v = ValueView::boolean(true); return true;
    case 3: {
      std::int64_t i;
      if (!r.zigzag(i, "integer")) return false;
      v = ValueView::integer(i);
      return true;
    }
    case 4: {
      std::uint64_t b;
      if (!r.fixed64(b, "number")) return false;
      v = {ValueTag::kDouble, b, {}};
      return true;
    }
    case 5:
    case 6: {
      std::string_view s;
      if (!r.bytes(s, "string")) return false;
      v = tag == 5 ? ValueView::string(s) : ValueView::bytes(s);
      return true;
    }
    default: return r.fail(cat({"unsupported value type ", tag}));
  }
}

void write_value(Writer& w, const ValueView& v) {
  switch (v.tag) {
    case ValueTag::kNull: w.u8(0); break;
    case ValueTag::kBool: w.u8(v.bits ? 2 : 1); break;
    case ValueTag::kInt: w.u8(3); w.zigzag(static_cast<std::int64_t>(v.bits)); break;
    case ValueTag::kDouble: w.u8(4); w.fixed64(v.bits); break;
    case ValueTag::kString: w.u8(5); w.bytes(v.str); break;
    case ValueTag::kBytes: w.u8(6); w.bytes(v.str); break;
  }
}

struct ParsedOp {
  Op op;
  std::uint16_t collection;
  FieldRef field;
  std::string_view id;
  ValueView value;
  std::int64_t n = 0;
  // splice, erase and set_at: the index; erase: the count; splice: a text's
  // string (value) or a list's values; set_at: the value.
  std::uint64_t index = 0, count = 0;
  std::vector<ValueView> values;
  ActorId to = 0;  // transfer: the actor given rights
};

Status parse_op(const Store& store, Reader& r, ParsedOp& p) {
  std::uint8_t op;
  std::uint64_t coll;
  if (!r.u8(op, "op") || !r.varint(coll, "collection")) return r.status();
  p.value = ValueView::null();  // ops without a value leave none behind from the op before
  if (op < kInsert || op > kTransfer) return InvalidArgument(cat({"unknown write op ", op}));
  p.op = static_cast<Op>(op);
  const auto& collections = store.schema().collections();
  if (coll >= store.schema().declared_collections()) return UnknownField(cat({"unknown collection ", coll}));
  p.collection = static_cast<std::uint16_t>(coll);
  if (p.op != kInsert && p.op != kDelete) {
    std::uint8_t f;
    if (!r.u8(f, "field")) return r.status();
    const auto& fields = collections[coll].fields;
    if (f >= collections[coll].declared) return UnknownField(cat({"unknown field ", f}));
    p.field = FieldRef{p.collection, f, fields[f].kind};
    const Kind k = p.field.kind;
    const bool fits = p.op == kSet         ? (k == Kind::kLww || k == Kind::kMvr)
                      : p.op == kIncrement ? k == Kind::kCounter
                      : p.op >= kCreditAdd ? kind_enabled(Kind::kCredit) && k == Kind::kCredit
                      : p.op == kSetAt     ? kind_enabled(Kind::kList) && k == Kind::kList
                      : p.op >= kSplice    ? kSequenceKinds && is_sequence(k)
                                           : k == Kind::kSet;
    if (!fits) {
      static const char* names[] = {"",       "insert",      "set",         "increment",         "add",
                                    "remove", "delete", "insert into", "delete from", "set an element of",
                                    "add credit to", "spend", "transfer rights of"};
      return WrongKind(cat({"cannot ", names[op], " field '", fields[f].name, "' of kind ", kind_name(k)}));
    }
  }
  if (!r.bytes(p.id, "record id")) return r.status();
  if (p.op == kIncrement) {
    if (!r.zigzag(p.n, "increment")) return r.status();
  } else if (p.op >= kCreditAdd) {
    if (!r.zigzag(p.n, "credit amount")) return r.status();
    if (p.n < 1 || p.n > kMaxCredit) return InvalidArgument(cat({"a credit amount must be an integer from 1 to 2^53-1, not ", p.n}));
    if (p.op == kTransfer && !r.fixed64(p.to, "actor")) return r.status();
  } else if (p.op == kErase) {
    if (!r.varint(p.index, "index") || !r.varint(p.count, "count")) return r.status();
  } else if (p.op == kSetAt) {
    if (!r.varint(p.index, "index") || !read_value(r, p.value)) return r.status();
    if (p.value.tag == ValueTag::kString && !valid_utf8(p.value.str)) return InvalidArgument("string is not valid UTF-8");
  } else if (p.op == kSplice) {
    if (!r.varint(p.index, "index")) return r.status();
    p.values.clear();
    if (p.field.kind == Kind::kText) {
      std::string_view text;
      if (!r.bytes(text, "text")) return r.status();
      if (!valid_utf8(text)) return InvalidArgument("text is not valid UTF-8");
      p.value = ValueView::string(text);
    } else {
      std::uint64_t n;
      if (!r.count(n, "values", 1)) return r.status();
      p.values.resize(static_cast<std::size_t>(n));
      for (ValueView& v : p.values) {
        if (!read_value(r, v)) return r.status();
        if (v.tag == ValueTag::kString && !valid_utf8(v.str)) return InvalidArgument("string is not valid UTF-8");
      }
    }
  } else if (p.op == kSet || p.op == kAdd || p.op == kRemove) {
    if (!read_value(r, p.value)) return r.status();
    if (p.value.tag == ValueTag::kString && !valid_utf8(p.value.str)) {
      return InvalidArgument("string is not valid UTF-8");
    }
  }
  if (p.id.empty() || p.id.size() > kMaxIdBytes) return InvalidArgument("record id must be 1 to 256 bytes");
  return Status::Ok();
}

Status run_op(Store& s, const ParsedOp& p) {
  switch (p.op) {
    case kInsert: return s.insert(CollectionRef{p.collection}, p.id);
    case kSet: return s.set(p.field, p.id, p.value);
    case kIncrement: return s.increment(p.field, p.id, p.n);
    case kAdd: return s.add(p.field, p.id, p.value);
    case kRemove: return s.remove(p.field, p.id, p.value);
    case kDelete: return s.remove_record(CollectionRef{p.collection}, p.id);
    case kSplice:
      return p.field.kind == Kind::kText ? s.insert_text(p.field, p.id, p.index, p.value.str)
                                         : s.insert_values(p.field, p.id, p.index, p.values);
    case kErase: return s.erase_range(p.field, p.id, p.index, p.count);
    case kSetAt: return s.set_element(p.field, p.id, p.index, p.value);
    case kCreditAdd: return s.credit_add(p.field, p.id, p.n);
    case kSpend: return s.credit_spend(p.field, p.id, p.n);
    case kTransfer: return s.credit_transfer(p.field, p.id, p.n, p.to);
  }
  return InvalidArgument("unknown write op");
}

Result<Schema> read_schema(Reader& r) {
  std::uint64_t ncoll;
  if (!r.count(ncoll, "collections", 2)) return r.status();
  std::vector<CollectionSchema> collections(ncoll);
  for (auto& c : collections) {
    std::string_view name;
    std::uint64_t nfields;
    if (!r.bytes(name, "collection name") || !r.count(nfields, "fields", 2)) return r.status();
    c.name = std::string(name);
    c.fields.resize(nfields);
    for (auto& f : c.fields) {
      std::uint8_t kind;
      if (!r.bytes(name, "field name") || !r.u8(kind, "kind")) return r.status();
      if (kind >= kKindCount) return InvalidArgument(cat({"unknown field kind ", kind}));
      f.name = std::string(name);
      f.kind = static_cast<Kind>(kind);
      if (f.kind == Kind::kCredit && !r.zigzag(f.min, "credit min")) return r.status();
    }
  }
  return Schema::create(std::move(collections));
}

}  // namespace

Result<std::unique_ptr<Replica>> Replica::open(std::span<const std::uint8_t> input) {
  Reader r(input);
  MYC_ASSIGN_OR_RETURN(Schema schema, read_schema(r));
  std::uint64_t actor, snapshot_len;
  if (!r.fixed64(actor, "actor") || !r.varint(snapshot_len, "snapshot length")) return r.status();
  if (snapshot_len != r.remaining()) return InvalidArgument("snapshot length does not match the input");
  std::unique_ptr<Replica> rep(new Replica(nullptr));
  StoreOptions options;
  options.actor = actor;
  Replica* self = rep.get();
  options.now = [self] { return self->now_; };
  if (snapshot_len == 0) {
    MYC_ASSIGN_OR_RETURN(rep->store_, Store::open(std::move(schema), std::move(options)));
  } else {
    MYC_ASSIGN_OR_RETURN(rep->store_, Store::load(std::move(schema), input.subspan(r.offset()), std::move(options)));
  }
  return rep;
}

namespace {
// What a batch's ops need of the store, checked before the first op runs:
// each op against its record as the ops before it in the batch leave it (a
// record the batch inserted exists, one it deleted does not unless it holds
// credit, a list or text has the length the batch's edits give it, a credit
// field has the rights the batch left), and the room all of them take. A
// one-op batch needs none of this: its op checks itself before it changes
// anything. No op may fail once one has run, so the check must be exact
// wherever it allows an op.
//
// Ops are grouped by record (a hash of it, sorted as hash << 32 | index: the
// engine's sort of integers), then each record's ops are checked in batch
// order against one RecordCheck: no lookup in a list of every record the
// batch touched, so a transaction of many records costs O(n log n).
class RecordCheck {
 public:
  RecordCheck(const Store& store, std::uint16_t collection, std::string_view id) : store_(store), collection_(collection) {
    record_ = store.record_of(CollectionRef{collection}, id);
    if (record_ >= 0 && store.visible_at(static_cast<std::uint32_t>(record_))) {
      const kinds::Entries e = store.entries_at(static_cast<std::uint32_t>(record_));
      entries_ = e == kinds::Entries::kFixed ? kFixed : e == kinds::Entries::kElements ? kSome : kNone;
    }
  }

  Status op(const ParsedOp& p) {
    const Visible v = visible();
    if (p.op == kInsert) {
      if (v == kYes) return Store::already_exists(p.id);
    } else if (v == kNo) {
      return store_.not_found(p.collection, p.id);
    }
    if (v == kUnknown) {
      // The record has no presence (a peer deleted it while this replica
      // wrote to it): set elements or list and text items kept it visible,
      // and the batch removed some. Whether it still is would take running
      // the batch; refused instead, before any op runs.
      return InvalidArgument(cat({"record '", p.id, "' may have been hidden by this batch's own removes (it is visible only ",
                                  "through set elements or list and text items): write to it in another batch"}));
    }
    switch (p.op) {
      case kInsert: entries_ = kFixed; break;
      case kDelete:
        // Every entry but credit goes (docs/credit.md, Record deletes).
        entries_ = kNone;
        deleted_ = true;
        for (Field& f : fields_) {
          f.text.clear();
          f.size = 0;
        }
        break;
      case kSet:
      case kIncrement: entries_ = kFixed; break;
      case kAdd:
        if (entries_ != kFixed) entries_ = kSome;
        break;
      case kRemove:
        if (entries_ == kSome) entries_ = kMaybe;
        break;
      case kSplice:
      case kErase:
      case kSetAt:
        MYC_TRY(sequence(p));
        if (p.op == kErase) {
          if (entries_ == kSome) entries_ = kMaybe;
        } else if (entries_ != kFixed) {
          entries_ = kSome;
        }
        break;
      case kCreditAdd:
      case kSpend:
      case kTransfer: MYC_TRY(credit(p)); break;
    }
    return Status::Ok();
  }

 private:
  // What keeps the record visible besides credit: nothing; set elements or
  // list and text items (kSome: some live; kMaybe: some were removed, maybe
  // the last); or an entry only a record delete removes.
  enum Keeps : std::uint8_t { kNone, kSome, kMaybe, kFixed };
  enum Visible : std::uint8_t { kNo, kYes, kUnknown };

  Visible visible() const {
    if (entries_ == kFixed || entries_ == kSome) return kYes;
    // A credit field above its min keeps the record visible.
    if (kind_enabled(Kind::kCredit) && holds_credit()) return kYes;
    return entries_ == kNone ? kNo : kUnknown;
  }

  // A list or text field as the batch's ops before this one leave it: a
  // text's UTF-8 (its UTF-16 indexes are checked against it), a list's size.
  struct Field {
    std::uint8_t field;
    std::string text;
    std::size_t size = 0;
  };
  // The byte offset of UTF-16 unit `unit` of `text`, if it is one.
  static std::optional<std::size_t> byte_of(std::string_view text, std::uint64_t unit) {
    std::uint64_t u = 0;
    std::size_t i = 0;
    while (u < unit && i < text.size()) {
      const auto b = static_cast<std::uint8_t>(text[i]);
      const std::size_t n = b < 0x80 ? 1 : b < 0xe0 ? 2 : b < 0xf0 ? 3 : 4;
      u += n == 4 ? 2 : 1;
      i += n;
    }
    if (u != unit) return std::nullopt;  // past the end, or inside a surrogate pair
    return i;
  }
  Status sequence(const ParsedOp& p) {
    if (!kSequenceKinds) return Status::Ok();
    auto it = std::find_if(fields_.begin(), fields_.end(), [&](const Field& f) { return f.field == p.field.field; });
    const bool text = p.field.kind == Kind::kText;
    if (it == fields_.end()) {
      Field f{p.field.field, {}, 0};
      // A record delete earlier in the batch emptied it.
      const Sequence* s = record_ >= 0 && !deleted_ ? store_.sequence_at(static_cast<std::uint32_t>(record_), p.field.field) : nullptr;
      if (s) {
        if (text) f.text = s->content();
        f.size = s->size();
      }
      fields_.push_back(std::move(f));
      it = fields_.end() - 1;
    }
    if (text) {
      const auto at = byte_of(it->text, p.index);
      if (!at) return InvalidArgument("index past the end of the text or inside a surrogate pair");
      if (p.op == kSplice) {
        it->text.insert(*at, p.value.str);
        return Status::Ok();
      }
      const auto end = byte_of(std::string_view(it->text).substr(*at), p.count);
      if (!end) return InvalidArgument("delete past the end of the text or inside a surrogate pair");
      it->text.erase(*at, *end);
      return Status::Ok();
    }
    if (p.index > it->size || (p.op == kErase && p.count > it->size - p.index) || (p.op == kSetAt && p.index == it->size)) {
      return InvalidArgument("index past the end of the list");
    }
    if (p.op == kSplice) it->size += p.values.size();
    else if (p.op == kErase) it->size -= static_cast<std::size_t>(p.count);
    return Status::Ok();
  }

  // A credit field as the batch's ops before this one leave it: this
  // actor's rights, the added total, the value (docs/credit.md, Write
  // batches). From the record's cells whether it is visible or not (an
  // insert over a hidden record keeps its credit cells). A record delete
  // leaves credit alone.
  struct Credit {
    std::uint8_t field;
    std::int64_t rights = 0, added = 0, value = 0;
  };
  // Where credits_ holds credit field `field`: credits_.size() when no op before touched it.
  std::size_t touched(std::uint8_t field) const {
    return static_cast<std::size_t>(std::find_if(credits_.begin(), credits_.end(), [&](const Credit& c) { return c.field == field; }) - credits_.begin());
  }
  Credit& credit_field(std::uint8_t field) {
    if (const std::size_t i = touched(field); i < credits_.size()) return credits_[i];
    Credit c{field, 0, 0, store_.schema().collections()[collection_].fields[field].min};
    if (record_ >= 0) {
      const auto record = static_cast<std::uint32_t>(record_);
      c.rights = store_.rights_at(record, field, store_.actor());
      c.added = store_.added_at(record, field);
      c.value = store_.credit_at(record, field);
    }
    credits_.push_back(c);
    return credits_.back();
  }
  bool holds_credit() const {
    const auto& fields = store_.schema().collections()[collection_].fields;
    for (std::size_t f = 0; f < fields.size(); ++f) {
      if (fields[f].kind != Kind::kCredit) continue;
      const auto field = static_cast<std::uint8_t>(f);
      const std::size_t i = touched(field);
      const std::int64_t value = i < credits_.size() ? credits_[i].value
                                 : record_ >= 0      ? store_.credit_at(static_cast<std::uint32_t>(record_), field)
                                                     : fields[f].min;
      if (value > fields[f].min) return true;
    }
    return false;
  }
  Status credit(const ParsedOp& p) {
    Credit& c = credit_field(p.field.field);
    const auto& f = store_.schema().collections()[p.collection].fields[p.field.field];
    if (p.op == kCreditAdd) {
      if (p.n > kMaxCredit - c.added || f.min + c.added + p.n > kMaxCredit) {
        return InvalidArgument(cat({"adding ", p.n, " would take '", f.name, "' past 2^53-1"}));
      }
      c.added += p.n;
      c.rights += p.n;
      c.value += p.n;
      return Status::Ok();
    }
    if (p.op == kTransfer && p.to == store_.actor()) return InvalidArgument("a transfer of credit rights to this replica's own actor");
    if (c.rights < p.n) {
      return InsufficientCredit(cat({"cannot ", p.op == kSpend ? "spend" : "transfer", " ", p.n, " of '", f.name, "' in '", p.id,
                                     "': this replica holds ", c.rights, " rights and sees the value ", c.value,
                                     " (after the batch's earlier ops)"}));
    }
    c.rights -= p.n;
    if (p.op == kSpend) c.value -= p.n;
    return Status::Ok();
  }

  const Store& store_;
  const std::uint16_t collection_;
  std::int64_t record_ = -1;  // in the store, visible or not
  Keeps entries_ = kNone;
  bool deleted_ = false;  // a record delete of the batch emptied its lists and texts
  std::vector<Field> fields_;
  std::vector<Credit> credits_;
};

class BatchCheck {
 public:
  BatchCheck(const Store& store, std::span<const std::uint8_t> ops) : store_(store), bytes_(ops) {}

  // The op that starts at `offset` of the ops.
  void op(const ParsedOp& p, std::size_t offset) {
    ++writes_;
    if (p.op == kInsert) {
      ++records_;
      id_bytes_ += p.id.size();
    }
    if (p.op == kSplice) {
      // At most one event per byte of text or per value.
      writes_ += p.field.kind == Kind::kText ? p.value.str.size() : p.values.size();
      for (const ValueView& v : p.values) {
        if (v.tag == ValueTag::kString || v.tag == ValueTag::kBytes) string_bytes_ += v.str.size() + 5;
      }
    }
    if (p.value.tag == ValueTag::kString || p.value.tag == ValueTag::kBytes) string_bytes_ += p.value.str.size() + 5;
    ops_.push_back({p.collection, p.id, offset});
  }

  Status check() const {
    std::vector<std::uint64_t> order(ops_.size());
    for (std::size_t i = 0; i < ops_.size(); ++i) {
      const std::uint32_t hash = crc32c(reinterpret_cast<const std::uint8_t*>(ops_[i].id.data()), ops_[i].id.size()) ^ ops_[i].collection;
      order[i] = std::uint64_t{hash} << 32 | i;
    }
    std::sort(order.begin(), order.end());
    const auto use = [&](std::size_t k) -> const Use& { return ops_[order[k] & 0xffffffffu]; };
    std::vector<bool> done(order.size());
    ParsedOp p;
    for (std::size_t group = 0; group < order.size();) {
      std::size_t end = group + 1;
      while (end < order.size() && order[end] >> 32 == order[group] >> 32) ++end;
      // Each record of the group (one, unless hashes collide), its ops in batch order.
      for (std::size_t i = group; i < end; ++i) {
        if (done[i]) continue;
        const Use& first = use(i);
        RecordCheck record(store_, first.collection, first.id);
        for (std::size_t k = i; k < end; ++k) {
          if (done[k] || use(k).collection != first.collection || use(k).id != first.id) continue;
          done[k] = true;
          Reader r(bytes_.subspan(use(k).offset));
          MYC_TRY(parse_op(store_, r, p));
          MYC_TRY(record.op(p));
        }
      }
      group = end;
    }
    return store_.check_room(writes_, records_, id_bytes_, string_bytes_);
  }

 private:
  struct Use {
    std::uint16_t collection;
    std::string_view id;
    std::size_t offset;
  };
  const Store& store_;
  const std::span<const std::uint8_t> bytes_;
  std::size_t writes_ = 0, records_ = 0, id_bytes_ = 0, string_bytes_ = 0;
  std::vector<Use> ops_;
};
}  // namespace

Status Replica::write(std::span<const std::uint8_t> batch) {
  Reader r(batch);
  if (!r.varint(now_, "clock")) return r.status();
  const auto body = batch.subspan(r.offset());
  // All or nothing: every op is parsed and checked first (syntax, schema,
  // value; for more than one op, the record each needs and the room), then
  // the batch is parsed again and run: cheaper than keeping the parsed ops.
  // No op can fail once one has run.
  if (body.empty()) return Status::Ok();
  Reader ops(body);
  ParsedOp p;
  MYC_TRY(parse_op(*store_, ops, p));
  if (ops.remaining() > 0) {
    BatchCheck check(*store_, body);
    check.op(p, 0);
    while (ops.remaining() > 0) {
      const std::size_t offset = ops.offset();
      MYC_TRY(parse_op(*store_, ops, p));
      check.op(p, offset);
    }
    MYC_TRY(check.check());
  }
  Reader again(body);
  while (again.remaining() > 0) {
    MYC_TRY(parse_op(*store_, again, p));
    MYC_TRY(run_op(*store_, p));
  }
  return Status::Ok();
}

namespace {
void write_record(const Store& s, std::uint16_t collection, std::uint32_t record, Writer& w, std::vector<ValueView>& vs) {
  // The declared fields only: undeclared ones (from peers) are never shown.
  const auto& c = s.schema().collections()[collection];
  for (std::size_t f = 0; f < c.declared; ++f) {
    const auto field = static_cast<std::uint8_t>(f);
    switch (c.fields[f].kind) {
      case Kind::kLww: write_value(w, s.lww_at(record, field)); break;
      case Kind::kCounter:
        // A build without a kind has no field of it (the schema refuses one):
        // the branch goes, and the kind's code with it.
        if constexpr (kind_enabled(Kind::kCounter)) w.zigzag(s.counter_at(record, field));
        break;
      case Kind::kCredit:
        if constexpr (kind_enabled(Kind::kCredit)) w.zigzag(s.credit_at(record, field));
        break;
      case Kind::kMvr:
      case Kind::kSet:
        if constexpr (kind_enabled(Kind::kMvr) || kind_enabled(Kind::kSet)) {
          s.values_at(record, field, vs);
          w.varint(vs.size());
          for (const ValueView& v : vs) write_value(w, v);
        }
        break;
      case Kind::kText:
        if constexpr (kind_enabled(Kind::kText)) {
          const Sequence* seq = s.sequence_at(record, field);
          std::size_t bytes = 0;
          if (seq) seq->for_each_content([&](std::string_view b) { bytes += b.size(); });
          w.varint(bytes);
          if (seq) seq->for_each_content([&](std::string_view b) { w.raw(std::span(reinterpret_cast<const std::uint8_t*>(b.data()), b.size())); });
        }
        break;
      case Kind::kList:
        if constexpr (kind_enabled(Kind::kList)) {
          s.list_at(record, field, vs);
          w.varint(vs.size());
          for (const ValueView& v : vs) write_value(w, v);
        }
        break;
    }
  }
}
}  // namespace

Status Replica::get(std::uint16_t collection, std::string_view id, ByteVec& out) const {
  if (!store_->schema().declared(collection)) return UnknownField("unknown collection");
  Writer w;
  w.reuse(std::move(out));
  const std::int64_t record = store_->visible(CollectionRef{collection}, id);
  w.u8(record >= 0 ? 1 : 0);
  if (record >= 0) write_record(*store_, collection, static_cast<std::uint32_t>(record), w, values_);
  out = w.take();
  return Status::Ok();
}

Status Replica::all(std::uint16_t collection, ByteVec& out) const {
  if (!store_->schema().declared(collection)) return UnknownField("unknown collection");
  const auto records = store_->visible_records(CollectionRef{collection});
  Writer w;
  w.reuse(std::move(out));
  w.varint(records.size());
  for (const auto& [id, record] : records) {
    w.bytes(id);
    write_record(*store_, collection, record, w, values_);
  }
  out = w.take();
  return Status::Ok();
}

Status Replica::sorted(std::uint16_t collection, std::uint8_t field, ByteVec& out) const {
  if (!store_->schema().declared(collection)) return UnknownField("unknown collection");
  const auto& c = store_->schema().collections()[collection];
  if (field >= c.declared) return UnknownField(cat({"unknown field ", static_cast<int>(field)}));
  const Kind kind = c.fields[field].kind;
  if (kind != Kind::kLww && kind != Kind::kCounter && kind != Kind::kCredit) {
    return WrongKind(cat({"field '", c.fields[field].name, "' of kind ", kind_name(kind), " cannot be indexed (lww, counter and credit fields can)"}));
  }
  const auto records = store_->visible_records(CollectionRef{collection});
  struct Row {
    std::string_view id;
    ValueView value;
  };
  std::vector<Row> rows;
  rows.reserve(records.size());
  for (const auto& [id, record] : records) {
    ValueView v;
    if (kind == Kind::kLww) v = store_->lww_at(record, field);
    else if (kind == Kind::kCredit) {
      if constexpr (kind_enabled(Kind::kCredit)) v = ValueView::integer(store_->credit_at(record, field));
    } else if constexpr (kind_enabled(Kind::kCounter)) {
      v = ValueView::integer(store_->counter_at(record, field));
    }
    rows.push_back({id, v});
  }
  sort_by(std::span<Row>(rows), [](const Row& a, const Row& b) {
    const auto c = query_order(a.value, b.value);
    return c != 0 ? c < 0 : a.id < b.id;  // ties by id, bytewise
  });
  Writer w;
  w.reuse(std::move(out));
  w.varint(rows.size());
  for (const Row& r : rows) {
    w.bytes(r.id);
    if (kind == Kind::kLww) write_value(w, r.value);
    else w.zigzag(static_cast<std::int64_t>(r.value.bits));
  }
  out = w.take();
  return Status::Ok();
}

namespace {
// A credit call's record and field (rights, credit_entries).
Result<FieldRef> credit_field(const Store& store, Reader& r, std::string_view& id) {
  std::uint64_t coll;
  std::uint8_t field;
  if (!r.varint(coll, "collection") || !r.u8(field, "field") || !r.bytes(id, "record id")) return r.status();
  const auto& schema = store.schema();
  if (coll >= schema.declared_collections()) return UnknownField("unknown collection");
  const auto& c = schema.collections()[coll];
  if (field >= c.declared) return UnknownField(cat({"unknown field ", static_cast<int>(field)}));
  if (c.fields[field].kind != Kind::kCredit) return WrongKind(cat({"'", c.fields[field].name, "' is not a credit field"}));
  return FieldRef{static_cast<std::uint16_t>(coll), field, Kind::kCredit};
}
}  // namespace

Result<std::int64_t> Replica::rights(std::span<const std::uint8_t> input) const {
  Reader r(input);
  std::string_view id;
  MYC_ASSIGN_OR_RETURN(const FieldRef f, credit_field(*store_, r, id));
  ActorId actor;
  if (!r.fixed64(actor, "actor")) return r.status();
  return store_->rights(f, id, actor == 0 ? store_->actor() : actor);
}

Status Replica::credit_entries(std::span<const std::uint8_t> input, ByteVec& out) const {
  Reader r(input);
  std::string_view id;
  MYC_ASSIGN_OR_RETURN(const FieldRef f, credit_field(*store_, r, id));
  MYC_ASSIGN_OR_RETURN(const auto entries, store_->credit_entries(f, id));
  Writer w;
  w.reuse(std::move(out));
  w.varint(entries.size());
  for (const auto& e : entries) {
    w.fixed64(e.actor);
    w.u8(e.component.tag == ValueTag::kNull ? 0 : e.component.tag == ValueTag::kBool ? 1 : 2);
    if (e.component.tag == ValueTag::kInt) w.fixed64(e.component.bits);
    w.varint(e.total);
  }
  out = w.take();
  return Status::Ok();
}

Result<std::size_t> Replica::count(std::uint16_t collection) const {
  if (!store_->schema().declared(collection)) return UnknownField("unknown collection");
  return store_->size(CollectionRef{collection});
}

namespace {
// The list or text field, record and side a cursor call names.
struct PositionOf {
  FieldRef field;
  std::string_view id;
  bool before = false;
};
Status parse_position(const Store& store, Reader& r, PositionOf& p) {
  std::uint64_t coll;
  std::uint8_t f, flags;
  if (!r.varint(coll, "collection") || !r.u8(f, "field")) return r.status();
  if (coll >= store.schema().declared_collections()) return UnknownField(cat({"unknown collection ", coll}));
  const auto& c = store.schema().collections()[coll];
  if (f >= c.declared) return UnknownField(cat({"unknown field ", f}));
  if (!is_sequence(c.fields[f].kind)) {
    return WrongKind(cat({"field '", c.fields[f].name, "' of kind ", kind_name(c.fields[f].kind), " has no positions"}));
  }
  p.field = FieldRef{static_cast<std::uint16_t>(coll), f, c.fields[f].kind};
  if (!r.bytes(p.id, "record id") || !r.u8(flags, "cursor flags")) return r.status();
  if (flags > 1) return InvalidArgument("unknown cursor flags");
  p.before = flags == 1;
  return Status::Ok();
}
}  // namespace

Status Replica::cursor(std::span<const std::uint8_t> input, ByteVec& out) const {
  if constexpr (!kSequenceKinds) return WrongKind("this build leaves out lists and texts");
  Reader r(input);
  PositionOf p;
  MYC_TRY(parse_position(*store_, r, p));
  std::uint64_t index;
  if (!r.varint(index, "index")) return r.status();
  if (r.remaining() != 0) return InvalidArgument("trailing bytes after the index");
  MYC_ASSIGN_OR_RETURN(const Store::Anchor a, store_->anchor(p.field, p.id, index, p.before));
  Writer w;
  w.u8(a.element ? 1 : 0);
  if (a.element) {
    w.fixed64(a.element->actor);
    w.varint(a.element->seq);
  }
  out = w.take();
  return Status::Ok();
}

Result<std::size_t> Replica::resolve(std::span<const std::uint8_t> input) const {
  if constexpr (!kSequenceKinds) return WrongKind("this build leaves out lists and texts");
  Reader r(input);
  PositionOf p;
  MYC_TRY(parse_position(*store_, r, p));
  Store::Anchor a{std::nullopt, p.before};
  std::uint8_t has;
  if (!r.u8(has, "cursor")) return r.status();
  if (has > 1) return InvalidArgument("not a cursor");
  if (has == 1) {
    std::uint64_t actor, seq;
    if (!r.fixed64(actor, "actor") || !r.varint(seq, "seq")) return r.status();
    if (seq == 0 || seq > kMaxSeq) return InvalidArgument("not a cursor: seq out of range");
    a.element = Sequence::Id{actor, static_cast<std::uint32_t>(seq)};
  }
  if (r.remaining() != 0) return InvalidArgument("trailing bytes after the cursor");
  return store_->resolve(p.field, p.id, a);
}

void Replica::version(ByteVec& out) const {
  Writer w;
  const VersionVector vv = store_->version();
  w.varint(vv.entries().size());
  for (const auto& [actor, seq] : vv.entries()) {
    w.fixed64(actor);
    w.varint(seq);
  }
  out = w.take();
}

namespace {
Status read_version(Reader& r, VersionVector& out) {
  std::uint64_t n;
  if (!r.count(n, "version entries", 9)) return r.status();
  std::vector<VersionVector::Entry> entries(n);
  for (auto& [actor, seq] : entries) {
    if (!r.fixed64(actor, "actor") || !r.varint(seq, "seq")) return r.status();
  }
  out = VersionVector::from_entries(std::move(entries));
  return Status::Ok();
}
}  // namespace

Status Replica::delta_since(std::span<const std::uint8_t> input, ByteVec& out) const {
  Reader r(input);
  VersionVector vv;
  MYC_TRY(read_version(r, vv));
  std::uint8_t flags = 0;
  if (r.remaining() > 0 && !r.u8(flags, "delta flags")) return r.status();
  if (r.remaining() != 0 || flags > 1) return Corrupt("trailing bytes after the version");
  MYC_ASSIGN_OR_RETURN(out, store_->checked_delta_since(vv, /*detached=*/flags == 1));
  return Status::Ok();
}

Result<ApplyOutcome> Replica::apply(std::span<const std::uint8_t> bytes, const ApplyLimits& base_limits,
                                    std::span<const std::uint8_t> context, std::span<const std::uint8_t> author) {
  ApplyLimits limits = base_limits;
  if (!author.empty()) {
    Reader r(author);
    ApplyLimits::Author a;
    if (!r.fixed64(a.actor, "author") || !r.varint(a.first, "first seq") || !r.varint(a.last, "last seq")) return r.status();
    if (r.remaining() != 0) return InvalidArgument("trailing bytes after the author");
    if (a.first == 0 || a.first > a.last || a.last > kMaxSeq) return InvalidArgument("a signed batch's seqs are first..last, 1 <= first <= last");
    limits.author = a;
  }
  if (context.empty()) return store_->apply(bytes, limits);
  Reader r(context);
  VersionVector vv;
  MYC_TRY(read_version(r, vv));
  if (r.remaining() != 0) return Corrupt("trailing bytes after the version");
  return store_->apply(bytes, limits, &vv);
}

void Replica::changes(ByteVec& out) {
  Writer w;
  // Of declared collections and fields only (presence included).
  const auto changes = store_->take_changes();
  const Schema& schema = store_->schema();
  auto shown = [&](const Store::Change& c, std::uint8_t f) { return f == kPresenceField || schema.declared(c.collection, f); };
  std::size_t n = 0;
  for (const auto& c : changes) {
    n += schema.declared(c.collection) && std::any_of(c.fields.begin(), c.fields.end(), [&](std::uint8_t f) { return shown(c, f); });
  }
  w.varint(n);
  for (const auto& c : changes) {
    if (!schema.declared(c.collection)) continue;
    const auto count = static_cast<std::size_t>(std::count_if(c.fields.begin(), c.fields.end(), [&](std::uint8_t f) { return shown(c, f); }));
    if (count == 0) continue;
    w.varint(c.collection);
    w.bytes(c.id);
    w.varint(count);
    for (std::uint8_t f : c.fields) {
      if (shown(c, f)) w.u8(f);
    }
  }
  // Then what changed in lists and texts, as splices in order.
  const auto sequences = kSequenceKinds ? store_->take_sequence_changes() : std::vector<Store::SequenceChange>{};
  w.varint(static_cast<std::size_t>(std::count_if(sequences.begin(), sequences.end(), [&](const auto& c) {
    return schema.declared(c.collection, c.field);
  })));
  for (const auto& c : sequences) {
    if (!schema.declared(c.collection, c.field)) continue;
    const bool text = schema.collections()[c.collection].fields[c.field].kind == Kind::kText;
    w.varint(c.collection);
    w.bytes(c.id);
    w.u8(c.field);
    w.varint(c.splices.size());
    for (const Sequence::Splice& s : c.splices) {
      w.varint(s.index);
      w.varint(s.deleted);
      if (text) {
        w.bytes(s.inserted);
        continue;
      }
      values_.clear();
      Reader r(std::span(reinterpret_cast<const std::uint8_t*>(s.inserted.data()), s.inserted.size()));
      std::string_view one;
      while (r.remaining() > 0 && r.bytes(one, "element")) {
        ValueView v;
        if (read_element(one, v)) values_.push_back(v);  // checked when it came in
      }
      w.varint(values_.size());
      for (const ValueView& v : values_) write_value(w, v);
    }
  }
  out = w.take();
}

void Replica::dropped(ByteVec& out) {
  Writer w;
  const auto errors = store_->take_dropped_errors();
  w.varint(errors.size());
  for (const Status& e : errors) {
    w.u8(static_cast<std::uint8_t>(e.code()));
    w.bytes(e.message());
  }
  out = w.take();
}

}  // namespace mycelium
