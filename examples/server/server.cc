// facet serve: OpenAI-compatible chat completions over HTTP (cpp-httplib),
// with a chat page at /. Every request gets its own Session on one shared
// Engine; at most --parallel generate at once, up to --queue more wait, and
// past that a request gets 503. Uses only the public API (facet/*.h).
#include "examples/server/server.h"

#include <httplib.h>
#include <pthread.h>
#include <signal.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <ctime>
#include <deque>
#include <exception>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <utility>

#include "examples/cli/common.h"
#include "examples/server/chat_api.h"

namespace facet::server {
namespace {

using json = nlohmann::json;

std::atomic<bool> g_stopping{false};

// At most `parallel` holders at once; up to `queue` more wait.
class Slots {
 public:
  Slots(int parallel, int queue) : parallel_(parallel), queue_(queue) {}

  // False when `queue` requests already wait (or the server is stopping).
  bool Acquire() {
    std::unique_lock<std::mutex> lock(mu_);
    if (active_ >= parallel_) {
      if (waiting_ >= queue_) return false;
      ++waiting_;
      cv_.wait(lock, [&] { return active_ < parallel_ || g_stopping.load(); });
      --waiting_;
      if (g_stopping.load()) return false;
    }
    ++active_;
    return true;
  }
  void Release() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      --active_;
    }
    cv_.notify_one();
  }
  void WakeAll() { cv_.notify_all(); }
  void Counts(int* active, int* waiting) {
    std::lock_guard<std::mutex> lock(mu_);
    *active = active_;
    *waiting = waiting_;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  const int parallel_;
  const int queue_;
  int active_ = 0;
  int waiting_ = 0;
};

struct Config {
  std::string host = "127.0.0.1";
  int port = 8080;
  int parallel = 1;
  int queue = 16;
  size_t max_body_bytes = 64u << 20;
  SessionOptions session;  // context length, prefill chunk
};

void SendError(httplib::Response& res, const ApiError& e) {
  res.status = e.http_status;
  res.set_content(ErrorBody(e), "application/json");
}

ApiError MakeError(int status, const std::string& type, const std::string& code,
                   const std::string& message) {
  ApiError e;
  e.http_status = status;
  e.type = type;
  e.code = code;
  e.message = message;
  return e;
}

int64_t Now() { return static_cast<int64_t>(std::time(nullptr)); }

// One line per answer on stderr.
void LogAnswer(const char* mode, const Stats& st, StopReason stop,
               bool client_gone) {
  std::fprintf(stderr,
               "facet serve: %s answer: %lld prompt + %lld generated tokens, "
               "%.1f tok/s decode, %s%s\n",
               mode, static_cast<long long>(st.prompt_tokens),
               static_cast<long long>(st.generated_tokens),
               st.decode_tokens_per_s,
               stop == StopReason::kCancelled
                   ? "cancelled"
                   : ("finish " + FinishReason(stop, false)).c_str(),
               client_gone ? " (the client disconnected)" : "");
}

// One streamed generation: a thread runs Generate and queues SSE chunks;
// the HTTP thread writes them out.
struct StreamJob {
  std::mutex mu;
  std::condition_variable cv;
  std::deque<std::string> chunks;
  bool finished = false;  // the last chunk is queued
  bool events = false;    // at least one event came
  Status status;          // of Generate, when it failed before any event
  std::atomic<bool> cancel{false};
  std::thread thread;
  Slots* slots = nullptr;
  bool released = false;

  void Push(std::string chunk, bool last = false) {
    {
      std::lock_guard<std::mutex> lock(mu);
      chunks.push_back(std::move(chunk));
      if (last) finished = true;
    }
    cv.notify_all();
  }
  // Stops the generation, waits for it and frees the slot; idempotent.
  void Release() {
    cancel.store(true);
    if (thread.joinable()) thread.join();
    if (!released && slots != nullptr) slots->Release();
    released = true;
  }
  ~StreamJob() { Release(); }
};

class ChatServer {
 public:
  ChatServer(std::shared_ptr<Engine> engine, Config config,
             RequestDefaults defaults)
      : engine_(std::move(engine)),
        config_(std::move(config)),
        defaults_(std::move(defaults)),
        slots_(config_.parallel, config_.queue),
        created_(Now()) {}

