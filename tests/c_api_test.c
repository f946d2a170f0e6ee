/*
 * The C ABI (facet/facet_c.h) from C: compiled as C11 with -Wall -Wextra
 * -pedantic, run on the demo model.
 *   usage: c_api_test <model> [scratch dir]
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "facet/facet_c.h"

static int g_failures = 0;
static int g_checks = 0;

#define CHECK(cond)                                                           \
  do {                                                                        \
    ++g_checks;                                                               \
    if (!(cond)) {                                                            \
      ++g_failures;                                                           \
      fprintf(stderr, "%s:%d: CHECK failed: %s (last error: %s)\n", __FILE__, \
              __LINE__, #cond, facet_last_error());                           \
    }                                                                         \
  } while (0)

#define CHECK_STATUS(expr, want)                                           \
  do {                                                                     \
    facet_status got_ = (expr);                                            \
    ++g_checks;                                                            \
    if (got_ != (want)) {                                                  \
      ++g_failures;                                                        \
      fprintf(stderr, "%s:%d: %s returned %s, want %s (last error: %s)\n", \
              __FILE__, __LINE__, #expr, facet_status_name(got_),          \
              facet_status_name(want), facet_last_error());                \
    }                                                                      \
  } while (0)

/* Appends streamed text to a buffer. */
typedef struct collector {
  char text[8192];
  size_t len;
  int events;
  int stop_after; /* return 0 after this many events (0 = never) */
  facet_session* cancel_session; /* call facet_session_cancel instead */
} collector;

static int collect(const facet_event* event, void* user_data) {
  collector* c = (collector*)user_data;
  ++c->events;
  if (event->kind == FACET_EVENT_TEXT &&
      c->len + event->text_len < sizeof c->text) {
    memcpy(c->text + c->len, event->text, event->text_len);
    c->len += event->text_len;
    c->text[c->len] = '\0';
  }
  if (c->stop_after > 0 && c->events >= c->stop_after) {
    if (c->cancel_session != NULL) {
      facet_session_cancel(c->cancel_session);
      return 1;
    }
    return 0;
  }
  return 1;
}

static void test_version(void) {
  CHECK(facet_version() != NULL && strlen(facet_version()) > 0);
  CHECK(facet_c_api_version() == FACET_C_API_VERSION);
  CHECK(strcmp(facet_status_name(FACET_OK), "OK") == 0);
  CHECK(strcmp(facet_status_name(FACET_FAILED_PRECONDITION),
               "FAILED_PRECONDITION") == 0);
  CHECK(strcmp(facet_status_name((facet_status)77), "UNKNOWN") == 0);
}

static void test_bad_path(void) {
  facet_engine_options eo = facet_engine_options_default();
  eo.model_path = "/nonexistent/facet-c-api-test/model.gguf";
  facet_engine* engine = (facet_engine*)&eo; /* must be reset to NULL */
  facet_status st = facet_engine_create(&eo, &engine);
  CHECK(st == FACET_NOT_FOUND);
  CHECK(engine == NULL);
  CHECK(strstr(facet_last_error(), "facet-c-api-test") != NULL);
  printf("bad path: %s: %s\n", facet_status_name(st), facet_last_error());
}

