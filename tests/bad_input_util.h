// Helpers shared by the bad-input tests (tests/bad_input_*test.cc): the
// golden models, byte patches and rewrites of the golden GGUF, the per-case
// sandbox, and the table of cases (one part per file, joined in
// bad_input_test.cc).
#ifndef FACET_TESTS_BAD_INPUT_UTIL_H_
#define FACET_TESTS_BAD_INPUT_UTIL_H_

#include <gtest/gtest.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <ostream>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "facet/facet.h"
#include "facet/status.h"
#include "kernels/dtype.h"
#include "src/io/gguf.h"
#include "src/io/gguf_writer.h"
#include "src/io/tensor_view.h"
#include "tests/test_paths.h"

namespace facet::bad_input_testing {

namespace fs = std::filesystem;
using json = nlohmann::json;
using kernels::DType;

// dense-tiny: vocab 512, 6 layers [s, s, f] x 2, 4 heads, KV 2/1, head dim
// 32/64, context 4096; q4_0 matrices, f32 vectors.
inline const std::string& GoldenGguf() {
  static const std::string p =
      std::string(FACET_TEST_DATA) + "/golden/dense-tiny-q4_0-s16/model.gguf";
  return p;
}
// moe-tiny as a Hugging Face folder: 4 layers [s, f] x 2, 4 heads, KV 2/1.
inline const std::string& GoldenHf() {
  static const std::string p =
      std::string(FACET_TEST_DATA) + "/golden/moe-tiny-hf-bf16";
  return p;
}

using ::facet::testing::ReadBytes;

inline const std::string& GoldenBytes() {
  static const std::string b = ReadBytes(GoldenGguf());
  return b;
}

inline const GgufFile& GoldenFile() {
  static const std::unique_ptr<GgufFile> f = [] {
    auto g = GgufFile::Open(GoldenGguf());
    if (!g.ok()) {
      ADD_FAILURE() << g.status().ToString();
      std::abort();
    }
    return std::move(g).value();
  }();
  return *f;
}

// --- Byte layout of the golden GGUF, for patches at exact offsets. --------

struct KvPos {
  std::string key;
  size_t start = 0;      // the key's u64 length
  size_t type_pos = 0;   // u32 value type
  size_t value_pos = 0;  // the value (for arrays: u32 elem type, u64 count)
};

struct InfoPos {
  std::string name;
  size_t start = 0;       // the name's u64 length
  size_t ndims_pos = 0;   // u32
  size_t dims_pos = 0;    // u64[ndims]
  size_t type_pos = 0;    // u32
  size_t offset_pos = 0;  // u64
};

struct Layout {
  std::vector<KvPos> kv;
  std::vector<InfoPos> infos;
  size_t infos_end = 0;
  size_t data_offset = 0;

  const KvPos& Kv(const std::string& key) const {
    for (const KvPos& k : kv) {
      if (k.key == key) return k;
    }
    ADD_FAILURE() << "no metadata key " << key;
    return kv.at(0);
  }
  const InfoPos& Info(const std::string& name) const {
    for (const InfoPos& i : infos) {
      if (i.name == name) return i;
    }
    ADD_FAILURE() << "no tensor " << name;
    return infos.at(0);
  }
};

// Walks a known-good GGUF image (no bounds checks needed).
class Walker {
 public:
  explicit Walker(const std::string& b) : b_(b) {}
  size_t pos = 0;

  template <typename T>
  T Get() {
    T v;
    std::memcpy(&v, b_.data() + pos, sizeof(T));
    pos += sizeof(T);
    return v;
  }
  std::string Str() {
    const uint64_t n = Get<uint64_t>();
    std::string s = b_.substr(pos, n);
    pos += n;
    return s;
  }
  void SkipValue(uint32_t type) {
    static const size_t kSize[] = {1, 1, 2, 2, 4, 4, 4, 1, 0, 0, 8, 8, 8};
    if (type == 8) {
      Str();
    } else if (type == 9) {
      const uint32_t et = Get<uint32_t>();
      const uint64_t n = Get<uint64_t>();
      for (uint64_t i = 0; i < n; ++i) SkipValue(et);
    } else {
      pos += kSize[type];
    }
  }

