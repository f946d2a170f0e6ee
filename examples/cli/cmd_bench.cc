// facet bench: prefill and decode speed, time to first token, peak memory,
// bytes read per decoded token and the fraction of the machine's measured
// read bandwidth that decode reaches. Mean and spread over repetitions.
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <cstdio>
#include <map>
#include <mutex>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "examples/cli/common.h"
#include "facet/tools.h"

namespace facet::cli {
namespace {

struct MeanSd {
  double mean = 0, sd = 0;
};

MeanSd Summarize(const std::vector<double>& v) {
  MeanSd r;
  for (double x : v) r.mean += x;
  r.mean /= v.size();
  for (double x : v) r.sd += (x - r.mean) * (x - r.mean);
  r.sd = v.size() > 1 ? std::sqrt(r.sd / (v.size() - 1)) : 0;
  return r;
}

uint64_t PeakRss() {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return static_cast<uint64_t>(ru.ru_maxrss) * 1024;  // Linux: KiB
}

// Bytes of one K or V element in a KV cache of `type`.
double KvElementBytes(const std::string& type) {
  if (type == "f16") return 2;
  if (type == "q8_0") return 34.0 / 32;
  return 4;
}

// K/V bytes attention reads per decoded token at position `pos`.
uint64_t KvBytesPerToken(const ModelInfo& m, int64_t pos,
                         const SessionOptions& so) {
  const double per =
      KvElementBytes(so.cache_type_k) + KvElementBytes(so.cache_type_v);
  double b = 0;
  for (const LayerInfo& li : m.layers) {
    const int64_t keys =
        li.sliding ? std::min<int64_t>(pos, m.sliding_window) : pos;
    b += per * keys * li.num_kv_heads * li.head_dim;
  }
  return static_cast<uint64_t>(b);
}

double Median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

double Since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t)
      .count();
}

// --verify K,...: the time of one forward pass over K tokens with the
// logits of each (a speculative verify step) against one decode step, at
// the same depth; medians over the steps of all repetitions.
int VerifyBench(const Engine& engine, SessionOptions so, long long pp,
                long long tg, long long reps, const std::vector<int>& ks) {
  const ModelInfo& m = engine.info();
  int kmax = 1;
  for (int k : ks) kmax = std::max(kmax, k);
  const long long steps = std::max(4ll, tg / 4);
  so.context_length =
      pp + steps * (1 + static_cast<long long>(ks.size()) * kmax) + 1;
  so.prefill_chunk = std::max(so.prefill_chunk, kmax);
  std::mt19937 rng(42);
  std::uniform_int_distribution<int> tok(10,
                                         static_cast<int>(m.vocab_size) - 1);
  std::vector<double> decode;
  std::vector<std::vector<double>> verify(ks.size());
  for (long long r = 0; r < reps; ++r) {
    auto session = engine.NewSession(so);
    if (!session.ok()) return Fail(session.status());
    std::vector<int> prompt(pp);
    prompt[0] = 2;
    for (long long i = 1; i < pp; ++i) prompt[i] = tok(rng);
    std::vector<float> logits;
    Status s = (*session)->Prefill(prompt, &logits);
    if (!s.ok()) return Fail(s);
    // Interleaved, so that load changes hit both alike.
    for (long long i = 0; i < steps; ++i) {
      auto t = std::chrono::steady_clock::now();
      s = (*session)->Decode(tok(rng), &logits);
      if (!s.ok()) return Fail(s);
      decode.push_back(Since(t));
      for (size_t j = 0; j < ks.size(); ++j) {
        std::vector<int> batch(ks[j]);
        for (int& b : batch) b = tok(rng);
        t = std::chrono::steady_clock::now();
        s = (*session)->Prefill(batch, &logits, true);
        if (!s.ok()) return Fail(s);
        verify[j].push_back(Since(t));
      }
    }
  }
  const double d = Median(decode);
  std::printf("model %s, %d threads, depth %lld, %zu steps each\n",
              m.path.c_str(), engine.num_threads(), pp, decode.size());
  std::printf("decode step           %8.2f ms\n", 1e3 * d);
  for (size_t j = 0; j < ks.size(); ++j) {
    const double v = Median(verify[j]);
    std::printf("verify step, %2d tokens %8.2f ms  = %.2fx a decode step\n",
                ks[j], 1e3 * v, v / d);
  }
  return 0;
}

