/*
 * The C ABI (facet/facet_c.h) from C: compiled as C11 with -Wall -Wextra
 * -pedantic, run on the demo model (and, given the test data folder, on the
 * tiny e2b target with its MTP drafter).
 *   usage: c_api_test <model> [scratch dir] [test data dir]
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

/* The structs as they were before the KV cache types, speculative decoding
 * and batched decode came (struct_size = the first new field's offset):
 * the new fields keep their defaults, and are never read or written. */
static void test_structs_before_speculative(const char* model) {
  facet_engine_options eo = facet_engine_options_default();
  CHECK(eo.batch_decode == 1 && eo.draft_model_path == NULL);
  eo.struct_size = offsetof(facet_engine_options, draft_model_path);
  eo.model_path = model;
  eo.num_threads = 1;
  eo.draft_model_path = "/nonexistent/drafter"; /* never read */
  facet_engine* engine = NULL;
  CHECK_STATUS(facet_engine_create(&eo, &engine), FACET_OK);
  if (engine == NULL) return;

  facet_session_options so = facet_session_options_default();
  CHECK(so.cache_type_k == NULL && so.cache_type_v == NULL);
  so.struct_size = offsetof(facet_session_options, cache_type_k);
  so.context_length = 256;
  so.cache_type_k = "bogus"; /* never read */
  facet_session* s = NULL;
  CHECK_STATUS(facet_session_create(engine, &so, &s), FACET_OK);
  if (s != NULL) {
    facet_generate_options go = greedy(8);
    CHECK(go.speculative_mode == FACET_SPEC_OFF && go.max_draft == 8 &&
          go.speculative_adaptive == 1);
    go.struct_size = offsetof(facet_generate_options, speculative_mode);
    go.speculative_mode = 99; /* never read */
    go.max_draft = -1;
    CHECK_STATUS(facet_session_add_message(s, FACET_ROLE_USER, "Genesis 1:1"),
                 FACET_OK);
    CHECK_STATUS(facet_session_generate(s, &go, NULL, NULL, NULL), FACET_OK);
    facet_stats stats = {.struct_size =
                             offsetof(facet_stats, speculative_steps)};
    stats.speculative_steps = -7; /* never written */
    stats.batched_rows = -7;
    CHECK_STATUS(facet_session_stats(s, &stats), FACET_OK);
    CHECK(stats.generated_tokens > 0 && stats.cached_prompt_tokens >= 0);
    CHECK(stats.speculative_steps == -7 && stats.batched_rows == -7);
    facet_session_free(s);
  }
  facet_engine_free(engine);
}

/* KV cache element types: f16 and q8_0 sessions generate; a name that is
 * not one is refused with the C++ API's message. */
static void test_cache_types(facet_engine* engine) {
  const char* types[3][2] = {{"f16", "f16"}, {"q8_0", "q8_0"}, {"f16", ""}};
  for (int i = 0; i < 3; ++i) {
    facet_session_options so = facet_session_options_default();
    so.context_length = 256;
    so.cache_type_k = types[i][0];
    so.cache_type_v = types[i][1];
    facet_session* s = NULL;
    CHECK_STATUS(facet_session_create(engine, &so, &s), FACET_OK);
    if (s == NULL) continue;
    CHECK_STATUS(
        facet_session_add_message(s, FACET_ROLE_USER, "Recite Genesis 1:1"),
        FACET_OK);
    facet_generate_options go = greedy(16);
    facet_response* r = NULL;
    CHECK_STATUS(facet_session_generate(s, &go, NULL, NULL, &r), FACET_OK);
    CHECK(r != NULL && strlen(facet_response_text(r)) > 0);
    if (r != NULL) {
      printf("KV %s/%s: %s\n", types[i][0], types[i][1],
             facet_response_text(r));
    }
    facet_response_free(r);
    facet_session_free(s);
  }
  facet_session_options so = facet_session_options_default();
  so.cache_type_v = "q4_0";
  facet_session* s = (facet_session*)&so; /* must be reset to NULL */
  CHECK_STATUS(facet_session_create(engine, &so, &s), FACET_INVALID_ARGUMENT);
  CHECK(s == NULL);
  printf("bad KV type: %s\n", facet_last_error());
  CHECK(strstr(facet_last_error(),
               "KV cache type \"q4_0\" is not one of f32, f16, q8_0") != NULL);
  CHECK(strcmp(facet_engine_last_error(engine), facet_last_error()) == 0);
}

/* Runs one greedy answer of max_tokens (ignore_eos) in a fresh session,
 * with the given speculative mode; returns the text (malloc'ed, or NULL)
 * and fills *stats. */
