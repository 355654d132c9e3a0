#include <gtest/gtest.h>

#include "replica.h"

namespace mycelium {
namespace {

// todos: title lww, votes counter, owner mvr, tags set
ByteVec open_input(std::uint64_t actor, std::span<const std::uint8_t> snapshot = {}) {
  Writer w;
  w.varint(1);
  w.bytes("todos");
  w.varint(4);
  w.bytes("title"); w.u8(0);
  w.bytes("votes"); w.u8(1);
  w.bytes("owner"); w.u8(2);
  w.bytes("tags"); w.u8(3);
  w.fixed64(actor);
  w.varint(snapshot.size());
  w.raw(snapshot);
  return w.take();
}

struct Batch {
  Writer w;
  explicit Batch(std::uint64_t now = 1000) { w.varint(now); }
  Batch& insert(std::string_view id) { w.u8(1); w.varint(0); w.bytes(id); return *this; }
  Batch& set_str(std::uint8_t f, std::string_view id, std::string_view v) {
    w.u8(2); w.varint(0); w.u8(f); w.bytes(id); w.u8(5); w.bytes(v); return *this;
  }
  Batch& incr(std::string_view id, std::int64_t n) { w.u8(3); w.varint(0); w.u8(1); w.bytes(id); w.zigzag(n); return *this; }
  Batch& add_int(std::string_view id, std::int64_t v) { w.u8(4); w.varint(0); w.u8(3); w.bytes(id); w.u8(3); w.zigzag(v); return *this; }
  Batch& remove_int(std::string_view id, std::int64_t v) { w.u8(5); w.varint(0); w.u8(3); w.bytes(id); w.u8(3); w.zigzag(v); return *this; }
  Batch& del(std::string_view id) { w.u8(6); w.varint(0); w.bytes(id); return *this; }
  ByteVec bytes() const { const auto v = w.view(); return ByteVec(v.begin(), v.end()); }
};

std::unique_ptr<Replica> make(std::uint64_t actor) {
  auto r = Replica::open(open_input(actor));
  EXPECT_TRUE(r.ok()) << r.status().to_string();
  return std::move(*r);
}

TEST(Replica, WritesAndReadsARecordInOneBufferEach) {
  auto a = make(1);
  ASSERT_TRUE(a->write(Batch().insert("t1").set_str(0, "t1", "Milk").incr("t1", 5).add_int("t1", 7).bytes()).ok());
  ByteVec out;
  ASSERT_TRUE(a->get(0, "t1", out).ok());
  Writer want;  // found, title "Milk", votes 5, owner [], tags [7]
  want.u8(1);
  want.u8(5); want.bytes("Milk");
  want.zigzag(5);
  want.varint(0);
  want.varint(1); want.u8(3); want.zigzag(7);
  EXPECT_EQ(out, want.take());
  ASSERT_TRUE(a->get(0, "nope", out).ok());
  EXPECT_EQ(out, ByteVec{0});
}

// What sorted() wrote: (id, value) as text, values as the record encodes them.
std::vector<std::pair<std::string, std::string>> read_sorted(const ByteVec& out, bool counter) {
  Reader r(out);
  std::uint64_t n = 0;
  EXPECT_TRUE(r.varint(n, "count"));
  std::vector<std::pair<std::string, std::string>> rows;
  for (std::uint64_t i = 0; i < n; ++i) {
    std::string_view id;
    EXPECT_TRUE(r.bytes(id, "id"));
    std::string v;
    if (counter) {
      std::int64_t x = 0;
      EXPECT_TRUE(r.zigzag(x, "counter"));
      v = std::to_string(x);
    } else {
      std::uint8_t tag = 0;
      EXPECT_TRUE(r.u8(tag, "tag"));
      std::string_view s;
      if (tag == 5) {
        EXPECT_TRUE(r.bytes(s, "string"));
      }
      v = tag == 0 ? "null" : std::string(s);
    }
    rows.emplace_back(std::string(id), v);
  }
  EXPECT_EQ(r.remaining(), 0u);
  return rows;
}

TEST(Replica, SortedListsAFieldsValuesInQueryOrderTiesById) {
  auto r = make(0xa1);
  Batch b;
  b.insert("c").set_str(0, "c", "pear").incr("c", 2);
  b.insert("a").set_str(0, "a", "apple").incr("a", -1);
  b.insert("d").incr("d", 2);  // no title: null, first
  b.insert("b").set_str(0, "b", "pear");
  b.insert("e").set_str(0, "e", "fig").incr("e", 7);
  ASSERT_TRUE(r->write(b.bytes()).ok());
  ASSERT_TRUE(r->write(Batch(2000).del("e").bytes()).ok());  // deleted: not listed
  ByteVec out;
  ASSERT_TRUE(r->sorted(0, 0, out).ok());
  const std::vector<std::pair<std::string, std::string>> titles = {{"d", "null"}, {"a", "apple"}, {"b", "pear"}, {"c", "pear"}};
  EXPECT_EQ(read_sorted(out, false), titles);
  ASSERT_TRUE(r->sorted(0, 1, out).ok());
  const std::vector<std::pair<std::string, std::string>> votes = {{"a", "-1"}, {"b", "0"}, {"c", "2"}, {"d", "2"}};
  EXPECT_EQ(read_sorted(out, true), votes);
  EXPECT_EQ(r->sorted(0, 2, out).code(), Code::kWrongKind);  // an mvr has no one value
  EXPECT_EQ(r->sorted(0, 9, out).code(), Code::kUnknownField);
  EXPECT_EQ(r->sorted(3, 0, out).code(), Code::kUnknownField);
}

TEST(Replica, ABatchIsAllOrNothingAgainstTheStoreToo) {
  auto a = make(1);
  ASSERT_TRUE(a->write(Batch().insert("t1").bytes()).ok());
  const ByteVec before = *a->save();
  const VersionVector version = a->store().version();
  // Each op is well formed; the last needs a record the batch deleted.
  Status st = a->write(Batch().insert("t2").set_str(0, "t1", "x").del("t1").incr("t1", 1).bytes());
  EXPECT_EQ(st.code(), Code::kNotFound) << st.to_string();
  EXPECT_EQ(*a->save(), before);
  EXPECT_EQ(a->store().version(), version);
  // An insert of a record the batch inserted already.
  EXPECT_EQ(a->write(Batch().insert("t3").insert("t3").bytes()).code(), Code::kAlreadyExists);
  // An insert of a visible record, after good ops.
  EXPECT_EQ(a->write(Batch().set_str(0, "t1", "y").insert("t1").bytes()).code(), Code::kAlreadyExists);
  EXPECT_EQ(*a->save(), before);
  // What the batch itself makes true counts: insert, write, delete, insert again.
  ASSERT_TRUE(a->write(Batch().insert("t4").incr("t4", 2).del("t4").insert("t4").set_str(0, "t4", "z").bytes()).ok());
  EXPECT_TRUE(a->store().exists(CollectionRef{0}, "t4"));
}

// A replica of one collection with two fields, each a name and its kind
// byte (a credit field is given min 0), and no snapshot.
struct FieldSpec {
  std::string_view name;
  std::uint8_t kind;
};
std::unique_ptr<Replica> make_two_fields(std::uint64_t actor, std::string_view collection, FieldSpec a, FieldSpec b) {
  Writer w;
  w.varint(1);
  w.bytes(collection);
  w.varint(2);
  for (const FieldSpec& f : {a, b}) {
    w.bytes(f.name);
    w.u8(f.kind);
    if (f.kind == 6) w.zigzag(0);  // a credit field's min
  }
  w.fixed64(actor);
  w.varint(0);
  auto r = Replica::open(w.view());
  EXPECT_TRUE(r.ok()) << r.status().to_string();
  return std::move(*r);
}

// accounts: owner lww, balance credit (min 0)
std::unique_ptr<Replica> make_accounts(std::uint64_t actor) { return make_two_fields(actor, "accounts", {"owner", 0}, {"balance", 6}); }

struct CreditBatch : Batch {
  using Batch::Batch;
  CreditBatch& ins(std::string_view id) { insert(id); return *this; }
  CreditBatch& remove(std::string_view id) { del(id); return *this; }
  CreditBatch& owner(std::string_view id, std::string_view v) { set_str(0, id, v); return *this; }
  CreditBatch& add(std::string_view id, std::int64_t n) { w.u8(10); w.varint(0); w.u8(1); w.bytes(id); w.zigzag(n); return *this; }
  CreditBatch& spend(std::string_view id, std::int64_t n) { w.u8(11); w.varint(0); w.u8(1); w.bytes(id); w.zigzag(n); return *this; }
};

// docs/credit.md, Record deletes: a delete leaves a record that holds credit
// visible. The batch check must know it, or an insert after such a delete
// passes the check and fails while the batch runs, half of it applied.
TEST(Replica, ABatchKnowsADeleteLeavesARecordHoldingCreditVisible) {
  auto a = make_accounts(1);
  ASSERT_TRUE(a->write(CreditBatch().ins("x").add("x", 5).ins("empty").bytes()).ok());
  const ByteVec before = *a->save();
  // Still visible after the delete: an insert is already_exists, before any op ran.
  EXPECT_EQ(a->write(CreditBatch().ins("y").remove("x").ins("x").bytes()).code(), Code::kAlreadyExists);
  EXPECT_EQ(*a->save(), before);
  // ...and the ops after the delete find it.
  ASSERT_TRUE(a->write(CreditBatch().remove("x").owner("x", "ada").spend("x", 2).remove("x").bytes()).ok());
  EXPECT_TRUE(a->store().exists(CollectionRef{0}, "x"));
  // x has no presence now (deleted, kept by credit): spending the last of
  // it hides x at once, so an op after the spend finds no record — refused
  // before any op runs, not half run.
  EXPECT_EQ(a->write(CreditBatch().ins("y").spend("x", 3).remove("x").bytes()).code(), Code::kNotFound);
  EXPECT_EQ(a->write(CreditBatch().spend("x", 3).owner("x", "bo").bytes()).code(), Code::kNotFound);
  EXPECT_FALSE(a->store().exists(CollectionRef{0}, "y"));
  // Emptied by the batch's own spend: gone, and an insert may follow.
  const Status emptied = a->write(CreditBatch().spend("x", 3).ins("x").owner("x", "bo").bytes());
  ASSERT_TRUE(emptied.ok()) << emptied.to_string();
  EXPECT_TRUE(a->store().exists(CollectionRef{0}, "x"));
  // Credit added in the batch keeps a record inserted in it visible past its delete.
  EXPECT_EQ(a->write(CreditBatch().ins("z").add("z", 1).remove("z").ins("z").bytes()).code(), Code::kAlreadyExists);
  // A record without credit hides on delete.
  ASSERT_TRUE(a->write(CreditBatch().remove("empty").ins("empty").bytes()).ok());
}

void send(const Replica& from, Replica& to) {
  Writer empty;
  empty.varint(0);
  ByteVec delta;
  ASSERT_TRUE(from.delta_since(empty.view(), delta).ok());
  ASSERT_TRUE(to.apply(delta).ok());
}

TEST(Replica, ABatchRefusesAWriteAfterRemovesThatMayHaveHiddenItsRecord) {
  auto a = make(1), b = make(2);
  ASSERT_TRUE(a->write(Batch().insert("t").add_int("t", 1).bytes()).ok());
  send(*a, *b);
  // b adds a tag while a deletes the record: after the merge only b's tag
  // keeps it visible (an update wins over a concurrent delete).
  ASSERT_TRUE(b->write(Batch().add_int("t", 2).bytes()).ok());
  ASSERT_TRUE(a->write(Batch().del("t").bytes()).ok());
  send(*b, *a);
  ASSERT_TRUE(a->store().exists(CollectionRef{0}, "t"));
  const ByteVec before = *a->save();
  // Whether t is visible after the remove depends on which elements it
  // took: refused before any op runs (the remove would run, the set fail).
  EXPECT_EQ(a->write(Batch().insert("u").remove_int("t", 2).set_str(0, "t", "x").bytes()).code(), Code::kInvalidArgument);
  EXPECT_EQ(*a->save(), before);
  // An add before the set keeps it visible; the set then gives it an entry
  // only a delete removes, so later removes cannot hide it.
  ASSERT_TRUE(a->write(Batch().add_int("t", 3).set_str(0, "t", "y").remove_int("t", 2).remove_int("t", 3).incr("t", 1).bytes()).ok());
  EXPECT_TRUE(a->store().exists(CollectionRef{0}, "t"));
}

// notes: body text, items list
std::unique_ptr<Replica> make_notes(std::uint64_t actor) { return make_two_fields(actor, "notes", {"body", 5}, {"items", 4}); }

struct SeqBatch : Batch {
  using Batch::Batch;
  SeqBatch& splice_text(std::string_view id, std::uint64_t index, std::string_view text) {
    w.u8(7); w.varint(0); w.u8(0); w.bytes(id); w.varint(index); w.bytes(text); return *this;
  }
  SeqBatch& splice_ints(std::string_view id, std::uint64_t index, std::initializer_list<std::int64_t> vs) {
    w.u8(7); w.varint(0); w.u8(1); w.bytes(id); w.varint(index); w.varint(vs.size());
    for (auto v : vs) { w.u8(3); w.zigzag(v); }
    return *this;
  }
  SeqBatch& erase(std::uint8_t f, std::string_view id, std::uint64_t index, std::uint64_t count) {
    w.u8(8); w.varint(0); w.u8(f); w.bytes(id); w.varint(index); w.varint(count); return *this;
  }
  SeqBatch& ins(std::string_view id) { insert(id); return *this; }
  SeqBatch& remove(std::string_view id) { del(id); return *this; }
};

TEST(Replica, TextAndListOpsAreAllOrNothingWithUtf16Indexes) {
  auto a = make_notes(1);
  // In one batch: the record, text typed and partly deleted, list values.
  ASSERT_TRUE(a->write(SeqBatch().ins("n").splice_text("n", 0, "h\xf0\x9f\x98\x80llo").erase(0, "n", 1, 2)
                           .splice_text("n", 0, ">").splice_ints("n", 0, {1, 2, 3}).erase(1, "n", 0, 1).bytes()).ok());
  ByteVec out;
  ASSERT_TRUE(a->get(0, "n", out).ok());
  Writer want;  // found, body ">hllo", items [2, 3]
  want.u8(1);
  want.bytes(">hllo");
  want.varint(2); want.u8(3); want.zigzag(2); want.u8(3); want.zigzag(3);
  EXPECT_EQ(out, want.take());
  const ByteVec before = *a->save();
  // Each bad op after good ones refuses the batch, the good ones too: an
  // index inside a surrogate pair (as the batch left the text), past the
  // end, a list erase past the end, a text op on a record the batch deleted.
  ASSERT_TRUE(a->write(SeqBatch().splice_text("n", 5, "\xf0\x9f\x98\x80").bytes()).ok());  // ">hllo😀"
  const ByteVec with_emoji = *a->save();
  EXPECT_EQ(a->write(SeqBatch().splice_text("n", 0, "x").erase(0, "n", 7, 1).bytes()).code(), Code::kInvalidArgument);
  EXPECT_EQ(a->write(SeqBatch().splice_text("n", 0, "x").splice_text("n", 9, "y").bytes()).code(), Code::kInvalidArgument);
  EXPECT_EQ(a->write(SeqBatch().splice_ints("n", 2, {9}).erase(1, "n", 1, 3).bytes()).code(), Code::kInvalidArgument);
  EXPECT_EQ(a->write(SeqBatch().remove("n").ins("n").splice_text("n", 1, "x").bytes()).code(), Code::kInvalidArgument);
  EXPECT_EQ(*a->save(), with_emoji);
  // What the batch made true counts: deleted and inserted again, empty.
  ASSERT_TRUE(a->write(SeqBatch().remove("n").ins("n").splice_text("n", 0, "new").bytes()).ok());
  ASSERT_TRUE(a->get(0, "n", out).ok());
  Writer again;
  again.u8(1);
  again.bytes("new");
  again.varint(0);
  EXPECT_EQ(out, again.take());
  EXPECT_NE(*a->save(), before);
  // A text op on a list and the reverse are wrong kinds.
  EXPECT_EQ(a->write(SeqBatch().erase(0, "n", 0, 1).splice_ints("n", 0, {1}).bytes()).code(), Code::kOk);
  Writer wrong;
  wrong.varint(1); wrong.u8(2); wrong.varint(0); wrong.u8(0); wrong.bytes("n"); wrong.u8(5); wrong.bytes("x");
  EXPECT_EQ(a->write(wrong.view()).code(), Code::kWrongKind);
}

TEST(Replica, ABatchWithABadOpChangesNothing) {
  auto a = make(1);
  ASSERT_TRUE(a->write(Batch().insert("t1").bytes()).ok());
  const ByteVec before = *a->save();
  Batch wrong;  // a good op, then an increment of the lww title
  wrong.set_str(0, "t1", "x");
  wrong.w.u8(3); wrong.w.varint(0); wrong.w.u8(0); wrong.w.bytes("t1"); wrong.w.zigzag(1);
  Status st = a->write(wrong.bytes());
  EXPECT_EQ(st.code(), Code::kWrongKind) << st.to_string();
  EXPECT_EQ(*a->save(), before);

  Batch unknown;
  unknown.w.u8(2); unknown.w.varint(0); unknown.w.u8(9); unknown.w.bytes("t1"); unknown.w.u8(0);
  EXPECT_EQ(a->write(unknown.bytes()).code(), Code::kUnknownField);
  Batch badtype;
  badtype.w.u8(2); badtype.w.varint(0); badtype.w.u8(0); badtype.w.bytes("t1"); badtype.w.u8(9);
  EXPECT_EQ(a->write(badtype.bytes()).code(), Code::kCorrupt);
  Batch truncated;
  truncated.set_str(0, "t1", "Milk");
  ByteVec t = truncated.bytes();
  t.pop_back();
  EXPECT_EQ(a->write(t).code(), Code::kCorrupt);
  EXPECT_EQ(*a->save(), before);

  EXPECT_EQ(a->write(Batch().set_str(0, "ghost", "x").bytes()).code(), Code::kNotFound);
  EXPECT_EQ(a->write(Batch().insert("t1").bytes()).code(), Code::kAlreadyExists);
  EXPECT_EQ(*a->save(), before);
}

ByteVec position_input(std::uint8_t field, std::string_view id, bool before) {
  Writer w;
  w.varint(0); w.u8(field); w.bytes(id); w.u8(before ? 1 : 0);
  return w.take();
}
ByteVec cursor_at(const Replica& r, std::uint8_t field, std::string_view id, std::uint64_t index, bool before = false) {
  Writer w;
  w.raw(position_input(field, id, before));
  w.varint(index);
  ByteVec out;
  const Status s = r.cursor(w.view(), out);
  EXPECT_TRUE(s.ok()) << s.to_string();
  return out;
}
Result<std::size_t> resolve_at(const Replica& r, std::uint8_t field, std::string_view id, const ByteVec& cursor,
                               bool before = false) {
  Writer w;
  w.raw(position_input(field, id, before));
  w.raw(cursor);
  return r.resolve(w.view());
}
void sync(Replica& from, Replica& to) {
  ByteVec vv, delta;
  to.version(vv);
  ASSERT_TRUE(from.delta_since(vv, delta).ok());
  ASSERT_TRUE(to.apply(delta).ok());
}

TEST(Replica, CursorsFollowTheirElementThroughConcurrentEdits) {
  auto a = make_notes(1), b = make_notes(2);
  // "ab😀cd": the astral character is two UTF-16 units, at 2 and 3.
  ASSERT_TRUE(a->write(SeqBatch().ins("n").splice_text("n", 0, "ab\xf0\x9f\x98\x80" "cd").splice_ints("n", 0, {1, 2, 3}).bytes()).ok());
  sync(*a, *b);
  const ByteVec at_c = cursor_at(*a, 0, "n", 4);               // before 'c'
  const ByteVec after_b = cursor_at(*a, 0, "n", 2, true);      // just after 'b'
  const ByteVec end = cursor_at(*a, 0, "n", 6);                // the end
  const ByteVec start = cursor_at(*a, 0, "n", 0, true);        // the start
  const ByteVec list_at_3 = cursor_at(*a, 1, "n", 2);          // before the list's 3
  EXPECT_EQ(end, ByteVec{0});
  EXPECT_EQ(start, ByteVec{0});
  // Inside the astral character is no position.
  Writer inside;
  inside.raw(position_input(0, "n", false));
  inside.varint(3);
  ByteVec out;
  EXPECT_EQ(a->cursor(inside.view(), out).code(), Code::kInvalidArgument);
  // b types at the front and after 'b'; a deletes "b😀". Cursors made on a
  // resolve on b, and both agree once synced.
  ASSERT_TRUE(b->write(SeqBatch(2000).splice_text("n", 0, "XY").splice_text("n", 4, "-").splice_ints("n", 0, {0}).bytes()).ok());
  ASSERT_TRUE(a->write(SeqBatch(2000).erase(0, "n", 1, 3).erase(1, "n", 1, 1).bytes()).ok());
  EXPECT_EQ(*resolve_at(*b, 0, "n", at_c), 7u);    // "XYab-😀|cd"
  EXPECT_EQ(*resolve_at(*b, 0, "n", after_b, true), 4u);  // "XYab|-😀cd": typed at the cursor stays after it
  EXPECT_EQ(*resolve_at(*b, 0, "n", end), 9u);
  EXPECT_EQ(*resolve_at(*b, 0, "n", start, true), 0u);
  EXPECT_EQ(*resolve_at(*b, 1, "n", list_at_3), 3u);  // [0, 1, 2, |3]
  sync(*a, *b);
  sync(*b, *a);
  for (Replica* r : {a.get(), b.get()}) {
    EXPECT_EQ(*resolve_at(*r, 0, "n", at_c), 4u);           // "XYa-|cd"
    EXPECT_EQ(*resolve_at(*r, 0, "n", after_b, true), 3u);  // 'b' is gone: where it was, "XYa|-cd"
    EXPECT_EQ(*resolve_at(*r, 0, "n", end), 6u);
    EXPECT_EQ(*resolve_at(*r, 1, "n", list_at_3), 2u);      // [0, 1, |3]
  }
  // An element not known here, a deleted record, a wrong kind, bad bytes.
  auto c = make_notes(3);
  ASSERT_TRUE(c->write(SeqBatch().ins("n").bytes()).ok());
  EXPECT_EQ(resolve_at(*c, 0, "n", at_c).status().code(), Code::kNotFound);
  EXPECT_EQ(*resolve_at(*c, 0, "n", end), 0u);
  ASSERT_TRUE(a->write(SeqBatch(3000).remove("n").bytes()).ok());
  EXPECT_EQ(resolve_at(*a, 0, "n", at_c).status().code(), Code::kNotFound);
  EXPECT_EQ(resolve_at(*b, 0, "n", ByteVec{2}).status().code(), Code::kInvalidArgument);
  EXPECT_EQ(resolve_at(*b, 0, "n", ByteVec{1, 0}).status().code(), Code::kCorrupt);
  ByteVec trailing = at_c;
  trailing.push_back(0);
  EXPECT_EQ(resolve_at(*b, 0, "n", trailing).status().code(), Code::kInvalidArgument);
  auto todos = make(4);
  ASSERT_TRUE(todos->write(Batch().insert("t").bytes()).ok());
  EXPECT_EQ(resolve_at(*todos, 0, "t", end).status().code(), Code::kWrongKind);
}

TEST(Replica, DeltasFlowAndReportWhatChanged) {
  auto a = make(1), b = make(2);
  ASSERT_TRUE(a->write(Batch().insert("t1").set_str(0, "t1", "Milk").insert("t2").bytes()).ok());
  ByteVec vv, delta;
  b->version(vv);
  EXPECT_EQ(vv, ByteVec{0});
  ASSERT_TRUE(a->delta_since(vv, delta).ok());
  b->capture_changes(true);
  auto o = b->apply(delta);
  ASSERT_TRUE(o.ok()) << o.status().to_string();
  EXPECT_EQ(*o, ApplyOutcome::kApplied);
  ByteVec ch;
  b->changes(ch);
  Writer want;  // t1: title + presence; t2: presence
  want.varint(2);
  want.varint(0); want.bytes("t1"); want.varint(2); want.u8(0); want.u8(255);
  want.varint(0); want.bytes("t2"); want.varint(1); want.u8(255);
  want.varint(0);  // no list or text changes
  EXPECT_EQ(ch, want.take());
  EXPECT_EQ(*a->save(), *b->save());

  // An update touches only its field; a delete touches presence and fields.
  b->version(vv);
  ASSERT_TRUE(a->write(Batch(2000).incr("t1", 2).del("t2").bytes()).ok());
  ASSERT_TRUE(a->delta_since(vv, delta).ok());
  ASSERT_TRUE(b->apply(delta).ok());
  b->changes(ch);
  Writer want2;
  want2.varint(2);
  want2.varint(0); want2.bytes("t1"); want2.varint(1); want2.u8(1);
  want2.varint(0); want2.bytes("t2"); want2.varint(1); want2.u8(255);
  want2.varint(0);
  EXPECT_EQ(ch, want2.take());
  ASSERT_TRUE(b->count(0).ok());
  EXPECT_EQ(*b->count(0), 1u);

  ByteVec bad = {1, 2, 3};
  EXPECT_EQ(b->delta_since(bad, delta).code(), Code::kCorrupt);
}

// Replays the splices of a change output on `text` (ASCII only) and
// `list` (ints), checking the record part names the fields.
struct Replayed {
  std::string text;
  std::vector<std::int64_t> list;
  std::size_t splices = 0;
};
void replay(const ByteVec& changes, Replayed& into) {
  Reader r(changes);
  std::uint64_t n, k, coll;
  ASSERT_TRUE(r.varint(n, "n"));
  for (std::uint64_t i = 0; i < n; ++i) {
    std::string_view id;
    ASSERT_TRUE(r.varint(coll, "c") && r.bytes(id, "id") && r.varint(k, "k"));
    for (std::uint64_t j = 0; j < k; ++j) {
      std::uint8_t f;
      ASSERT_TRUE(r.u8(f, "f"));
    }
  }
  ASSERT_TRUE(r.varint(n, "groups"));
  for (std::uint64_t i = 0; i < n; ++i) {
    std::string_view id;
    std::uint8_t field;
    ASSERT_TRUE(r.varint(coll, "c") && r.bytes(id, "id") && r.u8(field, "field") && r.varint(k, "k"));
    EXPECT_EQ(id, "n");
    for (std::uint64_t j = 0; j < k; ++j, ++into.splices) {
      std::uint64_t index, deleted;
      ASSERT_TRUE(r.varint(index, "index") && r.varint(deleted, "deleted"));
      if (field == 0) {
        std::string_view inserted;
        ASSERT_TRUE(r.bytes(inserted, "inserted"));
        ASSERT_LE(index + deleted, into.text.size());
        into.text.replace(index, deleted, inserted);
      } else {
        std::uint64_t count;
        ASSERT_TRUE(r.varint(count, "count"));
        ASSERT_LE(index + deleted, into.list.size());
        into.list.erase(into.list.begin() + static_cast<std::ptrdiff_t>(index),
                        into.list.begin() + static_cast<std::ptrdiff_t>(index + deleted));
        for (std::uint64_t v = 0; v < count; ++v) {
          std::uint8_t tag;
          std::int64_t x;
          ASSERT_TRUE(r.u8(tag, "tag") && r.zigzag(x, "int"));
          ASSERT_EQ(tag, 3);
          into.list.insert(into.list.begin() + static_cast<std::ptrdiff_t>(index + v), x);
        }
      }
    }
  }
  EXPECT_EQ(r.remaining(), 0u);
}

std::string text_of(const Replica& r) {
  ByteVec out;
  EXPECT_TRUE(r.get(0, "n", out).ok());
  Reader rd(out);
  std::uint8_t found;
  std::string_view body;
  EXPECT_TRUE(rd.u8(found, "found") && found == 1 && rd.bytes(body, "body"));
  return std::string(body);
}

TEST(Replica, RemoteListAndTextChangesComeAsSplicesThatReplay) {
  auto a = make_notes(1), b = make_notes(2), c = make_notes(3);
  ASSERT_TRUE(a->write(SeqBatch().ins("n").splice_text("n", 0, "hello world").splice_ints("n", 0, {1, 2, 3, 4}).bytes()).ok());
  Replayed seen;  // what c's subscriber would hold, from splices alone
  c->capture_changes(true);
  ByteVec vv, delta, ch;
  c->version(vv);
  ASSERT_TRUE(a->delta_since(vv, delta).ok());
  ASSERT_TRUE(c->apply(delta).ok());
  c->changes(ch);
  replay(ch, seen);
  EXPECT_EQ(seen.text, "hello world");
  EXPECT_EQ(seen.list, (std::vector<std::int64_t>{1, 2, 3, 4}));
  sync(*a, *b);
  // Concurrent edits on a and b, several rounds, joined into c one delta at
  // a time: c's replayed text and list always equal what c reads.
  for (int round = 0; round < 6; ++round) {
    ASSERT_TRUE(a->write(SeqBatch(2000 + round).splice_text("n", 0, "A").erase(0, "n", 3, 2)
                             .splice_ints("n", 1, {10 + round}).erase(1, "n", 0, 1).bytes()).ok());
    ASSERT_TRUE(b->write(SeqBatch(2000 + round).splice_text("n", 2, "bb").erase(0, "n", 5, 3)
                             .splice_ints("n", 0, {20 + round, 30 + round}).bytes()).ok());
    for (Replica* from : {a.get(), b.get()}) {
      c->version(vv);
      ASSERT_TRUE(from->delta_since(vv, delta).ok());
      ASSERT_TRUE(c->apply(delta).ok());
      c->changes(ch);
      replay(ch, seen);
      EXPECT_EQ(seen.text, text_of(*c)) << "round " << round;
    }
    sync(*a, *b);
    sync(*b, *a);
  }
  EXPECT_GT(seen.splices, 12u);
  ASSERT_TRUE(c->save().ok());
  // c's list as replayed equals its list read.
  ByteVec out;
  ASSERT_TRUE(c->get(0, "n", out).ok());
  Reader rd(out);
  std::uint8_t found;
  std::string_view body;
  std::uint64_t count;
  ASSERT_TRUE(rd.u8(found, "f") && rd.bytes(body, "b") && rd.varint(count, "n"));
  std::vector<std::int64_t> list;
  for (std::uint64_t i = 0; i < count; ++i) {
    std::uint8_t tag;
    std::int64_t x;
    ASSERT_TRUE(rd.u8(tag, "t") && rd.zigzag(x, "x"));
    list.push_back(x);
  }
  EXPECT_EQ(seen.list, list);
  EXPECT_EQ(text_of(*a), text_of(*c));
}

TEST(Replica, OpensFromASnapshotAndRejectsBadInput) {
  auto a = make(1);
  ASSERT_TRUE(a->write(Batch().insert("t1").set_str(0, "t1", "Milk").bytes()).ok());
  const ByteVec snap = *a->save();
  auto b = Replica::open(open_input(7, snap));
  ASSERT_TRUE(b.ok()) << b.status().to_string();
  EXPECT_EQ(*(*b)->save(), snap);
  EXPECT_EQ((*b)->store().actor(), 7u);

  ByteVec cut = open_input(7, snap);
  cut.pop_back();
  EXPECT_FALSE(Replica::open(cut).ok());
  ByteVec flipped(snap);
  flipped.back() ^= 1;
  auto f = Replica::open(open_input(7, flipped));
  ASSERT_FALSE(f.ok());
  EXPECT_EQ(f.status().code(), Code::kCorrupt);
}

}  // namespace
}  // namespace mycelium
