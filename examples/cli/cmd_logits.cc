// facet logits: raw logits of a token prompt and of teacher-forced decode
// steps. External checks use this interface; keep it stable.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include "examples/cli/common.h"

namespace facet::cli {
namespace {

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

}  // namespace

int RunLogits(int argc, char** argv) {
  Args args;
  std::set<std::string> flags = CommonFlags();
  flags.insert(
      {"--tokens", "--out", "--decode", "--decode-out", "--decode-tokens"});
  Status ps = args.Parse(argc, argv, 2, flags, {});
  if (!ps.ok()) return Fail(ps);
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
  eo.prefetch = false;  // tiny reads; keep external checks fast
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
    std::fprintf(
        stderr, "decode: %lld steps, %.2f ms/token\n", n_decode - 1,
        1e3 * std::chrono::duration<double>(t3 - t2).count() / (n_decode - 1));
  }
  return 0;
}

}  // namespace facet::cli
