// facet info: what a model file holds and what it needs.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include "examples/cli/common.h"

namespace facet::cli {
namespace {

std::string Count(uint64_t n) {
  char buf[64];
  if (n >= 1000000000ull) {
    std::snprintf(buf, sizeof(buf), "%.3f B", n / 1e9);
  } else if (n >= 1000000ull) {
    std::snprintf(buf, sizeof(buf), "%.3f M", n / 1e6);
  } else {
    std::snprintf(buf, sizeof(buf), "%llu", static_cast<unsigned long long>(n));
  }
  return buf;
}

}  // namespace

int RunInfo(int argc, char** argv) {
  Args args;
  Status ps = args.Parse(argc, argv, 2, CommonFlags(), {});
  if (!ps.ok()) return Fail(ps);
  EngineOptions eo;
  SessionOptions so;
  Status s = CommonOptions(args, &eo, &so);
  if (!s.ok()) return Fail(s);
  StatusOr<ModelInfo> info_or = InspectModel(eo.model_path);
  if (!info_or.ok()) return Fail(info_or.status());
  const ModelInfo& m = *info_or;
  int64_t ctx = so.context_length > 0 ? so.context_length
                                      : std::min<int64_t>(m.max_context, 4096);
  std::printf("model:        %s (%s)\n", m.path.c_str(), m.format.c_str());
  std::printf("architecture: %s%s%s\n", m.architecture.c_str(),
              m.preset.empty() ? "" : ", shape of ",
              m.preset.empty() ? "" : m.preset.c_str());
  std::printf(
      "shape:        vocab %lld, hidden %d, %d layers, %d heads, sliding "
      "window %d, max context %lld, final softcap %g\n",
      static_cast<long long>(m.vocab_size), m.hidden_size, m.num_layers,
      m.num_heads, m.sliding_window, static_cast<long long>(m.max_context),
      m.final_logit_softcap);
  if (m.per_layer_input_dim > 0) {
    std::printf("per-layer embeddings: %d per layer\n", m.per_layer_input_dim);
  }
  if (m.num_kv_shared_layers > 0) {
    std::printf("KV sharing:   the last %d layers reuse earlier K/V\n",
                m.num_kv_shared_layers);
  }
  if (m.num_experts > 0) {
    std::printf(
        "MoE:          %d experts, top-%d, expert FFN %d, on every "
        "layer beside the dense MLP\n",
        m.num_experts, m.top_k_experts, m.expert_ffn_dim);
  }
  std::printf("\nlayer  attention  head_dim  kv_heads  kv_from  ffn    rope\n");
  for (size_t l = 0; l < m.layers.size(); ++l) {
    const LayerInfo& li = m.layers[l];
    char kv[32];
    if (li.kv_source == static_cast<int>(l)) {
      std::snprintf(kv, sizeof(kv), "own%s", li.k_eq_v ? " K=V" : "");
    } else {
      std::snprintf(kv, sizeof(kv), "layer %d", li.kv_source);
    }
    std::printf("%5zu  %-9s  %8d  %8d  %-7s  %-5d  theta %g, %d/%d pairs\n", l,
                li.sliding ? "sliding" : "full", li.head_dim, li.num_kv_heads,
                kv, li.ffn_dim, li.rope_theta, li.rope_pairs, li.head_dim / 2);
  }
  std::printf("\nparameters:   %s\n", Count(m.parameter_count).c_str());
  std::printf("weight types:");
  for (const auto& [type, n] : m.tensor_types) {
    std::printf(" %s x%d", type.c_str(), n);
  }
  std::printf(
      "\nmemory:       weights %s (mapped), KV cache %s for %lld "
      "positions (f32)\n",
      Bytes(m.weight_bytes).c_str(),
      Bytes(m.KvCacheBytes(ctx, so.prefill_chunk)).c_str(),
      static_cast<long long>(ctx));
  return 0;
}

}  // namespace facet::cli
