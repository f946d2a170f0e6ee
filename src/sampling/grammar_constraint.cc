#include "src/sampling/grammar_constraint.h"

#include <algorithm>
#include <array>
#include <deque>

#include "src/util/status_macros.h"

namespace facet {
namespace {

using json = nlohmann::json;

enum FrameKind : uint8_t {
  kValue,    // before a value of `node`
  kLiteral,  // in literal trie b at node a
  kString,   // string content: a code points, b substate
  kNumber,   // a digits of the part, b phase
  kObject,   // phase below; used properties; c = node of the next value
  kArray,    // phase below; a items
  kKey,      // a declared-trie node, b/c generic substate/count
  kCall,     // tool call: phase 0 name (a trie node, c allowed tool+1), 1 end
  kRoot,     // JSON document: then kSymEnd
};

enum ObjectPhase : uint8_t {
  kObjStart,
  kObjNeedKey,
  kObjAfterKey,
  kObjAfterValue
};
enum ArrayPhase : uint8_t { kArrStart, kArrNeedValue, kArrAfterValue };
// Key frame phase bits.
constexpr uint8_t kGenericAlive = 1, kGenericOpen = 2, kGenericClosed = 4;
constexpr uint32_t kOffTrie = 0xFFFFFFFFu;

// Number phases; the complete ones can be followed by the next token.
enum NumberPhase : uint32_t {
  kNumStart,
  kNumMinus,
  kNumZero,
  kNumInt,
  kNumDot,
  kNumFrac,
  kNumE,
  kNumESign,
  kNumExp
};
bool NumberComplete(uint32_t p) {
  return p == kNumZero || p == kNumInt || p == kNumFrac || p == kNumExp;
}
// Digits per part: integers stay exact in a double, exponents finite.
constexpr uint32_t kMaxIntDigits = 16, kMaxFracDigits = 16, kMaxExpDigits = 2;

// String substate bits.
constexpr uint32_t kMarkerMask = 0xFF;
constexpr int kNeedShift = 8, kKindShift = 10, kEscShift = 13;
constexpr uint32_t kSurrogateBit = 1u << 16;

bool IsWs(int sym) {
  return sym == ' ' || sym == '\t' || sym == '\n' || sym == '\r';
}
bool IsDigit(int sym) { return sym >= '0' && sym <= '9'; }
bool IsHex(int sym) {
  return IsDigit(sym) || (sym >= 'a' && sym <= 'f') ||
         (sym >= 'A' && sym <= 'F');
}
bool IsIdent(int sym) {
  return (sym >= 'a' && sym <= 'z') || (sym >= 'A' && sym <= 'Z') ||
         IsDigit(sym) || sym == '_';
}

// Strict UTF-8 (no overlong forms, surrogates or code points past
// U+10FFFF), as nlohmann::json's parser wants it.
bool ValidUtf8(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    const uint8_t c = static_cast<uint8_t>(s[i]);
    int need = 0;
    uint8_t lo = 0x80, hi = 0xBF;
    if (c < 0x80) {
      need = 0;
    } else if (c >= 0xC2 && c <= 0xDF) {
      need = 1;
    } else if (c >= 0xE0 && c <= 0xEF) {
      need = 2;
      if (c == 0xE0) lo = 0xA0;
      if (c == 0xED) hi = 0x9F;
    } else if (c >= 0xF0 && c <= 0xF4) {
      need = 3;
      if (c == 0xF0) lo = 0x90;
      if (c == 0xF4) hi = 0x8F;
    } else {
      return false;
    }
    ++i;
    for (int k = 0; k < need; ++k, ++i) {
      if (i >= s.size()) return false;
      const uint8_t d = static_cast<uint8_t>(s[i]);
      if (d < lo || d > hi) return false;
      lo = 0x80, hi = 0xBF;
    }
  }
  return true;
}

std::vector<int> Bytes(std::string_view s) {
  return std::vector<int>(s.begin(), s.end());
}

// Names the Gemma parser reads back unchanged when written bare.
bool BareKey(const std::string& name) {
  if (name.empty() || name.front() == ' ' || name.back() == ' ') return false;
  for (char c : name) {
    if (c == ':' || c == '{' || c == '}' || c == '[' || c == ']' || c == ',' ||
        c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v') {
      return false;
    }
  }
  return true;
}

}  // namespace

