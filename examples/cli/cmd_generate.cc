// facet run (one prompt, streamed) and facet chat (interactive REPL).
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include "examples/cli/common.h"
#include "facet/tools.h"

namespace facet::cli {
namespace {

std::atomic<Session*> g_active{nullptr};
std::atomic<bool> g_interrupted{false};

// Ctrl-C stops the answer being generated; at the prompt it quits.
void OnSigint(int) {
  Session* s = g_active.load();
  if (s != nullptr) {
    s->Cancel();
  } else {
    g_interrupted.store(true);
  }
}

Status ParseFloat(const Args& args, const std::string& flag, float* out) {
  if (!args.Has(flag)) return Status();
  const std::string v = args.Get(flag);
  char* end = nullptr;
  float f = std::strtof(v.c_str(), &end);
  if (v.empty() || *end != '\0') {
    return Status(StatusCode::kInvalidArgument,
                  "option " + flag + " expects a number, got '" + v + "'");
  }
  *out = f;
  return Status();
}

Status SamplingFlags(const Args& args, SamplerOptions* o) {
  Status s;
  if (!(s = ParseFloat(args, "--temp", &o->temperature)).ok()) return s;
  if (!(s = ParseFloat(args, "--top-p", &o->top_p)).ok()) return s;
  if (!(s = ParseFloat(args, "--min-p", &o->min_p)).ok()) return s;
  if (!(s = ParseFloat(args, "--repeat-penalty", &o->repetition_penalty)).ok())
    return s;
  if (!(s = ParseFloat(args, "--presence-penalty", &o->presence_penalty)).ok())
    return s;
  if (!(s = ParseFloat(args, "--frequency-penalty", &o->frequency_penalty))
           .ok())
    return s;
  long long v = o->top_k;
  if (!(s = args.GetInt("--top-k", 0, 1 << 30, &v)).ok()) return s;
  o->top_k = static_cast<int>(v);
  v = static_cast<long long>(o->seed);
  if (!(s = args.GetInt("--seed", 0, (1ll << 62), &v)).ok()) return s;
  o->seed = static_cast<uint64_t>(v);
  return Status();
}

// --spec lookup|draft, --draft-max N.
Status SpeculativeFlags(const Args& args, SpeculativeOptions* o) {
  const std::string mode = args.Get("--spec", "off");
  if (mode == "lookup") {
    o->mode = SpeculativeMode::kPromptLookup;
  } else if (mode == "draft" ||
             (mode == "off" &&
              (args.Has("-md") || args.Has("--model-draft")))) {
    // The drafter itself is loaded with the engine (CommonOptions).
    if (!args.Has("-md") && !args.Has("--model-draft")) {
      return Status(StatusCode::kInvalidArgument,
                    "--spec draft needs -md <drafter folder> (the model's "
                    "Gemma 4 MTP assistant checkpoint)");
    }
    o->mode = SpeculativeMode::kDraft;
  } else if (mode != "off") {
    return Status(StatusCode::kInvalidArgument,
                  "--spec expects lookup, draft or off, got '" + mode + "'");
  }
  long long v = o->max_draft;
  Status s = args.GetInt("--draft-max", 1, 32, &v);
  o->max_draft = static_cast<int>(v);
  return s;
}

const char* StopName(StopReason r) {
  switch (r) {
    case StopReason::kEndOfTurn:
      return "end of turn";
    case StopReason::kStopString:
      return "stop string";
    case StopReason::kMaxTokens:
      return "token limit";
    case StopReason::kCancelled:
      return "stopped";
    case StopReason::kContextFull:
      return "context full";
  }
  return "?";
}

// Streams one answer; returns its status.
Status Answer(Session* session, const GenerateOptions& base, bool show_stats) {
  GenerateOptions o = base;
  ProgressBar bar("prompt");
  o.on_prefill_progress = [&](int64_t done, int64_t total) {
    if (total >= 256) bar.Update(static_cast<float>(done) / total);
  };
  bool in_thought = false;
  auto on_event = [&](const StreamEvent& ev) {
    bar.Done();
    if (ev.kind == StreamEvent::Kind::kThinking) {
      if (!in_thought) std::fputs("[thinking] ", stdout);
      in_thought = true;
      std::fputs(ev.text.c_str(), stdout);
    } else if (ev.kind == StreamEvent::Kind::kText) {
      if (in_thought) std::fputs("\n[answer] ", stdout);
      in_thought = false;
      std::fputs(ev.text.c_str(), stdout);
    } else {
      std::printf("\n[tool call] %s %s\n", ev.tool_call.name.c_str(),
                  ev.tool_call.arguments_json.c_str());
    }
    std::fflush(stdout);
    return true;
  };
  g_active.store(session);
  StatusOr<Response> r = session->Generate(o, on_event);
  g_active.store(nullptr);
  bar.Done();
  std::fputs("\n", stdout);
  if (!r.ok()) return r.status();
  if (show_stats) {
    Stats st = session->stats();
    std::string cached;
    if (st.cached_prompt_tokens > 0) {
      cached = " (" + std::to_string(st.cached_prompt_tokens) + " cached)";
    }
    std::string spec;
    if (st.speculative_steps > 0) {
      char buf[160];
      std::snprintf(
          buf, sizeof(buf),
          " (%lld of %lld drafted accepted, %.0f%%, %.2f per step)",
          static_cast<long long>(st.accepted_tokens),
          static_cast<long long>(st.drafted_tokens),
          100.0 * st.accepted_tokens / st.drafted_tokens,
          static_cast<double>(st.accepted_tokens) / st.speculative_steps);
      spec = buf;
    }
    std::fprintf(stderr,
                 "[%lld prompt tokens%s, %.1f tok/s prefill, first token %.2f "
                 "s; %lld tokens, %.1f tok/s decode%s; %s]\n",
                 static_cast<long long>(st.prompt_tokens), cached.c_str(),
                 st.prefill_tokens_per_s, st.time_to_first_token_s,
                 static_cast<long long>(st.generated_tokens),
                 st.decode_tokens_per_s, spec.c_str(),
                 StopName(r->stop_reason));
  }
  return Status();
}

// "/image path [budget]" and "/audio path" in chat; --image / --audio in
// run. A budget may follow the path after a colon on the command line
// (--image a.jpg:560).
Part ImagePart(const std::string& spec) {
  const size_t colon = spec.rfind(':');
  int budget = 0;
  std::string path = spec;
  if (colon != std::string::npos && colon + 1 < spec.size() &&
      spec.find_first_not_of("0123456789", colon + 1) == std::string::npos &&
      spec.size() - colon <= 6) {
    budget = std::atoi(spec.c_str() + colon + 1);
    path = spec.substr(0, colon);
  }
  Part p = Part::ImageFile(path);
  p.image_budget = budget;
  return p;
}

}  // namespace

int RunGenerate(int argc, char** argv, bool interactive) {
  Args args;
  std::set<std::string> flags = CommonFlags();
  flags.insert({"-p", "-f", "-n", "--system", "--temp", "--top-k", "--top-p",
                "--min-p", "--seed", "--repeat-penalty", "--presence-penalty",
                "--frequency-penalty", "--tools", "--max-input-mb", "--image",
                "--audio", "--image-budget", "--prompt-cache"});
  flags.insert({"--tool-choice", "--json-schema"});
  flags.insert({"--spec", "--draft-max", "-md", "--model-draft"});
  Status s = args.Parse(argc, argv, 2, flags,
                        {"--think", "--no-stats", "--ignore-eos", "--json"});
  if (!s.ok()) return Fail(s);
  EngineOptions eo;
  SessionOptions so;
  if (!(s = CommonOptions(args, &eo, &so)).ok()) return Fail(s);
  long long max_mb = 64;
  if (!(s = args.GetInt("--max-input-mb", 1, 1 << 20, &max_mb)).ok()) {
    return Fail(s);
  }
  const int64_t max_bytes = static_cast<int64_t>(max_mb) << 20;
  std::string prompt = args.Get("-p");
  if (args.Has("-f")) {
    StatusOr<std::string> t = ReadTextFile(args.Get("-f"), max_bytes);
    if (!t.ok()) return Fail(t.status());
    prompt = *t;
  }
  if (!interactive && prompt.empty()) {
    return Fail(Status(StatusCode::kInvalidArgument,
                       "run needs a prompt: -p <text> or -f <file>"));
  }
  long long n = 512;
  if (!(s = args.GetInt("-n", 1, 1 << 24, &n)).ok()) return Fail(s);
  so.system_prompt = args.Get("--system");
  so.enable_thinking = args.Has("--think");
  so.prompt_cache_path = args.Get("--prompt-cache");
  if (args.Has("--tools")) {
    StatusOr<std::string> t = ReadTextFile(args.Get("--tools"), max_bytes);
    if (!t.ok()) return Fail(t.status());
    so.tools_json = *t;
  }
  if (args.Has("--tool-choice")) so.tool_choice = args.Get("--tool-choice");
  StatusOr<std::shared_ptr<Engine>> engine = LoadEngine(eo);
  if (!engine.ok()) return Fail(engine.status());
  GenerateOptions go;
  go.max_tokens = static_cast<int>(n);
  go.ignore_eos = args.Has("--ignore-eos");
  if (args.Has("--json-schema")) {
    StatusOr<std::string> t =
        ReadTextFile(args.Get("--json-schema"), max_bytes);
    if (!t.ok()) return Fail(t.status());
    go.json_schema = *t;
  } else if (args.Has("--json")) {
    go.json_schema = R"({"type": "object"})";
  }
  go.sampling = (*engine)->DefaultSampling();
  if (!(s = SamplingFlags(args, &go.sampling)).ok()) return Fail(s);
  if (!(s = SpeculativeFlags(args, &go.speculative)).ok()) return Fail(s);
  StatusOr<std::unique_ptr<Session>> session = (*engine)->NewSession(so);
  if (!session.ok()) return Fail(session.status());
  const bool stats = !args.Has("--no-stats");
  struct sigaction sa = {};
  sa.sa_handler = OnSigint;
  sigaction(SIGINT, &sa, nullptr);

  long long budget = 0;
  if (!(s = args.GetInt("--image-budget", 0, 1120, &budget)).ok()) {
    return Fail(s);
  }
  // Media of the first message, in the order given: images then audio,
  // then the prompt text (Gemma 4 reads media before the question).
  std::vector<Part> media;
  for (const std::string& spec : args.GetAll("--image")) {
    media.push_back(ImagePart(spec));
    if (media.back().image_budget == 0) {
      media.back().image_budget = static_cast<int>(budget);
    }
  }
  for (const std::string& path : args.GetAll("--audio")) {
    media.push_back(Part::AudioFile(path));
  }
  auto first_message = [&](const std::string& text) {
    std::vector<Part> parts = media;
    parts.push_back(Part::Text(text));
    media.clear();
    return parts;
  };
  if (!interactive) {
    if (!(s = (*session)->AddMessage(Role::kUser, first_message(prompt)))
             .ok()) {
      return Fail(s);
    }
    s = Answer(session->get(), go, stats);
    return s.ok() ? 0 : Fail(s);
  }
  if (isatty(0)) {
    std::fprintf(stderr,
                 "facet chat: type a message; /reset starts over, /exit "
                 "quits, Ctrl-C stops an answer.\n"
                 "  /image PATH [budget], /audio PATH: attach media to the "
                 "next message\n"
                 "  /save PATH, /load PATH: keep a conversation in a file\n");
  }
  std::string line = prompt;
  bool have = !prompt.empty();
  while (true) {
    if (!have) {
      std::fputs("> ", stdout);
      std::fflush(stdout);
      if (!std::getline(std::cin, line) || g_interrupted.load()) break;
    }
    have = false;
    if (line == "/exit" || line == "/quit") break;
    if (line == "/reset") {
      (*session)->Reset();
      std::fputs("(conversation cleared)\n", stdout);
      continue;
    }
    if (line.rfind("/save ", 0) == 0 || line.rfind("/load ", 0) == 0) {
      const std::string path = line.substr(6);
      if (line[1] == 's') {
        s = (*session)->Save(path);
        if (s.ok()) std::printf("(saved to %s)\n", path.c_str());
      } else {
        StatusOr<std::unique_ptr<Session>> r =
            (*engine)->RestoreSession(path, so);
        s = r.status();
        if (r.ok()) {
          *session = std::move(r).value();
          std::printf("(restored %lld positions from %s)\n",
                      static_cast<long long>((*session)->position()),
                      path.c_str());
        }
      }
      if (!s.ok()) std::fprintf(stderr, "facet: %s\n", s.ToString().c_str());
      continue;
    }
    if (line.rfind("/image ", 0) == 0 || line.rfind("/audio ", 0) == 0) {
      const bool image = line[1] == 'i';
      std::istringstream words(line.substr(7));
      std::string path, extra;
      words >> path >> extra;
      if (path.empty()) {
        std::fputs("(usage: /image PATH [budget] or /audio PATH)\n", stdout);
        continue;
      }
      Part p = image ? Part::ImageFile(path) : Part::AudioFile(path);
      if (image && !extra.empty()) p.image_budget = std::atoi(extra.c_str());
      media.push_back(std::move(p));
      std::printf("(%s attached to the next message)\n",
                  image ? "image" : "audio");
      continue;
    }
    if (line.empty()) continue;
    if (!(s = (*session)->AddMessage(Role::kUser, first_message(line))).ok()) {
      // A bad file or option: say so and keep the conversation.
      std::fprintf(stderr, "facet: %s\n", s.ToString().c_str());
      continue;
    }
    s = Answer(session->get(), go, stats);
    if (!s.ok()) {
      std::fprintf(stderr, "facet: %s\n", s.ToString().c_str());
      if (s.code() != StatusCode::kOutOfRange) return 1;
      std::fputs("(the context is full: /reset to start over)\n", stdout);
    }
  }
  return 0;
}

}  // namespace facet::cli
