/*
 * facet_c.h: the C ABI of facet (on-device inference for Gemma 4 models).
 *
 * A stable, plain-C view of the C++ API in facet/facet.h, for C programs
 * and for bindings from other languages. Only C types cross it: opaque
 * handles, enums, structs of numbers and strings, and function pointers.
 * No C++ exception ever leaves a function of this header.
 *
 *   facet_engine_options eo = facet_engine_options_default();
 *   eo.model_path = "models/demo";
 *   facet_engine* engine;
 *   if (facet_engine_create(&eo, &engine) != FACET_OK) {
 *     fprintf(stderr, "%s\n", facet_last_error());
 *     return 1;
 *   }
 *   facet_session* session;
 *   facet_session_create(engine, NULL, &session);
 *   facet_session_add_message(session, FACET_ROLE_USER, "Recite John 1:1");
 *   facet_generate_options go = facet_generate_options_default();
 *   facet_engine_default_sampling(engine, &go);
 *   facet_response* reply;
 *   facet_session_generate(session, &go, on_event, NULL, &reply);
 *   puts(facet_response_text(reply));
 *   facet_response_free(reply);
 *   facet_session_free(session);
 *   facet_engine_free(engine);
 *
 * Conventions
 *
 * - Every fallible function returns a facet_status. On failure the message
 *   is readable until the next failing call: through facet_last_error()
 *   (per thread, for every failure, also before a handle exists), and
 *   through the handle the call was made on (facet_engine_last_error,
 *   facet_session_last_error). Output handles are set to NULL on failure.
 * - A NULL where a handle, a required string or an output pointer is
 *   expected returns FACET_INVALID_ARGUMENT. Arguments documented as
 *   optional may be NULL.
 * - Strings are UTF-8 and NUL-terminated. A string passed in is copied
 *   when needed; the caller keeps ownership. A string returned is owned by
 *   the handle it came from and stays valid until that handle is freed (or
 *   as documented); the caller never frees it.
 * - Every *_create has a *_free; *_free accepts NULL.
 * - Option structs start with `struct_size`. Initialise them with their
 *   *_default() function (which sets struct_size to the size this header
 *   declares), then change fields. Later versions only append fields, and
 *   the library reads only the first struct_size bytes, so a program built
 *   against an older header keeps working; a struct_size larger than the
 *   library knows is refused with FACET_INVALID_ARGUMENT.
 * - Threads: an engine may be shared by threads (creating sessions,
 *   tokenizing); a session is used by one thread at a time, except
 *   facet_session_cancel, which any thread may call at any time.
 *
 * Linking: facet is a C++ library. Link C programs with the C++ runtime:
 * `pkg-config --libs facet-c` and the CMake target facet::facet add it
 * (or link with a C++ compiler).
 */
#ifndef FACET_FACET_C_H_
#define FACET_FACET_C_H_

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__) || defined(__clang__)
#define FACET_C_API __attribute__((visibility("default")))
#else
#define FACET_C_API
#endif

/* The version of this header's ABI; facet_c_api_version() returns the
 * library's. They differ only when an app runs against a library built
 * from another release; a library of version N reads every struct of
 * versions 1..N. Version 2 appended the drafter, batch_decode, KV cache
 * types, speculative settings and their stats. */
#define FACET_C_API_VERSION 2

/* ---------------------------------------------------------------- status */

/* The same codes and numbers as facet::StatusCode. */
typedef enum facet_status {
  FACET_OK = 0,
  FACET_CANCELLED = 1,
  FACET_INVALID_ARGUMENT = 3,    /* bad option or argument from the caller */
  FACET_NOT_FOUND = 5,           /* missing file, tensor, key */
  FACET_RESOURCE_EXHAUSTED = 8,  /* allocation failed */
  FACET_FAILED_PRECONDITION = 9, /* wrong state (e.g. no vision encoder) */
  FACET_OUT_OF_RANGE = 11,       /* prompt longer than the context, buffer
                                    too small, index past the end */
  FACET_UNIMPLEMENTED = 12,      /* unsupported tensor type, architecture */
  FACET_INTERNAL = 13,           /* a bug in facet */
  FACET_DATA_LOSS = 15           /* truncated or corrupt file */
} facet_status;