static char* answer(facet_engine* engine, const char* prompt, int max_tokens,
                    int32_t mode, facet_stats* stats) {
  memset(stats, 0, sizeof *stats);
  facet_session_options so = facet_session_options_default();
  so.context_length = 256;
  facet_session* s = NULL;
  CHECK_STATUS(facet_session_create(engine, &so, &s), FACET_OK);
  if (s == NULL) return NULL;
  char* text = NULL;
  CHECK_STATUS(facet_session_add_message(s, FACET_ROLE_USER, prompt), FACET_OK);
  facet_generate_options go = greedy(max_tokens);
  go.ignore_eos = 1;
  go.speculative_mode = mode;
  go.max_draft = 4;
  go.speculative_adaptive = 0;
  facet_response* r = NULL;
  CHECK_STATUS(facet_session_generate(s, &go, NULL, NULL, &r), FACET_OK);
  if (r != NULL) {
    const char* t = facet_response_text(r);
    text = (char*)malloc(strlen(t) + 1);
    if (text != NULL) strcpy(text, t);
  }
  facet_response_free(r);
  stats->struct_size = sizeof *stats;
  CHECK_STATUS(facet_session_stats(s, stats), FACET_OK);
  facet_session_free(s);
  return text;
}

/* Prompt lookup: the same greedy text as plain decoding, with drafts. */
static void test_speculative_lookup(facet_engine* engine,
                                    facet_session* session) {
  const char* prompt =
      "Repeat: In the beginning God created the heaven and the earth. In the "
      "beginning God created the heaven and the earth.";
  facet_stats plain_stats;
  facet_stats spec_stats;
  char* plain = answer(engine, prompt, 48, FACET_SPEC_OFF, &plain_stats);
  char* spec =
      answer(engine, prompt, 48, FACET_SPEC_PROMPT_LOOKUP, &spec_stats);
  CHECK(plain != NULL && spec != NULL);
  if (plain != NULL && spec != NULL) {
    printf("prompt lookup: %s\n", spec);
    CHECK(strcmp(plain, spec) == 0);
  }
  CHECK(plain_stats.speculative_steps == 0 && plain_stats.drafted_tokens == 0);
  CHECK(spec_stats.generated_tokens == 48);
  CHECK(spec_stats.speculative_steps > 0);
  CHECK(spec_stats.drafted_tokens > 0);
  CHECK(spec_stats.accepted_tokens >= 0 &&
        spec_stats.accepted_tokens <= spec_stats.drafted_tokens);
  printf("prompt lookup: %lld steps, %lld drafted, %lld accepted\n",
         (long long)spec_stats.speculative_steps,
         (long long)spec_stats.drafted_tokens,
         (long long)spec_stats.accepted_tokens);
  free(plain);
  free(spec);

  /* Bad speculative settings are the caller's error. */
  facet_generate_options go = greedy(4);
  go.speculative_mode = 7;
  CHECK_STATUS(facet_session_add_message(session, FACET_ROLE_USER, "Amen"),
               FACET_OK);
  CHECK_STATUS(facet_session_generate(session, &go, NULL, NULL, NULL),
               FACET_INVALID_ARGUMENT);
  CHECK(strstr(facet_session_last_error(session), "speculative_mode") != NULL);
  go.speculative_mode = FACET_SPEC_PROMPT_LOOKUP;
  go.max_draft = 0;
  CHECK_STATUS(facet_session_add_message(session, FACET_ROLE_USER, "Amen"),
               FACET_OK);
  CHECK_STATUS(facet_session_generate(session, &go, NULL, NULL, NULL),
               FACET_INVALID_ARGUMENT);
  CHECK(strstr(facet_last_error(), "max_draft") != NULL);
  /* The drafter's mode on an engine without one. */
  go.speculative_mode = FACET_SPEC_DRAFT;
  go.max_draft = 8;
  CHECK_STATUS(facet_session_add_message(session, FACET_ROLE_USER, "Amen"),
               FACET_OK);
  CHECK_STATUS(facet_session_generate(session, &go, NULL, NULL, NULL),
               FACET_FAILED_PRECONDITION);
  printf("draft without a drafter: %s\n", facet_last_error());
  CHECK_STATUS(facet_session_reset(session), FACET_OK);
}

/* The MTP drafter (draft_model_path) on the tiny e2b target it was made
 * for: greedy answers as without it, with drafts accepted; a wrong path
 * or a drafter of another model fails cleanly. */