// --- MarkerScanner ---

const MarkerScanner& MarkerScanner::Get() {
  static const MarkerScanner* scanner = new MarkerScanner();
  return *scanner;
}

MarkerScanner::MarkerScanner() {
  static const char* const kMarkers[] = {
      "<|\"|>",       "<|channel>",       "<channel|>",
      "<|tool_call>", "<tool_call|>",     "<turn|>",
      "<eos>",        "<|tool_response>", "<|turn>"};
  // Trie of the markers, then failure links (Aho-Corasick) into a full
  // transition table.
  std::vector<std::array<int, 256>> go(1);
  go[0].fill(-1);
  std::vector<bool> match(1, false);
  for (const char* m : kMarkers) {
    int node = 0;
    for (const char* p = m; *p != 0; ++p) {
      const uint8_t c = static_cast<uint8_t>(*p);
      if (go[node][c] < 0) {
        go[node][c] = static_cast<int>(go.size());
        go.emplace_back();
        go.back().fill(-1);
        match.push_back(false);
      }
      node = go[node][c];
    }
    match[node] = true;
  }
  std::vector<int> fail(go.size(), 0);
  std::deque<int> queue;
  for (int c = 0; c < 256; ++c) {
    if (go[0][c] < 0) {
      go[0][c] = 0;
    } else {
      queue.push_back(go[0][c]);
    }
  }
  while (!queue.empty()) {
    const int u = queue.front();
    queue.pop_front();
    match[u] = match[u] || match[fail[u]];
    for (int c = 0; c < 256; ++c) {
      const int v = go[u][c];
      if (v < 0) {
        go[u][c] = go[fail[u]][c];
      } else {
        fail[v] = go[fail[u]][c];
        queue.push_back(v);
      }
    }
  }
  next_.resize(go.size() * 256);
  for (size_t u = 0; u < go.size(); ++u) {
    for (int c = 0; c < 256; ++c) {
      const int v = go[u][c];
      next_[u * 256 + c] = match[v] ? kMatch : static_cast<uint8_t>(v);
    }
  }
}

bool MarkerScanner::Contains(std::string_view text) const {
  uint8_t s = kStart;
  for (unsigned char c : text) {
    s = Next(s, c);
    if (s == kMatch) return true;
  }
  return false;
}

// --- LiteralTrie ---

LiteralTrie LiteralTrie::Build(const std::vector<std::vector<int>>& literals,
                               std::vector<int>* order) {
  order->resize(literals.size());
  for (size_t i = 0; i < literals.size(); ++i)
    (*order)[i] = static_cast<int>(i);
  std::sort(order->begin(), order->end(),
            [&](int x, int y) { return literals[x] < literals[y]; });
  LiteralTrie t;
  t.nodes.emplace_back();
  for (size_t i = 0; i < order->size(); ++i) {
    const int li = static_cast<int>(i);
    int node = 0;
    t.nodes[0].hi = li + 1;
    for (int sym : literals[(*order)[i]]) {
      int child = t.Child(node, sym);
      if (child < 0) {
        child = static_cast<int>(t.nodes.size());
        t.nodes.emplace_back();
        t.nodes.back().lo = li;
        t.nodes[node].next.push_back({sym, child});  // sorted: sorted input
      }
      t.nodes[child].hi = li + 1;
      node = child;
    }
    t.nodes[node].terminal = li;
  }
  return t;
}

int LiteralTrie::Child(int node, int sym) const {
  for (const auto& [s, child] : nodes[node].next) {
    if (s == sym) return child;
  }
  return -1;
}

// --- GrammarState ---

std::string GrammarState::Key() const {
  std::string k(reinterpret_cast<const char*>(&depth), sizeof(depth));
  k.append(reinterpret_cast<const char*>(&ws), sizeof(ws));
  k.append(reinterpret_cast<const char*>(frames), sizeof(GrammarFrame) * depth);
  return k;
}

// --- Grammar construction ---