/* A stable name such as "INVALID_ARGUMENT" (a static string). */
FACET_C_API const char* facet_status_name(facet_status status);

/* The message of this thread's last failed call ("" if none). Owned by
 * the library; valid until this thread's next failing call. */
FACET_C_API const char* facet_last_error(void);

/* facet's release, such as "0.1.0" (a static string). */
FACET_C_API const char* facet_version(void);
/* The FACET_C_API_VERSION the library was built with. */
FACET_C_API int facet_c_api_version(void);

/* ---------------------------------------------------------------- engine */

/* A loaded model: immutable, shareable between threads. */
typedef struct facet_engine facet_engine;

typedef struct facet_engine_options {
  size_t struct_size;
  /* A .gguf file or a Hugging Face folder. Required. */
  const char* model_path;
  /* The vision / audio encoders: an HF folder or a llama.cpp mmproj GGUF.
   * NULL or "": the model's own folder when it holds them. */
  const char* mmproj_path;
  /* Compute threads; 0 = one per available core. */
  int32_t num_threads;
  /* Read the weights into memory while loading (default 1). */
  int32_t prefetch;
  /* Repack quantized weights for this CPU's kernels (default 1); 0 for
   * programs that only tokenize or inspect. */
  int32_t repack_weights;
  /* Optional: called while loading with the fraction done. */
  void (*on_load_progress)(float fraction, void* user_data);
  void* load_progress_user_data;
  /* Memory for the shared prefix cache: sessions starting with the same
   * system turn (system prompt, tool declarations) reuse its KV entries
   * instead of prefilling them again (least recently used out first).
   * 0 = off; default 256 MiB. */
  uint64_t prefix_cache_bytes;
  /* A drafter for FACET_SPEC_DRAFT: the Hugging Face folder of the model's
   * Gemma 4 MTP "assistant" checkpoint (e.g. gemma-4-E2B-it-assistant).
   * NULL or "": none. facet_engine_create fails when it was not made for
   * the model. */
  const char* draft_model_path;
  /* Sessions generating at the same time (threads) advance together: their
   * decode steps meet in one forward pass that reads the weights once,
   * each with the tokens it would get alone (default 1). 0: each session
   * runs its own passes. */
  int32_t batch_decode;
} facet_engine_options;

FACET_C_API facet_engine_options facet_engine_options_default(void);

/* Loads a model. On success *out is a new engine (free it with
 * facet_engine_free); on failure *out is NULL and facet_last_error() says
 * why (e.g. FACET_NOT_FOUND naming the path). */
FACET_C_API facet_status
facet_engine_create(const facet_engine_options* options, facet_engine** out);
/* Frees the engine. Sessions created from it stay valid (they share the
 * model) and must still be freed. */
FACET_C_API void facet_engine_free(facet_engine* engine);
/* The message of the last failed call on this engine ("" if none), owned
 * by the engine; valid until its next failing call or facet_engine_free.
 * With threads sharing the engine, prefer facet_last_error(). */
FACET_C_API const char* facet_engine_last_error(const facet_engine* engine);

typedef struct facet_model_info {
  size_t struct_size; /* set by the caller: sizeof(facet_model_info) */
  /* Owned by the engine, valid until facet_engine_free. */
  const char* path;
  const char* format;       /* "gguf" or "hf" */
  const char* architecture; /* "gemma4" */
  const char* preset;       /* "e2b", "e4b", "26b-a4b", "31b", "12b" or "" */
  int64_t vocab_size;
  int32_t hidden_size;
  int32_t num_layers;
  int32_t num_heads;
  int32_t sliding_window;
  int64_t max_context;
  uint64_t parameter_count;
  uint64_t weight_bytes;
  int32_t num_threads; /* compute threads in use */
  int32_t has_vision;  /* images can enter a conversation */
  int32_t has_audio;   /* audio can enter a conversation */
} facet_model_info;

