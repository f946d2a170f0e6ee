/*
 * A chat program in C11 over facet's C ABI (facet/facet_c.h): loads a
 * model, streams the answers, prints timings, and reports every error
 * with its status and message.
 *
 *   facet_c_chat <model> [options]          chat on stdin (/reset, /quit)
 *   facet_c_chat <model> -p "prompt"        one answer, then exit
 *
 * options: -p PROMPT, -s SYSTEM_PROMPT, -n MAX_TOKENS, --temp T, --seed S,
 *          --image FILE (attached to the first message), --think, -q (no
 *          timings)
 *
 * Build against the installed package:
 *   cmake:      find_package(facet)  target_link_libraries(app facet::facet)
 *   pkg-config: cc -std=c11 main.c $(pkg-config --cflags --libs facet-c)
 * Ctrl-C stops the answer being generated (the callback returns 0).
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "facet/facet_c.h"

static volatile sig_atomic_t g_interrupted = 0;

static void on_sigint(int sig) {
  (void)sig;
  g_interrupted = 1;
}

/* Prints a failed call's status and message; returns 1 (the exit code). */
static int report(const char* what, facet_status status, const char* message) {
  fprintf(stderr, "%s: %s: %s\n", what, facet_status_name(status), message);
  return 1;
}

typedef struct stream_state {
  int in_thinking; /* the thought channel is being printed */
} stream_state;

/* Streams the answer: visible text to stdout, thought text and tool calls
 * to stderr. Returns 0 (stop) after Ctrl-C. */
static int on_event(const facet_event* event, void* user_data) {
  stream_state* state = (stream_state*)user_data;
  switch (event->kind) {
    case FACET_EVENT_THINKING:
      if (!state->in_thinking) fputs("[thinking] ", stderr);
      state->in_thinking = 1;
      fputs(event->text, stderr);
      break;
    case FACET_EVENT_TEXT:
      if (state->in_thinking) fputs("\n", stderr);
      state->in_thinking = 0;
      fputs(event->text, stdout);
      fflush(stdout);
      break;
    case FACET_EVENT_TOOL_CALL:
      fprintf(stderr, "[tool call] %s(%s)\n", event->tool_name,
              event->tool_arguments_json);
      break;
  }
  return g_interrupted ? 0 : 1;
}

/* One turn: queue the message (with an image if given), generate, print. */
static int answer(facet_session* session, const facet_generate_options* go,
                  const char* prompt, const char* image_path, int quiet) {
  facet_status st;
  if (image_path != NULL) {
    facet_part parts[2];
    parts[0] = facet_part_image_file(image_path);
    parts[1] = facet_part_text(prompt);
    st = facet_session_add_message_parts(session, FACET_ROLE_USER, parts, 2);
  } else {
    st = facet_session_add_message(session, FACET_ROLE_USER, prompt);
  }
  if (st != FACET_OK) {
    return report("add_message", st, facet_session_last_error(session));
  }

  stream_state state = {0};
  facet_response* response = NULL;
  g_interrupted = 0;
  st = facet_session_generate(session, go, on_event, &state, &response);
  fputs("\n", stdout);
  if (st != FACET_OK) {
    /* The turn was dropped; the conversation goes on without it. */
    return report("generate", st, facet_session_last_error(session));
  }
  if (facet_response_stop_reason(response) == FACET_STOP_CANCELLED) {
    fputs("[stopped]\n", stderr);
  }
  for (size_t i = 0; i < facet_response_tool_call_count(response); ++i) {
    fprintf(stderr, "[tool call %zu] %s\n", i,
            facet_response_tool_call_name(response, i));
  }
  facet_response_free(response);

  if (!quiet) {
    facet_stats stats = {.struct_size = sizeof(facet_stats)};
    st = facet_session_stats(session, &stats);
    if (st != FACET_OK) {
      return report("stats", st, facet_session_last_error(session));
    }
    fprintf(stderr,
            "[%lld prompt tokens, %lld generated; first token %.2f s, "
            "prefill %.1f tok/s, decode %.1f tok/s; %lld/%lld positions]\n",
            (long long)stats.prompt_tokens, (long long)stats.generated_tokens,
            stats.time_to_first_token_s, stats.prefill_tokens_per_s,
            stats.decode_tokens_per_s, (long long)stats.position,
            (long long)stats.context_length);
  }
  return 0;
}

