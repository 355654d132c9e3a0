// libFuzzer target for Replica::write: multi-op write batches (what
// store.transact() and every write call send) against a store whose records
// sit in the states that make a batch check hard — a record kept visible only
// by a peer's set element after a delete, one kept only by credit, texts and
// lists with content, a record never inserted. Checked beyond "no crash":
// a batch the engine refuses leaves the store's saved bytes exactly as they
// were (all or nothing: no op ran), and a batch it takes leaves a store that
// saves, reopens and saves to the same bytes.
//
// Input: a first byte 0xff sends the rest as the batch's ops unchanged (the
// parser's own ground); any other input is read as a list of ops, a few
// bytes each (op, record, field, operands), written in the batch format, so
// that most inputs are well-formed batches whose ops meet each other on the
// same records.
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "replica.h"

using namespace mycelium;

namespace {

[[noreturn]] void fail(const char* what) {
  std::fprintf(stderr, "invariant broken: %s\n", what);
  std::abort();
}

enum Field : std::uint8_t { kTitle, kVotes, kOwner, kTags, kItems, kBody, kBalance, kFields };
constexpr std::uint8_t kKindByte[kFields] = {0, 1, 2, 3, 4, 5, 6};  // lww counter mvr set list text credit
constexpr const char* kNames[kFields] = {"title", "votes", "owner", "tags", "items", "body", "balance"};

ByteVec open_input(std::uint64_t actor, std::span<const std::uint8_t> snapshot) {
  Writer w;
  w.varint(1);
  w.bytes("things");
  w.varint(kFields);
  for (std::uint8_t f = 0; f < kFields; ++f) {
    w.bytes(kNames[f]);
    w.u8(kKindByte[f]);
    if (f == kBalance) w.zigzag(0);  // min
  }
  w.fixed64(actor);
  w.varint(snapshot.size());
  w.raw(snapshot);
  return w.take();
}

std::unique_ptr<Replica> open(std::uint64_t actor, std::span<const std::uint8_t> snapshot = {}) {
  auto r = Replica::open(open_input(actor, snapshot));
  if (!r.ok()) fail("the fixture does not open");
  return std::move(*r);
}

// The batch format (docs of Replica::write): a clock, then ops.
struct Batch {
  Writer w;
  Batch() { w.varint(1'700'000'000'000); }
  void head(std::uint8_t op, std::string_view id) { w.u8(op); w.varint(0); w.bytes(id); }
  void head(std::uint8_t op, std::uint8_t field, std::string_view id) { w.u8(op); w.varint(0); w.u8(field); w.bytes(id); }
  void int_value(std::int64_t v) { w.u8(3); w.zigzag(v); }
  void str_value(std::string_view v) { w.u8(5); w.bytes(v); }
};

void send(const Replica& from, Replica& to) {
  Writer empty;
  empty.varint(0);
  ByteVec delta;
  if (!from.delta_since(empty.view(), delta).ok() || !to.apply(delta).ok()) fail("the fixture does not sync");
}

void must(const Status& st) {
  if (!st.ok()) {
    std::fprintf(stderr, "%s\n", st.to_string().c_str());
    fail("a fixture write failed");
  }
}

// The store every input is written to, as actor 1's snapshot.
ByteVec fixture() {
  auto a = open(1), b = open(2);
  Batch one;
  for (const char* id : {"r0", "r1", "r2", "r3"}) one.head(1, id);
  one.head(2, kTitle, "r0"); one.str_value("first");
  one.head(3, kVotes, "r0"); one.w.zigzag(4);
  one.head(4, kTags, "r1"); one.int_value(1);
  one.head(7, kBody, "r2"); one.w.varint(0); one.w.bytes("h\xc3\xa9llo \xf0\x9f\x8c\xb1");
  one.head(7, kItems, "r2"); one.w.varint(0); one.w.varint(3);
  for (int v : {1, 2, 3}) one.int_value(v);
  one.head(10, kBalance, "r3"); one.w.zigzag(5);
  must(a->write(one.w.view()));
  send(*a, *b);
  Batch two;  // b, concurrently with a's deletes: a tag on r1, an owner on r0
  two.head(4, kTags, "r1"); two.int_value(2);
  two.head(2, kOwner, "r0"); two.int_value(7);
  must(b->write(two.w.view()));
  Batch three;  // a: r1 stays visible by b's tag alone; r3 by its credit alone
  three.head(6, "r1");
  three.head(6, "r3");
  must(a->write(three.w.view()));
  send(*b, *a);
  auto saved = a->save();
  if (!saved.ok()) fail("the fixture does not save");
  return std::move(*saved);
}

// Reads the structured form: each op a few bytes, missing bytes read as 0.
class Ops {
 public:
  Ops(const std::uint8_t* data, std::size_t size) : data_(data), size_(size) {}
  bool more() const { return at_ < size_; }
  std::uint8_t next() { return at_ < size_ ? data_[at_++] : 0; }

