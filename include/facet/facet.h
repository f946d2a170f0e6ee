// facet: on-device inference for Google's Gemma 4 models.
//
// An Engine holds a loaded model (immutable, shareable between threads);
// a Session holds one conversation's state (KV cache, position) and is used
// by one thread at a time. Every fallible call returns Status / StatusOr.
#ifndef FACET_FACET_H_
#define FACET_FACET_H_

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "facet/status.h"

namespace facet {

struct EngineOptions {
  // A .gguf file or a Hugging Face folder (config.json + *.safetensors).
  std::string model_path;
  // Worker threads for compute; 0 = one per available core. More than
  // the cores is capped at the cores (num_threads() tells what is used).
  int num_threads = 0;
  // Read the weights into memory while loading (so the first answer does
  // not stall on disk reads), reporting the fraction done.
  bool prefetch = true;
  // Rewrite the q4_0 / q8_0 / q4_K matrices at load into the layout this
  // CPU's kernels read fastest (prefill 1.5-2x faster on AVX2) in memory
  // of about their size, whose file pages are then released. Off: compute
  // reads the file's layout, and loading touches no weights (for programs
  // that only tokenize or inspect).
  bool repack_weights = true;
  std::function<void(float fraction)> on_load_progress;
  // The vision / audio encoders: a Hugging Face folder with a
  // vision_config or audio_config (a full Gemma 4 checkpoint or the towers
  // alone) or a llama.cpp mmproj GGUF. Empty: the model's own folder when
  // it holds them (a GGUF model file has none: name its mmproj here).
  std::string mmproj_path;
  // A drafter for SpeculativeMode::kDraft: the Hugging Face folder of the
  // model's Gemma 4 MTP "assistant" checkpoint (e.g.
  // gemma-4-E2B-it-assistant). Empty: none. Engine::Create fails when it
  // was not made for the model.
  std::string draft_model_path;
  // Memory for the shared prefix cache: the KV entries of the system turn
  // (system prompt and tool declarations) that sessions prefilled, reused
  // by later sessions that start with the same tokens instead of being
  // prefilled again (least recently used out first). 0 = off.
  uint64_t prefix_cache_bytes = uint64_t{256} << 20;
  // Sessions that generate at the same time (threads of a server or an
  // app) advance together: their decode steps meet in one forward pass
  // that reads the weights once for all of them, each with its own KV
  // cache and sampler and the tokens it would get alone. Off: each
  // session runs its own passes.
  bool batch_decode = true;
};

struct SessionOptions {
  // Most positions (prompt + generated tokens) the session can hold;
  // 0 = min(model maximum, 4096). The KV cache is sized from this alone.
  int64_t context_length = 0;
  // Most tokens evaluated per forward pass during prefill.
  int prefill_chunk = 256;
  // Element types of the KV cache's keys and values, as llama.cpp's
  // --cache-type-k / --cache-type-v: "f32" (exact), "f16" (half the
  // memory) or "q8_0" (about 0.27x; needs head dims that are multiples
  // of 32). Accuracy against f32: docs/performance.md (KV cache types).
  std::string cache_type_k = "f32";
  std::string cache_type_v = "f32";
  // Chat: an optional system prompt, thinking mode, and tool declarations
  // (a JSON array of {"name", "description", "parameters": JSON schema}).
  std::string system_prompt;
  bool enable_thinking = false;
  std::string tools_json;
  // Tool calls follow the declared tools' parameter schemas (constrained
  // decoding: every call parses and matches its schema); a schema keyword
  // that cannot be enforced is refused by NewSession. false: calls are
  // sampled freely and schemas are not checked.
  bool constrain_tool_calls = true;
  // The default GenerateOptions::tool_choice of this session.
  std::string tool_choice = "auto";
  // Time every op category (Stats::op_seconds); costs a clock read per op.
  bool profile = false;
  // A file of prompt KV entries, as llama.cpp's --prompt-cache: the first
  // prompt this session prefills reuses the file's entries when it starts
  // with the file's tokens, and the file is then rewritten with the new
  // prompt's. Empty = none.
  std::string prompt_cache_path;
};

// How the next token is chosen. Engine::DefaultSampling() returns the
// model's generation config (Gemma 4: temperature 1.0, top-k 64, top-p 0.95).
struct SamplerOptions {
  float temperature = 1.0f;         // 0 = greedy
  int top_k = 64;                   // 0 = off
  float top_p = 0.95f;              // 1 = off
  float min_p = 0.0f;               // 0 = off
  float repetition_penalty = 1.0f;  // 1 = off
  float presence_penalty = 0.0f;
  float frequency_penalty = 0.0f;
  int penalty_last_n = 64;  // tokens the penalties look back over
  uint64_t seed = 0;        // same seed, same prompt -> same output
};

// Speculative decoding: tokens are guessed ahead and checked by the model
// several at a time, in one forward pass that reads the weights once for
// all of them. The answer is the same as without it: token for token with
// greedy sampling, and drawn from the same distribution when sampling.
enum class SpeculativeMode {
  kOff,
  // Prompt lookup: guesses that the answer goes on as it did after the
  // last earlier occurrence of its latest few tokens in the conversation
  // (quoting, code edits, summaries, retrieved documents).
  kPromptLookup,
  // The app's own drafter (SpeculativeOptions::drafter).
  kCustom,
  // The model's MTP drafter (EngineOptions::draft_model_path): a small
  // model that reads the target's KV cache and hidden state.
  kDraft,
};

struct SpeculativeOptions {
  SpeculativeMode mode = SpeculativeMode::kOff;
  int max_draft = 8;  // most tokens guessed per step, 1..32
  // The draft length follows the measured acceptance and step times, and
  // drafting pauses while it does not pay, so that speculation is not
  // slower than plain decoding. false: every step checks all the tokens
  // the drafter offers (measurements and tests).
  bool adaptive = true;
  // kCustom: given the token ids so far (the conversation, then the
  // answer) and a most, returns the tokens expected next (any number up
  // to that; none = decode plainly).
  std::function<std::vector<int>(const std::vector<int>& tokens, int max)>
      drafter;
};

struct GenerateOptions {
  int max_tokens = 1024;  // most tokens generated for this answer
  SamplerOptions sampling;
  // Off while the answer is constrained (declared tools with
  // SessionOptions::constrain_tool_calls, json_schema).
  SpeculativeOptions speculative;
  // Generation also stops (before the string) when the answer text
  // contains one of these.
  std::vector<std::string> stop_strings;
  // Never end the turn on <eos>/<turn|> (benchmarks and tests); the answer
  // runs to max_tokens, a stop string or the context limit.
  bool ignore_eos = false;
  // With tools declared: "auto" (the model may call tools or answer),
  // "required" (it must call one), "none" (it must not call any), or a
  // tool's name (it must call that tool). Empty: the session's.
  std::string tool_choice;
  // Structured output: a JSON schema the whole answer must match (as
  // OpenAI's response_format); "{\"type\": \"object\"}" for any JSON
  // object. Supported keywords: README.md (Tools). Empty: off.
  std::string json_schema;
  // Called after each prefill chunk with (tokens done, tokens total).
  std::function<void(int64_t done, int64_t total)> on_prefill_progress;
};

enum class Role { kSystem, kUser, kModel, kTool };

// One piece of a message's content: text, an image or audio. Media come
// from a file path, from the encoded file in memory (JPEG, PNG, WAV, ...),
// or as raw pixels / samples. Build them with the factories below.
struct Part {
  enum class Kind { kText, kImage, kAudio, kVideo };
  Kind kind = Kind::kText;
  std::string text;  // kText
  std::string path;  // kImage, kAudio: a file to read
  std::string data;  // kImage, kAudio: the encoded file's bytes
  // kImage: raw RGB pixels, [height][width][3] bytes.
  std::vector<uint8_t> rgb;
  int width = 0;
  int height = 0;
  // kAudio: raw mono samples in [-1, 1] at `sample_rate` Hz.
  std::vector<float> samples;
  int sample_rate = 0;
  // kImage: soft tokens the image may take: 70, 140, 280, 560 or 1120
  // (more tokens, more detail, slower); 0 = 280 (70 for video frames).
  int image_budget = 0;
  // kAudio: the encoder takes 30 s at a time. Longer audio is encoded in
  // 30 s chunks inside one audio span (true) or refused (false).
  bool split_long_audio = true;
  // kVideo: the sampled frames (image parts) and the time of each in
  // seconds from the start; each frame is labelled "MM:SS".
  std::vector<Part> frames;
  std::vector<double> frame_seconds;