static void test_null_arguments(facet_engine* engine, facet_session* session) {
  facet_engine_options eo = facet_engine_options_default();
  facet_engine* e = NULL;
  CHECK_STATUS(facet_engine_create(NULL, &e), FACET_INVALID_ARGUMENT);
  CHECK(strlen(facet_last_error()) > 0);
  eo.model_path = "x";
  CHECK_STATUS(facet_engine_create(&eo, NULL), FACET_INVALID_ARGUMENT);
  eo.model_path = NULL;
  CHECK_STATUS(facet_engine_create(&eo, &e), FACET_INVALID_ARGUMENT);
  eo.model_path = "x";
  eo.struct_size = 0;
  CHECK_STATUS(facet_engine_create(&eo, &e), FACET_INVALID_ARGUMENT);
  eo.struct_size = sizeof eo + 8; /* a newer header than the library */
  CHECK_STATUS(facet_engine_create(&eo, &e), FACET_INVALID_ARGUMENT);
  CHECK(strstr(facet_last_error(), "struct_size") != NULL);

  facet_session* s = NULL;
  CHECK_STATUS(facet_session_create(NULL, NULL, &s), FACET_INVALID_ARGUMENT);
  CHECK_STATUS(facet_session_create(engine, NULL, NULL),
               FACET_INVALID_ARGUMENT);
  CHECK_STATUS(facet_session_add_message(NULL, FACET_ROLE_USER, "hi"),
               FACET_INVALID_ARGUMENT);
  CHECK_STATUS(facet_session_add_message(session, FACET_ROLE_USER, NULL),
               FACET_INVALID_ARGUMENT);
  CHECK(strcmp(facet_session_last_error(session), facet_last_error()) == 0);
  CHECK_STATUS(facet_session_add_message(session, (facet_role)42, "hi"),
               FACET_INVALID_ARGUMENT);
  CHECK_STATUS(
      facet_session_add_message_parts(session, FACET_ROLE_USER, NULL, 1),
      FACET_INVALID_ARGUMENT);
  facet_part bad = facet_part_text(NULL);
  CHECK_STATUS(
      facet_session_add_message_parts(session, FACET_ROLE_USER, &bad, 1),
      FACET_INVALID_ARGUMENT);
  CHECK_STATUS(facet_session_add_tool_response(session, NULL, "{}"),
               FACET_INVALID_ARGUMENT);
  CHECK_STATUS(facet_session_add_tool_response(NULL, "f", "{}"),
               FACET_INVALID_ARGUMENT);
  CHECK_STATUS(facet_session_generate(NULL, NULL, NULL, NULL, NULL),
               FACET_INVALID_ARGUMENT);
  const char* stops[1] = {NULL};
  facet_generate_options go = facet_generate_options_default();
  go.stop_strings = stops;
  go.n_stop_strings = 1;
  facet_response* r = NULL;
  CHECK_STATUS(facet_session_generate(session, &go, NULL, NULL, &r),
               FACET_INVALID_ARGUMENT);
  CHECK(r == NULL);
  CHECK_STATUS(facet_session_cancel(NULL), FACET_INVALID_ARGUMENT);
  CHECK_STATUS(facet_session_reset(NULL), FACET_INVALID_ARGUMENT);
  CHECK_STATUS(facet_session_stats(session, NULL), FACET_INVALID_ARGUMENT);
  facet_stats stats = {.struct_size = 0};
  CHECK_STATUS(facet_session_stats(session, &stats), FACET_INVALID_ARGUMENT);
  CHECK_STATUS(facet_engine_model_info(NULL, NULL), FACET_INVALID_ARGUMENT);
  CHECK_STATUS(facet_engine_default_sampling(engine, NULL),
               FACET_INVALID_ARGUMENT);

  size_t n = 0;
  int32_t ids[4];
  CHECK_STATUS(facet_tokenize(NULL, "a", 0, 0, ids, 4, &n),
               FACET_INVALID_ARGUMENT);
  CHECK_STATUS(facet_tokenize(engine, NULL, 0, 0, ids, 4, &n),
               FACET_INVALID_ARGUMENT);
  CHECK_STATUS(facet_tokenize(engine, "a", 0, 0, ids, 4, NULL),
               FACET_INVALID_ARGUMENT);
  CHECK_STATUS(facet_tokenize(engine, "a", 0, 0, NULL, 4, &n),
               FACET_INVALID_ARGUMENT);
  CHECK(strcmp(facet_engine_last_error(engine), facet_last_error()) == 0);
  CHECK_STATUS(facet_detokenize(engine, NULL, 2, 0, NULL, 0, &n),
               FACET_INVALID_ARGUMENT);

  /* Accessors and frees accept NULL. */
  CHECK(facet_response_text(NULL) == NULL);
  CHECK(facet_response_tool_call_count(NULL) == 0);
  CHECK(facet_response_tool_call_name(NULL, 0) == NULL);
  CHECK(strcmp(facet_engine_last_error(NULL), "") == 0);
  facet_response_free(NULL);
  facet_session_free(NULL);
  facet_engine_free(NULL);
}

