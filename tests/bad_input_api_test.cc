// Bad-input cases for EngineOptions / SessionOptions, bad calls on a
// session, and known library bugs (run by bad_input_test.cc).
#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "facet/facet.h"
#include "facet/status.h"
#include "src/io/safetensors.h"
#include "tests/bad_input_util.h"

namespace facet::bad_input_testing {

std::vector<Case> ApiCases() {
  return {
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
}

}  // namespace facet::bad_input_testing