  static Part Text(std::string text);
  static Part ImageFile(std::string path);
  static Part ImageData(std::string encoded);
  static Part ImagePixels(std::vector<uint8_t> rgb, int width, int height);
  static Part AudioFile(std::string path);
  static Part AudioData(std::string encoded);
  static Part AudioSamples(std::vector<float> samples, int sample_rate);
  // Frames sampled from a video (e.g. 1 per second, at most 32) with their
  // times; facet does not decode video files.
  static Part Video(std::vector<Part> frames, std::vector<double> seconds);
};

struct ToolCall {
  std::string name;
  std::string arguments_json;  // a JSON object
};

// One streamed piece of the model's answer.
struct StreamEvent {
  enum class Kind { kText, kThinking, kToolCall };
  Kind kind = Kind::kText;
  std::string text;    // kText, kThinking
  ToolCall tool_call;  // kToolCall
};
// Return false to stop generating.
using StreamCallback = std::function<bool(const StreamEvent&)>;

enum class StopReason {
  kEndOfTurn,   // <turn|> or <eos>
  kStopString,  // one of GenerateOptions::stop_strings
  kMaxTokens,
  kCancelled,  // callback returned false or Cancel() was called
  kContextFull,
};

struct Response {
  std::string text;      // the visible answer
  std::string thinking;  // the thought channel, when thinking is on
  std::vector<ToolCall> tool_calls;
  StopReason stop_reason = StopReason::kEndOfTurn;
};

struct Stats {
  int64_t prompt_tokens = 0;     // tokens prefilled by the last Generate
  int64_t generated_tokens = 0;  // tokens sampled by the last Generate
  double time_to_first_token_s = 0;
  double prefill_tokens_per_s = 0;
  double decode_tokens_per_s = 0;
  int64_t position = 0;  // tokens in the KV cache
  // Of prompt_tokens, how many were taken from the prefix cache or the
  // prompt cache file instead of being computed.
  int64_t cached_prompt_tokens = 0;
  // Speculative decoding in the last Generate: verify passes, tokens
  // guessed, and those of them the model accepted (acceptance rate =
  // accepted / drafted; mean accepted length = accepted / steps).
  int64_t speculative_steps = 0;
  int64_t drafted_tokens = 0;
  int64_t accepted_tokens = 0;
  // Forward passes of the answer that also advanced other sessions
  // (EngineOptions::batch_decode), and how many sessions they advanced
  // together, this one included (mean batch = batched_rows / batched_steps).
  int64_t batched_steps = 0;
  int64_t batched_rows = 0;
  // With SessionOptions::profile: seconds per op category since the
  // session started.
  std::map<std::string, double> op_seconds;
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
  // Weight bytes streamed per decoded token: every matrix once (the tied
  // embedding as LM head), one row of the per-layer embedding table, and
  // top-k of the experts; dead weights of KV-shared layers not at all.
  uint64_t decode_weight_bytes = 0;
  std::map<std::string, int> tensor_types;  // "q4_0" -> tensor count
  // KV cache bytes for a session of `context_length` positions, with K and
  // V kept as SessionOptions::cache_type_k / cache_type_v say.
  uint64_t KvCacheBytes(int64_t context_length, int prefill_chunk = 256,
                        const std::string& cache_type_k = "f32",
                        const std::string& cache_type_v = "f32") const;
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
  // Whether images (and video frames) / audio can enter a conversation:
  // the model came with those encoders (EngineOptions::mmproj_path).
  bool has_vision() const;
  bool has_audio() const;
  // The model's sampling defaults (generation_config.json or GGUF
  // general.sampling.*; Gemma 4's 1.0 / 64 / 0.95 otherwise).
  SamplerOptions DefaultSampling() const;