  void Register(httplib::Server& svr) {
    svr.Get("/", [](const httplib::Request&, httplib::Response& res) {
      res.set_content(kChatPage, "text/html; charset=utf-8");
    });
    svr.Get("/health", [this](const httplib::Request&, httplib::Response& res) {
      int active = 0, waiting = 0;
      slots_.Counts(&active, &waiting);
      json j = {{"status", "ok"},
                {"slots_busy", active},
                {"slots_total", config_.parallel},
                {"queued", waiting}};
      res.set_content(j.dump(), "application/json");
    });
    auto models = [this](const httplib::Request&, httplib::Response& res) {
      json j = {{"object", "list"}, {"data", json::array({ModelJson()})}};
      res.set_content(j.dump(-1, ' ', false, json::error_handler_t::replace),
                      "application/json");
    };
    svr.Get("/v1/models", models);
    svr.Get("/models", models);
    svr.Get(R"(/v1/models/(.+))", [this](const httplib::Request& req,
                                         httplib::Response& res) {
      if (req.matches[1] != defaults_.model_name) {
        ApiError e =
            MakeError(404, "invalid_request_error", "model_not_found",
                      "no model named '" + std::string(req.matches[1]) + "'");
        SendError(res, e);
        return;
      }
      res.set_content(
          ModelJson().dump(-1, ' ', false, json::error_handler_t::replace),
          "application/json");
    });
    auto chat = [this](const httplib::Request& req, httplib::Response& res) {
      HandleChat(req, res);
    };
    svr.Post("/v1/chat/completions", chat);
    svr.Post("/chat/completions", chat);
  }

 private:
  json ModelJson() const {
    return {{"id", defaults_.model_name},
            {"object", "model"},
            {"created", created_},
            {"owned_by", "facet"},
            {"meta",
             {{"context_length", context_length_},
              {"vision", defaults_.has_vision},
              {"audio", defaults_.has_audio},
              {"thinking", defaults_.enable_thinking},
              {"parameters", engine_->info().parameter_count}}}};
  }

 public:
  void set_context_length(int64_t n) { context_length_ = n; }
  // Shutdown: queued requests stop waiting (running ones see g_stopping).
  void Stop() { slots_.WakeAll(); }

  void HandleChat(const httplib::Request& req, httplib::Response& res) {
    ChatRequest cr;
    ApiError error;
    if (!ParseChatRequest(req.body, defaults_, &cr, &error)) {
      SendError(res, error);
      return;
    }
    if (!cr.seed_given) cr.generate.sampling.seed = RandomSeed();
    if (!slots_.Acquire()) {
      SendError(res,
                g_stopping.load()
                    ? MakeError(503, "server_error", "shutting_down",
                                "the server is shutting down")
                    : MakeError(503, "server_error", "server_busy",
                                "the server is busy: all " +
                                    std::to_string(config_.parallel) +
                                    " slots are generating and the queue is "
                                    "full; retry later"));
      res.set_header("Retry-After", "1");
      return;
    }
    // From here the slot is ours until the session is done.
    SessionOptions so = config_.session;
    so.system_prompt = cr.system_prompt;
    so.enable_thinking = cr.enable_thinking;
    so.tools_json = cr.tools_json;
    StatusOr<std::unique_ptr<Session>> session = engine_->NewSession(so);
    Status s = session.ok() ? Queue(session->get(), cr) : session.status();
    if (!s.ok()) {
      if (session.ok()) session->reset();  // free the KV cache first
      slots_.Release();
      SendError(res, ErrorFromStatus(s));
      return;
    }
    if (cr.generate.max_tokens <= 0) {
      cr.generate.max_tokens = static_cast<int>(
          std::min<int64_t>((*session)->context_length(), 1 << 30));
    }
    if (cr.stream) {
      Stream(std::move(*session), cr, res);
    } else {
      Complete(session->get(), cr, res);
      session->reset();
      slots_.Release();
    }
  }