StatusOr<std::vector<int>> Grammar::EncodeLiteral(const json& v) const {
  if (v.is_string()) {
    const std::string& s = v.get_ref<const std::string&>();
    if (!ValidUtf8(s)) return InvalidArgument("a string that is not UTF-8");
    if (MarkerScanner::Get().Contains(s)) {
      return InvalidArgument("a string holding a chat marker such as <|\"|>");
    }
    if (syntax_ == GrammarSyntax::kJson) return Bytes(v.dump());
    std::vector<int> out = {kSymQuote};
    out.insert(out.end(), s.begin(), s.end());
    out.push_back(kSymQuote);
    return out;
  }
  if (v.is_boolean()) return Bytes(v.get<bool>() ? "true" : "false");
  if (v.is_null()) return Bytes("null");
  return Bytes(v.dump());  // a number
}

int Grammar::KeywordTrie(uint8_t types) {
  const int bits = (types & kTypeBoolean ? 1 : 0) | (types & kTypeNull ? 2 : 0);
  if (bits == 0) return -1;
  if (keyword_tries_[bits] < 0) {
    std::vector<std::vector<int>> lits;
    if (bits & 1) {
      lits.push_back(Bytes("true"));
      lits.push_back(Bytes("false"));
    }
    if (bits & 2) lits.push_back(Bytes("null"));
    std::vector<int> order;
    keyword_tries_[bits] = static_cast<int>(tries_.size());
    tries_.push_back(LiteralTrie::Build(lits, &order));
  }
  return keyword_tries_[bits];
}

StatusOr<int> Grammar::AddSchema(const JsonSchema& schema, int schema_node,
                                 const std::string& where) {
  const int base = static_cast<int>(nodes_.size());
  if (base + schema.num_nodes() > 0xFFFF) {
    return InvalidArgument(where + ": the schemas are too large");
  }
  nodes_.resize(base + schema.num_nodes());
  for (int i = 0; i < schema.num_nodes(); ++i) {
    const SchemaNode& s = schema.node(i);
    Node n;
    n.types = s.types;
    n.min_length = s.min_length;
    n.max_length = s.max_length;
    n.min_items = s.min_items;
    n.max_items = s.max_items;
    n.items = base + s.items;
    n.additional = s.additional < 0 ? -1 : base + s.additional;
    if (!s.enum_values.empty()) {
      std::vector<std::vector<int>> lits;
      for (const json& v : s.enum_values) {
        StatusOr<std::vector<int>> lit = EncodeLiteral(v);
        if (!lit.ok()) {
          return InvalidArgument(
              where + ": enum value " +
              v.dump(-1, ' ', false, json::error_handler_t::replace) + ": " +
              lit.status().message());
        }
        lits.push_back(std::move(*lit));
      }
      std::vector<int> order;
      n.enum_trie = static_cast<int>(tries_.size());
      tries_.push_back(LiteralTrie::Build(lits, &order));
    }
    n.keyword_trie = KeywordTrie(n.types);
    if (!s.properties.empty()) {
      std::vector<std::vector<int>> lits;
      for (const SchemaNode::Property& p : s.properties) {
        const std::string what = where + ": property '" + p.name + "'";
        if (!ValidUtf8(p.name)) return InvalidArgument(what + " is not UTF-8");
        if (MarkerScanner::Get().Contains(p.name)) {
          return InvalidArgument(what + " holds a chat marker");
        }
        if (syntax_ == GrammarSyntax::kJson) {
          lits.push_back(Bytes(json(p.name).dump()));
        } else if (BareKey(p.name)) {
          lits.push_back(Bytes(p.name));
        } else {
          std::vector<int> q = {kSymQuote};
          q.insert(q.end(), p.name.begin(), p.name.end());
          q.push_back(kSymQuote);
          lits.push_back(std::move(q));
        }
      }
      std::vector<int> order;
      n.key_trie = static_cast<int>(tries_.size());
      tries_.push_back(LiteralTrie::Build(lits, &order));
      for (size_t k = 0; k < order.size(); ++k) {
        const SchemaNode::Property& p = s.properties[order[k]];
        n.props.push_back(base + p.node);
        if (p.required) n.required |= uint64_t{1} << k;
      }
    }
    nodes_[base + i] = std::move(n);
  }
  return base + schema_node;
}