static void test_model_info(facet_engine* engine) {
  facet_model_info info = {.struct_size = sizeof(facet_model_info)};
  CHECK_STATUS(facet_engine_model_info(engine, &info), FACET_OK);
  CHECK(info.vocab_size == 4096);
  CHECK(info.num_layers == 6);
  CHECK(strcmp(info.architecture, "gemma4") == 0);
  CHECK(strcmp(info.format, "hf") == 0);
  CHECK(info.has_vision == 0 && info.has_audio == 0);
  CHECK(info.num_threads > 0);
  CHECK(info.max_context > 0);
}

static void test_tokenize_round_trip(facet_engine* engine) {
  const char* text =
      "In the beginning God created the heaven and the earth. \xc3\xa9";
  size_t n = 0;
  CHECK_STATUS(facet_tokenize(engine, text, 0, 0, NULL, 0, &n), FACET_OK);
  CHECK(n > 5);
  int32_t* ids = (int32_t*)malloc(n * sizeof *ids);
  size_t n2 = 0;
  CHECK_STATUS(facet_tokenize(engine, text, 0, 0, ids, n - 1, &n2),
               FACET_OUT_OF_RANGE);
  CHECK(n2 == n);
  CHECK_STATUS(facet_tokenize(engine, text, 0, 0, ids, n, &n2), FACET_OK);
  CHECK(n2 == n);

  size_t len = 0;
  CHECK_STATUS(facet_detokenize(engine, ids, n, 0, NULL, 0, &len), FACET_OK);
  CHECK(len == strlen(text));
  char small[4];
  CHECK_STATUS(facet_detokenize(engine, ids, n, 0, small, sizeof small, &len),
               FACET_OUT_OF_RANGE);
  char* back = (char*)malloc(len + 1);
  CHECK_STATUS(facet_detokenize(engine, ids, n, 0, back, len + 1, &len),
               FACET_OK);
  CHECK(strcmp(back, text) == 0);
  free(back);
  free(ids);

  /* Special tokens: parsed only when asked. */
  int32_t one[8];
  CHECK_STATUS(facet_tokenize(engine, "<|turn>", 1, 0, one, 8, &n), FACET_OK);
  CHECK(n == 1 && one[0] == 4);
  CHECK_STATUS(facet_tokenize(engine, "<|turn>", 0, 0, one, 8, &n), FACET_OK);
  CHECK(n > 1);
  char buf[32];
  int32_t turn = 4;
  CHECK_STATUS(facet_detokenize(engine, &turn, 1, 1, buf, sizeof buf, &len),
               FACET_OK);
  CHECK(strcmp(buf, "<|turn>") == 0);
  int32_t bad = 1 << 20;
  CHECK_STATUS(facet_detokenize(engine, &bad, 1, 0, buf, sizeof buf, &len),
               FACET_INVALID_ARGUMENT);
}

static facet_generate_options greedy(int max_tokens) {
  facet_generate_options go = facet_generate_options_default();
  go.temperature = 0;
  go.max_tokens = max_tokens;
  return go;
}