/* Fills *out (whose struct_size the caller sets) with the model's facts. */
FACET_C_API facet_status facet_engine_model_info(const facet_engine* engine,
                                                 facet_model_info* out);

/* ------------------------------------------------------------- tokenizer */

/* Text -> token ids. *n_tokens receives the number of ids the text takes.
 * They are written to tokens[] when they fit in `capacity`: FACET_OK;
 * otherwise nothing is written and the call returns FACET_OUT_OF_RANGE,
 * except that tokens == NULL with capacity 0 is a size query (FACET_OK).
 * parse_special: special-token text such as "<|turn>" becomes that token
 * (else it is ordinary text); add_bos: prepend <bos>. */
FACET_C_API facet_status facet_tokenize(const facet_engine* engine,
                                        const char* text, int parse_special,
                                        int add_bos, int32_t* tokens,
                                        size_t capacity, size_t* n_tokens);

/* Token ids -> text. *length receives the text's length in bytes without
 * the NUL. It is written to buf, NUL-terminated, when length + 1 <=
 * capacity: FACET_OK; otherwise nothing is written and the call returns
 * FACET_OUT_OF_RANGE, except that buf == NULL with capacity 0 is a size
 * query (FACET_OK). An id outside the vocabulary is FACET_INVALID_ARGUMENT.
 * render_special: control tokens appear as their text. */
FACET_C_API facet_status facet_detokenize(const facet_engine* engine,
                                          const int32_t* tokens,
                                          size_t n_tokens, int render_special,
                                          char* buf, size_t capacity,
                                          size_t* length);

/* --------------------------------------------------------------- session */

/* One conversation (KV cache, chat state); one thread at a time. */
typedef struct facet_session facet_session;

typedef struct facet_session_options {
  size_t struct_size;
  /* Most positions (prompt + answers); 0 = min(model maximum, 4096). */
  int64_t context_length;
  /* Most tokens per forward pass during prefill (default 256). */
  int32_t prefill_chunk;
  /* Thinking mode: the thought text comes as FACET_EVENT_THINKING. */
  int32_t enable_thinking;
  /* Optional system prompt. */
  const char* system_prompt;
  /* Optional tool declarations: a JSON array of
   * {"name", "description", "parameters": JSON schema}. */
  const char* tools_json;
  /* Time every op category (costs a clock read per op). */
  int32_t profile;
  /* Tool calls follow the declared tools' parameter schemas (constrained
   * decoding; default 1); a schema keyword that cannot be enforced is
   * refused by facet_session_create. 0: calls are sampled freely. */
  int32_t constrain_tool_calls;
  /* The session's default tool choice: "auto" (NULL), "required", "none"
   * or a tool's name (see facet_generate_options.tool_choice). */
  const char* tool_choice;
  /* Optional: a prompt cache file, as llama.cpp's --prompt-cache: the
   * first prompt reuses the file's KV entries when it starts with the
   * file's tokens, and the file is then rewritten with the new prompt's. */
  const char* prompt_cache_path;
  /* Element types of the KV cache's keys and values, as llama.cpp's
   * --cache-type-k / --cache-type-v: "f32" (exact; NULL or ""), "f16" (half
   * the memory) or "q8_0" (about 0.27x; needs head dims that are multiples
   * of 32). Another value: FACET_INVALID_ARGUMENT from
   * facet_session_create. */
  const char* cache_type_k;
  const char* cache_type_v;
} facet_session_options;

FACET_C_API facet_session_options facet_session_options_default(void);

/* A new conversation. options may be NULL (defaults). */
FACET_C_API facet_status
facet_session_create(facet_engine* engine, const facet_session_options* options,
                     facet_session** out);
FACET_C_API void facet_session_free(facet_session* session);
/* The message of the last failed call on this session ("" if none), owned
 * by the session; valid until its next failing call or facet_session_free. */
FACET_C_API const char* facet_session_last_error(const facet_session* session);

/* Writes the conversation (KV cache, token history, chat state) to `path`,
 * with a header naming the model and the format version.
 * FACET_FAILED_PRECONDITION with turns queued but not yet generated from. */
FACET_C_API facet_status facet_session_save(facet_session* session,
                                            const char* path);