StatusOr<Grammar> Grammar::ForJsonSchema(const json& schema) {
  Grammar g;
  g.syntax_ = GrammarSyntax::kJson;
  FACET_ASSIGN_OR_RETURN(JsonSchema s,
                         JsonSchema::Compile(schema, "json_schema"));
  FACET_ASSIGN_OR_RETURN(g.root_, g.AddSchema(s, s.root(), "json_schema"));
  g.schemas_.push_back(std::move(s));
  return g;
}

StatusOr<Grammar> Grammar::ForTools(const json& tools) {
  Grammar g;
  g.syntax_ = GrammarSyntax::kGemmaToolCall;
  if (!tools.is_array()) return InvalidArgument("tools must be a JSON array");
  std::vector<std::vector<int>> lits;
  std::vector<std::string> names;
  std::vector<int> nodes;
  for (size_t i = 0; i < tools.size(); ++i) {
    const json& tool = tools[i];
    const json* fn = &tool;
    if (tool.is_object() && tool.contains("function") &&
        tool["function"].is_object()) {
      fn = &tool["function"];
    }
    if (!fn->is_object() || !fn->contains("name") ||
        !(*fn)["name"].is_string()) {
      return InvalidArgument("tool " + std::to_string(i) + " has no name");
    }
    const std::string name = (*fn)["name"].get<std::string>();
    const std::string where = "tool '" + name + "' parameters";
    bool ok_name = !name.empty() && ValidUtf8(name);
    for (char c : name) {
      if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '<' ||
          c == '>' || c == '|' || c == '"' || c == '{' || c == '}' ||
          c == '[' || c == ']' || c == ',' || c == ':') {
        ok_name = false;
      }
    }
    if (!ok_name) {
      return InvalidArgument("tool name '" + name +
                             "' cannot be written in a Gemma 4 tool call");
    }
    if (std::find(names.begin(), names.end(), name) != names.end()) {
      return InvalidArgument("tool '" + name + "' is declared twice");
    }
    json params = json({{"type", "object"}, {"properties", json::object()}});
    if (fn->contains("parameters") && !(*fn)["parameters"].is_null()) {
      params = (*fn)["parameters"];
    }
    FACET_ASSIGN_OR_RETURN(JsonSchema s, JsonSchema::Compile(params, where));
    if ((s.node(s.root()).types & kTypeObject) == 0 ||
        !s.node(s.root()).enum_values.empty()) {
      return InvalidArgument(where + ": must be an object schema");
    }
    FACET_ASSIGN_OR_RETURN(int node, g.AddSchema(s, s.root(), where));
    g.schemas_.push_back(std::move(s));
    names.push_back(name);
    nodes.push_back(node);
    lits.push_back(Bytes("call:" + name));
  }
  std::vector<int> order;
  g.call_trie_ = static_cast<int>(g.tries_.size());
  g.tries_.push_back(LiteralTrie::Build(lits, &order));
  std::vector<JsonSchema> schemas;
  for (int k : order) {
    g.tool_names_.push_back(names[k]);
    g.tool_node_.push_back(nodes[k]);
    schemas.push_back(g.schemas_[k]);
  }
  g.schemas_ = std::move(schemas);
  return g;
}

int Grammar::ToolIndex(const std::string& name) const {
  for (size_t i = 0; i < tool_names_.size(); ++i) {
    if (tool_names_[i] == name) return static_cast<int>(i);
  }
  return -1;
}

GrammarState Grammar::Start(int tool) const {
  GrammarState s;
  GrammarFrame f{};
  if (syntax_ == GrammarSyntax::kGemmaToolCall) {
    f.kind = kCall;
    f.c = static_cast<uint32_t>(tool + 1);
    s.frames[s.depth++] = f;
  } else {
    f.kind = kRoot;
    f.phase = 1;
    s.frames[s.depth++] = f;
    GrammarFrame v{};
    v.kind = kValue;
    v.node = static_cast<uint16_t>(root_);
    s.frames[s.depth++] = v;
    s.ws = kMaxWhitespace;  // the answer starts with the value itself
  }
  return s;
}