// --spec lookup|reject: the same greedy answer decoded plainly and with
// speculation (prompt lookup, or a drafter whose guesses are always
// wrong), tok/s of each, acceptance, and whether the tokens are identical.
int SpecBench(const Engine& engine, SessionOptions so, const Args& args,
              long long pp, long long tg, long long reps) {
  const ModelInfo& m = engine.info();
  const std::string mode = args.Get("--spec");
  SpeculativeOptions spec;
  if (mode == "lookup") {
    spec.mode = SpeculativeMode::kPromptLookup;
  } else if (mode == "draft") {
    if (!args.Has("-md") && !args.Has("--model-draft")) {
      return Fail(Status(StatusCode::kInvalidArgument,
                         "--spec draft needs -md <drafter folder>"));
    }
    spec.mode = SpeculativeMode::kDraft;
  } else if (mode == "reject") {
    spec.mode = SpeculativeMode::kCustom;
    // A token a greedy answer does not pick: the vocabulary's last.
    const int never = static_cast<int>(m.vocab_size) - 1;
    spec.drafter = [never](const std::vector<int>&, int max) {
      return std::vector<int>(max, never);
    };
  } else {
    return Fail(Status(StatusCode::kInvalidArgument,
                       "--spec expects lookup, draft or reject"));
  }
  long long v = spec.max_draft;
  Status s = args.GetInt("--draft-max", 1, 32, &v);
  if (!s.ok()) return Fail(s);
  spec.max_draft = static_cast<int>(v);
  spec.adaptive = !args.Has("--no-adaptive");
  std::string prompt;
  if (args.Has("-f")) {
    StatusOr<std::string> t = ReadTextFile(args.Get("-f"), 64 << 20);
    if (!t.ok()) return Fail(t.status());
    prompt = *t;
  } else {
    std::mt19937 rng(42);
    std::uniform_int_distribution<int> tok(10,
                                           static_cast<int>(m.vocab_size) - 1);
    std::vector<int> ids(pp);
    for (int& id : ids) id = tok(rng);
    prompt = engine.Detokenize(ids);
  }
  so.context_length = 0;
  std::vector<double> plain_tps, spec_tps;
  int64_t steps = 0, drafted = 0, accepted = 0;
  bool identical = true;
  for (long long r = 0; r < reps; ++r) {
    std::vector<int> tokens[2];
    // Alternating which goes first, so that a load change does not favour
    // one.
    for (int i = 0; i < 2; ++i) {
      const int with = (i + static_cast<int>(r)) % 2;
      auto session = engine.NewSession(so);
      if (!session.ok()) return Fail(session.status());
      s = (*session)->AddMessage(Role::kUser, prompt);
      if (!s.ok()) return Fail(s);
      GenerateOptions g;
      g.max_tokens = static_cast<int>(tg);
      g.ignore_eos = true;
      g.sampling.temperature = 0;
      if (with) g.speculative = spec;
      StatusOr<Response> resp = (*session)->Generate(g);
      if (!resp.ok()) return Fail(resp.status());
      const Stats st = (*session)->stats();
      (with ? spec_tps : plain_tps).push_back(st.decode_tokens_per_s);
      if (with) {
        steps += st.speculative_steps;
        drafted += st.drafted_tokens;
        accepted += st.accepted_tokens;
      }
      tokens[with] = (*session)->tokens();
    }
    identical = identical && tokens[0] == tokens[1];
  }
  const double p = Median(plain_tps), q = Median(spec_tps);
  std::printf("model %s, %d threads, %lld repetitions, %lld tokens each\n",
              m.path.c_str(), engine.num_threads(), reps, tg);
  std::printf("plain decode        %8.2f tok/s (median)\n", p);
  std::printf("speculative (%s%s) %8.2f tok/s (median) = %.3fx\n", mode.c_str(),
              spec.adaptive ? "" : ", fixed", q, q / p);
  std::printf(
      "verify steps %lld, drafted %lld, accepted %lld: acceptance %.1f%%, "
      "mean accepted length %.2f\n",
      static_cast<long long>(steps), static_cast<long long>(drafted),
      static_cast<long long>(accepted),
      drafted ? 100.0 * accepted / drafted : 0.0,
      steps ? static_cast<double>(accepted) / steps : 0.0);
  std::printf("tokens identical to plain decoding: %s\n",
              identical ? "yes" : "NO");
  return identical ? 0 : 1;
}

