// Bad-input tests: corrupt GGUF files, broken Hugging Face folders, invalid
// options and bad calls through the public API. Each case is built in a
// fresh temp directory from a valid golden model and must come back as a
// Status with one exact code and a message naming the problem; none may
// crash, hang or return a misleading code.
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <climits>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <system_error>
#include <vector>

#include "facet/facet.h"
#include "facet/status.h"
#include "kernels/dtype.h"
#include "models/gemma4/config.h"
#include "src/io/gguf.h"
#include "src/io/gguf_writer.h"
#include "src/io/safetensors.h"
#include "src/io/tensor_view.h"

namespace facet {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;
using kernels::DType;

// dense-tiny: vocab 512, 6 layers [s, s, f] x 2, 4 heads, KV 2/1, head dim
// 32/64, context 4096; q4_0 matrices, f32 vectors.
const std::string& GoldenGguf() {
  static const std::string p =
      std::string(FACET_TEST_DATA) + "/golden/dense-tiny-q4_0-s16/model.gguf";
  return p;
}
// moe-tiny as a Hugging Face folder: 4 layers [s, f] x 2, 4 heads, KV 2/1.
const std::string& GoldenHf() {
  static const std::string p =
      std::string(FACET_TEST_DATA) + "/golden/moe-tiny-hf-bf16";
  return p;
}

std::string ReadBytes(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::ostringstream s;
  s << f.rdbuf();
  return s.str();
}

const std::string& GoldenBytes() {
  static const std::string b = ReadBytes(GoldenGguf());
  return b;
}

const GgufFile& GoldenFile() {
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

const Layout& GoldenLayout() {
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
std::string Patched(std::string bytes, size_t pos, T value) {
  std::memcpy(&bytes[pos], &value, sizeof(T));
  return bytes;
}

std::string GoldenPatched32(size_t pos, uint32_t v) {
  return Patched(GoldenBytes(), pos, v);
}
std::string GoldenPatched64(size_t pos, uint64_t v) {
  return Patched(GoldenBytes(), pos, v);
}
std::string GoldenPrefix(size_t n) { return GoldenBytes().substr(0, n); }

// --- Re-emitting the golden GGUF through GgufWriter with edits. -----------

// Returns true when it handled the entry (added a replacement or nothing);
// false copies the entry unchanged.
using KvEdit =
    std::function<bool(const std::string&, const GgufValue&, GgufWriter*)>;
using TensorEdit = std::function<bool(const TensorView&, GgufWriter*)>;

void AddTensorOrFail(GgufWriter* w, const std::string& name, DType dtype,
                     const std::vector<int64_t>& shape, const void* data,
                     size_t nbytes) {
  Status s = w->AddTensor(name, dtype, shape, data, nbytes);
  EXPECT_TRUE(s.ok()) << s.ToString();
}

void CopyTensor(GgufWriter* w, const TensorView& t) {
  AddTensorOrFail(w, t.name, t.dtype, t.shape, t.data, t.nbytes);
}

std::string Rewrite(const KvEdit& kv_edit, const TensorEdit& tensor_edit,
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
std::string WithKv(const std::string& key,
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
std::string WithTensor(const std::string& name,
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

Status Inspect(const std::string& path) { return InspectModel(path).status(); }

Status InspectBytes(const Sandbox& sb, const std::string& bytes) {
  return Inspect(sb.Write("model.gguf", bytes));
}

// Creates an engine on the golden GGUF and a session, then runs `use`.
Status WithSession(const SessionOptions& so,
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

Status NewSessionStatus(const std::string& model, const SessionOptions& so) {
  EngineOptions eo;
  eo.model_path = model;
  eo.num_threads = 1;
  auto engine = Engine::Create(eo);
  if (!engine.ok()) return engine.status();
  return (*engine)->NewSession(so).status();
}

json& Tc(json* root) { return (*root)["text_config"]; }

// --- The table. ------------------------------------------------------------

struct Case {
  const char* name;  // a DISABLED_ prefix marks a known library bug
  std::function<Status(const Sandbox&)> run;
  StatusCode code;
  const char* substring;  // must occur in the message ("" for kOk)
};

std::ostream& operator<<(std::ostream& os, const Case& c) {
  return os << c.name;
}

const std::vector<Case>& Cases() {
  static const std::vector<Case> cases = {
      // ---- GGUF: truncation at several points. ----
      {"GgufEmpty", [](const Sandbox& sb) { return InspectBytes(sb, ""); },
       StatusCode::kDataLoss, "file too small to be GGUF"},
      {"GgufTruncatedInHeader",
       [](const Sandbox& sb) { return InspectBytes(sb, GoldenPrefix(12)); },
       StatusCode::kDataLoss, "truncated while reading tensor count"},
      {"GgufTruncatedBeforeMetadata",
       [](const Sandbox& sb) { return InspectBytes(sb, GoldenPrefix(100)); },
       StatusCode::kDataLoss, "metadata count 39 exceeds what the file"},
      {"GgufTruncatedInMetadata",
       [](const Sandbox& sb) {
         const KvPos& k = GoldenLayout().Kv("tokenizer.ggml.merges");
         return InspectBytes(sb, GoldenPrefix(k.value_pos + 50));
       },
       StatusCode::kDataLoss, "metadata key 'tokenizer.ggml.merges'"},
      {"GgufTruncatedInTensorInfos",
       [](const Sandbox& sb) {
         const InfoPos& i = GoldenLayout().infos[5];
         return InspectBytes(sb, GoldenPrefix(i.ndims_pos + 2));
       },
       StatusCode::kDataLoss, "truncated while reading tensor dimension count"},
      {"GgufTruncatedBeforeTensorData",
       [](const Sandbox& sb) {
         EXPECT_NE(GoldenLayout().infos_end % 32, 0u);
         return InspectBytes(sb, GoldenPrefix(GoldenLayout().infos_end));
       },
       StatusCode::kDataLoss, "tensor data section is missing"},
      {"GgufTruncatedInTensorData",
       [](const Sandbox& sb) {
         const size_t d = GoldenLayout().data_offset;
         return InspectBytes(sb,
                             GoldenPrefix(d + (GoldenBytes().size() - d) / 2));
       },
       StatusCode::kDataLoss, "runs past the end of the file; is it truncated"},
      // ---- GGUF: header. ----
      {"GgufWrongMagic",
       [](const Sandbox& sb) {
         return InspectBytes(sb, GoldenPatched32(0, 0x4c4d4747));  // "GGML"
       },
       StatusCode::kDataLoss, "bad magic"},
      {"GgufVersion1",
       [](const Sandbox& sb) {
         return InspectBytes(sb, GoldenPatched32(4, 1));
       },
       StatusCode::kUnimplemented, "unsupported GGUF version 1 "},
      {"GgufVersion99",
       [](const Sandbox& sb) {
         return InspectBytes(sb, GoldenPatched32(4, 99));
       },
       StatusCode::kUnimplemented, "unsupported GGUF version 99"},
      {"GgufBigEndianVersion",
       [](const Sandbox& sb) {
         return InspectBytes(sb, GoldenPatched32(4, 0x03000000));
       },
       StatusCode::kUnimplemented, "big-endian"},
      {"GgufHugeMetadataCount",
       [](const Sandbox& sb) {
         return InspectBytes(sb, GoldenPatched64(16, uint64_t{1} << 60));
       },
       StatusCode::kDataLoss, "metadata count 1152921504606846976 exceeds"},
      {"GgufHugeTensorCount",
       [](const Sandbox& sb) {
         return InspectBytes(sb, GoldenPatched64(8, uint64_t{1} << 60));
       },
       StatusCode::kDataLoss, "tensor count 1152921504606846976 exceeds"},
      // ---- GGUF: metadata values. ----
      {"GgufHugeArrayLength",
       [](const Sandbox& sb) {
         const KvPos& k = GoldenLayout().Kv("tokenizer.ggml.tokens");
         return InspectBytes(
             sb, GoldenPatched64(k.value_pos + 4, uint64_t{1} << 60));
       },
       StatusCode::kDataLoss, "elements runs past the end of file"},
      {"GgufHugeStringLength",
       [](const Sandbox& sb) {
         const KvPos& k = GoldenLayout().Kv("general.name");
         return InspectBytes(sb,
                             GoldenPatched64(k.value_pos, uint64_t{1} << 60));
       },
       StatusCode::kDataLoss,
       "metadata key 'general.name': GGUF string value length"},
      {"GgufHugeKeyLength",
       [](const Sandbox& sb) {
         const KvPos& k = GoldenLayout().Kv("general.type");
         return InspectBytes(sb, GoldenPatched64(k.start, ~uint64_t{0}));
       },
       StatusCode::kDataLoss, "metadata key length"},
      {"GgufUnknownValueType",
       [](const Sandbox& sb) {
         const KvPos& k = GoldenLayout().Kv("general.type");
         return InspectBytes(sb, GoldenPatched32(k.type_pos, 99));
       },
       StatusCode::kDataLoss, "unknown GGUF value type 99"},
      {"GgufUnknownArrayElementType",
       [](const Sandbox& sb) {
         const KvPos& k = GoldenLayout().Kv("tokenizer.ggml.scores");
         return InspectBytes(sb, GoldenPatched32(k.value_pos, 13));
       },
       StatusCode::kDataLoss, "unknown GGUF array element type 13"},
      {"GgufBoolValueTwo",
       [](const Sandbox& sb) {
         const KvPos& k = GoldenLayout().Kv("tokenizer.ggml.add_bos_token");
         return InspectBytes(sb,
                             Patched<uint8_t>(GoldenBytes(), k.value_pos, 2));
       },
       StatusCode::kDataLoss, "bool value 2"},
      {"GgufDuplicateMetadataKey",
       [](const Sandbox& sb) {
         return InspectBytes(sb, Rewrite(nullptr, nullptr, [](GgufWriter* w) {
                               w->AddString("general.name", "again");
                             }));
       },
       StatusCode::kDataLoss, "duplicate metadata key 'general.name'"},
      {"GgufAlignmentNotPowerOfTwo",
       [](const Sandbox& sb) {
         return InspectBytes(sb, Rewrite(nullptr, nullptr, [](GgufWriter* w) {
                               w->AddUint32("general.alignment", 48);
                             }));
       },
       StatusCode::kDataLoss, "general.alignment must be a power of two"},
      // ---- GGUF: tensor infos. ----
      {"GgufTensorOffsetPastEnd",
       [](const Sandbox& sb) {
         const InfoPos& i = GoldenLayout().infos.back();
         return InspectBytes(sb,
                             GoldenPatched64(i.offset_pos, uint64_t{1} << 40));
       },
       StatusCode::kDataLoss, "runs past the end of the file"},
      {"GgufMisalignedTensorOffset",
       [](const Sandbox& sb) {
         const InfoPos& i = GoldenLayout().Info("token_embd.weight");
         uint64_t off;
         std::memcpy(&off, GoldenBytes().data() + i.offset_pos, 8);
         return InspectBytes(sb, GoldenPatched64(i.offset_pos, off + 1));
       },
       StatusCode::kDataLoss, "is not aligned to 32"},
      {"GgufTensorDimsOverflow",
       [](const Sandbox& sb) {
         const InfoPos& i = GoldenLayout().Info("token_embd.weight");
         std::string b = GoldenBytes();
         b = Patched(b, i.dims_pos, uint64_t{1} << 40);
         b = Patched(b, i.dims_pos + 8, uint64_t{1} << 40);
         return InspectBytes(sb, b);
       },
       StatusCode::kDataLoss, "tensor 'token_embd.weight' size overflows"},
      {"GgufTensorZeroDim",
       [](const Sandbox& sb) {
         const InfoPos& i = GoldenLayout().Info("token_embd.weight");
         return InspectBytes(sb, GoldenPatched64(i.dims_pos + 8, 0));
       },
       StatusCode::kDataLoss, "has invalid dimension 0"},
      {"GgufTensorFiveDims",
       [](const Sandbox& sb) {
         const InfoPos& i = GoldenLayout().Info("token_embd.weight");
         return InspectBytes(sb, GoldenPatched32(i.ndims_pos, 5));
       },
       StatusCode::kDataLoss, "has 5 dimensions (1 to 4 allowed)"},
      {"GgufTensorRowNotBlockMultiple",
       [](const Sandbox& sb) {
         const InfoPos& i = GoldenLayout().Info("token_embd.weight");
         return InspectBytes(sb, GoldenPatched64(i.dims_pos, 100));
       },
       StatusCode::kDataLoss, "not a multiple of the q4_0 block size 32"},
      {"GgufUnknownTensorType",
       [](const Sandbox& sb) {
         const InfoPos& i = GoldenLayout().Info("token_embd.weight");
         return InspectBytes(sb, GoldenPatched32(i.type_pos, 99));
       },
       StatusCode::kUnimplemented, "'token_embd.weight' has type type#99"},
      {"GgufUnsupportedTensorTypeQ2K",
       [](const Sandbox& sb) {
         const InfoPos& i = GoldenLayout().Info("token_embd.weight");
         return InspectBytes(sb, GoldenPatched32(i.type_pos, 10));
       },
       StatusCode::kUnimplemented, "has type q2_k"},
      {"GgufDuplicateTensorName",
       [](const Sandbox& sb) {
         return InspectBytes(
             sb, Rewrite(nullptr, [](const TensorView& t, GgufWriter* w) {
               if (t.name != "output_norm.weight") return false;
               CopyTensor(w, t);
               CopyTensor(w, t);
               return true;
             }));
       },
       StatusCode::kDataLoss, "duplicate tensor name 'output_norm.weight'"},
      // ---- GGUF: model configuration. ----
      {"GgufWrongArchitecture",
       [](const Sandbox& sb) {
         return InspectBytes(sb,
                             WithKv("general.architecture", [](GgufWriter* w) {
                               w->AddString("general.architecture", "llama");
                             }));
       },
       StatusCode::kUnimplemented, "unsupported GGUF architecture 'llama'"},
      {"GgufMissingArchitecture",
       [](const Sandbox& sb) {
         return InspectBytes(sb, WithKv("general.architecture", nullptr));
       },
       StatusCode::kNotFound, "'general.architecture' missing"},
      {"GgufMissingBlockCount",
       [](const Sandbox& sb) {
         return InspectBytes(sb, WithKv("gemma4.block_count", nullptr));
       },
       StatusCode::kNotFound, "'gemma4.block_count' missing"},
      {"GgufBlockCountIsString",
       [](const Sandbox& sb) {
         return InspectBytes(sb,
                             WithKv("gemma4.block_count", [](GgufWriter* w) {
                               w->AddString("gemma4.block_count", "six");
                             }));
       },
       StatusCode::kInvalidArgument,
       "'gemma4.block_count' has type string, expected an integer"},
      {"GgufBlockCountZero",
       [](const Sandbox& sb) {
         return InspectBytes(sb,
                             WithKv("gemma4.block_count", [](GgufWriter* w) {
                               w->AddUint32("gemma4.block_count", 0);
                             }));
       },
       StatusCode::kInvalidArgument, "gemma4.block_count must be in 1..1024"},
      {"GgufMissingSlidingPattern",
       [](const Sandbox& sb) {
         return InspectBytes(
             sb, WithKv("gemma4.attention.sliding_window_pattern", nullptr));
       },
       StatusCode::kNotFound, "sliding_window_pattern' missing"},
      {"GgufHeadCountKvWrongLength",
       [](const Sandbox& sb) {
         return InspectBytes(
             sb, WithKv("gemma4.attention.head_count_kv", [](GgufWriter* w) {
               w->AddInt32Array("gemma4.attention.head_count_kv",
                                {2, 2, 1, 2, 2});
             }));
       },
       StatusCode::kInvalidArgument,
       "has 5 entries, expected one per layer (6)"},
      {"GgufHeadsNotDivisibleByKvHeads",
       [](const Sandbox& sb) {
         return InspectBytes(
             sb, WithKv("gemma4.attention.head_count", [](GgufWriter* w) {
               w->AddUint32("gemma4.attention.head_count", 3);
             }));
       },
       StatusCode::kInvalidArgument,
       "num_attention_heads (3) must be a multiple of the KV head count (2)"},
      {"GgufMissingTensor",
       [](const Sandbox& sb) {
         return InspectBytes(sb, WithTensor("blk.0.attn_q.weight", nullptr));
       },
       StatusCode::kNotFound,
       "tensor 'blk.0.attn_q.weight' (Hugging Face: "
       "'layers.0.self_attn.q_proj.weight') is missing"},
      {"GgufMissingTokenEmbedding",
       [](const Sandbox& sb) {
         return InspectBytes(sb, WithTensor("token_embd.weight", nullptr));
       },
       StatusCode::kNotFound, "'token_embd.weight' missing"},
      {"GgufTensorShapeMismatch",
       [](const Sandbox& sb) {
         return InspectBytes(
             sb, WithTensor("blk.0.attn_q.weight", [](GgufWriter* w) {
               std::vector<float> zeros(128 * 64);
               AddTensorOrFail(w, "blk.0.attn_q.weight", DType::kF32, {128, 64},
                               zeros.data(), zeros.size() * 4);
             }));
       },
       StatusCode::kInvalidArgument,
       "'blk.0.attn_q.weight' has shape [128, 64], expected [128, 128]"},
      {"GgufQuantizedNormVector",
       [](const Sandbox& sb) {
         return InspectBytes(
             sb, WithTensor("output_norm.weight", [](GgufWriter* w) {
               std::string q8(4 * 34, '\0');
               AddTensorOrFail(w, "output_norm.weight", DType::kQ8_0, {128},
                               q8.data(), q8.size());
             }));
       },
       StatusCode::kUnimplemented, "1-D tensors must be f32, f16 or bf16"},
      {"GgufRopeFreqsWrongLength",
       [](const Sandbox& sb) {
         return InspectBytes(
             sb, WithTensor("rope_freqs.weight", [](GgufWriter* w) {
               std::vector<float> ones(16, 1.f);
               AddTensorOrFail(w, "rope_freqs.weight", DType::kF32, {16},
                               ones.data(), ones.size() * 4);
             }));
       },
       StatusCode::kInvalidArgument,
       "rope_freqs.weight must be F32 with head_dim/2 (32) entries"},
      // ---- Paths. ----
      {"MissingModelPath",
       [](const Sandbox& sb) { return Inspect(sb.Path("nope.gguf")); },
       StatusCode::kNotFound, "does not exist"},
      // ---- Hugging Face folders. ----
      {"HfMalformedConfigJson",
       [](const Sandbox& sb) {
         return Inspect(sb.HfConfigText("hf", "{\"text_config\": {"));
       },
       StatusCode::kInvalidArgument, "config.json is not valid JSON"},
      {"HfConfigNotObject",
       [](const Sandbox& sb) { return Inspect(sb.HfConfigText("hf", "[1]")); },
       StatusCode::kInvalidArgument, "must hold a JSON object"},
      {"HfMissingConfig",
       [](const Sandbox& sb) {
         const std::string d = sb.HfFolder("hf", nullptr);
         fs::remove(d + "/config.json");
         return Inspect(d);
       },
       StatusCode::kNotFound, "config.json not found"},
      {"HfHeadsNotDivisibleByKvHeads",
       [](const Sandbox& sb) {
         return Inspect(sb.HfFolder(
             "hf", [](json* r) { Tc(r)["num_attention_heads"] = 3; }));
       },
       StatusCode::kInvalidArgument,
       "num_attention_heads (3) must be a multiple of the KV head count (2)"},
      {"HfLayerTypesLengthMismatch",
       [](const Sandbox& sb) {
         return Inspect(
             sb.HfFolder("hf", [](json* r) { Tc(r)["layer_types"].erase(3); }));
       },
       StatusCode::kInvalidArgument,
       "layer_types has 3 entries but num_hidden_layers is 4"},
      {"HfUnknownLayerType",
       [](const Sandbox& sb) {
         return Inspect(sb.HfFolder("hf", [](json* r) {
           Tc(r)["layer_types"][1] = "chunked_attention";
         }));
       },
       StatusCode::kInvalidArgument, "unknown layer type 'chunked_attention'"},
      {"HfModelTypeLlama",
       [](const Sandbox& sb) {
         return Inspect(sb.HfFolder("hf", [](json* r) {
           (*r)["model_type"] = "llama";
           Tc(r)["model_type"] = "llama";
         }));
       },
       StatusCode::kUnimplemented, "unsupported model_type 'llama'"},
      {"HfNegativeTopK",
       [](const Sandbox& sb) {
         return Inspect(
             sb.HfFolder("hf", [](json* r) { Tc(r)["top_k_experts"] = -1; }));
       },
       StatusCode::kInvalidArgument,
       "top_k_experts must be in 1..num_experts (8), got -1"},
      {"HfMissingHiddenSize",
       [](const Sandbox& sb) {
         return Inspect(
             sb.HfFolder("hf", [](json* r) { Tc(r).erase("hidden_size"); }));
       },
       StatusCode::kInvalidArgument, "'hidden_size' is missing"},
      {"HfVocabSizeIsString",
       [](const Sandbox& sb) {
         return Inspect(
             sb.HfFolder("hf", [](json* r) { Tc(r)["vocab_size"] = "512"; }));
       },
       StatusCode::kInvalidArgument, "'vocab_size' must be an integer"},
      {"HfWrongHiddenSizeForWeights",
       [](const Sandbox& sb) {
         return Inspect(
             sb.HfFolder("hf", [](json* r) { Tc(r)["hidden_size"] = 256; }));
       },
       StatusCode::kInvalidArgument, "expected [256, 512]"},
      {"HfMissingShardInIndex",
       [](const Sandbox& sb) {
         const std::string d = sb.HfFolder("hf", nullptr, false);
         fs::create_symlink(GoldenHf() + "/model.safetensors",
                            d + "/model-00001-of-00002.safetensors");
         json index;
         index["metadata"] = json::object();
         index["weight_map"]["model.language_model.embed_tokens.weight"] =
             "model-00001-of-00002.safetensors";
         index["weight_map"]["model.language_model.norm.weight"] =
             "model-00002-of-00002.safetensors";
         std::ofstream(d + "/model.safetensors.index.json") << index.dump();
         return Inspect(d);
       },
       StatusCode::kNotFound, "model-00002-of-00002.safetensors listed in"},
      {"HfMissingShardByName",
       [](const Sandbox& sb) {
         const std::string d = sb.HfFolder("hf", nullptr, false);
         fs::create_symlink(GoldenHf() + "/model.safetensors",
                            d + "/model-00001-of-00003.safetensors");
         sb.Write("hf/model-00003-of-00003.safetensors", "");
         return Inspect(d);
       },
       StatusCode::kNotFound, "model-00002-of-00003.safetensors not found"},
      {"HfSafetensorsHeaderPastEnd",
       [](const Sandbox& sb) {
         const std::string d = sb.HfFolder("hf", nullptr, false);
         std::string st(8, '\0');
         st[0] = static_cast<char>(200);  // header length 200, 2 bytes follow
         sb.Write("hf/model.safetensors", st + "{}");
         return Inspect(d);
       },
       StatusCode::kDataLoss,
       "header length 200 exceeds the 2 bytes after the length field"},
      {"HfSafetensorsTruncated",
       [](const Sandbox& sb) {
         const std::string d = sb.HfFolder("hf", nullptr, false);
         const std::string golden =
             ReadBytes(GoldenHf() + "/model.safetensors");
         sb.Write("hf/model.safetensors", golden.substr(0, golden.size() - 1));
         return Inspect(d);
       },
       StatusCode::kDataLoss, "is past the data section"},
      {"SafetensorsUnsupportedDtype",
       [](const Sandbox& sb) {
         const std::string header =
             R"({"w":{"dtype":"I8","shape":[4],"data_offsets":[0,4]}})";
         std::string st(8, '\0');
         st[0] = static_cast<char>(header.size());
         return SafetensorsFile::Open(
                    sb.Write("x.safetensors", st + header + "abcd"))
             .status();
       },
       StatusCode::kUnimplemented, "tensor 'w': unsupported dtype I8"},
      // ---- EngineOptions / SessionOptions. ----
      {"EngineEmptyPath",
       [](const Sandbox&) { return Engine::Create(EngineOptions()).status(); },
       StatusCode::kInvalidArgument, "model_path is empty"},
      {"EngineNegativeThreads",
       [](const Sandbox&) {
         EngineOptions eo;
         eo.model_path = GoldenGguf();
         eo.num_threads = -1;
         return Engine::Create(eo).status();
       },
       StatusCode::kInvalidArgument, "num_threads must be in 0..1024, got -1"},
      {"EngineMissingModel",
       [](const Sandbox& sb) {
         EngineOptions eo;
         eo.model_path = sb.Path("missing.gguf");
         return Engine::Create(eo).status();
       },
       StatusCode::kNotFound, "missing.gguf' does not exist"},
      {"SessionContextLongerThanModel",
       [](const Sandbox&) {
         SessionOptions so;
         so.context_length = 4097;
         return NewSessionStatus(GoldenGguf(), so);
       },
       StatusCode::kInvalidArgument,
       "context_length 4097 exceeds the model's maximum 4096"},
      {"SessionNegativeContext",
       [](const Sandbox&) {
         SessionOptions so;
         so.context_length = -5;
         return NewSessionStatus(GoldenGguf(), so);
       },
       StatusCode::kInvalidArgument, "context_length must be >= 0"},
      {"SessionPrefillChunkZero",
       [](const Sandbox&) {
         SessionOptions so;
         so.prefill_chunk = 0;
         return NewSessionStatus(GoldenGguf(), so);
       },
       StatusCode::kInvalidArgument, "prefill_chunk must be in 1..8192, got 0"},
      // ---- Bad calls on a session. ----
      {"PrefillTokenIdAtVocab",
       [](const Sandbox&) {
         return WithSession(SessionOptions(), [](Session* s) {
           std::vector<float> logits;
           Status st = s->Prefill({2, 512}, &logits);
           EXPECT_EQ(s->position(), 0);  // nothing was appended
           return st;
         });
       },
       StatusCode::kInvalidArgument,
       "token id 512 is outside the vocabulary (0..511)"},
      {"DecodeNegativeTokenId",
       [](const Sandbox&) {
         return WithSession(SessionOptions(), [](Session* s) {
           std::vector<float> logits;
           return s->Decode(-1, &logits);
         });
       },
       StatusCode::kInvalidArgument, "token id -1 is outside the vocabulary"},
      {"PrefillEmptyPrompt",
       [](const Sandbox&) {
         return WithSession(SessionOptions(),
                            [](Session* s) { return s->Prefill({}, nullptr); });
       },
       StatusCode::kInvalidArgument, "no tokens"},
      {"PrefillLongerThanContext",
       [](const Sandbox&) {
         SessionOptions so;
         so.context_length = 8;
         return WithSession(so, [](Session* s) {
           return s->Prefill(std::vector<int>(9, 20), nullptr);
         });
       },
       StatusCode::kOutOfRange,
       "prompt of 9 tokens at position 0 does not fit the context length 8"},
      {"DecodePastContext",
       [](const Sandbox&) {
         SessionOptions so;
         so.context_length = 4;
         return WithSession(so, [](Session* s) {
           Status st = s->Prefill({2, 20, 30, 40}, nullptr);
           if (!st.ok()) return Status(StatusCode::kInternal, st.ToString());
           std::vector<float> logits;
           return s->Decode(50, &logits);
         });
       },
       StatusCode::kOutOfRange,
       "prompt of 1 tokens at position 4 does not fit the context length 4"},
      // ---- Known library bugs (see the report; expected = correct). ----
      // KvCache::SlotsFor computes `sliding_window + max_chunk - 1` in int:
      // a sliding window near INT32_MAX overflows, the slot count turns
      // negative and std::vector::resize throws std::length_error, which
      // nothing catches (std::terminate). A window larger than the context
      // should simply act as a full-attention window.
      {"HfHugeSlidingWindowSession",
       [](const Sandbox& sb) {
         const std::string d = sb.HfFolder(
             "hf", [](json* r) { Tc(r)["sliding_window"] = INT32_MAX; });
         SessionOptions so;
         so.context_length = 64;
         return NewSessionStatus(d, so);
       },
       StatusCode::kOk, ""},
      // KvCache::Init multiplies slots * row in int64 without an overflow
      // check, and std::vector::resize throws std::length_error (not
      // bad_alloc) for sizes above max_size(): a model whose
      // max_position_embeddings is huge lets a caller request a context that
      // aborts the process instead of returning kResourceExhausted.
      {"HfHugeContextSession",
       [](const Sandbox& sb) {
         const std::string d = sb.HfFolder("hf", [](json* r) {
           Tc(r)["max_position_embeddings"] = int64_t{1} << 62;
         });
         SessionOptions so;
         so.context_length = int64_t{1} << 56;
         return NewSessionStatus(d, so);
       },
       StatusCode::kResourceExhausted, "KV cache"},
      // Same root cause: 2^58 positions * 64 floats per row wraps the
      // int64 product to 0, the full-attention store is allocated empty,
      // NewSession succeeds and the first Prefill writes through a null
      // pointer (SIGSEGV in TextDecoder::Attention -> RmsNorm).
      {"HfContextWrapsKvCacheSize",
       [](const Sandbox& sb) {
         const std::string d = sb.HfFolder("hf", [](json* r) {
           Tc(r)["max_position_embeddings"] = int64_t{1} << 62;
         });
         EngineOptions eo;
         eo.model_path = d;
         eo.num_threads = 1;
         auto engine = Engine::Create(eo);
         if (!engine.ok()) return engine.status();
         SessionOptions so;
         so.context_length = int64_t{1} << 58;
         auto session = (*engine)->NewSession(so);
         if (!session.ok()) return session.status();
         std::vector<float> logits;
         return (*session)->Prefill({2, 20}, &logits);
       },
       StatusCode::kResourceExhausted, "KV cache"},
      // JsonInt (models/gemma4/config.cc) formats a non-integer value with
      // json::dump(), which recurses once per nesting level: a config.json
      // whose "vocab_size" is 10^6 nested arrays (2 MB) overflows the stack
      // (SIGSEGV in nlohmann serializer::dump). Parsing itself is fine.
      {"HfConfigDeeplyNestedValue",
       [](const Sandbox& sb) {
         const size_t depth = 1000000;
         return Inspect(sb.HfConfigText(
             "hf", R"({"model_type": "gemma4", "vocab_size": )" +
                       std::string(depth, '[') + std::string(depth, ']') +
                       "}"));
       },
       StatusCode::kInvalidArgument, "'vocab_size' must be an integer"},
      // Same in safetensors.cc: Brief() dumps the whole "shape" value for
      // the error message; a deeply nested shape overflows the stack.
      {"SafetensorsDeeplyNestedShape",
       [](const Sandbox& sb) {
         const size_t depth = 1000000;
         const std::string header =
             R"({"w":{"dtype":"F32","shape":)" + std::string(depth, '[') +
             std::string(depth, ']') + R"(,"data_offsets":[0,4]}})";
         std::string st(8, '\0');
         const uint64_t n = header.size();
         std::memcpy(&st[0], &n, 8);
         return SafetensorsFile::Open(
                    sb.Write("x.safetensors", st + header + "abcd"))
             .status();
       },
       StatusCode::kDataLoss, "negative, non-integer or too large dimension"},
      // ConfigFromGguf reads tokenizer.ggml.{bos,eos,padding}_token_id with
      // static_cast<int>(as_int()) and no range check: 2^32 + 2 silently
      // becomes token 2 and the model loads (misleading OK).
      {"GgufBosTokenIdBeyondInt32",
       [](const Sandbox& sb) {
         return InspectBytes(
             sb, WithKv("tokenizer.ggml.bos_token_id", [](GgufWriter* w) {
               w->AddUint64("tokenizer.ggml.bos_token_id",
                            (uint64_t{1} << 32) + 2);
             }));
       },
       StatusCode::kInvalidArgument, "bos_token_id"},
      // Same reader with a float value: as_int() casts 1e30 to int64, which
      // is undefined behaviour (x86 yields INT64_MIN, truncated to int 0),
      // and the model loads with bos = 0 (misleading OK).
      {"GgufBosTokenIdHugeFloat",
       [](const Sandbox& sb) {
         return InspectBytes(
             sb, WithKv("tokenizer.ggml.bos_token_id", [](GgufWriter* w) {
               w->AddFloat32("tokenizer.ggml.bos_token_id", 1e30f);
             }));
       },
       StatusCode::kInvalidArgument, "bos_token_id"},
      // ConfigFromGguf truncates head_count_kv entries with
      // static_cast<int>: six equal entries of 2^32 + 2 are rejected, but
      // with the misleading "differs between layers of the same attention
      // type" (they are all equal); the message should say out of range.
      {"GgufHeadCountKvBeyondInt32",
       [](const Sandbox& sb) {
         return InspectBytes(
             sb, WithKv("gemma4.attention.head_count_kv", [](GgufWriter* w) {
               GgufValue v;
               v.type = GgufType::kArray;
               v.elem_type = GgufType::kUint64;
               const double big = 4294967298.0;  // 2^32 + 2
               v.nums = {big, big, big, big, big, big};
               w->AddValue("gemma4.attention.head_count_kv", v);
             }));
       },
       StatusCode::kInvalidArgument,
       "gemma4.attention.head_count_kv is out of range"},
  };
  return cases;
}

class BadInputTest : public ::testing::TestWithParam<Case> {
 protected:
  void SetUp() override {
    static std::atomic<int> counter{0};
    dir_ = (fs::temp_directory_path() /
            ("facet_bad_input_" + std::to_string(::getpid()) + "_" +
             std::to_string(counter++)))
               .string();
    fs::create_directories(dir_);
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  std::string dir_;
};

TEST_P(BadInputTest, ReturnsExactCodeAndMessage) {
  const Case& c = GetParam();
  SCOPED_TRACE(c.name);
  const Status s = c.run(Sandbox(dir_));
  EXPECT_EQ(StatusCodeName(s.code()), std::string(StatusCodeName(c.code)))
      << s.ToString();
  EXPECT_NE(s.message().find(c.substring), std::string::npos)
      << "message '" << s.message() << "' lacks '" << c.substring << "'";
}

INSTANTIATE_TEST_SUITE_P(BadInput, BadInputTest, ::testing::ValuesIn(Cases()),
                         [](const ::testing::TestParamInfo<Case>& info) {
                           return std::string(info.param.name);
                         });

// The table must stay broad: at least 24 distinct bad inputs.
TEST(BadInputTableTest, HasEnoughCases) { EXPECT_GE(Cases().size(), 24u); }

}  // namespace
}  // namespace facet
