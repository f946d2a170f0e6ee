// The facet command-line tool. Uses only the public API (facet/facet.h).
//
//   facet info   -m <model> [-c <context>]
//   facet logits -m <model> --tokens 2,17,... --out prompt.f32
//                [--decode N --decode-out decode.f32 [--decode-tokens a,b]]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "examples/cli/args.h"
#include "facet/facet.h"

namespace facet::cli {
namespace {

constexpr char kUsage[] =
    "usage: facet <command> [options]\n"
    "\n"
    "commands:\n"
    "  info    -m <model> [-c <context>]\n"
    "          architecture, per-layer plan, parameters, weight types and\n"
    "          memory for weights and a KV cache of <context> positions\n"
    "  logits  -m <model> --tokens <ids> --out <file.f32> [--decode N\n"
    "          --decode-out <file.f32> [--decode-tokens <ids>]]\n"
    "          raw float32 logits [n_tokens][n_vocab] for every prompt\n"
    "          position, then N single-token decode steps\n"
    "\n"
    "common options:\n"
    "  -m <path>   a .gguf file or a Hugging Face folder\n"
    "  -t <n>      threads (default: all cores)\n"
    "  -c <n>      context length (default: min(model max, 4096))\n"
    "  --chunk <n> prefill chunk size (default 256)\n";

int Fail(const Status& s) {
  std::fprintf(stderr, "facet: %s\n", s.ToString().c_str());
  return 1;
}

std::string Bytes(uint64_t b) {
  char buf[64];
  if (b >= (1ull << 30)) {
    std::snprintf(buf, sizeof(buf), "%.2f GiB", b / 1073741824.0);
  } else if (b >= (1ull << 20)) {
    std::snprintf(buf, sizeof(buf), "%.2f MiB", b / 1048576.0);
  } else {
    std::snprintf(buf, sizeof(buf), "%.1f KiB", b / 1024.0);
  }
  return buf;
}

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

Status CommonOptions(const Args& args, EngineOptions* eo, SessionOptions* so) {
  eo->model_path = args.Get("-m");
  if (eo->model_path.empty()) {
    return Status(StatusCode::kInvalidArgument, "-m <model> is required");
  }
  long long v = 0;
  Status s = args.GetInt("-t", 0, 1024, &v);
  if (!s.ok()) return s;
  eo->num_threads = static_cast<int>(v);
  v = 0;
  s = args.GetInt("-c", 0, 1ll << 30, &v);
  if (!s.ok()) return s;
  so->context_length = v;
  v = so->prefill_chunk;
  s = args.GetInt("--chunk", 1, 8192, &v);
  if (!s.ok()) return s;
  so->prefill_chunk = static_cast<int>(v);
  return Status();
}

int RunInfo(const Args& args) {
  EngineOptions eo;
  SessionOptions so;
  Status s = CommonOptions(args, &eo, &so);
  if (!s.ok()) return Fail(s);
  StatusOr<ModelInfo> info_or = InspectModel(eo.model_path);
  if (!info_or.ok()) return Fail(info_or.status());
  const ModelInfo& m = *info_or;
  int64_t ctx = so.context_length > 0
                    ? so.context_length
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
    std::printf("MoE:          %d experts, top-%d, expert FFN %d, on every "
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
  std::printf("\nmemory:       weights %s (mapped), KV cache %s for %lld "
              "positions (f32)\n",
              Bytes(m.weight_bytes).c_str(),
              Bytes(m.KvCacheBytes(ctx, so.prefill_chunk)).c_str(),
              static_cast<long long>(ctx));
  return 0;
}

Status WriteF32(const std::string& path, const std::vector<float>& v) {
  FILE* f = std::fopen(path.c_str(), "wb");
  if (f == nullptr) {
    return Status(StatusCode::kInvalidArgument, "cannot create '" + path + "'");
  }
  size_t n = std::fwrite(v.data(), sizeof(float), v.size(), f);
  if (std::fclose(f) != 0 || n != v.size()) {
    return Status(StatusCode::kInternal, "short write to '" + path + "'");
  }
  return Status();
}

int RunLogits(const Args& args) {
  EngineOptions eo;
  SessionOptions so;
  Status s = CommonOptions(args, &eo, &so);
  if (!s.ok()) return Fail(s);
  std::vector<int> tokens, forced;
  if (!args.Has("--tokens") || !args.Has("--out")) {
    return Fail(Status(StatusCode::kInvalidArgument,
                       "logits needs --tokens <ids> and --out <file>"));
  }
  s = ParseIntList(args.Get("--tokens"), &tokens);
  if (!s.ok()) return Fail(s);
  long long n_decode = 0;
  s = args.GetInt("--decode", 0, 1 << 20, &n_decode);
  if (!s.ok()) return Fail(s);
  if (n_decode > 0 && !args.Has("--decode-out")) {
    return Fail(Status(StatusCode::kInvalidArgument,
                       "--decode needs --decode-out <file>"));
  }
  if (args.Has("--decode-tokens")) {
    s = ParseIntList(args.Get("--decode-tokens"), &forced);
    if (!s.ok()) return Fail(s);
    if (static_cast<long long>(forced.size()) < n_decode - 1) {
      return Fail(Status(StatusCode::kInvalidArgument,
                         "--decode-tokens has fewer than N-1 tokens"));
    }
  }
  StatusOr<std::shared_ptr<Engine>> engine = Engine::Create(eo);
  if (!engine.ok()) return Fail(engine.status());
  if (so.context_length == 0) {
    so.context_length = std::min<int64_t>(
        (*engine)->info().max_context,
        std::max<int64_t>(4096, tokens.size() + n_decode + 1));
  }
  StatusOr<std::unique_ptr<Session>> session = (*engine)->NewSession(so);
  if (!session.ok()) return Fail(session.status());
  const int64_t V = (*engine)->info().vocab_size;
  std::vector<float> logits;
  auto t0 = std::chrono::steady_clock::now();
  s = (*session)->Prefill(tokens, &logits, /*all_logits=*/true);
  if (!s.ok()) return Fail(s);
  auto t1 = std::chrono::steady_clock::now();
  s = WriteF32(args.Get("--out"), logits);
  if (!s.ok()) return Fail(s);
  std::fprintf(stderr, "prefill: %zu tokens in %.3f s\n", tokens.size(),
               std::chrono::duration<double>(t1 - t0).count());
  if (n_decode == 0) return 0;
  // Row 0 is the last prompt row; row k follows decoded token k-1.
  std::vector<float> rows(logits.end() - V, logits.end());
  std::vector<float> step(V);
  std::vector<int> decoded;
  auto t2 = std::chrono::steady_clock::now();
  for (long long k = 0; k < n_decode; ++k) {
    const float* last = rows.data() + k * V;
    int next = 0;
    for (int64_t i = 1; i < V; ++i) {
      if (last[i] > last[next]) next = static_cast<int>(i);
    }
    decoded.push_back(next);
    if (k + 1 == n_decode) break;
    int feed = forced.empty() ? next : forced[k];
    s = (*session)->Decode(feed, &step);
    if (!s.ok()) return Fail(s);
    rows.insert(rows.end(), step.begin(), step.end());
  }
  auto t3 = std::chrono::steady_clock::now();
  s = WriteF32(args.Get("--decode-out"), rows);
  if (!s.ok()) return Fail(s);
  std::string out;
  for (int t : decoded) out += (out.empty() ? "" : ",") + std::to_string(t);
  std::printf("%s\n", out.c_str());
  if (n_decode > 1) {
    std::fprintf(stderr, "decode: %lld steps, %.2f ms/token\n", n_decode - 1,
                 1e3 * std::chrono::duration<double>(t3 - t2).count() /
                     (n_decode - 1));
  }
  return 0;
}

}  // namespace
}  // namespace facet::cli

int main(int argc, char** argv) {
  using facet::cli::Args;
  if (argc < 2 || !std::strcmp(argv[1], "-h") ||
      !std::strcmp(argv[1], "--help")) {
    std::fputs(facet::cli::kUsage, argc < 2 ? stderr : stdout);
    return argc < 2 ? 2 : 0;
  }
  const std::string cmd = argv[1];
  Args args;
  facet::Status s;
  if (cmd == "info") {
    s = args.Parse(argc, argv, 2, {"-m", "-c", "-t", "--chunk"}, {});
    if (!s.ok()) return facet::cli::Fail(s);
    return facet::cli::RunInfo(args);
  }
  if (cmd == "logits") {
    s = args.Parse(argc, argv, 2,
                   {"-m", "-c", "-t", "--chunk", "--tokens", "--out",
                    "--decode", "--decode-out", "--decode-tokens"},
                   {});
    if (!s.ok()) return facet::cli::Fail(s);
    return facet::cli::RunLogits(args);
  }
  std::fprintf(stderr, "facet: unknown command '%s'\n\n%s", cmd.c_str(),
               facet::cli::kUsage);
  return 2;
}
