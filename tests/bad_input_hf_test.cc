// Bad-input cases for model paths and Hugging Face folders (run by
// bad_input_test.cc).
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

#include "facet/facet.h"
#include "facet/status.h"
#include "src/io/safetensors.h"
#include "tests/bad_input_util.h"

namespace facet::bad_input_testing {
namespace {

// The golden safetensors with tensor `name` retyped as `dtype` (its data
// moved to a zero-filled block at the end, sized for the new type).
std::string RetypedSafetensors(const std::string& name,
                               const std::string& dtype, int elem_bytes) {
  const std::string st = ReadBytes(GoldenHf() + "/model.safetensors");
  uint64_t n = 0;
  for (int i = 7; i >= 0; --i) n = n << 8 | static_cast<uint8_t>(st[i]);
  json header = json::parse(st.substr(8, n));
  std::string data = st.substr(8 + n);
  json& t = header[name];
  int64_t elems = 1;
  for (const auto& d : t["shape"]) elems *= d.get<int64_t>();
  t["dtype"] = dtype;
  t["data_offsets"] = {data.size(), data.size() + elems * elem_bytes};
  data.append(static_cast<size_t>(elems * elem_bytes), '\0');
  const std::string h = header.dump();
  std::string out(8, '\0');
  for (int i = 0; i < 8; ++i) out[i] = static_cast<char>(h.size() >> (8 * i));
  return out + h + data;
}

}  // namespace

std::vector<Case> PathAndHfCases() {
  return {
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
      // Index types load (the MTP drafter's token_ordering is I64) but are
      // never bound as weights: the kernels cannot compute with them.
      {"HfIntegerWeightMatrix",
       [](const Sandbox& sb) {
         const std::string d = sb.HfFolder("hf", nullptr, false);
         sb.Write("hf/model.safetensors",
                  RetypedSafetensors(
                      "model.language_model.layers.0.self_attn.q_proj.weight",
                      "I32", 4));
         return Inspect(d);
       },
       StatusCode::kUnimplemented,
       "'blk.0.attn_q.weight' has type i32, which facet cannot compute with"},
      {"HfIntegerNormVector",
       [](const Sandbox& sb) {
         const std::string d = sb.HfFolder("hf", nullptr, false);
         sb.Write(
             "hf/model.safetensors",
             RetypedSafetensors("model.language_model.norm.weight", "I64", 8));
         return Inspect(d);
       },
       StatusCode::kUnimplemented,
       "'output_norm.weight' has type i64, which facet cannot compute with"},
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
  };
}

}  // namespace facet::bad_input_testing