int main(int argc, char** argv) {
  if (argc < 2 || argv[1][0] == '-') {
    fprintf(stderr,
            "usage: %s <model.gguf | HF folder> [-p PROMPT] [-s SYSTEM] "
            "[-n MAX_TOKENS] [--temp T] [--seed S] [--image FILE] [--think] "
            "[-q]\n",
            argv[0]);
    return 2;
  }
  const char* prompt = NULL;
  const char* image_path = NULL;
  facet_session_options so = facet_session_options_default();
  facet_generate_options go = facet_generate_options_default();
  int max_tokens = 256;
  float temperature = -1; /* the model's own */
  long long seed = -1;
  int quiet = 0;
  for (int i = 2; i < argc; ++i) {
    const char* arg = argv[i];
    const char* value = i + 1 < argc ? argv[i + 1] : NULL;
    if (strcmp(arg, "--think") == 0) {
      so.enable_thinking = 1;
      continue;
    }
    if (strcmp(arg, "-q") == 0) {
      quiet = 1;
      continue;
    }
    if (value == NULL) {
      fprintf(stderr, "%s: missing value (or unknown flag)\n", arg);
      return 2;
    }
    ++i;
    if (strcmp(arg, "-p") == 0) {
      prompt = value;
    } else if (strcmp(arg, "-s") == 0) {
      so.system_prompt = value;
    } else if (strcmp(arg, "-n") == 0) {
      max_tokens = atoi(value);
    } else if (strcmp(arg, "--temp") == 0) {
      temperature = (float)atof(value);
    } else if (strcmp(arg, "--seed") == 0) {
      seed = atoll(value);
    } else if (strcmp(arg, "--image") == 0) {
      image_path = value;
    } else {
      fprintf(stderr, "unknown flag %s\n", arg);
      return 2;
    }
  }

  facet_engine_options eo = facet_engine_options_default();
  eo.model_path = argv[1];
  facet_engine* engine = NULL;
  facet_status st = facet_engine_create(&eo, &engine);
  if (st != FACET_OK) return report("load", st, facet_last_error());

  facet_model_info info = {.struct_size = sizeof(facet_model_info)};
  st = facet_engine_model_info(engine, &info);
  if (st != FACET_OK) {
    report("model_info", st, facet_engine_last_error(engine));
    facet_engine_free(engine);
    return 1;
  }
  if (!quiet) {
    fprintf(stderr,
            "facet %s: %s (%s %s, %d layers, vocab %lld, %d threads%s%s)\n",
            facet_version(), info.path, info.format, info.architecture,
            info.num_layers, (long long)info.vocab_size, info.num_threads,
            info.has_vision ? ", vision" : "", info.has_audio ? ", audio" : "");
  }

  /* The model's sampling defaults, then the flags. */
  st = facet_engine_default_sampling(engine, &go);
  if (st != FACET_OK) {
    report("default_sampling", st, facet_engine_last_error(engine));
    facet_engine_free(engine);
    return 1;
  }
  go.max_tokens = max_tokens;
  if (temperature >= 0) go.temperature = temperature;
  if (seed >= 0) go.seed = (uint64_t)seed;

  facet_session* session = NULL;
  st = facet_session_create(engine, &so, &session);
  /* The session shares the model: the engine handle can go now. */
  facet_engine_free(engine);
  if (st != FACET_OK) return report("session", st, facet_last_error());

  signal(SIGINT, on_sigint);
  int rc = 0;
  if (prompt != NULL) {
    rc = answer(session, &go, prompt, image_path, quiet);
  } else {
    char line[8192];
    for (;;) {
      fputs("> ", stdout);
      fflush(stdout);
      if (fgets(line, sizeof line, stdin) == NULL) break;
      line[strcspn(line, "\r\n")] = '\0';
      if (line[0] == '\0') continue;
      if (strcmp(line, "/quit") == 0) break;
      if (strcmp(line, "/reset") == 0) {
        facet_session_reset(session);
        fputs("[conversation cleared]\n", stderr);
        continue;
      }
      /* An error in one turn (e.g. too long for the context) is reported
       * and the chat goes on. */
      answer(session, &go, line, image_path, quiet);
      image_path = NULL; /* the image goes with the first message only */
    }
  }
  facet_session_free(session);
  return rc;
}