// --parallel N,...: N sessions generate at once (greedy, one thread each,
// a prompt of pp random tokens apiece) and their decode steps meet in
// shared forward passes; aggregate decode tok/s from when all have
// prefilled to when the last is done, against one session in the same run.
// Session 0's answer must be the same at every N.
int ParallelBench(const Engine& engine, SessionOptions so, long long pp,
                  long long tg, long long reps, const std::vector<int>& ns) {
  const ModelInfo& m = engine.info();
  // Random ids come back as text that may tokenize longer: the context
  // is the model's default (4096) unless -c names one.
  std::mt19937 rng(42);
  std::uniform_int_distribution<int> tok(10,
                                         static_cast<int>(m.vocab_size) - 1);
  int nmax = 1;
  for (int n : ns) nmax = std::max(nmax, n);
  std::vector<std::string> prompts(nmax);
  for (std::string& p : prompts) {
    std::vector<int> ids(pp);
    for (int& id : ids) id = tok(rng);
    p = engine.Detokenize(ids);
  }
  std::vector<std::vector<double>> tps(ns.size());
  std::vector<double> mean_batch(ns.size());
  std::vector<int> first_answer;
  bool identical = true;
  int64_t prompt_tokens = 0;
  for (long long r = 0; r < reps; ++r) {
    for (size_t j = 0; j < ns.size(); ++j) {
      const int n = ns[j];
      std::mutex mu;
      std::condition_variable cv;
      int ready = 0;
      std::chrono::steady_clock::time_point start;
      std::vector<std::chrono::steady_clock::time_point> end(n);
      std::vector<Status> status(n);
      std::vector<std::vector<int>> answers(n);
      std::vector<Stats> stats(n);
      std::vector<std::thread> threads;
      for (int i = 0; i < n; ++i) {
        threads.emplace_back([&, i] {
          auto session = engine.NewSession(so);
          if (!session.ok()) {
            status[i] = session.status();
          } else {
            status[i] = (*session)->AddMessage(Role::kUser, prompts[i]);
          }
          GenerateOptions g;
          g.max_tokens = static_cast<int>(tg);
          g.ignore_eos = true;
          g.sampling.temperature = 0;
          // All sessions start decoding together: the clock starts when
          // the last prefill is done.
          auto meet = [&] {
            std::unique_lock<std::mutex> lock(mu);
            if (++ready == n) {
              start = std::chrono::steady_clock::now();
              cv.notify_all();
            }
            cv.wait(lock, [&] { return ready == n; });
          };
          if (!status[i].ok()) {
            meet();
            return;
          }
          g.on_prefill_progress = [&](int64_t done, int64_t total) {
            if (done == total) meet();
          };
          StatusOr<Response> resp = (*session)->Generate(g);
          end[i] = std::chrono::steady_clock::now();
          if (!resp.ok()) {
            status[i] = resp.status();
            return;
          }
          const std::vector<int>& all = (*session)->tokens();
          answers[i].assign(all.end() - std::min<size_t>(all.size(), tg),
                            all.end());
          stats[i] = (*session)->stats();
        });
      }
      for (std::thread& t : threads) t.join();
      for (const Status& st : status) {
        if (!st.ok()) return Fail(st);
      }
      const auto last = *std::max_element(end.begin(), end.end());
      const double secs = std::chrono::duration<double>(last - start).count();
      tps[j].push_back(static_cast<double>(n) * tg / secs);
      int64_t steps = 0, rows = 0;
      for (const Stats& st : stats) {
        steps += st.generated_tokens;
        rows += st.batched_rows > 0 ? st.batched_rows : 0;
      }
      // Mean sessions per pass, over every session's steps.
      int64_t solo = 0;
      for (const Stats& st : stats)
        solo += st.generated_tokens - st.batched_steps;
      mean_batch[j] = steps ? static_cast<double>(rows + solo) / steps : 1;
      prompt_tokens = stats[0].prompt_tokens;
      if (so.profile) {
        // Each pass's time is in the first session it ran (prefills too).
        std::map<std::string, double> ops;
        double total = 0;
        for (const Stats& st : stats) {
          for (const auto& [k, v] : st.op_seconds) {
            ops[k] += v;
            total += v;
          }
        }
        std::printf("profile, %d sessions (prefill + decode):\n", n);
        for (const auto& [k, v] : ops) {
          std::printf("  %-38s %8.3f s  %5.1f%%\n", k.c_str(), v,
                      100 * v / total);
        }
      }
      if (first_answer.empty()) first_answer = answers[0];
      identical = identical && answers[0] == first_answer;
    }
  }
  std::printf(
      "model %s, %d threads, %lld repetitions, prompts of %lld random ids "
      "(%lld tokens as a chat turn), %lld tokens each\n",
      m.path.c_str(), engine.num_threads(), reps, pp,
      static_cast<long long>(prompt_tokens), tg);
  std::printf(
      "sessions  aggregate decode tok/s (median)  per session  "
      "vs 1 session  sessions per pass\n");
  double base = 0;  // one session's rate, when measured
  for (size_t j = 0; j < ns.size(); ++j) {
    if (ns[j] == 1) base = Median(tps[j]);
  }
  for (size_t j = 0; j < ns.size(); ++j) {
    const double t = Median(tps[j]);
    std::printf("%8d  %33.2f  %11.2f  %11.2fx  %17.2f\n", ns[j], t, t / ns[j],
                base > 0 ? t / base : 0.0, mean_batch[j]);
  }
  std::printf("session 0's tokens identical at every count: %s\n",
              identical ? "yes" : "NO");
  return identical ? 0 : 1;
}

}  // namespace