static void test_generate(facet_engine* engine, facet_session* session) {
  facet_generate_options go = greedy(48);
  CHECK_STATUS(
      facet_session_add_message(session, FACET_ROLE_USER, "Recite Genesis 1:1"),
      FACET_OK);
  collector c;
  memset(&c, 0, sizeof c);
  facet_response* r = NULL;
  CHECK_STATUS(facet_session_generate(session, &go, collect, &c, &r), FACET_OK);
  CHECK(r != NULL);
  if (r == NULL) return;
  printf("greedy answer: %s\n", facet_response_text(r));
  CHECK(strlen(facet_response_text(r)) > 0);
  CHECK(strcmp(facet_response_text(r), c.text) == 0);
  CHECK(strcmp(facet_response_thinking(r), "") == 0);
  CHECK(facet_response_tool_call_count(r) == 0);
  const facet_stop_reason stop = facet_response_stop_reason(r);
  CHECK(stop == FACET_STOP_END_OF_TURN || stop == FACET_STOP_MAX_TOKENS);

  facet_stats stats = {.struct_size = sizeof(facet_stats)};
  CHECK_STATUS(facet_session_stats(session, &stats), FACET_OK);
  CHECK(stats.prompt_tokens > 0);
  CHECK(stats.generated_tokens > 0 && stats.generated_tokens <= 48);
  CHECK(stats.position >= stats.prompt_tokens);
  CHECK(stats.context_length > stats.position);

  /* Same prompt after a reset: the same greedy answer, without a
   * response handle; the model's sampling defaults at temperature 0 too. */
  CHECK_STATUS(facet_session_reset(session), FACET_OK);
  CHECK_STATUS(facet_session_stats(session, &stats), FACET_OK);
  CHECK(stats.position == 0);
  CHECK_STATUS(facet_engine_default_sampling(engine, &go), FACET_OK);
  CHECK(go.top_k == 64 && go.max_tokens == 48);
  go.temperature = 0;
  CHECK_STATUS(
      facet_session_add_message(session, FACET_ROLE_USER, "Recite Genesis 1:1"),
      FACET_OK);
  collector c2;
  memset(&c2, 0, sizeof c2);
  CHECK_STATUS(facet_session_generate(session, &go, collect, &c2, NULL),
               FACET_OK);
  CHECK(strcmp(c2.text, facet_response_text(r)) == 0);
  facet_response_free(r);

  /* A second turn in the same conversation. */
  CHECK_STATUS(facet_session_add_message(session, FACET_ROLE_USER,
                                         "And the next verse?"),
               FACET_OK);
  CHECK_STATUS(facet_session_generate(session, &go, NULL, NULL, &r), FACET_OK);
  CHECK(r != NULL && strlen(facet_response_text(r)) > 0);
  facet_response_free(r);
  CHECK_STATUS(facet_session_reset(session), FACET_OK);
}

/* A program built against an older header passes smaller structs: the
 * fields it lacks take their defaults. */
static void test_older_structs(facet_engine* engine) {
  facet_session_options so = facet_session_options_default();
  so.struct_size = offsetof(facet_session_options, profile);
  so.context_length = 128;
  facet_session* s = NULL;
  CHECK_STATUS(facet_session_create(engine, &so, &s), FACET_OK);
  if (s == NULL) return;
  facet_generate_options go = greedy(8);
  go.struct_size = offsetof(facet_generate_options, stop_strings);
  go.n_stop_strings = 3; /* past struct_size: never read */
  CHECK_STATUS(facet_session_add_message(s, FACET_ROLE_USER, "Genesis 1:1"),
               FACET_OK);
  CHECK_STATUS(facet_session_generate(s, &go, NULL, NULL, NULL), FACET_OK);
  facet_stats stats = {.struct_size = offsetof(facet_stats, position)};
  stats.position = -7; /* past struct_size: never written */
  CHECK_STATUS(facet_session_stats(s, &stats), FACET_OK);
  CHECK(stats.generated_tokens > 0 && stats.position == -7);
  facet_session_free(s);
}

static void test_cancel_from_callback(facet_session* session) {
  facet_generate_options go = greedy(64);
  go.ignore_eos = 1;
  for (int use_cancel = 0; use_cancel < 2; ++use_cancel) {
    CHECK_STATUS(facet_session_add_message(session, FACET_ROLE_USER,
                                           "Tell me of the flood"),
                 FACET_OK);
    collector c;
    memset(&c, 0, sizeof c);
    c.stop_after = 3;
    c.cancel_session = use_cancel ? session : NULL;
    facet_response* r = NULL;
    CHECK_STATUS(facet_session_generate(session, &go, collect, &c, &r),
                 FACET_OK);
    CHECK(facet_response_stop_reason(r) == FACET_STOP_CANCELLED);
    facet_stats stats = {.struct_size = sizeof(facet_stats)};
    CHECK_STATUS(facet_session_stats(session, &stats), FACET_OK);
    CHECK(stats.generated_tokens < 64);
    CHECK(c.events >= 3);
    facet_response_free(r);
    CHECK_STATUS(facet_session_reset(session), FACET_OK);
  }
}