  void op(Batch& b) {
    const std::uint8_t code = next();
    const auto op = static_cast<std::uint8_t>(1 + code % 12);
    const std::string id = "r" + std::to_string(next() % 6);
    if (op == 1 || op == 6) return b.head(op, id);
    // Mostly a field of the op's kind; with the high bit, any field (wrong_kind).
    std::uint8_t field = next() % kFields;
    if (!(code & 0x80)) field = fitting(op, field);
    b.head(op, field, id);
    switch (op) {
      case 2:  // set
        if (next() % 2) b.int_value(static_cast<std::int8_t>(next()));
        else b.str_value(text());
        break;
      case 3: b.w.zigzag(static_cast<std::int8_t>(next())); break;  // increment
      case 4:
      case 5: b.int_value(next() % 4); break;  // set add, remove
      case 7:                                    // splice
        b.w.varint(next() % 12);
        if (field == kBody || (code & 0x80 && next() % 2)) {
          b.w.bytes(text());
        } else {
          const std::uint8_t n = next() % 4;
          b.w.varint(n);
          for (std::uint8_t i = 0; i < n; ++i) b.int_value(next());
        }
        break;
      case 8: b.w.varint(next() % 12); b.w.varint(next() % 5); break;  // erase
      case 9: b.w.varint(next() % 6); b.int_value(next()); break;        // set_at
      default:                                                            // credit add, spend, transfer
        b.w.zigzag(next() % 7);  // 0 is refused (invalid_argument)
        if (op == 12) b.w.fixed64(1 + next() % 3);  // 1 is this replica (refused)
        break;
    }
  }

 private:
  static std::uint8_t fitting(std::uint8_t op, std::uint8_t pick) {
    switch (op) {
      case 2: return pick % 2 ? kTitle : kOwner;
      case 3: return kVotes;
      case 4:
      case 5: return kTags;
      case 7:
      case 8: return pick % 2 ? kBody : kItems;
      case 9: return kItems;
      default: return kBalance;
    }
  }
  // Short UTF-8 with one- to four-byte characters (UTF-16 indexes land inside pairs too).
  std::string text() {
    static constexpr const char* kPieces[] = {"a", "b", "\xc3\xa9", "\xe2\x82\xac", "\xf0\x9f\x8c\xb1", " "};
    std::string s;
    for (std::uint8_t n = next() % 4; n > 0; --n) s += kPieces[next() % 6];
    return s;
  }

  const std::uint8_t* data_;
  std::size_t size_;
  std::size_t at_ = 0;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const ByteVec snapshot = fixture();
  static const ByteVec before = *open(1, snapshot)->save();
  Batch batch;
  if (size > 0 && data[0] == 0xff) {
    batch.w.raw(std::span<const std::uint8_t>(data + 1, size - 1));
  } else {
    Ops ops(data, size);
    for (int n = 0; n < 32 && ops.more(); ++n) ops.op(batch);
  }
  auto r = open(1, snapshot);
  const Status st = r->write(batch.w.view());
  auto saved = r->save();
  if (!saved.ok()) fail("the store does not save after a write");
  if (!st.ok()) {
    if (*saved != before) fail("a refused batch changed the store");
    return 0;
  }
  auto again = Replica::open(open_input(1, *saved));
  if (!again.ok()) fail("a store a batch wrote does not reopen");
  auto resaved = (*again)->save();
  if (!resaved.ok() || *resaved != *saved) fail("a store a batch wrote does not save the same after a reopen");
  return 0;
}