static void test_drafter(const char* data_dir) {
  char target[4096];
  char drafter[4096];
  char other[4096];
  snprintf(target, sizeof target, "%s/golden/e2b-tiny-f32-s16/model.gguf",
           data_dir);
  snprintf(drafter, sizeof drafter, "%s/mtp/e2b-tiny-assistant", data_dir);
  snprintf(other, sizeof other, "%s/golden/dense-tiny-f32-s16/model.gguf",
           data_dir);
  facet_engine_options eo = facet_engine_options_default();
  eo.model_path = target;
  eo.draft_model_path = drafter;
  eo.num_threads = 1;
  facet_engine* engine = NULL;
  CHECK_STATUS(facet_engine_create(&eo, &engine), FACET_OK);
  if (engine != NULL) {
    const char* prompt =
        "Repeat: the cat sat on the mat, the cat sat on the mat.";
    facet_stats plain_stats;
    facet_stats spec_stats;
    char* plain = answer(engine, prompt, 24, FACET_SPEC_OFF, &plain_stats);
    char* spec = answer(engine, prompt, 24, FACET_SPEC_DRAFT, &spec_stats);
    CHECK(plain != NULL && spec != NULL);
    if (plain != NULL && spec != NULL) CHECK(strcmp(plain, spec) == 0);
    CHECK(spec_stats.speculative_steps > 0);
    CHECK(spec_stats.drafted_tokens > 0);
    printf("drafter: %lld steps, %lld drafted, %lld accepted\n",
           (long long)spec_stats.speculative_steps,
           (long long)spec_stats.drafted_tokens,
           (long long)spec_stats.accepted_tokens);
    free(plain);
    free(spec);
    facet_engine_free(engine);
  }

  eo.draft_model_path = "/nonexistent/facet-c-api-test/drafter";
  engine = (facet_engine*)&eo; /* must be reset to NULL */
  facet_status st = facet_engine_create(&eo, &engine);
  CHECK(st == FACET_NOT_FOUND);
  CHECK(engine == NULL);
  CHECK(strstr(facet_last_error(), "facet-c-api-test") != NULL);
  printf("bad drafter path: %s: %s\n", facet_status_name(st),
         facet_last_error());

  eo.model_path = other;
  eo.draft_model_path = drafter;
  CHECK_STATUS(facet_engine_create(&eo, &engine), FACET_FAILED_PRECONDITION);
  CHECK(engine == NULL);
  printf("drafter of another model: %s\n", facet_last_error());
}

/* Two sessions generating from two threads at once (batch_decode: their
 * steps may share passes) answer as each does alone. */
typedef struct answer_job {
  facet_engine* engine;
  const char* prompt;
  char* text;
  facet_stats stats;
} answer_job;

static void* run_answer(void* arg) {
  answer_job* job = (answer_job*)arg;
  job->text = answer(job->engine, job->prompt, 32, FACET_SPEC_OFF, &job->stats);
  return NULL;
}

static void test_two_threads(const char* model) {
  facet_engine_options eo = facet_engine_options_default();
  eo.model_path = model;
  eo.num_threads = 2;
  facet_engine* engine = NULL;
  CHECK_STATUS(facet_engine_create(&eo, &engine), FACET_OK);
  if (engine == NULL) return;
  const char* prompts[2] = {"Recite Genesis 1:1", "Recite John 3:16"};
  char* alone[2];
  answer_job jobs[2];
  pthread_t threads[2];
  for (int i = 0; i < 2; ++i) {
    facet_stats stats;
    alone[i] = answer(engine, prompts[i], 32, FACET_SPEC_OFF, &stats);
    CHECK(stats.batched_steps == 0);
    memset(&jobs[i], 0, sizeof jobs[i]);
    jobs[i].engine = engine;
    jobs[i].prompt = prompts[i];
  }
  for (int i = 0; i < 2; ++i) {
    CHECK(pthread_create(&threads[i], NULL, run_answer, &jobs[i]) == 0);
  }
  for (int i = 0; i < 2; ++i) {
    pthread_join(threads[i], NULL);
    CHECK(alone[i] != NULL && jobs[i].text != NULL);
    if (alone[i] != NULL && jobs[i].text != NULL) {
      CHECK(strcmp(alone[i], jobs[i].text) == 0);
    }
    CHECK(jobs[i].stats.generated_tokens == 32);
    CHECK(jobs[i].stats.batched_rows >= 2 * jobs[i].stats.batched_steps);
    printf("thread %d: %lld of %lld steps batched\n", i,
           (long long)jobs[i].stats.batched_steps,
           (long long)jobs[i].stats.generated_tokens);
    free(alone[i]);
    free(jobs[i].text);
  }
  facet_engine_free(engine);
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
  if (argc < 2 || argc > 4) {
    fprintf(stderr, "usage: %s <model> [scratch dir] [test data dir]\n",
            argv[0]);
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
  test_structs_before_speculative(argv[1]);
  test_cache_types(engine);
  test_speculative_lookup(engine, session);
  test_cancel_from_callback(session);
  test_cancel_from_thread(session);
  test_media_without_encoder(session);
  test_tools(engine);
  test_constrained(engine);
  test_save_restore(engine, argc > 2 ? argv[2] : ".");
  test_context_overflow(engine);
  test_two_threads(argv[1]);
  if (argc > 3) test_drafter(argv[3]);

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