// --- Stepping ---

int Grammar::StringStep(GrammarSyntax syntax, uint32_t* sub, uint32_t* count,
                        uint32_t min_len, uint32_t max_len, int sym) {
  uint32_t need = *sub >> kNeedShift & 3;
  uint32_t kind = *sub >> kKindShift & 7;
  uint32_t esc = *sub >> kEscShift & 7;
  const bool json_syntax = syntax == GrammarSyntax::kJson;
  if (json_syntax ? sym == '"' && esc == 0 && need == 0 : sym == kSymQuote) {
    if (need != 0 || *count < min_len) return -1;
    *sub = 0;
    return 1;
  }
  if (sym > 255) return -1;
  const uint8_t b = static_cast<uint8_t>(sym);
  bool new_point = false;
  if (esc == 1) {
    if (b == 'u') {
      esc = 2;
    } else if (b == '"' || b == '\\' || b == '/' || b == 'b' || b == 'f' ||
               b == 'n' || b == 'r' || b == 't') {
      esc = 0;
    } else {
      return -1;
    }
  } else if (esc >= 2) {
    if (!IsHex(b)) return -1;
    // No lone surrogates (\uD800-\uDFFF): JSON parsers refuse them.
    if (esc == 2 && (b == 'd' || b == 'D')) *sub |= kSurrogateBit;
    if (esc == 3 && (*sub & kSurrogateBit) && !(b >= '0' && b <= '7')) {
      return -1;
    }
    esc = esc == 5 ? 0 : esc + 1;
    if (esc == 0) *sub &= ~kSurrogateBit;
  } else if (need > 0) {
    static const uint8_t kLo[] = {0x80, 0xA0, 0x80, 0x90, 0x80};
    static const uint8_t kHi[] = {0xBF, 0xBF, 0x9F, 0xBF, 0x8F};
    if (b < kLo[kind] || b > kHi[kind]) return -1;
    --need;
    kind = 0;
  } else if (json_syntax && b == '\\') {
    esc = 1;
    new_point = true;
  } else if (json_syntax && b < 0x20) {
    return -1;
  } else if (b < 0x80) {
    new_point = true;
  } else if (b >= 0xC2 && b <= 0xDF) {
    need = 1, kind = 0, new_point = true;
  } else if (b >= 0xE0 && b <= 0xEF) {
    need = 2, new_point = true;
    kind = b == 0xE0 ? 1 : b == 0xED ? 2 : 0;
  } else if (b >= 0xF0 && b <= 0xF4) {
    need = 3, new_point = true;
    kind = b == 0xF0 ? 3 : b == 0xF4 ? 4 : 0;
  } else {
    return -1;
  }
  if (new_point) {
    if (*count >= max_len) return -1;
    ++*count;
  }
  const uint8_t m =
      MarkerScanner::Get().Next(static_cast<uint8_t>(*sub & kMarkerMask), b);
  if (m == MarkerScanner::kMatch) return -1;
  *sub = (*sub & kSurrogateBit) | m | need << kNeedShift | kind << kKindShift |
         esc << kEscShift;
  return 0;
}

bool Grammar::AtRunGround(const GrammarState& s, int* kind, uint32_t* count,
                          uint32_t* max_len) const {
  if (s.depth == 0) return false;
  const GrammarFrame& f = s.frames[s.depth - 1];
  const bool json_syntax = syntax_ == GrammarSyntax::kJson;
  if (f.kind == kString && f.b == 0) {
    *kind = json_syntax ? kRunJsonString : kRunGemmaString;
    *count = f.a;
    *max_len = nodes_[f.node].max_length;
    return true;
  }
  // An undeclared key once it no longer spells a declared one.
  if (f.kind == kKey && f.a == kOffTrie && (f.phase & kGenericAlive) &&
      !(f.phase & kGenericClosed) &&
      (!json_syntax || ((f.phase & kGenericOpen) && f.b == 0))) {
    *kind = json_syntax ? kRunJsonKey : kRunIdentKey;
    *count = f.c;
    *max_len = kMaxGenericKey;
    return true;
  }
  return false;
}