 private:
  static uint64_t RandomSeed() {
    static std::mutex mu;
    static std::mt19937_64 rng(std::random_device{}());
    std::lock_guard<std::mutex> lock(mu);
    return rng();
  }

  // Queues the request's messages in the session.
  static Status Queue(Session* session, const ChatRequest& cr) {
    for (size_t i = 0; i < cr.messages.size(); ++i) {
      const InputMessage& m = cr.messages[i];
      Status s;
      switch (m.kind) {
        case InputMessage::Kind::kUser:
          s = session->AddMessage(Role::kUser, m.parts);
          break;
        case InputMessage::Kind::kModel:
          s = session->AddMessage(Role::kModel, m.parts);
          break;
        case InputMessage::Kind::kModelToolCalls:
          s = session->AddModelToolCalls(m.text, m.calls, m.thinking);
          break;
        case InputMessage::Kind::kTool:
          s = session->AddToolResponse(m.tool_name, m.tool_json);
          break;
      }
      if (!s.ok()) {
        return Status(s.code(),
                      "messages[" + std::to_string(i) + "]: " + s.message());
      }
    }
    return Status();
  }

  void Complete(Session* session, const ChatRequest& cr,
                httplib::Response& res) {
    StatusOr<Response> r = session->Generate(
        cr.generate, [](const StreamEvent&) { return !g_stopping.load(); });
    if (!r.ok()) {
      SendError(res, ErrorFromStatus(r.status()));
      return;
    }
    const Stats st = session->stats();
    LogAnswer("plain", st, r->stop_reason, false);
    Usage usage{st.prompt_tokens, st.generated_tokens, st.cached_prompt_tokens};
    res.set_content(
        CompletionBody(NewId("chatcmpl-"), Now(), cr.model, *r, usage),
        "application/json");
  }

  void Stream(std::unique_ptr<Session> session, const ChatRequest& cr,
              httplib::Response& res) {
    auto job = std::make_shared<StreamJob>();
    job->slots = &slots_;
    auto writer =
        std::make_shared<ChunkWriter>(NewId("chatcmpl-"), Now(), cr.model);
    GenerateOptions go = cr.generate;
    StreamJob* j = job.get();
    job->thread = std::thread([j, writer, go, s = std::move(session)]() {
      auto on_event = [&](const StreamEvent& ev) {
        if (j->cancel.load() || g_stopping.load()) return false;
        std::string chunk;
        {
          std::lock_guard<std::mutex> lock(j->mu);
          if (!j->events) chunk = writer->Start();
          j->events = true;
        }
        chunk += writer->Event(ev);
        j->Push(std::move(chunk));
        return true;
      };
      StatusOr<Response> r = s->Generate(go, on_event);
      if (r.ok()) {
        const Stats st = s->stats();
        LogAnswer("streamed", st, r->stop_reason, j->cancel.load());
        std::string last;
        {
          std::lock_guard<std::mutex> lock(j->mu);
          if (!j->events) last = writer->Start();
          j->events = true;
        }
        last += writer->Finish(r->stop_reason,
                               Usage{st.prompt_tokens, st.generated_tokens,
                                     st.cached_prompt_tokens});
        j->Push(std::move(last), true);
      } else {
        {
          std::lock_guard<std::mutex> lock(j->mu);
          j->status = r.status();
        }
        j->Push(ChunkWriter::Error(ErrorFromStatus(r.status())), true);
      }
    });
    // Wait for the first event (or a failure before any: a prompt that
    // does not fit gets a plain 4xx, not a stream).
    {
      std::unique_lock<std::mutex> lock(job->mu);
      job->cv.wait(lock, [&] { return job->events || job->finished; });
      if (!job->events && !job->status.ok()) {
        const Status failed = job->status;
        lock.unlock();
        job->Release();
        SendError(res, ErrorFromStatus(failed));
        return;
      }
    }
    res.set_header("Cache-Control", "no-cache");
    res.set_header("X-Accel-Buffering", "no");
    res.set_chunked_content_provider(
        "text/event-stream",
        [job](size_t, httplib::DataSink& sink) {
          std::string out;
          bool last = false;
          {
            std::unique_lock<std::mutex> lock(job->mu);
            job->cv.wait_for(lock, std::chrono::seconds(10), [&] {
              return !job->chunks.empty() || job->finished;
            });
            while (!job->chunks.empty()) {
              out += job->chunks.front();
              job->chunks.pop_front();
            }
            last = job->finished;
          }
          // Nothing new for a while: a comment line keeps the connection
          // checked (a closed one fails the write).
          if (out.empty() && !last) out = ": keep-alive\n\n";
          if (!out.empty() && !sink.write(out.data(), out.size())) {
            job->cancel.store(true);  // the client went away
            return false;
          }
          if (last) sink.done();
          return true;
        },
        [job](bool) { job->Release(); });
  }