/* A new session continuing the conversation facet_session_save wrote to
 * `path` (free it with facet_session_free). options may be NULL; its
 * context length is the saved one unless options ask for more, and the
 * chat state (thinking, tools) comes from the file. FACET_NOT_FOUND (no
 * file), FACET_FAILED_PRECONDITION (saved from another model: the message
 * says which), FACET_DATA_LOSS (corrupt or truncated file). */
FACET_C_API facet_status facet_engine_restore_session(
    facet_engine* engine, const char* path,
    const facet_session_options* options, facet_session** out);

typedef enum facet_role {
  FACET_ROLE_SYSTEM = 0,
  FACET_ROLE_USER = 1,
  FACET_ROLE_MODEL = 2,
  FACET_ROLE_TOOL = 3
} facet_role;

/* Queues a text turn. Nothing is computed until facet_session_generate. */
FACET_C_API facet_status facet_session_add_message(facet_session* session,
                                                   facet_role role,
                                                   const char* text);

/* One piece of a message: text, an image or audio. Build it with one of
 * the facet_part_* functions below, then adjust image_budget or
 * split_long_audio. The library copies what it needs during the call. */
typedef enum facet_part_kind {
  FACET_PART_TEXT = 0,
  FACET_PART_IMAGE_FILE = 1,   /* path: a JPEG, PNG, BMP or GIF file */
  FACET_PART_IMAGE_DATA = 2,   /* data, size: such a file's bytes */
  FACET_PART_IMAGE_PIXELS = 3, /* data: RGB bytes [height][width][3] */
  FACET_PART_AUDIO_FILE = 4,   /* path: WAV, FLAC, Ogg, MP3 */
  FACET_PART_AUDIO_DATA = 5,   /* data, size: such a file's bytes */
  FACET_PART_AUDIO_SAMPLES = 6 /* samples: mono floats in [-1, 1] */
} facet_part_kind;

typedef struct facet_part {
  size_t struct_size;
  facet_part_kind kind;
  const char* text;     /* FACET_PART_TEXT */
  const char* path;     /* *_FILE */
  const void* data;     /* *_DATA, IMAGE_PIXELS */
  size_t size;          /* bytes at data */
  int32_t width;        /* IMAGE_PIXELS */
  int32_t height;       /* IMAGE_PIXELS */
  const float* samples; /* AUDIO_SAMPLES */
  size_t n_samples;
  int32_t sample_rate;
  /* Images: soft tokens the image may take: 70, 140, 280, 560 or 1120;
   * 0 = 280. */
  int32_t image_budget;
  /* Audio longer than 30 s: encoded in 30 s chunks (1, default) or
   * refused (0). */
  int32_t split_long_audio;
} facet_part;

FACET_C_API facet_part facet_part_text(const char* text);
FACET_C_API facet_part facet_part_image_file(const char* path);
FACET_C_API facet_part facet_part_image_data(const void* data, size_t size);
FACET_C_API facet_part facet_part_image_pixels(const uint8_t* rgb,
                                               int32_t width, int32_t height);
FACET_C_API facet_part facet_part_audio_file(const char* path);
FACET_C_API facet_part facet_part_audio_data(const void* data, size_t size);
FACET_C_API facet_part facet_part_audio_samples(const float* samples,
                                                size_t n_samples,
                                                int32_t sample_rate);

/* Queues a turn of content parts, in order. Images and audio go in user
 * turns, on an engine with that encoder (facet_model_info.has_vision /
 * has_audio), else FACET_FAILED_PRECONDITION. Media are decoded and encoded
 * here; a malformed part or an undecodable file is FACET_INVALID_ARGUMENT
 * or FACET_DATA_LOSS naming the part, and nothing is queued. The array's
 * elements are parts[0].struct_size bytes apart (sizeof(facet_part) for a
 * plain array); all must have that struct_size. */
FACET_C_API facet_status
facet_session_add_message_parts(facet_session* session, facet_role role,
                                const facet_part* parts, size_t n_parts);

typedef struct facet_tool_call {
  const char* name;
  const char* arguments_json; /* a JSON object */
} facet_tool_call;