int Grammar::RunStep(int kind, uint32_t* sub, uint32_t* count, int sym) {
  switch (kind) {
    case kRunGemmaString:
      return StringStep(GrammarSyntax::kGemmaToolCall, sub, count, 0,
                        kUnbounded, sym);
    case kRunJsonKey:
      if (sym == '\\') return -1;  // as in Step: no escapes in keys
      [[fallthrough]];
    case kRunJsonString:
      return StringStep(GrammarSyntax::kJson, sub, count, 0, kUnbounded, sym);
    default:  // kRunIdentKey
      if (IsIdent(sym)) {
        ++*count;
        return 0;
      }
      return sym == ':' ? 1 : -1;
  }
}

bool Grammar::Push(GrammarState* s, const GrammarFrame& f) const {
  if (s->depth >= kMaxGrammarStack) return false;
  s->frames[s->depth++] = f;
  return true;
}

bool Grammar::StepBytes(GrammarState* s, std::string_view bytes) const {
  for (unsigned char c : bytes) {
    if (!Step(s, c)) return false;
  }
  return true;
}

// Turns the kValue frame on top into the literal or number frame that
// `sym` starts (false when none does); the caller then feeds `sym` to it.
bool Grammar::StepValueStart(GrammarState* s, int sym) const {
  GrammarFrame& f = s->frames[s->depth - 1];
  const Node& n = nodes_[f.node];
  if (n.enum_trie >= 0) {
    if (tries_[n.enum_trie].Child(0, sym) < 0) return false;
    f.kind = kLiteral;
    f.a = 0;
    f.b = static_cast<uint32_t>(n.enum_trie);
    return true;
  }
  if ((sym == '-' || IsDigit(sym)) && (n.types & kTypeInteger)) {
    f.kind = kNumber;
    f.a = 0;
    f.b = kNumStart;
    return true;
  }
  if (n.keyword_trie >= 0 && tries_[n.keyword_trie].Child(0, sym) >= 0) {
    f.kind = kLiteral;
    f.a = 0;
    f.b = static_cast<uint32_t>(n.keyword_trie);
    return true;
  }
  return false;
}

