#include "codec.h"

#include <algorithm>

#include "compression.h"
#include "crc32c.h"

namespace mycelium {

bool Reader::fail(const std::string& message) {
  if (status_.ok()) {
    status_ = Corrupt(cat({message, " at byte ", offset()}));
  }
  p_ = end_;
  return false;
}

bool Reader::slow_u8(std::uint8_t& v, const char* what) {
  if (!ok()) return false;
  if (p_ == end_) return fail(cat({"truncated: ", what}));
  v = *p_++;
  return true;
}

bool Reader::slow_varint(std::uint64_t& v, const char* what) {
  if (!ok()) return false;
  v = 0;
  for (int shift = 0; shift < 64; shift += 7) {
    if (p_ == end_) return fail(cat({"truncated varint: ", what}));
    const std::uint8_t b = *p_++;
    if (shift == 63 && b > 1) return fail(cat({"varint overflows 64 bits: ", what}));
    v |= static_cast<std::uint64_t>(b & 0x7f) << shift;
    if (!(b & 0x80)) return true;
  }
  return fail(cat({"varint too long: ", what}));
}

bool Reader::fixed64(std::uint64_t& v, const char* what) {
  if (!ok()) return false;
  if (remaining() < 8) return fail(cat({"truncated: ", what}));
  v = 0;
  for (int i = 0; i < 8; ++i) v |= static_cast<std::uint64_t>(p_[i]) << (8 * i);
  p_ += 8;
  return true;
}

bool Reader::fixed32(std::uint32_t& v, const char* what) {
  if (!ok()) return false;
  if (remaining() < 4) return fail(cat({"truncated: ", what}));
  v = 0;
  for (int i = 0; i < 4; ++i) v |= static_cast<std::uint32_t>(p_[i]) << (8 * i);
  p_ += 4;
  return true;
}

bool Reader::bytes(std::string_view& s, const char* what) {
  std::uint64_t n;
  if (!varint(n, what)) return false;
  if (n > remaining()) return fail(cat({"length overruns input: ", what}));
  s = std::string_view(reinterpret_cast<const char*>(p_), static_cast<std::size_t>(n));
  p_ += n;
  return true;
}

bool Reader::column(Reader& out, const char* what) {
  std::uint64_t n;
  if (!varint(n, what)) return false;
  if (n > remaining()) return fail(cat({"column length overruns input: ", what}));
  out = Reader(std::span<const std::uint8_t>(p_, static_cast<std::size_t>(n)));
  p_ += n;
  return true;
}

bool Reader::count(std::uint64_t& n, const char* what, std::size_t min_item_bytes) {
  if (!varint(n, what)) return false;
  if (min_item_bytes > 0 && n > remaining() / min_item_bytes) {
    return fail(cat({"count larger than the input can hold: ", what}));
  }
  return true;
}

void Writer::grow(std::size_t n) {
  const std::size_t used = size();
  const std::size_t want = std::max({used + n, out_.size() * 2, std::size_t{64}});
  out_.resize(want);
  begin_ = out_.data();
  p_ = begin_ + used;
  end_ = begin_ + out_.size();
}

void Writer::reuse(ByteVec&& buf) {
  // Cleared, not resized to its capacity: growing within the capacity then
  // zero-fills only what is written next, not a large earlier output.
  out_ = std::move(buf);
  out_.clear();
  begin_ = p_ = end_ = out_.data();
}

ByteVec Writer::take() {
  out_.resize(size());
  begin_ = p_ = end_ = nullptr;
  return std::move(out_);
}

void BlockWriter::next_block() {
  if (current_.size() > 0) {
    done_ += current_.size();
    full_.push_back(current_.take());
  }
  current_.reserve(kBlockBytes);
}

void BlockWriter::clear() {
  std::vector<ByteVec>().swap(full_);
  const ByteVec done = current_.take();
  done_ = 0;
}

ByteVec frame(PayloadKind kind, std::span<const std::uint8_t> payload, std::uint8_t version) {
  const std::span<const std::uint8_t> one[] = {payload};
  return frame(kind, one, version);
}

ByteVec frame(PayloadKind kind, std::span<const std::span<const std::uint8_t>> pieces, std::uint8_t version) {
  const bool sync = is_sync(kind);
  const auto compressed = sync ? std::nullopt : compress(pieces);
  const std::span<const std::uint8_t> whole[] = {compressed ? std::span<const std::uint8_t>(*compressed) : std::span<const std::uint8_t>()};
  if (compressed) pieces = whole;
  std::size_t size = 0;
  std::uint32_t crc = 0;
  for (auto p : pieces) {
    crc = crc32c(p.data(), p.size(), crc);
    size += p.size();
  }
  Writer w;
  w.reserve(size + 24);
  w.u8('M');
  w.u8('Y');
  w.u8('C');
  w.u8(sync ? kSyncFormatVersion : version);
  w.u8(static_cast<std::uint8_t>((static_cast<std::uint8_t>(kind) << 4) | (compressed ? kFlagCompressed : 0)));
  w.varint(size);
  w.fixed32(crc);
  for (auto p : pieces) w.raw(p);
  return w.take();
}

namespace {
Status unsupported(const char* what, std::uint8_t version, std::uint8_t oldest, std::uint8_t newest) {
  return UnsupportedVersion(cat({what, " version ", version, " is not supported (this build reads versions ", oldest, " to ", newest, ")"}));
}
}  // namespace

Result<FrameHeader> read_frame_header(std::span<const std::uint8_t> bytes) {
  Reader r(bytes);
  std::uint8_t m0, m1, m2, version, flags;
  if (!r.u8(m0, "magic") || !r.u8(m1, "magic") || !r.u8(m2, "magic")) return r.status();
  if (m0 != 'M' || m1 != 'Y' || m2 != 'C') return Corrupt("bad magic: not a mycelium payload");
  if (!r.u8(version, "format version")) return r.status();
  if (version < kOldestFormatVersion || version > kFormatVersion) {
    return unsupported("format", version, kOldestFormatVersion, kFormatVersion);
  }
  if (!r.u8(flags, "flags")) return r.status();
  const std::uint8_t kind = flags >> 4;
  if (flags & 0x0e) return Corrupt("unknown flag bits set");
  const auto k = static_cast<PayloadKind>(kind);
  if (kind < static_cast<std::uint8_t>(PayloadKind::kDelta) || kind > static_cast<std::uint8_t>(PayloadKind::kDetachedDelta) ||
      (k == PayloadKind::kDetachedDelta && version < 2)) {
    return Corrupt(cat({"unknown payload kind ", kind}));
  }
  if (is_sync(k) && version != kSyncFormatVersion) {
    return unsupported("sync frame format", version, kSyncFormatVersion, kSyncFormatVersion);
  }
  if (is_sync(k) && (flags & kFlagCompressed)) return Corrupt("a sync frame is never compressed");
  FrameHeader h{k, version, (flags & kFlagCompressed) != 0, 0, 0, 0};
  if (!r.varint(h.length, "payload length") || !r.fixed32(h.crc, "checksum")) return r.status();
  h.size = r.offset();
  return h;
}

Result<Unframed> unframe(std::span<const std::uint8_t> bytes, std::size_t max_decompressed) {
  MYC_ASSIGN_OR_RETURN(FrameHeader h, read_frame_header(bytes));
  const std::size_t rest = bytes.size() - h.size;
  if (h.length > rest) return Corrupt("payload length overruns input");
  if (h.length < rest) return Corrupt("trailing bytes after payload");
  const auto payload = bytes.subspan(h.size);
  if (crc32c(payload.data(), payload.size()) != h.crc) return Corrupt("checksum mismatch");
  Unframed u{h.kind, h.version, payload, {}};
  if (h.compressed) {
    MYC_ASSIGN_OR_RETURN(u.storage, decompress(payload, max_decompressed));
    u.payload = u.storage.span();
  }
  return u;
}

}  // namespace mycelium
