#include "examples/cli/common.h"

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <thread>

namespace facet::cli {

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

std::set<std::string> CommonFlags() {
  return {"-m",
          "-t",
          "-c",
          "--chunk",
          "-ctk",
          "-ctv",
          "--cache-type-k",
          "--cache-type-v",
          "--mmproj"};
}

Status CommonOptions(const Args& args, EngineOptions* eo, SessionOptions* so) {
  eo->model_path = args.Get("-m");
  eo->mmproj_path = args.Get("--mmproj");
  // -md / --model-draft: the MTP drafter (commands that take it list it).
  eo->draft_model_path = args.Get("-md", args.Get("--model-draft"));
  if (eo->model_path.empty()) {
    return Status(StatusCode::kInvalidArgument, "-m <model> is required");
  }
  long long v = 0;
  Status s = args.GetInt("-t", 0, 1024, &v);
  if (!s.ok()) return s;
  eo->num_threads = static_cast<int>(v);
  const long long cores = std::max(1u, std::thread::hardware_concurrency());
  if (v > cores) {
    std::fprintf(stderr,
                 "facet: warning: -t %lld is more than the %lld cores here; "
                 "using %lld\n",
                 v, cores, cores);
  }
  v = 0;
  s = args.GetInt("-c", 0, 1ll << 30, &v);
  if (!s.ok()) return s;
  so->context_length = v;
  v = so->prefill_chunk;
  s = args.GetInt("--chunk", 1, 8192, &v);
  if (!s.ok()) return s;
  so->prefill_chunk = static_cast<int>(v);
  // KV cache types, as llama.cpp spells them (checked by NewSession).
  so->cache_type_k = args.Get("-ctk", args.Get("--cache-type-k", "f32"));
  so->cache_type_v = args.Get("-ctv", args.Get("--cache-type-v", "f32"));
  return Status();
}

ProgressBar::ProgressBar(std::string label)
    : label_(std::move(label)), tty_(isatty(2) != 0) {}

ProgressBar::~ProgressBar() { Done(); }

void ProgressBar::Update(float fraction) {
  if (!tty_) return;
  const int pct = static_cast<int>(fraction * 100 + 0.5f);
  if (pct == last_) return;
  last_ = pct;
  const int width = 30, fill = pct * width / 100;
  std::fprintf(stderr, "\r%s [%.*s%*s] %3d%%", label_.c_str(), fill,
               "##############################", width - fill, "", pct);
  std::fflush(stderr);
  open_ = true;
}

void ProgressBar::Done() {
  if (open_) std::fprintf(stderr, "\r\033[K");
  open_ = false;
}

StatusOr<std::shared_ptr<Engine>> LoadEngine(const EngineOptions& eo) {
  ProgressBar bar("loading");
  EngineOptions o = eo;
  o.on_load_progress = [&](float f) { bar.Update(f); };
  auto engine = Engine::Create(o);
  bar.Done();
  return engine;
}

}  // namespace facet::cli
