// The C ABI (include/facet/facet_c.h) over the C++ API (facet/facet.h).
//
// Every exported function catches everything at the boundary, so no C++
// exception reaches a C caller; every facet::Status becomes a facet_status
// and a message kept per thread and on the handle the call was made on.
#include "facet/facet_c.h"

#include <cstddef>
#include <cstring>
#include <exception>
#include <memory>
#include <mutex>
#include <new>
#include <string>
#include <utility>
#include <vector>

#include "facet/facet.h"
#include "facet/status.h"

#ifndef FACET_VERSION_STRING
#define FACET_VERSION_STRING "unknown"
#endif

struct facet_engine {
  std::shared_ptr<facet::Engine> engine;
  // The engine is shared by threads: its message is written under a lock.
  mutable std::mutex mu;
  mutable std::string last_error;
};

struct facet_session {
  std::unique_ptr<facet::Session> session;
  std::string last_error;
};

struct facet_response {
  facet::Response response;
};

namespace {

thread_local std::string t_last_error;

// Where a failure's message goes besides this thread's: a handle's string,
// guarded by `mu` when the handle is shared between threads.
struct ErrorSink {
  std::string* message = nullptr;
  std::mutex* mu = nullptr;
};

ErrorSink SinkOf(const facet_engine* engine) {
  if (engine == nullptr) return {};
  return {&engine->last_error, &engine->mu};
}
ErrorSink SinkOf(facet_session* session) {
  if (session == nullptr) return {};
  return {&session->last_error, nullptr};
}

// Records the message; never throws (an allocation failure here keeps the
// old message rather than escaping the ABI).
facet_status Fail(const ErrorSink& sink, facet_status code,
                  const char* message) noexcept {
  try {
    t_last_error = message;
  } catch (...) {
  }
  if (sink.message != nullptr) {
    try {
      if (sink.mu != nullptr) {
        std::lock_guard<std::mutex> lock(*sink.mu);
        *sink.message = message;
      } else {
        *sink.message = message;
      }
    } catch (...) {
    }
  }
  return code;
}
facet_status Fail(const ErrorSink& sink, facet_status code,
                  const std::string& message) noexcept {
  return Fail(sink, code, message.c_str());
}

facet_status CodeOf(facet::StatusCode code) {
  switch (code) {
    case facet::StatusCode::kOk:
      return FACET_OK;
    case facet::StatusCode::kCancelled:
      return FACET_CANCELLED;
    case facet::StatusCode::kInvalidArgument:
      return FACET_INVALID_ARGUMENT;
    case facet::StatusCode::kNotFound:
      return FACET_NOT_FOUND;
    case facet::StatusCode::kOutOfRange:
      return FACET_OUT_OF_RANGE;
    case facet::StatusCode::kUnimplemented:
      return FACET_UNIMPLEMENTED;
    case facet::StatusCode::kInternal:
      return FACET_INTERNAL;
    case facet::StatusCode::kResourceExhausted:
      return FACET_RESOURCE_EXHAUSTED;
    case facet::StatusCode::kFailedPrecondition:
      return FACET_FAILED_PRECONDITION;
    case facet::StatusCode::kDataLoss:
      return FACET_DATA_LOSS;
  }
  return FACET_INTERNAL;
}

facet_status FromStatus(const ErrorSink& sink, const facet::Status& status) {
  if (status.ok()) return FACET_OK;
  return Fail(sink, CodeOf(status.code()), status.message());
}

facet_status Invalid(const ErrorSink& sink, const std::string& message) {
  return Fail(sink, FACET_INVALID_ARGUMENT, message);
}

// Runs `body` (returning facet_status), turning any exception into a code.
template <typename F>
facet_status Guard(const ErrorSink& sink, const char* function,
                   F&& body) noexcept {
  try {
    return body();
  } catch (const std::bad_alloc&) {
    return Fail(sink, FACET_RESOURCE_EXHAUSTED,
                std::string(function) + ": out of memory");
  } catch (const std::exception& e) {
    return Fail(sink, FACET_INTERNAL,
                std::string(function) + ": unexpected exception: " + e.what());
  } catch (...) {
    return Fail(sink, FACET_INTERNAL,
                std::string(function) + ": unexpected exception");
  }
}

// Option structs: a field is read (or written) only when the caller's
// struct, of `struct_size` bytes, holds it all, so that structs from older
// headers (fewer fields) work; a larger struct than this library knows is
// refused.
template <typename T>
facet_status CheckStructSize(const ErrorSink& sink, const T* s,
                             const char* name) {
  if (s->struct_size < sizeof(size_t) || s->struct_size > sizeof(T)) {
    return Invalid(sink, std::string(name) + ".struct_size is " +
                             std::to_string(s->struct_size) +
                             " (this library's is " +
                             std::to_string(sizeof(T)) +
                             "; initialise the struct with its _default())");
  }
  return FACET_OK;
}
#define FACET_HAS_FIELD(T, s, field) \
  (offsetof(T, field) + sizeof(T::field) <= (s)->struct_size)
#define FACET_READ(T, in, out, field) \
  if (FACET_HAS_FIELD(T, in, field)) (out).field = (in)->field
#define FACET_WRITE(T, out, field, value) \
  if (FACET_HAS_FIELD(T, out, field)) (out)->field = (value)

bool Empty(const char* s) { return s == nullptr || s[0] == '\0'; }

facet::Role RoleOf(facet_role role, bool* ok) {
  *ok = true;
  switch (role) {
    case FACET_ROLE_SYSTEM:
      return facet::Role::kSystem;
    case FACET_ROLE_USER:
      return facet::Role::kUser;
    case FACET_ROLE_MODEL:
      return facet::Role::kModel;
    case FACET_ROLE_TOOL:
      return facet::Role::kTool;
  }
  *ok = false;
  return facet::Role::kUser;
}

facet::SpeculativeMode SpeculativeModeOf(int32_t mode, bool* ok) {
  *ok = true;
  switch (mode) {
    case FACET_SPEC_OFF:
      return facet::SpeculativeMode::kOff;
    case FACET_SPEC_PROMPT_LOOKUP:
      return facet::SpeculativeMode::kPromptLookup;
    case FACET_SPEC_DRAFT:
      return facet::SpeculativeMode::kDraft;
  }
  *ok = false;
  return facet::SpeculativeMode::kOff;
}

facet_stop_reason StopOf(facet::StopReason reason) {
  switch (reason) {
    case facet::StopReason::kEndOfTurn:
      return FACET_STOP_END_OF_TURN;
    case facet::StopReason::kStopString:
      return FACET_STOP_STOP_STRING;
    case facet::StopReason::kMaxTokens:
      return FACET_STOP_MAX_TOKENS;
    case facet::StopReason::kCancelled:
      return FACET_STOP_CANCELLED;
    case facet::StopReason::kContextFull:
      return FACET_STOP_CONTEXT_FULL;
  }
  return FACET_STOP_END_OF_TURN;
}

// One facet_part (read field by field, see above) as a facet::Part.
facet_status PartOf(const ErrorSink& sink, const facet_part* in, size_t index,
                    facet::Part* out) {
  const std::string name = "part " + std::to_string(index);
  facet_part p = facet_part_text(nullptr);
  FACET_READ(facet_part, in, p, kind);
  FACET_READ(facet_part, in, p, text);
  FACET_READ(facet_part, in, p, path);
  FACET_READ(facet_part, in, p, data);
  FACET_READ(facet_part, in, p, size);
  FACET_READ(facet_part, in, p, width);
  FACET_READ(facet_part, in, p, height);
  FACET_READ(facet_part, in, p, samples);
  FACET_READ(facet_part, in, p, n_samples);
  FACET_READ(facet_part, in, p, sample_rate);
  FACET_READ(facet_part, in, p, image_budget);
  FACET_READ(facet_part, in, p, split_long_audio);
  switch (p.kind) {
    case FACET_PART_TEXT:
      if (p.text == nullptr) return Invalid(sink, name + ": text is NULL");
      *out = facet::Part::Text(p.text);
      break;
    case FACET_PART_IMAGE_FILE:
    case FACET_PART_AUDIO_FILE:
      if (Empty(p.path)) return Invalid(sink, name + ": path is empty");
      *out = p.kind == FACET_PART_IMAGE_FILE ? facet::Part::ImageFile(p.path)
                                             : facet::Part::AudioFile(p.path);
      break;
    case FACET_PART_IMAGE_DATA:
    case FACET_PART_AUDIO_DATA: {
      if (p.data == nullptr || p.size == 0) {
        return Invalid(sink, name + ": data is NULL or empty");
      }
      std::string bytes(static_cast<const char*>(p.data), p.size);
      *out = p.kind == FACET_PART_IMAGE_DATA
                 ? facet::Part::ImageData(std::move(bytes))
                 : facet::Part::AudioData(std::move(bytes));
      break;
    }
    case FACET_PART_IMAGE_PIXELS: {
      if (p.data == nullptr || p.width <= 0 || p.height <= 0) {
        return Invalid(sink, name +
                                 ": image pixels need data and a positive "
                                 "width and height");
      }
      const size_t need =
          static_cast<size_t>(p.width) * static_cast<size_t>(p.height) * 3;
      if (p.size != need) {
        return Invalid(sink, name + ": " + std::to_string(p.size) +
                                 " bytes of pixels for " +
                                 std::to_string(p.width) + "x" +
                                 std::to_string(p.height) + " RGB (need " +
                                 std::to_string(need) + ")");
      }
      const uint8_t* rgb = static_cast<const uint8_t*>(p.data);
      *out = facet::Part::ImagePixels(std::vector<uint8_t>(rgb, rgb + need),
                                      p.width, p.height);
      break;
    }
    case FACET_PART_AUDIO_SAMPLES:
      if (p.samples == nullptr || p.n_samples == 0) {
        return Invalid(sink, name + ": samples are NULL or empty");
      }
      *out = facet::Part::AudioSamples(
          std::vector<float>(p.samples, p.samples + p.n_samples),
          p.sample_rate);
      break;
    default:
      return Invalid(sink, name + ": unknown kind " +
                               std::to_string(static_cast<int>(p.kind)));
  }
  out->image_budget = p.image_budget;
  out->split_long_audio = p.split_long_audio != 0;
  return FACET_OK;
}

// A facet_session_options (NULL: the defaults) as facet::SessionOptions.
facet_status SessionOptionsOf(const ErrorSink& sink,
                              const facet_session_options* options,
                              facet::SessionOptions* so) {
  facet_session_options o = facet_session_options_default();
  if (options != nullptr) {
    facet_status st = CheckStructSize(sink, options, "facet_session_options");
    if (st != FACET_OK) return st;
    using S = facet_session_options;
    FACET_READ(S, options, o, context_length);
    FACET_READ(S, options, o, prefill_chunk);
    FACET_READ(S, options, o, enable_thinking);
    FACET_READ(S, options, o, system_prompt);
    FACET_READ(S, options, o, tools_json);
    FACET_READ(S, options, o, profile);
    FACET_READ(S, options, o, constrain_tool_calls);
    FACET_READ(S, options, o, tool_choice);
    FACET_READ(S, options, o, prompt_cache_path);
    FACET_READ(S, options, o, cache_type_k);
    FACET_READ(S, options, o, cache_type_v);
  }
  so->context_length = o.context_length;
  so->prefill_chunk = o.prefill_chunk;
  so->enable_thinking = o.enable_thinking != 0;
  if (o.system_prompt != nullptr) so->system_prompt = o.system_prompt;
  if (o.tools_json != nullptr) so->tools_json = o.tools_json;
  so->profile = o.profile != 0;
  so->constrain_tool_calls = o.constrain_tool_calls != 0;
  if (o.tool_choice != nullptr) so->tool_choice = o.tool_choice;
  if (o.prompt_cache_path != nullptr) {
    so->prompt_cache_path = o.prompt_cache_path;
  }
  // NULL or "": the default; other names are checked by NewSession.
  if (!Empty(o.cache_type_k)) so->cache_type_k = o.cache_type_k;
  if (!Empty(o.cache_type_v)) so->cache_type_v = o.cache_type_v;
  return FACET_OK;
}

facet_status NewSessionHandle(
    const ErrorSink& sink,
    facet::StatusOr<std::unique_ptr<facet::Session>> session,
    facet_session** out) {
  if (!session.ok()) return FromStatus(sink, session.status());
  auto handle = std::make_unique<facet_session>();
  handle->session = std::move(session).value();
  *out = handle.release();
  return FACET_OK;
}

facet_part NewPart(facet_part_kind kind) {
  facet_part p;
  std::memset(&p, 0, sizeof(p));
  p.struct_size = sizeof(facet_part);
  p.kind = kind;
  p.split_long_audio = 1;
  return p;
}
facet_part PathPart(facet_part_kind kind, const char* path) {
  facet_part p = NewPart(kind);
  p.path = path;
  return p;
}
facet_part DataPart(facet_part_kind kind, const void* data, size_t size) {
  facet_part p = NewPart(kind);
  p.data = data;
  p.size = size;
  return p;
}

}  // namespace