 private:
  const std::string& b_;
};

inline const Layout& GoldenLayout() {
  static const Layout layout = [] {
    Layout l;
    Walker w(GoldenBytes());
    w.pos = 8;
    const uint64_t n_tensors = w.Get<uint64_t>();
    const uint64_t n_kv = w.Get<uint64_t>();
    for (uint64_t k = 0; k < n_kv; ++k) {
      KvPos p;
      p.start = w.pos;
      p.key = w.Str();
      p.type_pos = w.pos;
      const uint32_t type = w.Get<uint32_t>();
      p.value_pos = w.pos;
      w.SkipValue(type);
      l.kv.push_back(p);
    }
    for (uint64_t t = 0; t < n_tensors; ++t) {
      InfoPos p;
      p.start = w.pos;
      p.name = w.Str();
      p.ndims_pos = w.pos;
      const uint32_t nd = w.Get<uint32_t>();
      p.dims_pos = w.pos;
      w.pos += 8 * nd;
      p.type_pos = w.pos;
      w.pos += 4;
      p.offset_pos = w.pos;
      w.pos += 8;
      l.infos.push_back(p);
    }
    l.infos_end = w.pos;
    l.data_offset = (w.pos + 31) / 32 * 32;  // the golden uses alignment 32
    return l;
  }();
  return layout;
}

template <typename T>
inline std::string Patched(std::string bytes, size_t pos, T value) {
  std::memcpy(&bytes[pos], &value, sizeof(T));
  return bytes;
}

inline std::string GoldenPatched32(size_t pos, uint32_t v) {
  return Patched(GoldenBytes(), pos, v);
}
inline std::string GoldenPatched64(size_t pos, uint64_t v) {
  return Patched(GoldenBytes(), pos, v);
}
inline std::string GoldenPrefix(size_t n) { return GoldenBytes().substr(0, n); }

// --- Re-emitting the golden GGUF through GgufWriter with edits. -----------

// Returns true when it handled the entry (added a replacement or nothing);
// false copies the entry unchanged.
using KvEdit =
    std::function<bool(const std::string&, const GgufValue&, GgufWriter*)>;
using TensorEdit = std::function<bool(const TensorView&, GgufWriter*)>;

inline void AddTensorOrFail(GgufWriter* w, const std::string& name, DType dtype,
                            const std::vector<int64_t>& shape, const void* data,
                            size_t nbytes) {
  Status s = w->AddTensor(name, dtype, shape, data, nbytes);
  EXPECT_TRUE(s.ok()) << s.ToString();
}

inline void CopyTensor(GgufWriter* w, const TensorView& t) {
  AddTensorOrFail(w, t.name, t.dtype, t.shape, t.data, t.nbytes);
}

inline std::string Rewrite(const KvEdit& kv_edit, const TensorEdit& tensor_edit,
                           const std::function<void(GgufWriter*)>& extra = {}) {
  const GgufFile& g = GoldenFile();
  GgufWriter w;
  for (const auto& [key, value] : g.metadata()) {
    if (!kv_edit || !kv_edit(key, value, &w)) w.AddValue(key, value);
  }
  if (extra) extra(&w);
  for (const TensorView& t : g.tensors()) {
    if (!tensor_edit || !tensor_edit(t, &w)) CopyTensor(&w, t);
  }
  StatusOr<std::string> image = w.Serialize();
  EXPECT_TRUE(image.ok()) << image.status().ToString();
  return image.ok() ? std::move(image).value() : std::string();
}

// Replaces metadata `key` with what `add` writes (nothing: drops it).
inline std::string WithKv(const std::string& key,
                          const std::function<void(GgufWriter*)>& add) {
  return Rewrite(
      [&](const std::string& k, const GgufValue&, GgufWriter* w) {
        if (k != key) return false;
        if (add) add(w);
        return true;
      },
      nullptr);
}

// Replaces tensor `name` with what `add` writes (nothing: drops it).
inline std::string WithTensor(const std::string& name,
                              const std::function<void(GgufWriter*)>& add) {
  return Rewrite(nullptr, [&](const TensorView& t, GgufWriter* w) {
    if (t.name != name) return false;
    if (add) add(w);
    return true;
  });
}

// --- Per-case sandbox. -----------------------------------------------------

class Sandbox {
 public:
  explicit Sandbox(const std::string& dir) : dir_(dir) {}
  const std::string& dir() const { return dir_; }
  std::string Path(const std::string& name) const { return dir_ + "/" + name; }