/* facet_session_cancel from another thread, while generate runs. */
typedef struct cancel_thread_state {
  facet_session* session;
  atomic_int started;
} cancel_thread_state;

static int note_start(const facet_event* event, void* user_data) {
  (void)event;
  atomic_store(&((cancel_thread_state*)user_data)->started, 1);
  return 1;
}

static void* cancel_later(void* arg) {
  cancel_thread_state* state = (cancel_thread_state*)arg;
  while (!atomic_load(&state->started)) {
  }
  facet_session_cancel(state->session);
  return NULL;
}

static void test_cancel_from_thread(facet_session* session) {
  facet_generate_options go = greedy(3000); /* would run for long */
  go.ignore_eos = 1;
  CHECK_STATUS(facet_session_add_message(session, FACET_ROLE_USER, "Speak"),
               FACET_OK);
  cancel_thread_state state;
  state.session = session;
  atomic_init(&state.started, 0);
  pthread_t thread;
  CHECK(pthread_create(&thread, NULL, cancel_later, &state) == 0);
  facet_response* r = NULL;
  CHECK_STATUS(facet_session_generate(session, &go, note_start, &state, &r),
               FACET_OK);
  atomic_store(&state.started, 1); /* lets the thread end in any case */
  pthread_join(thread, NULL);
  CHECK(facet_response_stop_reason(r) == FACET_STOP_CANCELLED);
  facet_response_free(r);
  CHECK_STATUS(facet_session_reset(session), FACET_OK);
}

static void test_media_without_encoder(facet_session* session) {
  uint8_t pixels[4 * 4 * 3];
  memset(pixels, 128, sizeof pixels);
  facet_part parts[2];
  parts[0] = facet_part_image_pixels(pixels, 4, 4);
  parts[1] = facet_part_text("What is this?");
  CHECK_STATUS(
      facet_session_add_message_parts(session, FACET_ROLE_USER, parts, 2),
      FACET_FAILED_PRECONDITION);
  printf("image on a text model: %s\n", facet_session_last_error(session));
  CHECK(strlen(facet_session_last_error(session)) > 0);
  CHECK(strcmp(facet_session_last_error(session), facet_last_error()) == 0);
  float samples[1600] = {0};
  parts[0] = facet_part_audio_samples(samples, 1600, 16000);
  CHECK_STATUS(
      facet_session_add_message_parts(session, FACET_ROLE_USER, parts, 2),
      FACET_FAILED_PRECONDITION);
  /* Wrong pixel count: refused before the model is asked. */
  parts[0] = facet_part_image_pixels(pixels, 4, 4);
  parts[0].size = 5;
  CHECK_STATUS(
      facet_session_add_message_parts(session, FACET_ROLE_USER, parts, 2),
      FACET_INVALID_ARGUMENT);
  /* Text parts alone work and nothing of the refused turns was queued. */
  parts[0] = facet_part_text("Recite ");
  parts[1] = facet_part_text("John 3:16");
  CHECK_STATUS(
      facet_session_add_message_parts(session, FACET_ROLE_USER, parts, 2),
      FACET_OK);
  facet_generate_options go = greedy(16);
  facet_response* r = NULL;
  CHECK_STATUS(facet_session_generate(session, &go, NULL, NULL, &r), FACET_OK);
  CHECK(r != NULL && strlen(facet_response_text(r)) > 0);
  facet_response_free(r);
  CHECK_STATUS(facet_session_reset(session), FACET_OK);
}

/* A conversation with tools: declarations, a replayed model turn that
 * called a tool, its result, then an answer. */