bool Grammar::Step(GrammarState* s, int sym) const {
  const bool json_syntax = syntax_ == GrammarSyntax::kJson;
  const bool ws = json_syntax && IsWs(sym);
  auto take_ws = [&]() {
    if (s->ws >= kMaxWhitespace) return false;
    ++s->ws;
    return true;
  };
  const LiteralTrie* trie = nullptr;
  while (s->depth > 0) {
    GrammarFrame& f = s->frames[s->depth - 1];
    if (f.kind != kString && f.kind != kKey && f.kind != kLiteral) {
      // Whitespace between tokens; everything else ends a run.
      if (ws && f.kind != kNumber) return take_ws();
    }
    if (!ws) s->ws = 0;
    switch (f.kind) {
      case kValue: {
        const Node& n = nodes_[f.node];
        const int open = json_syntax ? int{'"'} : int{kSymQuote};
        if (n.enum_trie < 0) {
          if (sym == '{' && (n.types & kTypeObject)) {
            f.kind = kObject;
            f.phase = kObjStart;
            f.used = 0;
            return true;
          }
          if (sym == '[' && (n.types & kTypeArray)) {
            f.kind = kArray;
            f.phase = kArrStart;
            f.a = 0;
            return true;
          }
          if (sym == open && (n.types & kTypeString)) {
            f.kind = kString;
            f.a = 0;
            f.b = 0;
            return true;
          }
        }
        if (!StepValueStart(s, sym)) return false;
        continue;  // the literal or number frame takes `sym`
      }
      case kLiteral: {
        trie = &tries_[f.b];
        const int child = trie->Child(static_cast<int>(f.a), sym);
        if (child < 0) {
          // A complete literal that could have gone on (enum 1 and 12)
          // ends here; the parent takes the symbol.
          if (trie->nodes[f.a].terminal < 0) return false;
          --s->depth;
          continue;
        }
        f.a = static_cast<uint32_t>(child);
        if (trie->nodes[child].terminal >= 0 &&
            trie->nodes[child].next.empty()) {
          --s->depth;
        }
        return true;
      }
      case kString: {
        const Node& n = nodes_[f.node];
        const int r =
            StringStep(syntax_, &f.b, &f.a, n.min_length, n.max_length, sym);
        if (r < 0) return false;
        if (r == 1) --s->depth;
        return true;
      }
      case kNumber: {
        const bool real = nodes_[f.node].types & kTypeNumber;
        uint32_t& p = f.b;
        if (IsDigit(sym)) {
          switch (p) {
            case kNumStart:
            case kNumMinus:
              p = sym == '0' ? kNumZero : kNumInt;
              f.a = 1;
              return true;
            case kNumZero:
              return false;
            case kNumInt:
              if (f.a >= kMaxIntDigits) return false;
              ++f.a;
              return true;
            case kNumDot:
            case kNumE:
            case kNumESign:
              p = p == kNumDot ? kNumFrac : kNumExp;
              f.a = 1;
              return true;
            case kNumFrac:
              if (f.a >= kMaxFracDigits) return false;
              ++f.a;
              return true;
            default:  // kNumExp
              if (f.a >= kMaxExpDigits) return false;
              ++f.a;
              return true;
          }
        }
        if (sym == '-' && p == kNumStart) {
          p = kNumMinus;
          return true;
        }
        if ((sym == '-' || sym == '+') && p == kNumE) {
          p = kNumESign;
          return true;
        }
        if (real && sym == '.' && (p == kNumZero || p == kNumInt)) {
          p = kNumDot;
          return true;
        }
        if (real && (sym == 'e' || sym == 'E') &&
            (p == kNumZero || p == kNumInt || p == kNumFrac)) {
          p = kNumE;
          return true;
        }
        if (!NumberComplete(p)) return false;
        --s->depth;  // the number ends; the parent takes `sym`
        continue;
      }
      case kObject: {
        const Node& n = nodes_[f.node];
        const uint64_t all = n.props.size() >= 64
                                 ? ~uint64_t{0}
                                 : (uint64_t{1} << n.props.size()) - 1;
        const bool more = (all & ~f.used) != 0 || n.additional >= 0;
        switch (f.phase) {
          case kObjStart:
          case kObjAfterValue:
            if (sym == '}') {
              if ((f.used & n.required) != n.required) return false;
              --s->depth;
              return true;
            }
            if (f.phase == kObjAfterValue) {
              if (sym != ',' || !more) return false;
              f.phase = kObjNeedKey;
              return true;
            }
            [[fallthrough]];
          case kObjNeedKey: {
            if (!more) return false;
            GrammarFrame k{};
            k.kind = kKey;
            k.node = f.node;
            k.used = f.used;
            k.a = n.key_trie >= 0 ? 0 : kOffTrie;
            k.phase = n.additional >= 0 ? kGenericAlive : 0;
            if (!Push(s, k)) return false;
            continue;
          }
          default: {  // kObjAfterKey
            if (sym != ':') return false;
            f.phase = kObjAfterValue;
            GrammarFrame v{};
            v.kind = kValue;
            v.node = static_cast<uint16_t>(f.c);
            return Push(s, v);
          }
        }
      }
      case kArray: {
        const Node& n = nodes_[f.node];
        if (f.phase == kArrStart && sym == ']') {
          if (n.min_items > 0) return false;
          --s->depth;
          return true;
        }
        if (f.phase == kArrAfterValue) {
          if (sym == ']') {
            if (f.a < n.min_items) return false;
            --s->depth;
            return true;
          }
          if (sym != ',' || f.a >= n.max_items) return false;
          f.phase = kArrNeedValue;
          return true;
        }
        if (f.a >= n.max_items) return false;
        ++f.a;
        f.phase = kArrAfterValue;
        GrammarFrame v{};
        v.kind = kValue;
        v.node = static_cast<uint16_t>(n.items);
        if (!Push(s, v)) return false;
        continue;
      }
      case kKey: {
        const Node& n = nodes_[f.node];
        GrammarFrame& parent = s->frames[s->depth - 2];
        trie = n.key_trie >= 0 ? &tries_[n.key_trie] : nullptr;
        // Completion: Gemma keys end at ':', JSON keys at the closing '"'.
        auto complete = [&]() -> bool {
          int prop = -1;
          if (f.a != kOffTrie && trie->nodes[f.a].terminal >= 0) {
            prop = trie->nodes[f.a].terminal;
            if (f.used >> prop & 1) return false;  // a second time
          } else if (!(f.phase & kGenericAlive) || (!json_syntax && f.c == 0)) {
            return false;
          }
          parent.phase = kObjAfterKey;
          if (prop >= 0) {
            parent.used |= uint64_t{1} << prop;
            parent.c = static_cast<uint32_t>(n.props[prop]);
          } else {
            parent.c = static_cast<uint32_t>(n.additional);
          }
          --s->depth;
          return true;
        };
        // The declared names, walked whether used or not (a generic key
        // must not spell one), viable while an unused one is below.
        uint32_t next = kOffTrie;
        if (f.a != kOffTrie) {
          const int c = trie->Child(static_cast<int>(f.a), sym);
          if (c >= 0) next = static_cast<uint32_t>(c);
        }
        bool declared = false;
        if (next != kOffTrie) {
          const LiteralTrie::Node& tn = trie->nodes[next];
          const uint64_t below =
              (tn.hi >= 64 ? ~uint64_t{0} : (uint64_t{1} << tn.hi) - 1) &
              ~((uint64_t{1} << tn.lo) - 1);
          declared = (below & ~f.used) != 0;
        }
        if (!json_syntax && sym == ':' && !declared) {
          if (!complete()) return false;
          continue;  // the object takes the ':'
        }
        uint8_t phase = f.phase;
        if (phase & kGenericAlive) {
          if (!json_syntax) {
            if (IsIdent(sym) && f.c < kMaxGenericKey) {
              ++f.c;
            } else {
              phase &= ~kGenericAlive;
            }
          } else if (!(phase & kGenericOpen)) {
            if (sym == '"') {
              phase |= kGenericOpen;
            } else {
              phase &= ~kGenericAlive;
            }
          } else if (sym == '\\') {
            // No escapes: "\u0061" would be a second spelling of "a".
            phase &= ~kGenericAlive;
          } else {
            const int r =
                StringStep(syntax_, &f.b, &f.c, 0, kMaxGenericKey, sym);
            if (r < 0) phase &= ~kGenericAlive;
            if (r == 1) phase |= kGenericClosed;
          }
        }
        f.phase = phase;
        f.a = next;
        if (!declared && !(phase & kGenericAlive)) return false;
        if (json_syntax &&
            ((next != kOffTrie && trie->nodes[next].terminal >= 0) ||
             (phase & kGenericClosed))) {
          if (!(phase & kGenericClosed)) f.phase &= ~kGenericAlive;
          return complete();
        }
        return true;
      }
      case kCall: {
        trie = &tries_[call_trie_];
        const int tool = static_cast<int>(f.c) - 1;  // -1: any
        const auto allowed = [&](int node) {
          const LiteralTrie::Node& tn = trie->nodes[node];
          return tool < 0 || (tn.lo <= tool && tool < tn.hi);
        };
        if (f.phase == 1) {
          if (sym != kSymCallEnd) return false;
          --s->depth;
          return true;
        }
        if (sym == '{') {
          // ("call:get" ends a name inside "call:get_weather" too.)
          const int t = trie->nodes[f.a].terminal;
          if (t < 0 || (tool >= 0 && t != tool)) return false;
          f.phase = 1;
          GrammarFrame o{};
          o.kind = kObject;
          o.phase = kObjStart;
          o.node = static_cast<uint16_t>(tool_node_[t]);
          return Push(s, o);
        }
        const int child = trie->Child(static_cast<int>(f.a), sym);
        if (child < 0 || !allowed(child)) return false;
        f.a = static_cast<uint32_t>(child);
        return true;
      }
      case kRoot: {
        if (sym != kSymEnd) return false;
        --s->depth;
        return true;
      }
      default:
        return false;
    }
  }
  return false;
}

}  // namespace facet
