// Embind bindings: the Replica interface (cpp/replica.h) as free functions
// over integers. No logic here. Bulk data crosses as bytes in two module-wide
// buffers: the caller writes into input(n) and reads results from output().
// A function returns a length or value (>= 0), or -code on error with the
// message in the output buffer.
#include <emscripten/bind.h>
#include <emscripten/emscripten.h>

#include <cstdint>
#include <span>

#include "codec.h"
#include "replica.h"

namespace {
using mycelium::ByteVec;
using mycelium::Replica;
using mycelium::Status;

ByteVec g_in, g_out;

std::span<const std::uint8_t> in(std::size_t n) { return {g_in.data(), n < g_in.size() ? n : g_in.size()}; }
Replica* rep(double h) { return reinterpret_cast<Replica*>(static_cast<std::uintptr_t>(h)); }

int fail(const Status& s) {
  g_out.assign(s.message().begin(), s.message().end());
  return -static_cast<int>(s.code());
}
int done(const Status& s) { return s.ok() ? static_cast<int>(g_out.size()) : fail(s); }

std::uintptr_t input(std::size_t n) {
  if (g_in.size() < n) g_in.resize(n);
  return reinterpret_cast<std::uintptr_t>(g_in.data());
}
std::uintptr_t output() { return reinterpret_cast<std::uintptr_t>(g_out.data()); }
std::size_t output_size() { return g_out.size(); }

// Returns the handle (a pointer) as a double: handles may pass 2^31.
double open(std::size_t n) {
  auto r = Replica::open(in(n));
  if (!r.ok()) return fail(r.status());
  return static_cast<double>(reinterpret_cast<std::uintptr_t>(r->release()));
}
void close(double h) { delete rep(h); }
int write(double h, std::size_t n) {
  const Status s = rep(h)->write(in(n));
  return s.ok() ? 0 : fail(s);
}
int get(double h, int coll, std::size_t n) {
  const auto id = in(n);
  return done(rep(h)->get(static_cast<std::uint16_t>(coll), {reinterpret_cast<const char*>(id.data()), id.size()}, g_out));
}
int all(double h, int coll) { return done(rep(h)->all(static_cast<std::uint16_t>(coll), g_out)); }
int sorted(double h, int coll, int field) {
  if (field < 0 || field > 255) return fail(mycelium::InvalidArgument("field out of range"));
  return done(rep(h)->sorted(static_cast<std::uint16_t>(coll), static_cast<std::uint8_t>(field), g_out));
}
int count(double h, int coll) {
  auto r = rep(h)->count(static_cast<std::uint16_t>(coll));
  return r.ok() ? static_cast<int>(*r) : fail(r.status());
}
int version(double h) {
  rep(h)->version(g_out);
  return static_cast<int>(g_out.size());
}
int delta_since(double h, std::size_t n) { return done(rep(h)->delta_since(in(n), g_out)); }
// 0 applied, 1 pending, 2 already covered. max_new_actors < 0: bytes this
// replica wrote itself (trusted); else a peer's, 0 meaning no actor limit.
// The input holds the delta's n bytes, then the version a detached delta
// was sent with (context_n bytes, 0 for none), then the author of a signed
// batch (author_n bytes, 0 for none: Replica::apply).
int apply(double h, std::size_t n, std::size_t context_n, std::size_t author_n, bool capture, int max_new_actors) {
  rep(h)->capture_changes(capture);
  const mycelium::ApplyLimits limits = max_new_actors < 0 ? mycelium::ApplyLimits::trusted()
                                                           : mycelium::ApplyLimits{true, static_cast<std::size_t>(max_new_actors), {}};
  const auto input = in(n + context_n + author_n);
  const auto part = [&](std::size_t at, std::size_t len) { return input.subspan(std::min(at, input.size()), std::min(len, input.size() - std::min(at, input.size()))); };
  auto r = rep(h)->apply(part(0, n), limits, part(n, context_n), part(n + context_n, author_n));
  return r.ok() ? static_cast<int>(*r) : fail(r.status());
}
int cursor(double h, std::size_t n) { return done(rep(h)->cursor(in(n), g_out)); }
int resolve(double h, std::size_t n) {
  auto r = rep(h)->resolve(in(n));
  return r.ok() ? static_cast<int>(*r) : fail(r.status());
}
// Credit rights (never negative: the engine keeps them so) as a double,
// which holds every integer up to 2^53; or -code.
double rights(double h, std::size_t n) {
  auto r = rep(h)->rights(in(n));
  return r.ok() ? static_cast<double>(*r) : fail(r.status());
}
int credit_entries(double h, std::size_t n) { return done(rep(h)->credit_entries(in(n), g_out)); }
int changes(double h) {
  rep(h)->changes(g_out);
  return static_cast<int>(g_out.size());
}
int dropped(double h) {
  rep(h)->dropped(g_out);
  return static_cast<int>(g_out.size());
}
int save(double h) {
  auto saved = rep(h)->save();
  if (!saved.ok()) return fail(saved.status());
  g_out = std::move(saved).value();
  return static_cast<int>(g_out.size());
}
int pending(double h) { return static_cast<int>(rep(h)->store().pending_count()); }
double memory(double h) { return static_cast<double>(rep(h)->store().memory_use().total()); }
// Frames the input as a sync message (kind 3) or chunk (4); the frame is
// in the output.
int frame_sync(int kind, std::size_t n) {
  if (kind != 3 && kind != 4) return fail(mycelium::InvalidArgument("not a sync frame kind"));
  g_out = mycelium::frame(static_cast<mycelium::PayloadKind>(kind), in(n));
  return static_cast<int>(g_out.size());
}
// Reads a sync frame: returns its kind (3 or 4) with the payload in the
// output, or -code (anything else, deltas and snapshots included, is not a
// sync frame).
int unframe_sync(std::size_t n) {
  auto u = mycelium::unframe(in(n));
  if (!u.ok()) return fail(u.status());
  if (!mycelium::is_sync(u->kind)) {
    return fail(mycelium::Corrupt(mycelium::cat({"payload kind ", static_cast<int>(u->kind), " is not a sync message"})));
  }
  g_out.assign(u->payload.begin(), u->payload.end());
  return static_cast<int>(u->kind);
}
// The header's size of the sync frame whose first n bytes are in the input
// (the rest may not have arrived), or -code.
int sync_header_size(std::size_t n) {
  auto h = mycelium::read_frame_header(in(n));
  if (!h.ok()) return fail(h.status());
  if (!mycelium::is_sync(h->kind)) return fail(mycelium::Corrupt("not a sync message"));
  return static_cast<int>(h->size);
}
double actor_hi(double h) { return static_cast<double>(rep(h)->store().actor() >> 32); }
double actor_lo(double h) { return static_cast<double>(rep(h)->store().actor() & 0xffffffffu); }
}  // namespace