static void test_tools(facet_engine* engine) {
  facet_session_options so = facet_session_options_default();
  so.tools_json =
      "[{\"name\": \"get_verse\", \"description\": \"Looks up a verse\","
      " \"parameters\": {\"type\": \"object\", \"properties\": "
      "{\"reference\": {\"type\": \"string\"}}}}]";
  facet_session* s = NULL;
  CHECK_STATUS(facet_session_create(engine, &so, &s), FACET_OK);
  if (s == NULL) return;
  CHECK_STATUS(facet_session_add_message(s, FACET_ROLE_USER, "John 3:16?"),
               FACET_OK);
  facet_tool_call call = {"get_verse", "{\"reference\": \"John 3:16\"}"};
  CHECK_STATUS(facet_session_add_model_tool_calls(s, NULL, &call, 1, NULL),
               FACET_OK);
  CHECK_STATUS(facet_session_add_tool_response(
                   s, "get_verse", "{\"text\": \"For God so loved\"}"),
               FACET_OK);
  facet_generate_options go = greedy(16);
  facet_response* r = NULL;
  CHECK_STATUS(facet_session_generate(s, &go, NULL, NULL, &r), FACET_OK);
  CHECK(r != NULL);
  facet_response_free(r);
  /* Malformed JSON is the caller's error, and queues nothing. */
  facet_tool_call bad = {"get_verse", "[1, 2]"};
  CHECK_STATUS(facet_session_add_model_tool_calls(s, "", &bad, 1, ""),
               FACET_INVALID_ARGUMENT);
  CHECK(strstr(facet_session_last_error(s), "JSON object") != NULL);
  CHECK_STATUS(facet_session_add_tool_response(s, "get_verse", "{oops"),
               FACET_INVALID_ARGUMENT);
  CHECK_STATUS(facet_session_add_model_tool_calls(s, "", NULL, 1, ""),
               FACET_INVALID_ARGUMENT);
  facet_session_free(s);
}

/* Structured output and forced tool calls (constrained decoding). */
static void test_constrained(facet_engine* engine) {
  facet_session_options so = facet_session_options_default();
  so.tools_json =
      "[{\"name\": \"get_verse\", \"description\": \"Looks up a verse\","
      " \"parameters\": {\"type\": \"object\", \"properties\": "
      "{\"reference\": {\"type\": \"string\"}}, \"required\": "
      "[\"reference\"]}}]";
  facet_session* s = NULL;
  CHECK_STATUS(facet_session_create(engine, &so, &s), FACET_OK);
  if (s == NULL) return;
  CHECK_STATUS(facet_session_add_message(s, FACET_ROLE_USER, "John 3:16?"),
               FACET_OK);
  facet_generate_options go = greedy(128);
  go.tool_choice = "get_verse";
  facet_response* r = NULL;
  CHECK_STATUS(facet_session_generate(s, &go, NULL, NULL, &r), FACET_OK);
  /* A forced call leaves no free text; the tiny demo model may not finish
   * the call within max_tokens, so the call itself is checked when it
   * comes. */
  CHECK(r != NULL && strcmp(facet_response_text(r), "") == 0);
  if (facet_response_tool_call_count(r) >= 1) {
    printf("forced tool call: %s(%s)\n", facet_response_tool_call_name(r, 0),
           facet_response_tool_call_arguments(r, 0));
    CHECK(strcmp(facet_response_tool_call_name(r, 0), "get_verse") == 0);
  }
  facet_response_free(r);
  CHECK_STATUS(facet_session_reset(s), FACET_OK);

  go = greedy(96);
  go.tool_choice = "none";
  go.json_schema =
      "{\"type\": \"object\", \"properties\": {\"verse\": {\"type\": "
      "\"string\"}}, \"required\": [\"verse\"]}";
  CHECK_STATUS(facet_session_add_message(s, FACET_ROLE_USER, "Genesis 1:1"),
               FACET_OK);
  CHECK_STATUS(facet_session_generate(s, &go, NULL, NULL, &r), FACET_OK);
  if (r != NULL) {
    /* The answer is the schema's JSON object (perhaps cut short by
     * max_tokens). */
    const char* text = facet_response_text(r);
    while (*text == ' ' || *text == '\n' || *text == '\t') ++text;
    CHECK(text[0] == '{');
  }
  facet_response_free(r);
  go.tool_choice = "no_such_tool";
  go.json_schema = NULL;
  CHECK_STATUS(facet_session_add_message(s, FACET_ROLE_USER, "Again"),
               FACET_OK);
  CHECK_STATUS(facet_session_generate(s, &go, NULL, NULL, &r),
               FACET_INVALID_ARGUMENT);
  facet_session_free(s);
}

