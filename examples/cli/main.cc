// The facet command-line tool. Uses only the public API (facet/*.h).
#include <cstdio>
#include <cstring>
#include <string>

#include "examples/cli/common.h"
#ifdef FACET_HAVE_SERVER
#include "examples/server/server.h"
#endif

namespace {

constexpr char kUsage[] =
    "usage: facet <command> [options]\n"
    "\n"
    "commands:\n"
    "  run       -m <model> -p <prompt> | -f <file>   one answer, streamed\n"
    "  chat      -m <model>                           interactive chat\n"
    "            (run/chat: --spec lookup [--draft-max 8] speculative\n"
    "            decoding by prompt lookup; same answers, fewer passes;\n"
    "            --spec draft -md <dir> drafts with the model's Gemma 4\n"
    "            MTP assistant checkpoint (--model-draft <dir>))\n"
    "            (/image PATH [budget], /audio PATH attach media; /save\n"
    "            PATH, /load PATH keep a conversation; /reset starts over,\n"
    "            /exit quits, Ctrl-C stops an answer)\n"
    "  encode    -m <model | tower folder | mmproj.gguf> --image <file>\n"
    "            [--budget 280] | --audio <file> [--no-split]\n"
    "            --out <emb.f32> [--features-out <f.f32>]   soft-token\n"
    "            embeddings [tokens][hidden] as raw float32\n"
    "  tokenize  -m <model> -p <text> | -f <file> | stdin  [--special]\n"
    "            [--no-bos]   token ids of a text (the model may hold only\n"
    "            a tokenizer)\n"
    "  info      -m <model> [-c <context>]            architecture, per-layer\n"
    "            plan, parameters, weight types, memory\n"
    "  logits    -m <model> --tokens <ids> --out <file.f32> [--decode N\n"
    "            --decode-out <file.f32> [--decode-tokens <ids>]]\n"
    "            raw float32 logits for every prompt position and N decode\n"
    "            steps\n"
    "  convert   <HF folder | .gguf> <out.gguf> [--type q8_0]\n"
    "            write a GGUF file (types: f32 f16 bf16 q8_0 q4_0 q4_1 q5_0\n"
    "            q5_1 q4_k q5_k q6_k)\n"
    "  bench     -m <model> [-p 512] [-n 128] [-t 2] [-r 3] [--json]\n"
    "            [--profile] [--no-repack]   prefill/decode tok/s, TTFT,\n"
    "            peak RSS, bytes per token vs measured bandwidth;\n"
    "            [--verify K] cost of a K-token verify step vs a decode step;\n"
    "            [--spec lookup|draft|reject] [-md <dir>] [--draft-max 8]\n"
    "            [--no-adaptive]\n"
    "            speculative vs plain decode (tok/s, acceptance);\n"
    "            [--parallel 1,2,4,8] sessions decoding at once in shared\n"
    "            forward passes (aggregate tok/s)\n"
    "  serve     -m <model> [--host 127.0.0.1] [--port 8080] [--parallel 1]\n"
    "            [--queue 16] [--max-body-mb 64] [--think]   "
    "OpenAI-compatible\n"
    "            HTTP API (/v1/chat/completions) and a chat page at /\n"
    "  random    --arch e2b|e4b|26b-a4b|31b --type q4_0|q8_0|q4_k_m|...\n"
    "            -o <file.gguf>   random weights at the real shapes\n"
    "\n"
    "options of run and chat:\n"
    "  -m <path>       a .gguf file or a Hugging Face folder\n"
    "  -p <text>       prompt (run)        -f <file>   prompt from a file\n"
    "  -n <n>          most tokens to generate (default 512)\n"
    "  -c <n>          context length (default: min(model max, 4096))\n"
    "  -t <n>          threads (default and most: all cores)\n"
    "  --system <text> system prompt       --think     thinking mode\n"
    "  --temp <x>      temperature (0 = greedy; default from the model)\n"
    "  --top-k <n> --top-p <x> --min-p <x> --seed <n>\n"
    "  --repeat-penalty <x> --presence-penalty <x> --frequency-penalty <x>\n"
    "  --tools <file>  JSON array of tool declarations; calls follow their\n"
    "                  schemas (constrained decoding)\n"
    "  --tool-choice auto|required|none|<name>  whether the model may, must\n"
    "                  or must not call a tool (or must call that one)\n"
    "  --json-schema <file>  the answer is JSON matching this schema\n"
    "  --json          the answer is a JSON object\n"
    "  --image <file>[:budget]  an image for the first message (repeatable;\n"
    "                  budget 70|140|280|560|1120 soft tokens, default 280)\n"
    "  --image-budget <n>  budget of --image files without one\n"
    "  --audio <file>  a WAV clip for the first message (E2B/E4B)\n"
    "  --prompt-cache <file>  reuse / keep the prompt's KV state in a file\n"
    "                  (used when the prompt starts with the file's tokens)\n"
    "  --mmproj <path> vision/audio encoders (HF folder or mmproj GGUF) when\n"
    "                  the model file has none\n"
    "  --max-input-mb <n>  largest -f / --tools file read (default 64)\n"
    "  --ignore-eos    keep generating past the end of the turn\n"
    "  --no-stats      no stats line after each answer\n";

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2 || !std::strcmp(argv[1], "-h") ||
      !std::strcmp(argv[1], "--help") || !std::strcmp(argv[1], "help")) {
    std::fputs(kUsage, argc < 2 ? stderr : stdout);
    return argc < 2 ? 2 : 0;
  }
  const std::string cmd = argv[1];
  if (cmd == "info") return facet::cli::RunInfo(argc, argv);
  if (cmd == "logits") return facet::cli::RunLogits(argc, argv);
  if (cmd == "run") return facet::cli::RunGenerate(argc, argv, false);
  if (cmd == "chat") return facet::cli::RunGenerate(argc, argv, true);
  if (cmd == "tokenize") return facet::cli::RunTokenize(argc, argv);
  if (cmd == "convert") return facet::cli::RunConvert(argc, argv);
  if (cmd == "bench") return facet::cli::RunBench(argc, argv);
  if (cmd == "random") return facet::cli::RunRandom(argc, argv);
  if (cmd == "encode") return facet::cli::RunEncode(argc, argv);
  if (cmd == "serve") {
#ifdef FACET_HAVE_SERVER
    return facet::server::RunServe(argc, argv);
#else
    std::fputs(
        "facet: this build has no server (install libcpp-httplib-dev and "
        "rebuild)\n",
        stderr);
    return 1;
#endif
  }
  std::fprintf(stderr, "facet: unknown command '%s'\n\n%s", cmd.c_str(),
               kUsage);
  return 2;
}