  std::shared_ptr<Engine> engine_;
  Config config_;
  RequestDefaults defaults_;
  Slots slots_;
  int64_t created_;
  int64_t context_length_ = 0;
};

std::string ModelName(const std::string& path) {
  std::string p = path;
  while (p.size() > 1 && p.back() == '/') p.pop_back();
  const size_t slash = p.rfind('/');
  if (slash != std::string::npos) p = p.substr(slash + 1);
  if (p.size() > 5 && p.compare(p.size() - 5, 5, ".gguf") == 0) {
    p.resize(p.size() - 5);
  }
  return p.empty() ? "facet" : p;
}

constexpr char kServeUsage[] =
    "usage: facet serve -m <model> [--host 127.0.0.1] [--port 8080]\n"
    "         [--parallel 1] [--queue 16] [--max-body-mb 64] [--alias NAME]\n"
    "         [--think] [-c <context>] [-t <threads>] [--mmproj <path>]\n"
    "  OpenAI-compatible API: POST /v1/chat/completions, GET /v1/models,\n"
    "  GET /health; a chat page at /. --port 0 picks a free port.\n";

}  // namespace

int RunServe(int argc, char** argv) {
  cli::Args args;
  std::set<std::string> flags = cli::CommonFlags();
  flags.insert({"--host", "--port", "--parallel", "--queue", "--max-body-mb",
                "--alias"});
  Status s = args.Parse(argc, argv, 2, flags, {"--think", "-h", "--help"});
  if (!s.ok()) {
    std::fputs(kServeUsage, stderr);
    return cli::Fail(s);
  }
  if (args.Has("-h") || args.Has("--help")) {
    std::fputs(kServeUsage, stdout);
    return 0;
  }
  EngineOptions eo;
  Config config;
  if (!(s = cli::CommonOptions(args, &eo, &config.session)).ok()) {
    return cli::Fail(s);
  }
  long long v = config.port;
  if (!(s = args.GetInt("--port", 0, 65535, &v)).ok()) return cli::Fail(s);
  config.port = static_cast<int>(v);
  v = config.parallel;
  if (!(s = args.GetInt("--parallel", 1, 256, &v)).ok()) return cli::Fail(s);
  config.parallel = static_cast<int>(v);
  v = config.queue;
  if (!(s = args.GetInt("--queue", 0, 4096, &v)).ok()) return cli::Fail(s);
  config.queue = static_cast<int>(v);
  v = 64;
  if (!(s = args.GetInt("--max-body-mb", 1, 4096, &v)).ok()) {
    return cli::Fail(s);
  }
  config.max_body_bytes = static_cast<size_t>(v) << 20;
  config.host = args.Get("--host", config.host);

  // SIGINT / SIGTERM go to one waiting thread (blocked everywhere else,
  // the engine's and the server's threads included).
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  signal(SIGPIPE, SIG_IGN);

  StatusOr<std::shared_ptr<Engine>> engine = cli::LoadEngine(eo);
  if (!engine.ok()) return cli::Fail(engine.status());
  RequestDefaults defaults;
  defaults.sampling = (*engine)->DefaultSampling();
  defaults.enable_thinking = args.Has("--think");
  defaults.has_vision = (*engine)->has_vision();
  defaults.has_audio = (*engine)->has_audio();
  defaults.model_name = args.Get("--alias", ModelName(eo.model_path));
  // The context each request's session gets (checked once here).
  int64_t context_length = 0;
  {
    StatusOr<std::unique_ptr<Session>> probe =
        (*engine)->NewSession(config.session);
    if (!probe.ok()) return cli::Fail(probe.status());
    context_length = (*probe)->context_length();
  }

  ChatServer chat(*engine, config, defaults);
  chat.set_context_length(context_length);
  httplib::Server svr;
  const int threads = config.parallel + config.queue + 8;
  svr.new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
  svr.set_payload_max_length(config.max_body_bytes);
  svr.set_keep_alive_timeout(5);
  svr.set_read_timeout(30);
  svr.set_write_timeout(30);
  svr.set_exception_handler([](const httplib::Request&, httplib::Response& res,
                               std::exception_ptr ep) {
    std::string what = "unknown exception";
    try {
      if (ep) std::rethrow_exception(ep);
    } catch (const std::exception& e) {
      what = e.what();
    } catch (...) {
    }
    SendError(res, MakeError(500, "server_error", "internal_error",
                             "internal error: " + what));
  });
  // httplib's own errors (404, 413 body too large, 400 bad request) in the
  // OpenAI error shape.
  svr.set_error_handler(httplib::Server::HandlerWithResponse(
      [max = config.max_body_bytes](const httplib::Request& req,
                                    httplib::Response& res) {
        if (!res.body.empty())
          return httplib::Server::HandlerResponse::Unhandled;
        ApiError e;
        e.http_status = res.status;
        switch (res.status) {
          case 404:
            e.code = "not_found";
            e.message = "no route " + req.method + " " + req.path;
            break;
          case 413:
            e.code = "request_too_large";
            e.message = "the request body is larger than the limit of " +
                        std::to_string(max >> 20) + " MiB (--max-body-mb)";
            if (req.get_header_value("Content-Type") ==
                "application/x-www-form-urlencoded") {
              // cpp-httplib caps form-encoded bodies at 8 KiB.
              e.message =
                  "form-encoded request bodies are limited to 8 KiB: send the "
                  "JSON body with Content-Type: application/json";
            }
            break;
          case 414:
            e.code = "uri_too_long";
            e.message = "the request URI is too long";
            break;
          default:
            e.code = "http_error";
            e.message = "HTTP error " + std::to_string(res.status);
            break;
        }
        if (res.status >= 500) e.type = "server_error";
        SendError(res, e);
        return httplib::Server::HandlerResponse::Handled;
      }));
  svr.set_logger([](const httplib::Request& req, const httplib::Response& res) {
    if (req.path == "/health") return;
    std::fprintf(stderr, "facet serve: %s %s %d\n", req.method.c_str(),
                 req.path.c_str(), res.status);
  });
  chat.Register(svr);

  int port = config.port;
  bool bound = false;
  if (port == 0) {
    port = svr.bind_to_any_port(config.host);
    bound = port > 0;
  } else {
    bound = svr.bind_to_port(config.host, port);
  }
  if (!bound) {
    return cli::Fail(Status(
        StatusCode::kFailedPrecondition,
        "cannot listen on " + config.host + ":" + std::to_string(config.port)));
  }
  std::thread stopper([&] {
    int sig = 0;
    sigwait(&stop_signals, &sig);
    if (sig == 0) return;
    g_stopping.store(true);
    chat.Stop();
    svr.stop();
  });
  std::fprintf(stderr,
               "facet serve: model %s (context %lld, %d threads); listening "
               "on http://%s:%d (parallel %d, queue %d)\n",
               defaults.model_name.c_str(),
               static_cast<long long>(context_length), (*engine)->num_threads(),
               config.host.c_str(), port, config.parallel, config.queue);
  std::fflush(stderr);
  const bool ok = svr.listen_after_bind();
  if (!g_stopping.load()) {
    // listen ended on its own (an error): wake the signal thread.
    g_stopping.store(true);
    pthread_kill(stopper.native_handle(), SIGTERM);
  }
  stopper.join();
  std::fprintf(stderr, "facet serve: stopped\n");
  return ok || g_stopping.load() ? 0 : 1;
}

}  // namespace facet::server