/* Save and restore a conversation; the prefix cache across sessions. */
static void test_save_restore(facet_engine* engine, const char* dir) {
  char path[4096];
  snprintf(path, sizeof path, "%s/c_api_test_session.bin", dir);
  facet_session_options so = facet_session_options_default();
  so.system_prompt = "You recite the King James Bible, chapter and verse.";
  facet_session* a = NULL;
  CHECK_STATUS(facet_session_create(engine, &so, &a), FACET_OK);
  if (a == NULL) return;
  facet_generate_options go = greedy(24);
  CHECK_STATUS(facet_session_add_message(a, FACET_ROLE_USER, "Genesis 1:1"),
               FACET_OK);
  CHECK_STATUS(facet_session_generate(a, &go, NULL, NULL, NULL), FACET_OK);
  CHECK_STATUS(facet_session_save(a, path), FACET_OK);
  CHECK_STATUS(facet_session_save(a, NULL), FACET_INVALID_ARGUMENT);

  facet_session* b = NULL;
  CHECK_STATUS(facet_engine_restore_session(engine, path, NULL, &b), FACET_OK);
  if (b != NULL) {
    facet_stats sa = {.struct_size = sizeof(facet_stats)};
    facet_stats sb = {.struct_size = sizeof(facet_stats)};
    CHECK_STATUS(facet_session_stats(a, &sa), FACET_OK);
    CHECK_STATUS(facet_session_stats(b, &sb), FACET_OK);
    CHECK(sa.position == sb.position && sa.position > 0);
    /* Both continue the same way. */
    facet_response* ra = NULL;
    facet_response* rb = NULL;
    CHECK_STATUS(facet_session_add_message(a, FACET_ROLE_USER, "And 1:2?"),
                 FACET_OK);
    CHECK_STATUS(facet_session_add_message(b, FACET_ROLE_USER, "And 1:2?"),
                 FACET_OK);
    CHECK_STATUS(facet_session_generate(a, &go, NULL, NULL, &ra), FACET_OK);
    CHECK_STATUS(facet_session_generate(b, &go, NULL, NULL, &rb), FACET_OK);
    CHECK(ra != NULL && rb != NULL &&
          strcmp(facet_response_text(ra), facet_response_text(rb)) == 0);
    facet_response_free(ra);
    facet_response_free(rb);
    facet_session_free(b);
  }
  b = NULL;
  CHECK_STATUS(
      facet_engine_restore_session(engine, "/nonexistent/s.bin", NULL, &b),
      FACET_NOT_FOUND);
  CHECK(b == NULL);
  FILE* f = fopen(path, "wb");
  if (f != NULL) {
    fputs("not a session", f);
    fclose(f);
  }
  CHECK_STATUS(facet_engine_restore_session(engine, path, NULL, &b),
               FACET_DATA_LOSS);
  printf("corrupt session file: %s\n", facet_last_error());
  remove(path);

  /* A second session with the same system prompt takes it from the
   * engine's prefix cache. */
  facet_session* c = NULL;
  CHECK_STATUS(facet_session_create(engine, &so, &c), FACET_OK);
  if (c != NULL) {
    CHECK_STATUS(facet_session_add_message(c, FACET_ROLE_USER, "Psalm 23:1"),
                 FACET_OK);
    CHECK_STATUS(facet_session_generate(c, &go, NULL, NULL, NULL), FACET_OK);
    facet_stats st = {.struct_size = sizeof(facet_stats)};
    CHECK_STATUS(facet_session_stats(c, &st), FACET_OK);
    printf("prefix cache: %lld of %lld prompt tokens cached\n",
           (long long)st.cached_prompt_tokens, (long long)st.prompt_tokens);
    CHECK(st.cached_prompt_tokens > 0);
    facet_session_free(c);
  }
  facet_session_free(a);
}

