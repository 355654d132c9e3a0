// Byte-level codec shared by deltas, snapshots and sync messages.
//
// Frame:  'M' 'Y' 'C'  version:u8  flags:u8  length:varint  crc32c:u32le  payload
//   flags bit 0      payload is one zstd frame (compression.h); length and
//                    checksum are of the bytes as stored, so corruption is
//                    caught before anything is decompressed
//   flags bits 4..7  PayloadKind (3 and 4 are sync messages and chunks: their
//                    payloads are laid out by js/sync/wire.ts; the frame
//                    around them is this one, written and read here)
//   other bits       must be zero
// Varints are LEB128 (at most 10 bytes, no overlong final byte); signed values
// are zigzag-encoded; fixed-width values are little-endian.
#pragma once

#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "compression.h"
#include "status.h"

namespace mycelium {

// Version 2 added key scopes to a delta's events (delta.h); version 3 a
// sequences section after the cells (docs/sequences.md), written only by a
// delta that names a list or text field, so that every other delta stays
// readable by version-2 builds; version 4 the sets of list elements in that
// section, written only by a delta that carries one (so lists and texts
// never set stay readable by version-3 builds). Version 1 frames are still
// read.
inline constexpr std::uint8_t kFormatVersion = 4;
inline constexpr std::uint8_t kSetsFormatVersion = 4;
inline constexpr std::uint8_t kSequencesFormatVersion = 3;
inline constexpr std::uint8_t kPlainFormatVersion = 2;
inline constexpr std::uint8_t kOldestFormatVersion = 1;
inline constexpr std::uint8_t kFlagCompressed = 1;

// A sync message's payload and a chunk of one (js/sync/wire.ts) are framed
// at format version 1 (what the payload holds is the sync protocol's version
// to say, in its hello) and never compressed: the delta inside a message is
// a frame of its own, compressed already.
inline constexpr std::uint8_t kSyncFormatVersion = 1;

enum class PayloadKind : std::uint8_t { kDelta = 1, kSnapshot = 2, kSyncMessage = 3, kSyncChunk = 4, kDetachedDelta = 5 };

constexpr bool is_sync(PayloadKind k) { return k == PayloadKind::kSyncMessage || k == PayloadKind::kSyncChunk; }


// Appends to a growing buffer through a raw cursor: the per-byte calls stay
// inlined in a size-optimized build (libc++'s vector helpers do not).
class Writer {
 public:
  Writer() = default;
  Writer(const Writer&) = delete;
  Writer& operator=(const Writer&) = delete;
  Writer(Writer&&) = default;  // a vector's move keeps its buffer: the cursor stays valid
  Writer& operator=(Writer&&) = default;

  void u8(std::uint8_t v) {
    room(1);
    *p_++ = v;
  }
  void varint(std::uint64_t v) {
    room(10);
    while (v >= 0x80) {
      *p_++ = static_cast<std::uint8_t>(v | 0x80);
      v >>= 7;
    }
    *p_++ = static_cast<std::uint8_t>(v);
  }
  void zigzag(std::int64_t v) {
    varint((static_cast<std::uint64_t>(v) << 1) ^ static_cast<std::uint64_t>(v >> 63));
  }
  void fixed64(std::uint64_t v) {
    room(8);
    for (int i = 0; i < 8; ++i) *p_++ = static_cast<std::uint8_t>(v >> (8 * i));
  }
  void fixed32(std::uint32_t v) {
    room(4);
    for (int i = 0; i < 4; ++i) *p_++ = static_cast<std::uint8_t>(v >> (8 * i));
  }
  void bytes(std::string_view s) {
    varint(s.size());
    raw(s.data(), s.size());
  }
  void raw(const void* data, std::size_t n) {
    room(n);
    if (n > 0) std::memcpy(p_, data, n);
    p_ += n;
  }
  void raw(std::span<const std::uint8_t> b) { raw(b.data(), b.size()); }
  // Room for n more bytes without growing.
  void reserve(std::size_t n) { room(n); }
  // Writes into `buf`'s memory (its bytes are dropped): reuses a capacity.
  void reuse(ByteVec&& buf);
  std::size_t size() const { return static_cast<std::size_t>(p_ - begin_); }
  std::span<const std::uint8_t> view() const { return {begin_, size()}; }
  ByteVec take();

 private:
  void room(std::size_t n) {
    if (static_cast<std::size_t>(end_ - p_) < n) [[unlikely]] grow(n);
  }
  void grow(std::size_t n);