  std::string Write(const std::string& name, const std::string& bytes) const {
    const std::string p = Path(name);
    std::ofstream f(p, std::ios::binary | std::ios::trunc);
    f.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    EXPECT_TRUE(f.good()) << p;
    return p;
  }

  // A Hugging Face folder `name` whose config.json is the golden one edited
  // by `edit` (the root object; the text model sits in "text_config"), and
  // whose weights are a symlink to the golden model.safetensors unless
  // `link_weights` is false.
  std::string HfFolder(const std::string& name,
                       const std::function<void(json*)>& edit,
                       bool link_weights = true) const {
    const std::string d = Path(name);
    fs::create_directories(d);
    json root = json::parse(ReadBytes(GoldenHf() + "/config.json"));
    if (edit) edit(&root);
    std::ofstream(d + "/config.json") << root.dump(2);
    if (link_weights) {
      fs::create_symlink(GoldenHf() + "/model.safetensors",
                         d + "/model.safetensors");
    }
    return d;
  }
  std::string HfConfigText(const std::string& name,
                           const std::string& text) const {
    const std::string d = HfFolder(name, nullptr);
    std::ofstream(d + "/config.json", std::ios::trunc) << text;
    return d;
  }

 private:
  std::string dir_;
};

inline Status Inspect(const std::string& path) {
  return InspectModel(path).status();
}

inline Status InspectBytes(const Sandbox& sb, const std::string& bytes) {
  return Inspect(sb.Write("model.gguf", bytes));
}

// Creates an engine on the golden GGUF and a session, then runs `use`.
inline Status WithSession(const SessionOptions& so,
                          const std::function<Status(Session*)>& use) {
  EngineOptions eo;
  eo.model_path = GoldenGguf();
  eo.num_threads = 1;
  auto engine = Engine::Create(eo);
  if (!engine.ok()) {
    return Status(StatusCode::kInternal,
                  "golden engine failed: " + engine.status().ToString());
  }
  auto session = (*engine)->NewSession(so);
  if (!session.ok()) return session.status();
  return use(session->get());
}

inline Status NewSessionStatus(const std::string& model,
                               const SessionOptions& so) {
  EngineOptions eo;
  eo.model_path = model;
  eo.num_threads = 1;
  auto engine = Engine::Create(eo);
  if (!engine.ok()) return engine.status();
  return (*engine)->NewSession(so).status();
}

inline json& Tc(json* root) { return (*root)["text_config"]; }

// --- The table. ------------------------------------------------------------

struct Case {
  const char* name;  // a DISABLED_ prefix marks a known library bug
  std::function<Status(const Sandbox&)> run;
  StatusCode code;
  const char* substring;  // must occur in the message ("" for kOk)
};

inline std::ostream& operator<<(std::ostream& os, const Case& c) {
  return os << c.name;
}

// The parts of the table, in the order of Cases(): GGUF files
// (bad_input_gguf_test.cc); paths and Hugging Face folders
// (bad_input_hf_test.cc); options and bad calls on a session, and known
// library bugs (bad_input_api_test.cc).
std::vector<Case> GgufCases();
std::vector<Case> PathAndHfCases();
std::vector<Case> ApiCases();

}  // namespace facet::bad_input_testing

#endif  // FACET_TESTS_BAD_INPUT_UTIL_H_