// The calls made once per write or read of one record also exist as
// plain exports: Embind's invoker without eval (DYNAMIC_EXECUTION=0, for
// CSP) costs more than the engine's work for a one-field write.
// compression.cc's host compressor: the loader's hooks (js/compression.ts)
// copy the pieces to the compressor module, which holds the result until
// the engine has made room for exactly its size and asks for it.
EM_JS(std::size_t, myc_host_compress, (const std::uint32_t* pieces, std::size_t count, std::size_t total), {
  const hook = Module['mycCompress'];
  return hook ? hook(HEAPU8, pieces >>> 0, count >>> 0, total >>> 0) : 0;
});
EM_JS(void, myc_host_compressed, (std::uint8_t* dst), {
  const hook = Module['mycCompressed'];
  if (hook) hook(HEAPU8, dst >>> 0);
});

extern "C" {
EMSCRIPTEN_KEEPALIVE int myc_write(std::uint32_t h, std::uint32_t n) { return write(h, n); }
EMSCRIPTEN_KEEPALIVE int myc_get(std::uint32_t h, int coll, std::uint32_t n) { return get(h, coll, n); }
// Where the output is: read after every call that returns bytes.
EMSCRIPTEN_KEEPALIVE std::uintptr_t myc_output() { return output(); }
}

EMSCRIPTEN_BINDINGS(mycelium) {
  using emscripten::function;
  function("input", &input);
  function("output", &output);
  function("outputSize", &output_size);
  function("open", &open);
  function("close", &close);
  function("write", &write);
  function("get", &get);
  function("all", &all);
  function("sorted", &sorted);
  function("count", &count);
  function("version", &version);
  function("deltaSince", &delta_since);
  function("apply", &apply);
  function("cursor", &cursor);
  function("resolve", &resolve);
  function("rights", &rights);
  function("creditEntries", &credit_entries);
  function("changes", &changes);
  function("dropped", &dropped);
  function("save", &save);
  function("pending", &pending);
  function("memory", &memory);
  function("actorHi", &actor_hi);
  function("actorLo", &actor_lo);
  function("frameSync", &frame_sync);
  function("unframeSync", &unframe_sync);
  function("syncHeaderSize", &sync_header_size);
}
