// facet: on-device inference for Google's Gemma 4 models.
//
// An Engine holds a loaded model (immutable, shareable between threads);
// a Session holds one conversation's state (KV cache, position) and is used
// by one thread at a time. Every fallible call returns Status / StatusOr.
#ifndef FACET_FACET_H_
#define FACET_FACET_H_

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "facet/status.h"

namespace facet {

struct EngineOptions {
  // A .gguf file or a Hugging Face folder (config.json + *.safetensors).
  std::string model_path;
  // Worker threads for compute; 0 = one per available core.
  int num_threads = 0;
};

struct SessionOptions {
  // Most positions (prompt + generated tokens) the session can hold;
  // 0 = min(model maximum, 4096). The KV cache is sized from this alone.
  int64_t context_length = 0;
  // Most tokens evaluated per forward pass during prefill.
  int prefill_chunk = 256;
};

// One decoder layer as `facet info` prints it.
struct LayerInfo {
  bool sliding = false;  // sliding-window (local) or full (global) attention
  int head_dim = 0;
  int num_kv_heads = 0;
  int kv_source = 0;  // layer whose K/V this layer reads (itself if owner)
  int ffn_dim = 0;
  bool k_eq_v = false;
  int rope_pairs = 0;
  float rope_theta = 0;
};

struct ModelInfo {
  std::string path;
  std::string format;        // "gguf" or "hf"
  std::string architecture;  // "gemma4"
  std::string preset;        // "e2b", "e4b", "26b-a4b", "31b", "12b" or ""
  int64_t vocab_size = 0;
  int hidden_size = 0;
  int num_layers = 0;
  int num_heads = 0;
  int sliding_window = 0;
  int per_layer_input_dim = 0;
  int num_kv_shared_layers = 0;
  int num_experts = 0;
  int top_k_experts = 0;
  int expert_ffn_dim = 0;
  int64_t max_context = 0;
  float final_logit_softcap = 0;
  std::vector<LayerInfo> layers;
  uint64_t parameter_count = 0;  // elements of all tensors in the file
  uint64_t weight_bytes = 0;     // bytes of all tensors in the file
  std::map<std::string, int> tensor_types;  // "q4_0" -> tensor count
  // KV cache bytes for a session of `context_length` positions.
  uint64_t KvCacheBytes(int64_t context_length, int prefill_chunk = 256) const;
};

// Reads a model's metadata and checks it without preparing it for compute.
StatusOr<ModelInfo> InspectModel(const std::string& model_path);

class Session;

class Engine {
 public:
  static StatusOr<std::shared_ptr<Engine>> Create(const EngineOptions& options);
  ~Engine();
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  const ModelInfo& info() const;
  int num_threads() const;
  // A new conversation on this engine. Thread-safe.
  StatusOr<std::unique_ptr<Session>> NewSession(
      const SessionOptions& options = SessionOptions()) const;

  struct Impl;

 private:
  explicit Engine(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

class Session {
 public:
  ~Session();
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  // Appends `tokens` at the current position (chunked by prefill_chunk).
  // When `logits` is non-null it receives [n][vocab] floats for every token
  // if `all_logits`, else the [vocab] logits after the last token.
  Status Prefill(const std::vector<int>& tokens, std::vector<float>* logits,
                 bool all_logits = false);
  // Appends one token; `logits` receives the next-token logits [vocab].
  Status Decode(int token, std::vector<float>* logits);
  // Forgets the conversation (position back to 0); keeps the memory.
  void Reset();

  int64_t position() const;
  int64_t context_length() const;

  struct Impl;

 private:
  friend class Engine;
  explicit Session(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace facet

#endif  // FACET_FACET_H_
