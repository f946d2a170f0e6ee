// The character-level automaton of constrained decoding: which byte (or
// special-token symbol) may come next so that the text stays a prefix of
// a valid tool call or JSON document for compiled schemas.
//
// Two syntaxes:
//   * kGemmaToolCall: the body of a Gemma 4 tool call as
//     models/gemma4/tool_value.cc parses it, in the template's canonical
//     form: call:NAME{key:VALUE,...} then <tool_call|>; strings are
//     <|"|>text<|"|> (the <|"|> special token, kSymQuote), keys bare
//     (quoted with <|"|> when the name cannot be bare), no whitespace
//     between tokens, true/false/null spelled in lower case.
//   * kJson: one JSON value (RFC 8259: "..." strings with escapes, runs of
//     at most kMaxWhitespace whitespace bytes between tokens), then the end
//     of the turn (kSymEnd).
// In both, string contents are valid UTF-8 and never spell a marker the
// response parser acts on (MarkerScanner), so that only special tokens
// open, close or end anything.
//
// A GrammarState is a small stack of frames (a pushdown automaton) that is
// copied, not shared: Step() changes it in place and returns false (leaving
// it unusable) when the symbol cannot come next. States never reach a dead
// end: every state that Step accepted can be completed.
#ifndef FACET_SRC_SAMPLING_GRAMMAR_CONSTRAINT_H_
#define FACET_SRC_SAMPLING_GRAMMAR_CONSTRAINT_H_

#include <cstdint>
#include <cstring>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "facet/status.h"
#include "src/sampling/json_schema.h"

namespace facet {

// Symbols besides the bytes 0..255: special tokens with a grammar role.
enum GrammarSymbol : int {
  kSymQuote = 256,    // <|"|>
  kSymCallEnd = 257,  // <tool_call|>
  kSymEnd = 258,      // <turn|> or <eos>
};

enum class GrammarSyntax : uint8_t { kGemmaToolCall, kJson };

// Longest run of whitespace the JSON syntax allows between tokens (enough
// for pretty-printed JSON, not for an endless run of newlines).
inline constexpr int kMaxWhitespace = 20;
// Most frames on a state's stack: a value nested 30 deep.
inline constexpr int kMaxGrammarStack = 32;
// Longest generated key of an object without declared names.
inline constexpr int kMaxGenericKey = 64;

// Finds the texts the Gemma 4 response parser treats as markers
// (<|"|>, <|channel>, <channel|>, <|tool_call>, <tool_call|>, <turn|>,
// <eos>, <|tool_response>, <|turn>) in a byte stream, one byte at a time
// (Aho-Corasick over those texts).
class MarkerScanner {
 public:
  static const MarkerScanner& Get();
  // The state after `byte`; kMatch when a marker is complete.
  uint8_t Next(uint8_t state, uint8_t byte) const {
    return next_[state * 256 + byte];
  }
  static constexpr uint8_t kStart = 0;
  static constexpr uint8_t kMatch = 255;
  // Whether `text` contains a marker.
  bool Contains(std::string_view text) const;

 private:
  MarkerScanner();
  std::vector<uint8_t> next_;
};

// Literal alternatives (enum values, keys, tool names) as a trie over
// symbols. Literal i is the i-th in sorted symbol order, so that a node's
// subtree holds the literals [lo, hi).
struct LiteralTrie {
  struct Node {
    std::vector<std::pair<int, int>> next;  // (symbol, child), sorted
    int terminal = -1;                      // literal ending here
    int lo = 0, hi = 0;
  };
  std::vector<Node> nodes;
  // Builds from the literals, which must be distinct; returns their
  // permutation: order[i] = index in `literals` of literal i.
  static LiteralTrie Build(const std::vector<std::vector<int>>& literals,
                           std::vector<int>* order);
  int Child(int node, int sym) const;
};

struct GrammarFrame {
  uint8_t kind = 0;
  uint8_t phase = 0;
  uint16_t node = 0;
  uint32_t a = 0;
  uint32_t b = 0;
  uint32_t c = 0;
  uint64_t used = 0;
};

struct GrammarState {
  int depth = 0;
  int ws = 0;  // whitespace bytes in the current run (kJson)
  GrammarFrame frames[kMaxGrammarStack];