static void test_context_overflow(facet_engine* engine) {
  facet_session_options so = facet_session_options_default();
  so.context_length = 64;
  so.system_prompt = "You recite scripture.";
  facet_session* s = NULL;
  CHECK_STATUS(facet_session_create(engine, &so, &s), FACET_OK);
  if (s == NULL) return;
  char long_text[2048];
  long_text[0] = '\0';
  for (int i = 0; i < 40; ++i) strcat(long_text, "and the earth ");
  CHECK_STATUS(facet_session_add_message(s, FACET_ROLE_USER, long_text),
               FACET_OK);
  facet_generate_options go = greedy(8);
  facet_response* r = NULL;
  CHECK_STATUS(facet_session_generate(s, &go, NULL, NULL, &r),
               FACET_OUT_OF_RANGE);
  CHECK(r == NULL);
  printf("too long: %s\n", facet_session_last_error(s));
  /* The conversation is as before: a short message works. */
  CHECK_STATUS(facet_session_add_message(s, FACET_ROLE_USER, "Amen"), FACET_OK);
  CHECK_STATUS(facet_session_generate(s, &go, NULL, NULL, &r), FACET_OK);
  facet_response_free(r);
  /* Bad options are the caller's error. */
  go.max_tokens = 0;
  CHECK_STATUS(facet_session_add_message(s, FACET_ROLE_USER, "Amen"), FACET_OK);
  CHECK_STATUS(facet_session_generate(s, &go, NULL, NULL, &r),
               FACET_INVALID_ARGUMENT);
  facet_session_free(s);

  so.context_length = -5;
  CHECK_STATUS(facet_session_create(engine, &so, &s), FACET_INVALID_ARGUMENT);
  CHECK(s == NULL);
}

int main(int argc, char** argv) {
  if (argc != 2 && argc != 3) {
    fprintf(stderr, "usage: %s <model> [scratch dir]\n", argv[0]);
    return 2;
  }
  test_version();
  test_bad_path();

  facet_engine_options eo = facet_engine_options_default();
  eo.model_path = argv[1];
  eo.num_threads = 2;
  facet_engine* engine = NULL;
  facet_status st = facet_engine_create(&eo, &engine);
  if (st != FACET_OK) {
    fprintf(stderr, "loading %s: %s: %s\n", argv[1], facet_status_name(st),
            facet_last_error());
    return 1;
  }
  facet_session* session = NULL;
  CHECK_STATUS(facet_session_create(engine, NULL, &session), FACET_OK);
  if (session == NULL) return 1;

  test_null_arguments(engine, session);
  test_model_info(engine);
  test_tokenize_round_trip(engine);
  test_generate(engine, session);
  test_older_structs(engine);
  test_cancel_from_callback(session);
  test_cancel_from_thread(session);
  test_media_without_encoder(session);
  test_tools(engine);
  test_constrained(engine);
  test_save_restore(engine, argc > 2 ? argv[2] : ".");
  test_context_overflow(engine);

  /* The session outlives its engine handle. */
  facet_engine_free(engine);
  CHECK_STATUS(
      facet_session_add_message(session, FACET_ROLE_USER, "Recite Psalm 23"),
      FACET_OK);
  facet_generate_options go = greedy(8);
  facet_response* r = NULL;
  CHECK_STATUS(facet_session_generate(session, &go, NULL, NULL, &r), FACET_OK);
  facet_response_free(r);
  facet_session_free(session);

  printf("%d checks, %d failed\n", g_checks, g_failures);
  return g_failures == 0 ? 0 : 1;
}
