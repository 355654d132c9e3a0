// A native replica driven from files, for tests that compare the native and
// WebAssembly builds byte for byte (js/tests/interop.test.ts).
//
//   replica_tool <open-input> <out-dir> [apply <file> | write <file>]...
//
// <open-input> is Replica::open's input (cpp/replica.h). Each command applies
// a delta or runs a write batch from a file, in order. Writes
// <out-dir>/snapshot.bin (save()) and <out-dir>/delta.bin (delta since the
// empty version). Exits 1 with the error on stderr when a step fails.
#include <cstdio>
#include <fstream>
#include <iterator>
#include <string>

#include "replica.h"

namespace {
using mycelium::ByteVec;

bool read_file(const char* path, ByteVec& out) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return false;
  out.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  return true;
}

bool write_file(const std::string& path, const ByteVec& bytes) {
  std::ofstream out(path, std::ios::binary);
  out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  return static_cast<bool>(out);
}

int fail(const std::string& what) {
  std::fprintf(stderr, "replica_tool: %s\n", what.c_str());
  return 1;
}
}  // namespace

int main(int argc, char** argv) {
  if (argc < 3 || (argc - 3) % 2 != 0) {
    return fail("usage: replica_tool <open-input> <out-dir> [apply <file> | write <file>]...");
  }
  ByteVec input;
  if (!read_file(argv[1], input)) return fail(std::string("cannot read ") + argv[1]);
  auto replica = mycelium::Replica::open(input);
  if (!replica.ok()) return fail("open: " + replica.status().to_string());
  for (int i = 3; i < argc; i += 2) {
    const std::string cmd = argv[i];
    ByteVec bytes;
    if (!read_file(argv[i + 1], bytes)) return fail(std::string("cannot read ") + argv[i + 1]);
    if (cmd == "apply") {
      auto r = (*replica)->apply(bytes);
      if (!r.ok()) return fail("apply: " + r.status().to_string());
    } else if (cmd == "write") {
      auto st = (*replica)->write(bytes);
      if (!st.ok()) return fail("write: " + st.to_string());
    } else {
      return fail("unknown command " + cmd);
    }
  }
  const std::string dir = argv[2];
  ByteVec delta;
  if (!(*replica)->delta_since(ByteVec{0}, delta).ok()) return fail("delta_since failed");
  auto snapshot = (*replica)->save();
  if (!snapshot.ok()) return fail("save failed: " + snapshot.status().message());
  if (!write_file(dir + "/snapshot.bin", *snapshot) || !write_file(dir + "/delta.bin", delta)) {
    return fail("cannot write to " + dir);
  }
  return 0;
}