/* Queues a model turn that called tools (replaying an earlier answer from
 * an app's history). text and thinking may be NULL. */
FACET_C_API facet_status facet_session_add_model_tool_calls(
    facet_session* session, const char* text, const facet_tool_call* calls,
    size_t n_calls, const char* thinking);

/* Queues the result of a tool call, as a JSON value. */
FACET_C_API facet_status facet_session_add_tool_response(
    facet_session* session, const char* tool_name, const char* response_json);

/* Speculative decoding: tokens are guessed ahead and checked by the model
 * several at a time, in one forward pass. The answer is the same as
 * without it: token for token with greedy sampling, and drawn from the
 * same distribution when sampling. */
typedef enum facet_speculative_mode {
  FACET_SPEC_OFF = 0,
  /* Guesses that the answer goes on as it did after the last earlier
   * occurrence of its latest few tokens in the conversation (quoting, code
   * edits, summaries, retrieved documents). */
  FACET_SPEC_PROMPT_LOOKUP = 1,
  /* The model's MTP drafter (facet_engine_options.draft_model_path); with
   * none loaded, generate returns FACET_FAILED_PRECONDITION. */
  FACET_SPEC_DRAFT = 2
} facet_speculative_mode;

typedef struct facet_generate_options {
  size_t struct_size;
  int32_t max_tokens; /* most tokens in this answer (default 1024) */
  /* Sampling; facet_engine_default_sampling() sets the model's own. */
  float temperature;        /* 0 = greedy (default 1.0) */
  int32_t top_k;            /* 0 = off (default 64) */
  float top_p;              /* 1 = off (default 0.95) */
  float min_p;              /* 0 = off */
  float repetition_penalty; /* 1 = off */
  float presence_penalty;
  float frequency_penalty;
  int32_t penalty_last_n; /* tokens the penalties look back over (64) */
  uint64_t seed;          /* same seed, same prompt -> same output */
  /* Optional: generation stops before any of these strings. */
  const char* const* stop_strings;
  size_t n_stop_strings;
  /* Never end the turn on <eos>/<turn|> (tests, benchmarks). */
  int32_t ignore_eos;
  /* Optional: called after each prefill chunk with tokens done / total. */
  void (*on_prefill_progress)(int64_t done, int64_t total, void* user_data);
  void* prefill_progress_user_data;
  /* With tools declared: "auto" (the model may call tools or answer),
   * "required" (it must call one), "none" (it must not call any), or a
   * tool's name (it must call that tool). NULL or "": the session's. */
  const char* tool_choice;
  /* Structured output: a JSON schema the whole answer must match (as
   * OpenAI's response_format); "{\"type\": \"object\"}" for any JSON
   * object. NULL or "": off. */
  const char* json_schema;
  /* Speculative decoding (off while the answer is constrained: declared
   * tools with constrain_tool_calls, json_schema): a facet_speculative_mode
   * (default FACET_SPEC_OFF; another value is FACET_INVALID_ARGUMENT). */
  int32_t speculative_mode;
  int32_t max_draft; /* most tokens guessed per step, 1..32 (default 8) */
  /* The draft length follows the measured acceptance and step times, and
   * drafting pauses while it does not pay (default 1). 0: every step
   * checks all the tokens the drafter offers (measurements, tests). */
  int32_t speculative_adaptive;
} facet_generate_options;

FACET_C_API facet_generate_options facet_generate_options_default(void);
/* Sets the sampling fields of *options to the model's defaults (its
 * generation_config.json or GGUF metadata); the other fields are kept. */
FACET_C_API facet_status facet_engine_default_sampling(
    const facet_engine* engine, facet_generate_options* options);

typedef enum facet_event_kind {
  FACET_EVENT_TEXT = 0,     /* a piece of the visible answer */
  FACET_EVENT_THINKING = 1, /* a piece of the thought text */
  FACET_EVENT_TOOL_CALL = 2 /* a complete tool call */
} facet_event_kind;

/* One streamed piece of the answer. Everything it points to is valid only
 * during the callback. Later versions may append fields. */
