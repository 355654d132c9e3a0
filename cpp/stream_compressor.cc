#include "stream_compressor.h"

#include <algorithm>
#include <cstring>

#include "compression.h"
#include "zstd.h"

namespace mycelium {

StreamCompressor::StreamCompressor() = default;

StreamCompressor::~StreamCompressor() { ZSTD_freeCCtx(ctx_); }

bool StreamCompressor::begin(std::size_t total) {
  active_ = false;
  produced_ = 0;
  slice_used_ = 0;
  fed_ = 0;
  total_ = total;
  if (total <= kCompressMinBytes) return false;
  if (ctx_ == nullptr && (ctx_ = ZSTD_createCCtx()) == nullptr) return false;
  ZSTD_CCtx_reset(ctx_, ZSTD_reset_session_and_parameters);
  if (ZSTD_isError(ZSTD_CCtx_setParameter(ctx_, ZSTD_c_compressionLevel, kCompressLevel)) ||
      ZSTD_isError(ZSTD_CCtx_setPledgedSrcSize(ctx_, total))) {
    return false;
  }
  if (slice_.size() < kSliceBytes) slice_.resize(kSliceBytes);
  active_ = true;
  return true;
}

bool StreamCompressor::compress_slice(bool last) {
  ZSTD_inBuffer in{slice_.data(), slice_used_, 0};
  for (;;) {
    // The result must end up smaller than the payload: never more room.
    if (out_.size() - produced_ < ZSTD_CStreamOutSize() / 4) {
      const std::size_t want = std::min(total_, std::max(out_.size() + out_.size() / 2, produced_ + ZSTD_CStreamOutSize()));
      if (want <= produced_) return active_ = false;
      out_.resize(want);
    }
    ZSTD_outBuffer out{out_.data(), out_.size(), produced_};
    const std::size_t left = ZSTD_compressStream2(ctx_, &out, &in, last ? ZSTD_e_end : ZSTD_e_continue);
    if (ZSTD_isError(left)) return active_ = false;
    produced_ = out.pos;
    if (produced_ >= total_) return active_ = false;
    if (last ? left == 0 : in.pos == in.size) break;
  }
  slice_used_ = 0;
  return true;
}

bool StreamCompressor::feed(std::span<const std::uint8_t> in) {
  while (active_ && !in.empty()) {
    if (fed_ + in.size() > total_) return active_ = false;  // more than was announced
    const std::size_t n = std::min(in.size(), kSliceBytes - slice_used_);
    std::memcpy(slice_.data() + slice_used_, in.data(), n);
    slice_used_ += n;
    fed_ += n;
    in = in.subspan(n);
    // A full slice is compressed unless it is the payload's last bytes,
    // which go with the end of the frame.
    if (slice_used_ == kSliceBytes && fed_ < total_ && !compress_slice(false)) return false;
  }
  return active_;
}

std::span<const std::uint8_t> StreamCompressor::end() {
  if (!active_ || fed_ != total_ || !compress_slice(true)) {
    active_ = false;
    return {};
  }
  active_ = false;
  return {out_.data(), produced_};
}

void StreamCompressor::release() {
  ByteVec().swap(out_);
  produced_ = 0;
}

}  // namespace mycelium