  GrammarState() = default;
  GrammarState(const GrammarState& o) { *this = o; }
  // Copies the live frames only (states are copied per trie node).
  GrammarState& operator=(const GrammarState& o) {
    depth = o.depth;
    ws = o.ws;
    std::memcpy(frames, o.frames, sizeof(GrammarFrame) * o.depth);
    return *this;
  }
  bool done() const { return depth == 0; }
  // The live part as bytes (a cache key).
  std::string Key() const;
};

class Grammar {
 public:
  // The tool calls of a tools array (SessionOptions::tools_json: each
  // {"name", "description", "parameters"} or {"type": "function",
  // "function": {...}}). kInvalidArgument for a schema keyword it cannot
  // enforce or a name the call syntax cannot carry.
  static StatusOr<Grammar> ForTools(const nlohmann::json& tools);
  // One JSON value matching `schema`, then kSymEnd.
  static StatusOr<Grammar> ForJsonSchema(const nlohmann::json& schema);

  GrammarSyntax syntax() const { return syntax_; }
  // The state before the first symbol. For tool calls, `tool` >= 0 allows
  // only that tool (an index into tool_names()).
  GrammarState Start(int tool = -1) const;
  bool Step(GrammarState* state, int sym) const;
  bool StepBytes(GrammarState* state, std::string_view bytes) const;
  // Runs of free text, where what may follow depends only on how long the
  // run is: string content (per syntax) and undeclared keys (JSON keys
  // without escapes, Gemma's identifier keys).
  enum RunKind {
    kRunGemmaString,
    kRunJsonString,
    kRunJsonKey,
    kRunIdentKey,
    kNumRunKinds
  };
  // Whether the state is inside such a run with nothing pending (no
  // partial UTF-8, escape or marker prefix): TokenMasker's fast path.
  // `count` is the run's length so far, `max_len` its limit.
  bool AtRunGround(const GrammarState& state, int* kind, uint32_t* count,
                   uint32_t* max_len) const;
  // One step of a run from its ground state without limits: -1 refused,
  // 0 still inside (ground again when *sub is 0), 1 the run ended.
  static int RunStep(int kind, uint32_t* sub, uint32_t* count, int sym);

  const std::vector<std::string>& tool_names() const { return tool_names_; }
  int ToolIndex(const std::string& name) const;
  // The schema of tool i's arguments / of the JSON document.
  const JsonSchema& schema(int i) const { return schemas_[i]; }

  // One string-content step from scratch (count of code points, substate):
  // -1 rejected, 0 inside the string, 1 the string closed.
  static int StringStep(GrammarSyntax syntax, uint32_t* sub, uint32_t* count,
                        uint32_t min_len, uint32_t max_len, int sym);

 private:
  // A schema node compiled for one syntax.
  struct Node {
    uint8_t types = kTypeAny;
    int enum_trie = -1;     // literal trie of the enum values
    int keyword_trie = -1;  // true/false/null as the types allow
    uint32_t min_length = 0, max_length = kUnbounded;
    uint32_t min_items = 0, max_items = kUnbounded;
    int items = 0;
    int key_trie = -1;       // declared keys, literal i = property i
    std::vector<int> props;  // property i -> node
    uint64_t required = 0;   // bits of the required properties
    int additional = -1;     // node of undeclared keys' values, or -1
  };

  Grammar() = default;
  StatusOr<int> AddSchema(const JsonSchema& schema, int schema_node,
                          const std::string& where);
  StatusOr<std::vector<int>> EncodeLiteral(const nlohmann::json& v) const;
  int KeywordTrie(uint8_t types);
  bool Push(GrammarState* s, const GrammarFrame& f) const;
  bool StepValueStart(GrammarState* s, int sym) const;

  GrammarSyntax syntax_ = GrammarSyntax::kJson;
  std::vector<Node> nodes_;
  std::vector<LiteralTrie> tries_;
  int keyword_tries_[8] = {-1, -1, -1, -1, -1, -1, -1, -1};
  std::vector<JsonSchema> schemas_;
  std::vector<int> schema_base_;  // first grammar node of each schema
  int root_ = 0;                  // kJson: the document's node
  // kGemmaToolCall: "call:NAME" literals and each tool's arguments node.
  int call_trie_ = -1;
  std::vector<std::string> tool_names_;  // literal order
  std::vector<int> tool_node_;
};

}  // namespace facet

#endif  // FACET_SRC_SAMPLING_GRAMMAR_CONSTRAINT_H_