typedef struct facet_event {
  facet_event_kind kind;
  const char* text; /* TEXT, THINKING ("" for a tool call) */
  size_t text_len;
  const char* tool_name;           /* TOOL_CALL (else NULL) */
  const char* tool_arguments_json; /* TOOL_CALL (else NULL): a JSON object */
} facet_event;

/* Return nonzero to go on, 0 to stop generating (the response then ends
 * with FACET_STOP_CANCELLED). Called on the thread that called generate. */
typedef int (*facet_event_callback)(const facet_event* event, void* user_data);

typedef enum facet_stop_reason {
  FACET_STOP_END_OF_TURN = 0, /* <turn|> or <eos> */
  FACET_STOP_STOP_STRING = 1, /* one of stop_strings */
  FACET_STOP_MAX_TOKENS = 2,
  FACET_STOP_CANCELLED = 3, /* the callback returned 0 or cancel was called */
  FACET_STOP_CONTEXT_FULL = 4
} facet_stop_reason;

/* A finished answer. */
typedef struct facet_response facet_response;

/* Prefills the queued turns and generates the model's turn, streaming
 * pieces to `callback` (optional; user_data is passed to it). options may
 * be NULL (facet_generate_options_default()). On success *out (optional:
 * NULL discards it) is a new response to free with facet_response_free.
 * A stop by the callback or by facet_session_cancel is a success whose
 * stop reason is FACET_STOP_CANCELLED. On failure (e.g. FACET_OUT_OF_RANGE:
 * the turns do not fit the context) the queued turns are dropped and the
 * conversation is as it was before they were queued. */
FACET_C_API facet_status facet_session_generate(
    facet_session* session, const facet_generate_options* options,
    facet_event_callback callback, void* user_data, facet_response** out);

/* Stops a running facet_session_generate soon; callable from any thread.
 * A cancel before generate starts has no effect. */
FACET_C_API facet_status facet_session_cancel(facet_session* session);

/* Forgets the conversation (position back to 0); keeps the memory. */
FACET_C_API facet_status facet_session_reset(facet_session* session);

typedef struct facet_stats {
  size_t struct_size; /* set by the caller: sizeof(facet_stats) */
  /* Of the last generate: */
  int64_t prompt_tokens;    /* tokens prefilled */
  int64_t generated_tokens; /* tokens sampled */
  double time_to_first_token_s;
  double prefill_tokens_per_s;
  double decode_tokens_per_s;
  /* Of the session: */
  int64_t position;       /* tokens in the KV cache */
  int64_t context_length; /* most tokens it can hold */
  /* Of prompt_tokens, how many came from the prefix cache or the prompt
   * cache file instead of being computed. */
  int64_t cached_prompt_tokens;
  /* Speculative decoding in the last generate: verify passes, tokens
   * guessed, and those of them the model accepted (acceptance rate =
   * accepted / drafted; mean accepted length = accepted / steps). */
  int64_t speculative_steps;
  int64_t drafted_tokens;
  int64_t accepted_tokens;
  /* Forward passes of the last answer that also advanced other sessions
   * (facet_engine_options.batch_decode), and how many sessions they
   * advanced together, this one included (mean = rows / steps). */
  int64_t batched_steps;
  int64_t batched_rows;
} facet_stats;

FACET_C_API facet_status facet_session_stats(const facet_session* session,
                                             facet_stats* out);

/* Response accessors: the strings are owned by the response. NULL for a
 * NULL response or an index past the end. */
FACET_C_API const char* facet_response_text(const facet_response* response);
FACET_C_API const char* facet_response_thinking(const facet_response* response);
FACET_C_API size_t
facet_response_tool_call_count(const facet_response* response);
FACET_C_API const char* facet_response_tool_call_name(
    const facet_response* response, size_t index);
FACET_C_API const char* facet_response_tool_call_arguments(
    const facet_response* response, size_t index);
FACET_C_API facet_stop_reason
facet_response_stop_reason(const facet_response* response);
FACET_C_API void facet_response_free(facet_response* response);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* FACET_FACET_C_H_ */
