// Bad-input cases for GGUF files: truncation, header, metadata values,
// tensor infos and model configuration (run by bad_input_test.cc).
#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "facet/facet.h"
#include "facet/status.h"
#include "tests/bad_input_util.h"

namespace facet::bad_input_testing {

std::vector<Case> GgufCases() {
  return {
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
  };
}

}  // namespace facet::bad_input_testing