int RunBench(int argc, char** argv) {
  Args args;
  std::set<std::string> flags = CommonFlags();
  flags.insert({"-p", "-n", "-r", "-d"});
  flags.insert({"--verify", "--spec", "--draft-max", "-f", "-md",
                "--model-draft", "--parallel"});
  Status s =
      args.Parse(argc, argv, 2, flags,
                 {"--json", "--profile", "--no-repack", "--no-adaptive"});
  if (!s.ok()) return Fail(s);
  EngineOptions eo;
  SessionOptions so;
  if (!(s = CommonOptions(args, &eo, &so)).ok()) return Fail(s);
  long long pp = 512, tg = 128, reps = 3, depth = 0;
  if (!(s = args.GetInt("-p", 1, 1 << 20, &pp)).ok()) return Fail(s);
  if (!(s = args.GetInt("-n", 0, 1 << 20, &tg)).ok()) return Fail(s);
  if (!(s = args.GetInt("-r", 1, 1000, &reps)).ok()) return Fail(s);
  // As llama-bench's -d: prefill and decode after `depth` positions of
  // context (prefilled first, not timed).
  if (!(s = args.GetInt("-d", 0, 1 << 24, &depth)).ok()) return Fail(s);
  const bool json = args.Has("--json");
  so.profile = args.Has("--profile");
  eo.repack_weights = !args.Has("--no-repack");
  if (!args.Has("--chunk"))
    so.prefill_chunk = static_cast<int>(std::min(pp, 512ll));

  auto t_load = std::chrono::steady_clock::now();
  StatusOr<std::shared_ptr<Engine>> engine =
      json ? Engine::Create(eo) : LoadEngine(eo);
  if (!engine.ok()) return Fail(engine.status());
  const double load_s =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t_load)
          .count();
  const ModelInfo& m = (*engine)->info();
  if (args.Has("--verify")) {
    std::vector<int> ks;
    std::stringstream list(args.Get("--verify"));
    for (std::string k; std::getline(list, k, ',');) {
      const int n = std::atoi(k.c_str());
      if (n < 1 || n > 64) {
        return Fail(Status(StatusCode::kInvalidArgument,
                           "--verify expects token counts 1..64, e.g. 4,8"));
      }
      ks.push_back(n);
    }
    return VerifyBench(**engine, so, pp, tg, reps, ks);
  }
  if (args.Has("--spec")) return SpecBench(**engine, so, args, pp, tg, reps);
  if (args.Has("--parallel")) {
    std::vector<int> ns;
    std::stringstream list(args.Get("--parallel"));
    for (std::string k; std::getline(list, k, ',');) {
      const int n = std::atoi(k.c_str());
      if (n < 1 || n > 64) {
        return Fail(Status(StatusCode::kInvalidArgument,
                           "--parallel expects session counts 1..64, e.g. "
                           "1,2,4,8"));
      }
      ns.push_back(n);
    }
    if (tg < 1) {
      return Fail(Status(StatusCode::kInvalidArgument,
                         "--parallel needs -n of at least 1"));
    }
    return ParallelBench(**engine, so, pp, tg, reps, ns);
  }
  so.context_length = depth + pp + tg + 1;

  std::vector<double> prefill, decode, ttft;
  std::map<std::string, double> profile;
  std::mt19937 rng(42);
  std::uniform_int_distribution<int> tok(10,
                                         static_cast<int>(m.vocab_size) - 1);
  for (long long r = 0; r < reps; ++r) {
    auto session = (*engine)->NewSession(so);
    if (!session.ok()) return Fail(session.status());
    std::vector<int> prompt(pp);
    prompt[0] = 2;
    for (long long i = 1; i < pp; ++i) prompt[i] = tok(rng);
    std::vector<float> logits;
    if (depth > 0) {
      std::vector<int> ctx(depth);
      ctx[0] = 2;
      for (long long i = 1; i < depth; ++i) ctx[i] = tok(rng);
      s = (*session)->Prefill(ctx, nullptr);
      if (!s.ok()) return Fail(s);
      prompt[0] = tok(rng);
    }
    auto t0 = std::chrono::steady_clock::now();
    s = (*session)->Prefill(prompt, &logits);
    if (!s.ok()) return Fail(s);
    auto t1 = std::chrono::steady_clock::now();
    const double ps = std::chrono::duration<double>(t1 - t0).count();
    prefill.push_back(pp / ps);
    ttft.push_back(ps);
    if (tg > 0) {
      auto t2 = std::chrono::steady_clock::now();
      for (long long i = 0; i < tg; ++i) {
        const int next = static_cast<int>(
            std::max_element(logits.begin(), logits.end()) - logits.begin());
        s = (*session)->Decode(next, &logits);
        if (!s.ok()) return Fail(s);
      }
      const double ds =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - t2)
              .count();
      decode.push_back(tg / ds);
    }
    if (so.profile) {
      for (const auto& [k, v] : (*session)->stats().op_seconds) profile[k] += v;
    }
  }
  const uint64_t rss = PeakRss();  // before the probe's own buffer
  const int threads = (*engine)->num_threads();
  const double bandwidth = MeasureReadBandwidth(threads);
  const MeanSd p = Summarize(prefill), t = Summarize(ttft);
  const MeanSd d = decode.empty() ? MeanSd() : Summarize(decode);
  const uint64_t bytes =
      m.decode_weight_bytes + KvBytesPerToken(m, depth + pp + tg / 2, so);
  const uint64_t kv_bytes = m.KvCacheBytes(so.context_length, so.prefill_chunk,
                                           so.cache_type_k, so.cache_type_v);
  const double fraction = d.mean * bytes / bandwidth;
  if (json) {
    std::printf(
        "{\"model\": \"%s\", \"threads\": %d, \"prompt_tokens\": %lld, "
        "\"decode_tokens\": %lld, \"depth\": %lld, \"cache_type_k\": "
        "\"%s\", \"cache_type_v\": \"%s\", \"kv_cache_bytes\": %llu, "
        "\"repetitions\": %lld, \"load_s\": %.4f, "
        "\"prefill_tok_s\": %.3f, \"prefill_tok_s_sd\": %.3f, "
        "\"decode_tok_s\": %.3f, \"decode_tok_s_sd\": %.3f, "
        "\"ttft_s\": %.5f, \"ttft_s_sd\": %.5f, \"peak_rss_bytes\": %llu, "
        "\"weight_bytes\": %llu, \"bytes_per_token\": %llu, "
        "\"bandwidth_bytes_s\": %.0f, \"bandwidth_fraction\": %.4f}\n",
        m.path.c_str(), threads, pp, tg, depth, so.cache_type_k.c_str(),
        so.cache_type_v.c_str(), static_cast<unsigned long long>(kv_bytes),
        reps, load_s, p.mean, p.sd, d.mean, d.sd, t.mean, t.sd,
        static_cast<unsigned long long>(rss),
        static_cast<unsigned long long>(m.weight_bytes),
        static_cast<unsigned long long>(bytes), bandwidth, fraction);
  } else {
    std::printf("model %s, %d threads, %lld repetitions, load %.2f s\n",
                m.path.c_str(), threads, reps, load_s);
    std::printf("prefill  pp%-5lld %9.2f ± %.2f tok/s   (TTFT %.3f ± %.3f s)\n",
                pp, p.mean, p.sd, t.mean, t.sd);
    if (tg > 0) {
      std::printf("decode   tg%-5lld %9.2f ± %.2f tok/s\n", tg, d.mean, d.sd);
    }
    if (depth > 0) std::printf("(after %lld positions of context)\n", depth);
    std::printf("peak RSS %s (weights %s, KV cache %s as K %s, V %s)\n",
                Bytes(rss).c_str(), Bytes(m.weight_bytes).c_str(),
                Bytes(kv_bytes).c_str(), so.cache_type_k.c_str(),
                so.cache_type_v.c_str());
    std::printf(
        "decode reads %s per token; at %.1f GB/s measured bandwidth "
        "that is %.0f%% of the roofline\n",
        Bytes(bytes).c_str(), bandwidth / 1e9, 100 * fraction);
    if (!profile.empty()) {
      double total = 0;
      for (const auto& [k, v] : profile) total += v;
      std::printf("\nprofile (all repetitions, prefill + decode):\n");
      std::vector<std::pair<double, std::string>> rows;
      for (const auto& [k, v] : profile) rows.push_back({v, k});
      std::sort(rows.rbegin(), rows.rend());
      for (const auto& [v, k] : rows) {
        std::printf("  %-38s %8.3f s  %5.1f%%\n", k.c_str(), v,
                    100 * v / total);
      }
    }
  }
  return 0;
}