  ByteVec out_;  // its size is the capacity in use; size() is what was written
  std::uint8_t* begin_ = nullptr;
  std::uint8_t* p_ = nullptr;
  std::uint8_t* end_ = nullptr;
};

// A Writer whose output is a list of blocks of about kBlockBytes: a long
// output (a snapshot's cell column) grows without one large buffer that
// doubles, and goes to frame() as pieces.
class BlockWriter {
 public:
  static constexpr std::size_t kBlockBytes = std::size_t{64} << 10;
  // The writer to append at most n (<= 64) more bytes to.
  Writer& room(std::size_t n) {
    if (current_.size() + n > kBlockBytes) [[unlikely]] next_block();
    return current_;
  }
  std::size_t size() const { return done_ + current_.size(); }
  // Calls fn(std::span<const std::uint8_t>) for each block, in order.
  template <typename Fn>
  void for_each_block(Fn&& fn) const {
    for (const ByteVec& b : full_) fn(std::span<const std::uint8_t>(b));
    if (current_.size() > 0) fn(current_.view());
  }
  void clear();

 private:
  void next_block();
  std::vector<ByteVec> full_;
  Writer current_;
  std::size_t done_ = 0;
};

// Reads from a bounded slice; every read checks the bound. After the first
// error every read fails and status() names the first problem, with `what`
// the caller gave and the byte offset.
class Reader {
 public:
  explicit Reader(std::span<const std::uint8_t> in) : p_(in.data()), begin_(in.data()), end_(in.data() + in.size()) {}

  bool u8(std::uint8_t& v, const char* what) {
    if (p_ != end_) [[likely]] {
      v = *p_++;
      return true;
    }
    return slow_u8(v, what);
  }
  bool varint(std::uint64_t& v, const char* what) {
    if (p_ != end_ && *p_ < 0x80) [[likely]] {
      v = *p_++;
      return true;
    }
    return slow_varint(v, what);
  }
  bool zigzag(std::int64_t& v, const char* what) {
    std::uint64_t u;
    if (!varint(u, what)) return false;
    v = static_cast<std::int64_t>((u >> 1) ^ (~(u & 1) + 1));
    return true;
  }
  bool fixed64(std::uint64_t& v, const char* what);
  bool fixed32(std::uint32_t& v, const char* what);
  bool bytes(std::string_view& s, const char* what);
  // A count of items that each take at least min_item_bytes: rejected when
  // the rest of the input cannot hold them, so no allocation outgrows input.
  bool count(std::uint64_t& n, const char* what, std::size_t min_item_bytes = 1);
  // A varint that must be < limit (an index into a table).
  bool index(std::uint64_t& v, std::uint64_t limit, const char* what) {
    if (!varint(v, what)) return false;
    if (v >= limit) [[unlikely]] return fail(std::string("index out of range: ") + what);
    return true;
  }

  // A length-prefixed sub-slice, read by its own Reader.
  bool column(Reader& out, const char* what);

  bool fail(const std::string& message);
  bool ok() const { return status_.ok(); }
  std::size_t remaining() const { return static_cast<std::size_t>(end_ - p_); }
  std::size_t offset() const { return static_cast<std::size_t>(p_ - begin_); }
  const Status& status() const { return status_; }

 private:
  bool slow_u8(std::uint8_t& v, const char* what);
  bool slow_varint(std::uint64_t& v, const char* what);

  const std::uint8_t* p_;
  const std::uint8_t* begin_;
  const std::uint8_t* end_;
  Status status_;
};

// Wraps a payload in a frame, compressed when compression.h says so (never
// a sync kind).
// version: of a delta's layout (a sync frame's is always kSyncFormatVersion).
ByteVec frame(PayloadKind kind, std::span<const std::uint8_t> payload, std::uint8_t version = kPlainFormatVersion);
// The same for a payload given as pieces (joined only when it stays
// uncompressed): a large delta is never put together whole.
ByteVec frame(PayloadKind kind, std::span<const std::span<const std::uint8_t>> pieces,
              std::uint8_t version = kPlainFormatVersion);

struct FrameHeader {
  PayloadKind kind;
  std::uint8_t version;
  bool compressed;
  std::uint64_t length;  // of the payload as stored
  std::uint32_t crc;
  std::size_t size;      // bytes of the header itself
};
// Reads and checks a frame's header (magic, version, flags, kind, length
// and checksum fields); the payload may be absent, as in the first bytes of
// a frame that arrives in pieces.
Result<FrameHeader> read_frame_header(std::span<const std::uint8_t> bytes);

struct Unframed {
  PayloadKind kind;
  std::uint8_t version;  // kOldestFormatVersion..kFormatVersion
  std::span<const std::uint8_t> payload;  // into the input, or into storage
  Buffer storage;                         // the decompressed payload, if any
};
// Checks magic, version, flags, length, checksum and trailing bytes, and
// decompresses a compressed payload (of at most max_decompressed bytes).
Result<Unframed> unframe(std::span<const std::uint8_t> bytes, std::size_t max_decompressed = kMaxDecompressedBytes);

}  // namespace mycelium