extern "C" {

// ------------------------------------------------------------------ status

const char* facet_status_name(facet_status status) {
  switch (status) {
    case FACET_OK:
      return "OK";
    case FACET_CANCELLED:
      return "CANCELLED";
    case FACET_INVALID_ARGUMENT:
      return "INVALID_ARGUMENT";
    case FACET_NOT_FOUND:
      return "NOT_FOUND";
    case FACET_RESOURCE_EXHAUSTED:
      return "RESOURCE_EXHAUSTED";
    case FACET_FAILED_PRECONDITION:
      return "FAILED_PRECONDITION";
    case FACET_OUT_OF_RANGE:
      return "OUT_OF_RANGE";
    case FACET_UNIMPLEMENTED:
      return "UNIMPLEMENTED";
    case FACET_INTERNAL:
      return "INTERNAL";
    case FACET_DATA_LOSS:
      return "DATA_LOSS";
  }
  return "UNKNOWN";
}

const char* facet_last_error(void) { return t_last_error.c_str(); }

const char* facet_version(void) { return FACET_VERSION_STRING; }

int facet_c_api_version(void) { return FACET_C_API_VERSION; }

// ------------------------------------------------------------------ engine

facet_engine_options facet_engine_options_default(void) {
  facet_engine_options o;
  std::memset(&o, 0, sizeof(o));
  o.struct_size = sizeof(o);
  const facet::EngineOptions d;
  o.num_threads = d.num_threads;
  o.prefetch = d.prefetch ? 1 : 0;
  o.repack_weights = d.repack_weights ? 1 : 0;
  o.prefix_cache_bytes = d.prefix_cache_bytes;
  o.batch_decode = d.batch_decode ? 1 : 0;
  return o;
}

facet_status facet_engine_create(const facet_engine_options* options,
                                 facet_engine** out) {
  const ErrorSink sink;
  if (out != nullptr) *out = nullptr;
  return Guard(sink, "facet_engine_create", [&]() -> facet_status {
    if (options == nullptr) return Invalid(sink, "options is NULL");
    if (out == nullptr) return Invalid(sink, "out is NULL");
    facet_status st = CheckStructSize(sink, options, "facet_engine_options");
    if (st != FACET_OK) return st;
    facet_engine_options o = facet_engine_options_default();
    FACET_READ(facet_engine_options, options, o, model_path);
    FACET_READ(facet_engine_options, options, o, mmproj_path);
    FACET_READ(facet_engine_options, options, o, num_threads);
    FACET_READ(facet_engine_options, options, o, prefetch);
    FACET_READ(facet_engine_options, options, o, repack_weights);
    FACET_READ(facet_engine_options, options, o, on_load_progress);
    FACET_READ(facet_engine_options, options, o, load_progress_user_data);
    FACET_READ(facet_engine_options, options, o, prefix_cache_bytes);
    FACET_READ(facet_engine_options, options, o, draft_model_path);
    FACET_READ(facet_engine_options, options, o, batch_decode);
    if (Empty(o.model_path)) return Invalid(sink, "model_path is empty");
    facet::EngineOptions eo;
    eo.model_path = o.model_path;
    if (o.mmproj_path != nullptr) eo.mmproj_path = o.mmproj_path;
    eo.num_threads = o.num_threads;
    eo.prefetch = o.prefetch != 0;
    eo.repack_weights = o.repack_weights != 0;
    eo.prefix_cache_bytes = o.prefix_cache_bytes;
    if (o.draft_model_path != nullptr) {
      eo.draft_model_path = o.draft_model_path;
    }
    eo.batch_decode = o.batch_decode != 0;
    if (o.on_load_progress != nullptr) {
      auto* fn = o.on_load_progress;
      void* user = o.load_progress_user_data;
      eo.on_load_progress = [fn, user](float fraction) { fn(fraction, user); };
    }
    auto engine = facet::Engine::Create(eo);
    if (!engine.ok()) return FromStatus(sink, engine.status());
    auto handle = std::make_unique<facet_engine>();
    handle->engine = std::move(engine).value();
    *out = handle.release();
    return FACET_OK;
  });
}

void facet_engine_free(facet_engine* engine) { delete engine; }

const char* facet_engine_last_error(const facet_engine* engine) {
  if (engine == nullptr) return "";
  std::lock_guard<std::mutex> lock(engine->mu);
  return engine->last_error.c_str();
}

facet_status facet_engine_model_info(const facet_engine* engine,
                                     facet_model_info* out) {
  const ErrorSink sink = SinkOf(engine);
  return Guard(sink, "facet_engine_model_info", [&]() -> facet_status {
    if (engine == nullptr) return Invalid(sink, "engine is NULL");
    if (out == nullptr) return Invalid(sink, "out is NULL");
    facet_status st = CheckStructSize(sink, out, "facet_model_info");
    if (st != FACET_OK) return st;
    const facet::Engine& e = *engine->engine;
    const facet::ModelInfo& info = e.info();
    FACET_WRITE(facet_model_info, out, path, info.path.c_str());
    FACET_WRITE(facet_model_info, out, format, info.format.c_str());
    FACET_WRITE(facet_model_info, out, architecture, info.architecture.c_str());
    FACET_WRITE(facet_model_info, out, preset, info.preset.c_str());
    FACET_WRITE(facet_model_info, out, vocab_size, info.vocab_size);
    FACET_WRITE(facet_model_info, out, hidden_size, info.hidden_size);
    FACET_WRITE(facet_model_info, out, num_layers, info.num_layers);
    FACET_WRITE(facet_model_info, out, num_heads, info.num_heads);
    FACET_WRITE(facet_model_info, out, sliding_window, info.sliding_window);
    FACET_WRITE(facet_model_info, out, max_context, info.max_context);
    FACET_WRITE(facet_model_info, out, parameter_count, info.parameter_count);
    FACET_WRITE(facet_model_info, out, weight_bytes, info.weight_bytes);
    FACET_WRITE(facet_model_info, out, num_threads, e.num_threads());
    FACET_WRITE(facet_model_info, out, has_vision, e.has_vision() ? 1 : 0);
    FACET_WRITE(facet_model_info, out, has_audio, e.has_audio() ? 1 : 0);
    return FACET_OK;
  });
}

// --------------------------------------------------------------- tokenizer

facet_status facet_tokenize(const facet_engine* engine, const char* text,
                            int parse_special, int add_bos, int32_t* tokens,
                            size_t capacity, size_t* n_tokens) {
  const ErrorSink sink = SinkOf(engine);
  if (n_tokens != nullptr) *n_tokens = 0;
  return Guard(sink, "facet_tokenize", [&]() -> facet_status {
    if (engine == nullptr) return Invalid(sink, "engine is NULL");
    if (text == nullptr) return Invalid(sink, "text is NULL");
    if (n_tokens == nullptr) return Invalid(sink, "n_tokens is NULL");
    if (tokens == nullptr && capacity != 0) {
      return Invalid(sink, "tokens is NULL with a nonzero capacity");
    }
    auto ids = engine->engine->Tokenize(text, parse_special != 0, add_bos != 0);
    if (!ids.ok()) return FromStatus(sink, ids.status());
    *n_tokens = ids->size();
    if (tokens == nullptr) return FACET_OK;  // a size query
    if (ids->size() > capacity) {
      return Fail(sink, FACET_OUT_OF_RANGE,
                  "the text takes " + std::to_string(ids->size()) +
                      " tokens; the buffer holds " + std::to_string(capacity));
    }
    for (size_t i = 0; i < ids->size(); ++i) tokens[i] = (*ids)[i];
    return FACET_OK;
  });
}

facet_status facet_detokenize(const facet_engine* engine, const int32_t* tokens,
                              size_t n_tokens, int render_special, char* buf,
                              size_t capacity, size_t* length) {
  const ErrorSink sink = SinkOf(engine);
  if (length != nullptr) *length = 0;
  return Guard(sink, "facet_detokenize", [&]() -> facet_status {
    if (engine == nullptr) return Invalid(sink, "engine is NULL");
    if (tokens == nullptr && n_tokens != 0) {
      return Invalid(sink, "tokens is NULL");
    }
    if (length == nullptr) return Invalid(sink, "length is NULL");
    if (buf == nullptr && capacity != 0) {
      return Invalid(sink, "buf is NULL with a nonzero capacity");
    }
    const int64_t vocab = engine->engine->info().vocab_size;
    std::vector<int> ids(n_tokens);
    for (size_t i = 0; i < n_tokens; ++i) {
      if (tokens[i] < 0 || tokens[i] >= vocab) {
        return Invalid(sink, "token " + std::to_string(tokens[i]) + " (at " +
                                 std::to_string(i) +
                                 ") is outside the vocabulary of " +
                                 std::to_string(vocab));
      }
      ids[i] = tokens[i];
    }
    const std::string text =
        engine->engine->Detokenize(ids, render_special != 0);
    *length = text.size();
    if (buf == nullptr) return FACET_OK;  // a size query
    if (text.size() + 1 > capacity) {
      return Fail(sink, FACET_OUT_OF_RANGE,
                  "the text takes " + std::to_string(text.size() + 1) +
                      " bytes with its NUL; the buffer holds " +
                      std::to_string(capacity));
    }
    std::memcpy(buf, text.data(), text.size());
    buf[text.size()] = '\0';
    return FACET_OK;
  });
}

// ----------------------------------------------------------------- session

facet_session_options facet_session_options_default(void) {
  facet_session_options o;
  std::memset(&o, 0, sizeof(o));
  o.struct_size = sizeof(o);
  const facet::SessionOptions d;
  o.context_length = d.context_length;
  o.prefill_chunk = d.prefill_chunk;
  o.enable_thinking = d.enable_thinking ? 1 : 0;
  o.profile = d.profile ? 1 : 0;
  o.constrain_tool_calls = d.constrain_tool_calls ? 1 : 0;
  return o;
}

facet_status facet_session_create(facet_engine* engine,
                                  const facet_session_options* options,
                                  facet_session** out) {
  const ErrorSink sink = SinkOf(engine);
  if (out != nullptr) *out = nullptr;
  return Guard(sink, "facet_session_create", [&]() -> facet_status {
    if (engine == nullptr) return Invalid(sink, "engine is NULL");
    if (out == nullptr) return Invalid(sink, "out is NULL");
    facet::SessionOptions so;
    facet_status st = SessionOptionsOf(sink, options, &so);
    if (st != FACET_OK) return st;
    return NewSessionHandle(sink, engine->engine->NewSession(so), out);
  });
}

facet_status facet_engine_restore_session(facet_engine* engine,
                                          const char* path,
                                          const facet_session_options* options,
                                          facet_session** out) {
  const ErrorSink sink = SinkOf(engine);
  if (out != nullptr) *out = nullptr;
  return Guard(sink, "facet_engine_restore_session", [&]() -> facet_status {
    if (engine == nullptr) return Invalid(sink, "engine is NULL");
    if (Empty(path)) return Invalid(sink, "path is empty");
    if (out == nullptr) return Invalid(sink, "out is NULL");
    facet::SessionOptions so;
    facet_status st = SessionOptionsOf(sink, options, &so);
    if (st != FACET_OK) return st;
    return NewSessionHandle(sink, engine->engine->RestoreSession(path, so),
                            out);
  });
}

void facet_session_free(facet_session* session) { delete session; }

const char* facet_session_last_error(const facet_session* session) {
  if (session == nullptr) return "";
  return session->last_error.c_str();
}

facet_status facet_session_save(facet_session* session, const char* path) {
  const ErrorSink sink = SinkOf(session);
  return Guard(sink, "facet_session_save", [&]() -> facet_status {
    if (session == nullptr) return Invalid(sink, "session is NULL");
    if (Empty(path)) return Invalid(sink, "path is empty");
    return FromStatus(sink, session->session->Save(path));
  });
}

facet_status facet_session_add_message(facet_session* session, facet_role role,
                                       const char* text) {
  const ErrorSink sink = SinkOf(session);
  return Guard(sink, "facet_session_add_message", [&]() -> facet_status {
    if (session == nullptr) return Invalid(sink, "session is NULL");
    if (text == nullptr) return Invalid(sink, "text is NULL");
    bool ok = false;
    const facet::Role r = RoleOf(role, &ok);
    if (!ok) {
      return Invalid(sink,
                     "unknown role " + std::to_string(static_cast<int>(role)));
    }
    return FromStatus(sink, session->session->AddMessage(r, text));
  });
}

facet_part facet_part_text(const char* text) {
  facet_part p = NewPart(FACET_PART_TEXT);
  p.text = text;
  return p;
}
facet_part facet_part_image_file(const char* path) {
  return PathPart(FACET_PART_IMAGE_FILE, path);
}
facet_part facet_part_image_data(const void* data, size_t size) {
  return DataPart(FACET_PART_IMAGE_DATA, data, size);
}
facet_part facet_part_image_pixels(const uint8_t* rgb, int32_t width,
                                   int32_t height) {
  const size_t size =
      width > 0 && height > 0
          ? static_cast<size_t>(width) * static_cast<size_t>(height) * 3
          : 0;
  facet_part p = DataPart(FACET_PART_IMAGE_PIXELS, rgb, size);
  p.width = width;
  p.height = height;
  return p;
}
facet_part facet_part_audio_file(const char* path) {
  return PathPart(FACET_PART_AUDIO_FILE, path);
}
facet_part facet_part_audio_data(const void* data, size_t size) {
  return DataPart(FACET_PART_AUDIO_DATA, data, size);
}
facet_part facet_part_audio_samples(const float* samples, size_t n_samples,
                                    int32_t sample_rate) {
  facet_part p = NewPart(FACET_PART_AUDIO_SAMPLES);
  p.samples = samples;
  p.n_samples = n_samples;
  p.sample_rate = sample_rate;
  return p;
}

facet_status facet_session_add_message_parts(facet_session* session,
                                             facet_role role,
                                             const facet_part* parts,
                                             size_t n_parts) {
  const ErrorSink sink = SinkOf(session);
  return Guard(sink, "facet_session_add_message_parts", [&]() -> facet_status {
    if (session == nullptr) return Invalid(sink, "session is NULL");
    if (parts == nullptr) return Invalid(sink, "parts is NULL");
    if (n_parts == 0) return Invalid(sink, "a message needs a part");
    bool ok = false;
    const facet::Role r = RoleOf(role, &ok);
    if (!ok) {
      return Invalid(sink,
                     "unknown role " + std::to_string(static_cast<int>(role)));
    }
    facet_status st = CheckStructSize(sink, parts, "facet_part");
    if (st != FACET_OK) return st;
    const size_t stride = parts[0].struct_size;
    std::vector<facet::Part> converted(n_parts);
    for (size_t i = 0; i < n_parts; ++i) {
      const facet_part* p = reinterpret_cast<const facet_part*>(
          reinterpret_cast<const char*>(parts) + i * stride);
      if (p->struct_size != stride) {
        return Invalid(sink, "part " + std::to_string(i) +
                                 ": struct_size differs from part 0's");
      }
      st = PartOf(sink, p, i, &converted[i]);
      if (st != FACET_OK) return st;
    }
    return FromStatus(sink, session->session->AddMessage(r, converted));
  });
}

facet_status facet_session_add_model_tool_calls(facet_session* session,
                                                const char* text,
                                                const facet_tool_call* calls,
                                                size_t n_calls,
                                                const char* thinking) {
  const ErrorSink sink = SinkOf(session);
  return Guard(
      sink, "facet_session_add_model_tool_calls", [&]() -> facet_status {
        if (session == nullptr) return Invalid(sink, "session is NULL");
        if (calls == nullptr && n_calls != 0) {
          return Invalid(sink, "calls is NULL");
        }
        std::vector<facet::ToolCall> converted(n_calls);
        for (size_t i = 0; i < n_calls; ++i) {
          if (calls[i].name == nullptr || calls[i].arguments_json == nullptr) {
            return Invalid(sink, "tool call " + std::to_string(i) +
                                     ": name or arguments_json is NULL");
          }
          converted[i].name = calls[i].name;
          converted[i].arguments_json = calls[i].arguments_json;
        }
        return FromStatus(sink, session->session->AddModelToolCalls(
                                    text != nullptr ? text : "", converted,
                                    thinking != nullptr ? thinking : ""));
      });
}

facet_status facet_session_add_tool_response(facet_session* session,
                                             const char* tool_name,
                                             const char* response_json) {
  const ErrorSink sink = SinkOf(session);
  return Guard(sink, "facet_session_add_tool_response", [&]() -> facet_status {
    if (session == nullptr) return Invalid(sink, "session is NULL");
    if (tool_name == nullptr) return Invalid(sink, "tool_name is NULL");
    if (response_json == nullptr) {
      return Invalid(sink, "response_json is NULL");
    }
    return FromStatus(
        sink, session->session->AddToolResponse(tool_name, response_json));
  });
}

facet_generate_options facet_generate_options_default(void) {
  facet_generate_options o;
  std::memset(&o, 0, sizeof(o));
  o.struct_size = sizeof(o);
  const facet::GenerateOptions d;
  o.max_tokens = d.max_tokens;
  o.temperature = d.sampling.temperature;
  o.top_k = d.sampling.top_k;
  o.top_p = d.sampling.top_p;
  o.min_p = d.sampling.min_p;
  o.repetition_penalty = d.sampling.repetition_penalty;
  o.presence_penalty = d.sampling.presence_penalty;
  o.frequency_penalty = d.sampling.frequency_penalty;
  o.penalty_last_n = d.sampling.penalty_last_n;
  o.seed = d.sampling.seed;
  o.ignore_eos = d.ignore_eos ? 1 : 0;
  o.speculative_mode = FACET_SPEC_OFF;
  o.max_draft = d.speculative.max_draft;
  o.speculative_adaptive = d.speculative.adaptive ? 1 : 0;
  return o;
}

facet_status facet_engine_default_sampling(const facet_engine* engine,
                                           facet_generate_options* options) {
  const ErrorSink sink = SinkOf(engine);
  return Guard(sink, "facet_engine_default_sampling", [&]() -> facet_status {
    if (engine == nullptr) return Invalid(sink, "engine is NULL");
    if (options == nullptr) return Invalid(sink, "options is NULL");
    facet_status st = CheckStructSize(sink, options, "facet_generate_options");
    if (st != FACET_OK) return st;
    const facet::SamplerOptions s = engine->engine->DefaultSampling();
    FACET_WRITE(facet_generate_options, options, temperature, s.temperature);
    FACET_WRITE(facet_generate_options, options, top_k, s.top_k);
    FACET_WRITE(facet_generate_options, options, top_p, s.top_p);
    FACET_WRITE(facet_generate_options, options, min_p, s.min_p);
    FACET_WRITE(facet_generate_options, options, repetition_penalty,
                s.repetition_penalty);
    FACET_WRITE(facet_generate_options, options, presence_penalty,
                s.presence_penalty);
    FACET_WRITE(facet_generate_options, options, frequency_penalty,
                s.frequency_penalty);
    FACET_WRITE(facet_generate_options, options, penalty_last_n,
                s.penalty_last_n);
    FACET_WRITE(facet_generate_options, options, seed, s.seed);
    return FACET_OK;
  });
}

facet_status facet_session_generate(facet_session* session,
                                    const facet_generate_options* options,
                                    facet_event_callback callback,
                                    void* user_data, facet_response** out) {
  const ErrorSink sink = SinkOf(session);
  if (out != nullptr) *out = nullptr;
  return Guard(sink, "facet_session_generate", [&]() -> facet_status {
    if (session == nullptr) return Invalid(sink, "session is NULL");
    facet_generate_options o = facet_generate_options_default();
    if (options != nullptr) {
      facet_status st =
          CheckStructSize(sink, options, "facet_generate_options");
      if (st != FACET_OK) return st;
      using G = facet_generate_options;
      FACET_READ(G, options, o, max_tokens);
      FACET_READ(G, options, o, temperature);
      FACET_READ(G, options, o, top_k);
      FACET_READ(G, options, o, top_p);
      FACET_READ(G, options, o, min_p);
      FACET_READ(G, options, o, repetition_penalty);
      FACET_READ(G, options, o, presence_penalty);
      FACET_READ(G, options, o, frequency_penalty);
      FACET_READ(G, options, o, penalty_last_n);
      FACET_READ(G, options, o, seed);
      FACET_READ(G, options, o, stop_strings);
      FACET_READ(G, options, o, n_stop_strings);
      FACET_READ(G, options, o, ignore_eos);
      FACET_READ(G, options, o, on_prefill_progress);
      FACET_READ(G, options, o, prefill_progress_user_data);
      FACET_READ(G, options, o, tool_choice);
      FACET_READ(G, options, o, json_schema);
      FACET_READ(G, options, o, speculative_mode);
      FACET_READ(G, options, o, max_draft);
      FACET_READ(G, options, o, speculative_adaptive);
    }
    facet::GenerateOptions go;
    go.max_tokens = o.max_tokens;
    go.sampling.temperature = o.temperature;
    go.sampling.top_k = o.top_k;
    go.sampling.top_p = o.top_p;
    go.sampling.min_p = o.min_p;
    go.sampling.repetition_penalty = o.repetition_penalty;
    go.sampling.presence_penalty = o.presence_penalty;
    go.sampling.frequency_penalty = o.frequency_penalty;
    go.sampling.penalty_last_n = o.penalty_last_n;
    go.sampling.seed = o.seed;
    go.ignore_eos = o.ignore_eos != 0;
    if (o.tool_choice != nullptr) go.tool_choice = o.tool_choice;
    if (o.json_schema != nullptr) go.json_schema = o.json_schema;
    bool ok = false;
    go.speculative.mode = SpeculativeModeOf(o.speculative_mode, &ok);
    if (!ok) {
      return Invalid(sink, "unknown speculative_mode " +
                               std::to_string(o.speculative_mode));
    }
    go.speculative.max_draft = o.max_draft;
    go.speculative.adaptive = o.speculative_adaptive != 0;
    if (o.n_stop_strings != 0 && o.stop_strings == nullptr) {
      return Invalid(sink, "stop_strings is NULL");
    }
    for (size_t i = 0; i < o.n_stop_strings; ++i) {
      if (o.stop_strings[i] == nullptr) {
        return Invalid(sink, "stop_strings[" + std::to_string(i) + "] is NULL");
      }
      go.stop_strings.emplace_back(o.stop_strings[i]);
    }
    if (o.on_prefill_progress != nullptr) {
      auto* fn = o.on_prefill_progress;
      void* user = o.prefill_progress_user_data;
      go.on_prefill_progress = [fn, user](int64_t done, int64_t total) {
        fn(done, total, user);
      };
    }
    facet::StreamCallback on_event;
    if (callback != nullptr) {
      on_event = [callback, user_data](const facet::StreamEvent& e) {
        facet_event ev;
        std::memset(&ev, 0, sizeof(ev));
        switch (e.kind) {
          case facet::StreamEvent::Kind::kText:
            ev.kind = FACET_EVENT_TEXT;
            break;
          case facet::StreamEvent::Kind::kThinking:
            ev.kind = FACET_EVENT_THINKING;
            break;
          case facet::StreamEvent::Kind::kToolCall:
            ev.kind = FACET_EVENT_TOOL_CALL;
            ev.tool_name = e.tool_call.name.c_str();
            ev.tool_arguments_json = e.tool_call.arguments_json.c_str();
            break;
        }
        ev.text = e.text.c_str();
        ev.text_len = e.text.size();
        return callback(&ev, user_data) != 0;
      };
    }
    auto response = session->session->Generate(go, on_event);
    if (!response.ok()) return FromStatus(sink, response.status());
    if (out != nullptr) {
      auto handle = std::make_unique<facet_response>();
      handle->response = std::move(response).value();
      *out = handle.release();
    }
    return FACET_OK;
  });
}

facet_status facet_session_cancel(facet_session* session) {
  // Called from any thread: records no message on the session (which its
  // own thread may be writing), only this thread's.
  if (session == nullptr) {
    return Fail(ErrorSink(), FACET_INVALID_ARGUMENT, "session is NULL");
  }
  session->session->Cancel();
  return FACET_OK;
}

facet_status facet_session_reset(facet_session* session) {
  const ErrorSink sink = SinkOf(session);
  return Guard(sink, "facet_session_reset", [&]() -> facet_status {
    if (session == nullptr) return Invalid(sink, "session is NULL");
    session->session->Reset();
    return FACET_OK;
  });
}

facet_status facet_session_stats(const facet_session* session,
                                 facet_stats* out) {
  const ErrorSink sink = SinkOf(const_cast<facet_session*>(session));
  return Guard(sink, "facet_session_stats", [&]() -> facet_status {
    if (session == nullptr) return Invalid(sink, "session is NULL");
    if (out == nullptr) return Invalid(sink, "out is NULL");
    facet_status st = CheckStructSize(sink, out, "facet_stats");
    if (st != FACET_OK) return st;
    const facet::Stats s = session->session->stats();
    FACET_WRITE(facet_stats, out, prompt_tokens, s.prompt_tokens);
    FACET_WRITE(facet_stats, out, generated_tokens, s.generated_tokens);
    FACET_WRITE(facet_stats, out, time_to_first_token_s,
                s.time_to_first_token_s);
    FACET_WRITE(facet_stats, out, prefill_tokens_per_s, s.prefill_tokens_per_s);
    FACET_WRITE(facet_stats, out, decode_tokens_per_s, s.decode_tokens_per_s);
    FACET_WRITE(facet_stats, out, position, session->session->position());
    FACET_WRITE(facet_stats, out, context_length,
                session->session->context_length());
    FACET_WRITE(facet_stats, out, cached_prompt_tokens, s.cached_prompt_tokens);
    FACET_WRITE(facet_stats, out, speculative_steps, s.speculative_steps);
    FACET_WRITE(facet_stats, out, drafted_tokens, s.drafted_tokens);
    FACET_WRITE(facet_stats, out, accepted_tokens, s.accepted_tokens);
    FACET_WRITE(facet_stats, out, batched_steps, s.batched_steps);
    FACET_WRITE(facet_stats, out, batched_rows, s.batched_rows);
    return FACET_OK;
  });
}

// ---------------------------------------------------------------- response

const char* facet_response_text(const facet_response* response) {
  return response == nullptr ? nullptr : response->response.text.c_str();
}

const char* facet_response_thinking(const facet_response* response) {
  return response == nullptr ? nullptr : response->response.thinking.c_str();
}

size_t facet_response_tool_call_count(const facet_response* response) {
  return response == nullptr ? 0 : response->response.tool_calls.size();
}

const char* facet_response_tool_call_name(const facet_response* response,
                                          size_t index) {
  if (response == nullptr || index >= response->response.tool_calls.size()) {
    return nullptr;
  }
  return response->response.tool_calls[index].name.c_str();
}

const char* facet_response_tool_call_arguments(const facet_response* response,
                                               size_t index) {
  if (response == nullptr || index >= response->response.tool_calls.size()) {
    return nullptr;
  }
  return response->response.tool_calls[index].arguments_json.c_str();
}

facet_stop_reason facet_response_stop_reason(const facet_response* response) {
  return response == nullptr ? FACET_STOP_END_OF_TURN
                             : StopOf(response->response.stop_reason);
}

void facet_response_free(facet_response* response) { delete response; }

}  // extern "C"