int RunRandom(int argc, char** argv) {
  Args args;
  Status s =
      args.Parse(argc, argv, 2, {"--arch", "--type", "-o", "--seed"}, {});
  if (!s.ok()) return Fail(s);
  if (!args.Has("-o")) {
    return Fail(Status(StatusCode::kInvalidArgument,
                       "usage: facet random --arch e2b|e4b|26b-a4b|31b "
                       "--type q4_0|q8_0|q4_k_m|... -o <file.gguf>"));
  }
  RandomModelOptions o;
  o.arch = args.Get("--arch", "e2b");
  o.type = args.Get("--type", "q4_0");
  long long seed = 1;
  if (!(s = args.GetInt("--seed", 0, 1ll << 40, &seed)).ok()) return Fail(s);
  o.seed = static_cast<uint64_t>(seed);
  ProgressBar bar("writing");
  o.progress = [&](int done, int total) {
    bar.Update(static_cast<float>(done) / total);
  };
  s = WriteRandomModel(args.Get("-o"), o);
  bar.Done();
  if (!s.ok()) return Fail(s);
  std::fprintf(stderr, "wrote %s (%s, %s)\n", args.Get("-o").c_str(),
               o.arch.c_str(), o.type.c_str());
  return 0;
}

}  // namespace facet::cli