  // Text <-> token ids. With `parse_special`, special-token text such as
  // "<|turn>" becomes that token; otherwise it is ordinary text.
  StatusOr<std::vector<int>> Tokenize(const std::string& text,
                                      bool parse_special = false,
                                      bool add_bos = false) const;
  std::string Detokenize(const std::vector<int>& ids,
                         bool render_special = false) const;
  // A new conversation on this engine. Thread-safe. The session shares
  // ownership of the engine's model, so it stays valid after the last
  // shared_ptr<Engine> is gone.
  StatusOr<std::unique_ptr<Session>> NewSession(
      const SessionOptions& options = SessionOptions()) const;
  // A session continuing the conversation Session::Save wrote to `path`.
  // Its context length is the saved one unless `options` asks for more;
  // the chat state (thinking, tools) comes from the file. kNotFound (no
  // file), kFailedPrecondition (saved from another model: the message
  // says which), kDataLoss (corrupt or truncated file).
  StatusOr<std::unique_ptr<Session>> RestoreSession(
      const std::string& path,
      const SessionOptions& options = SessionOptions()) const;

  struct Impl;

 private:
  explicit Engine(std::unique_ptr<Impl> impl);
  std::shared_ptr<const Impl> impl_;
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
  // Chat: queue a turn (system, user, or a model turn written by the app).
  Status AddMessage(Role role, const std::string& content);
  // The same with content parts, in order. Images, video frames and audio
  // go in user turns, on an engine with that encoder (has_vision(),
  // has_audio(); else kFailedPrecondition naming the model). They are
  // decoded and encoded here; a malformed part or an undecodable file is
  // kInvalidArgument / kDataLoss naming the part, and queues nothing.
  Status AddMessage(Role role, const std::vector<Part>& parts);
  // Chat: queue a model turn that called tools (an earlier answer replayed
  // from an app's or a client's history): its text, tool calls (JSON
  // object arguments) and thought text, rendered as the model wrote them.
  Status AddModelToolCalls(const std::string& text,
                           const std::vector<ToolCall>& calls,
                           const std::string& thinking = "");
  // Chat: queue the result of a tool call, as a JSON value.
  Status AddToolResponse(const std::string& tool_name,
                         const std::string& response_json);
  // Renders the queued turns in the Gemma 4 chat format, appends them to
  // the KV cache (history is never re-read), and generates the model's
  // turn, streaming pieces to `on_event` if given. When it fails (e.g. the
  // turns do not fit the context: kOutOfRange), the queued turns are
  // dropped and the conversation is as it was before they were queued, so
  // the app can queue a shorter message.
  StatusOr<Response> Generate(const GenerateOptions& options,
                              const StreamCallback& on_event = nullptr);
  // Stops a running Generate from another thread (it returns kCancelled).
  void Cancel();
  // Timings of the last Generate.
  Stats stats() const;

  // Forgets the conversation (position back to 0); keeps the memory.
  void Reset();
  // Writes the conversation (KV cache, token history, chat state) to
  // `path`, with a header naming the model (a fingerprint of its weights'
  // metadata) and the format version. Engine::RestoreSession reads it.
  // kFailedPrecondition with turns queued but not yet generated from.
  Status Save(const std::string& path) const;

  int64_t position() const;
  int64_t context_length() const;
  // The token ids in the KV cache, in order (the rendered conversation).
  const std::vector<int>& tokens() const;

  struct Impl;

 private:
  friend class Engine;
  StatusOr<Response> GenerateTurn(const GenerateOptions& options,
                                  const StreamCallback& on_event);
  Status PrefillWithProgress(
      const std::vector<int>& tokens, std::vector<float>* logits,
      bool all_logits, const std::function<void(int64_t, int64_t)>& progress);
  explicit Session(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace facet

#endif  // FACET_FACET_H_
