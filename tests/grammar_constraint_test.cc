// The character-level automaton of constrained decoding: canonical calls
// and documents are accepted, malformed ones refused, and random walks
// over what it allows always complete into text that the Gemma 4 parser
// (or a JSON parser) reads back and that validates against the schema.
#include "src/sampling/grammar_constraint.h"

#include <random>

#include "gtest/gtest.h"
#include "models/gemma4/chat.h"

namespace facet {
namespace {

using json = nlohmann::json;

// Symbols from text: "<|\"|>" -> kSymQuote, "<tool_call|>" -> kSymCallEnd,
// "<turn|>" -> kSymEnd, anything else bytes.
std::vector<int> Symbols(std::string_view text) {
  std::vector<int> out;
  const std::pair<std::string_view, int> specials[] = {
      {"<|\"|>", kSymQuote},
      {"<tool_call|>", kSymCallEnd},
      {"<turn|>", kSymEnd}};
  for (size_t i = 0; i < text.size();) {
    bool special = false;
    for (const auto& [s, sym] : specials) {
      if (text.substr(i, s.size()) == s) {
        out.push_back(sym);
        i += s.size();
        special = true;
        break;
      }
    }
    if (!special) out.push_back(static_cast<unsigned char>(text[i++]));
  }
  return out;
}

std::string Text(const std::vector<int>& syms) {
  std::string out;
  for (int s : syms) {
    if (s == kSymQuote) {
      out += "<|\"|>";
    } else if (s == kSymCallEnd) {
      out += "<tool_call|>";
    } else if (s == kSymEnd) {
      out += "<turn|>";
    } else {
      out += static_cast<char>(s);
    }
  }
  return out;
}

// Whether the whole text is accepted and ends complete.
bool Accepts(const Grammar& g, std::string_view text, int tool = -1) {
  GrammarState s = g.Start(tool);
  for (int sym : Symbols(text)) {
    if (!g.Step(&s, sym)) return false;
  }
  return s.done();
}

const json kTools = json::parse(R"([
  {"name": "get_weather", "description": "Weather of a city",
   "parameters": {"type": "object",
     "properties": {
       "city": {"type": "string", "minLength": 1, "maxLength": 12},
       "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
       "days": {"type": "integer"},
       "exact": {"type": "boolean"}},
     "required": ["city"]}},
  {"type": "function", "function": {"name": "get", "parameters": {
     "type": "object", "properties": {
       "ids": {"type": "array", "items": {"type": "number"}, "minItems": 1,
               "maxItems": 3},
       "filter": {"type": "object", "properties": {
           "tag": {"type": ["string", "null"]}},
         "additionalProperties": false},
       "extra": {"type": "object", "additionalProperties": {"type": "integer"}},
       "weird key": {"const": 7}},
     "required": ["ids"], "additionalProperties": false}}},
  {"name": "ping"}
])");

TEST(GrammarConstraintTest, ToolCallsAcceptedAndRefused) {
  auto g = Grammar::ForTools(kTools);
  ASSERT_TRUE(g.ok()) << g.status().ToString();
  const std::string q = "<|\"|>";
  EXPECT_TRUE(Accepts(
      *g, "call:get_weather{city:" + q + "Paris" + q + "}<tool_call|>"));
  EXPECT_TRUE(Accepts(*g, "call:get_weather{days:-3,city:" + q + "Ümlaut" + q +
                              ",unit:" + q + "celsius" + q +
                              ",exact:false}<tool_call|>"));
  EXPECT_TRUE(Accepts(*g, "call:ping{}<tool_call|>"));
  EXPECT_TRUE(Accepts(*g,
                      "call:get{ids:[1,2.5e3,-0.25],filter:{tag:null},"
                      "extra:{a_1:3,b:4},weird key:7}<tool_call|>"));
  // Required missing, unknown key, wrong types, an enum miss, a string
  // over maxLength, an empty one under minLength, duplicate keys.
  EXPECT_FALSE(Accepts(*g, "call:get_weather{}<tool_call|>"));
  EXPECT_FALSE(Accepts(*g, "call:get_weather{town:" + q + "x" + q + "}"));
  EXPECT_FALSE(Accepts(*g, "call:get_weather{city:3}"));
  EXPECT_FALSE(
      Accepts(*g, "call:get_weather{city:" + q + "a" + q + ",days:1.5}"));
  EXPECT_FALSE(Accepts(*g, "call:get_weather{city:" + q + "a" + q +
                               ",unit:" + q + "kelvin" + q + "}"));
  EXPECT_FALSE(
      Accepts(*g, "call:get_weather{city:" + q + "0123456789abc" + q + "}"));
  EXPECT_FALSE(Accepts(*g, "call:get_weather{city:" + q + q + "}"));
  EXPECT_FALSE(Accepts(*g, "call:get_weather{city:" + q + "a" + q +
                               ",city:" + q + "b" + q + "}"));
  EXPECT_FALSE(Accepts(*g, "call:get{ids:[]}<tool_call|>"));
  EXPECT_FALSE(Accepts(*g, "call:get{ids:[1,2,3,4]}<tool_call|>"));
  EXPECT_FALSE(Accepts(*g, "call:get{ids:[1],filter:{other:1}}"));
  EXPECT_FALSE(Accepts(*g, "call:get{ids:[01]}"));
  EXPECT_FALSE(Accepts(*g, "call:nope{}<tool_call|>"));
  EXPECT_FALSE(Accepts(*g, "call:get_weather {city:" + q + "a" + q + "}"));
  // Quoted JSON strings and Python spellings are not the canonical form.
  EXPECT_FALSE(Accepts(*g, "call:get_weather{city:\"Paris\"}"));
  EXPECT_FALSE(
      Accepts(*g, "call:get_weather{city:" + q + "a" + q + ",exact:True}"));
  // A string never spells a marker, nor holds invalid UTF-8.
  EXPECT_FALSE(Accepts(
      *g, "call:get_weather{city:" + q + "a<turn|>" + q + "}<tool_call|>"));
  EXPECT_FALSE(Accepts(*g, "call:get_weather{city:" + q + "a<|\"|" + q));
  EXPECT_FALSE(Accepts(*g, "call:get_weather{city:" + q + "\xC3(" + q));
  // A named choice allows that tool only.
  EXPECT_TRUE(Accepts(*g, "call:ping{}<tool_call|>", g->ToolIndex("ping")));
  EXPECT_FALSE(
      Accepts(*g, "call:get{ids:[1]}<tool_call|>", g->ToolIndex("ping")));
}

TEST(GrammarConstraintTest, JsonDocumentsAcceptedAndRefused) {
  auto any = Grammar::ForJsonSchema(json::object());
  ASSERT_TRUE(any.ok());
  EXPECT_TRUE(
      Accepts(*any, "{\"a\": [1, true, null, \"x\\u00e9\\n\"]}<turn|>"));
  EXPECT_TRUE(Accepts(*any, "\"just a string\"\n<turn|>"));
  EXPECT_FALSE(Accepts(*any, " 1<turn|>"));  // no leading whitespace
  EXPECT_TRUE(Accepts(*any, "-12.5e-3<turn|>"));
  EXPECT_FALSE(Accepts(*any, "{\"a\": 1,}<turn|>"));
  EXPECT_FALSE(Accepts(*any, "{'a': 1}<turn|>"));
  EXPECT_FALSE(Accepts(*any, "\"\\ud800\"<turn|>"));  // lone surrogate
  EXPECT_FALSE(Accepts(*any, "\"tab\there\"<turn|>"));
  EXPECT_FALSE(Accepts(*any, "{\"a\": 1}<tool_call|>"));
  EXPECT_TRUE(
      Accepts(*any, "[" + std::string(kMaxWhitespace, ' ') + "1]<turn|>"));
  EXPECT_FALSE(
      Accepts(*any, "[" + std::string(kMaxWhitespace + 1, ' ') + "1]<turn|>"));
  auto obj = Grammar::ForJsonSchema(json::parse(R"({"type": "object",
      "properties": {"name": {"type": "string"}, "n": {"type": "integer"}},
      "required": ["name"]})"));
  ASSERT_TRUE(obj.ok());
  EXPECT_TRUE(Accepts(*obj, "{\"n\": 2, \"name\": \"x\"}<turn|>"));
  EXPECT_FALSE(Accepts(*obj, "{\"n\": 2}<turn|>"));
  EXPECT_FALSE(Accepts(*obj, "[1]<turn|>"));
  EXPECT_FALSE(Accepts(*obj, "{\"name\": \"x\", \"other\": 1}<turn|>"));
  auto open = Grammar::ForJsonSchema(json::parse(R"({"type": "object",
      "properties": {"a": {"type": "integer"}},
      "additionalProperties": {"type": "string"}})"));
  ASSERT_TRUE(open.ok());
  EXPECT_TRUE(Accepts(*open, "{\"a\": 1, \"b\": \"x\"}<turn|>"));
  // An undeclared key may not spell a declared one (its value would have
  // the other schema).
  EXPECT_FALSE(Accepts(*open, "{\"a\": \"x\"}<turn|>"));
}

TEST(GrammarConstraintTest, RefusesWhatItCannotWrite) {
  EXPECT_FALSE(Grammar::ForTools(
                   json::parse(R"([{"name": "bad name", "parameters": {}}])"))
                   .ok());
  EXPECT_FALSE(
      Grammar::ForTools(
          json::parse(R"([{"name": "f", "parameters": {"type": "string"}}])"))
          .ok());
  EXPECT_FALSE(
      Grammar::ForTools(json::parse(R"([{"name": "f"}, {"name": "f"}])")).ok());
  auto marker = Grammar::ForJsonSchema(json::parse(R"({"enum": ["<turn|>"]})"));
  EXPECT_FALSE(marker.ok());
  auto key = Grammar::ForTools(json::parse(
      R"([{"name": "f", "parameters": {"properties": {"<|\"|>": {}}}}])"));
  EXPECT_FALSE(key.ok());
}

// Candidate symbols a random walk tries at each step.
std::vector<int> Alphabet(GrammarSyntax syntax) {
  std::vector<int> a;
  for (int c = 32; c < 127; ++c) a.push_back(c);
  for (int c : {0xC3, 0xA9, 0xE2, 0x82, 0xAC, 0xF0, 0x9F, 0x98, 0x80, 0x80}) {
    a.push_back(c);
  }
  if (syntax == GrammarSyntax::kJson) {
    for (int c : {int{'\n'}, int{'\t'}, int{kSymEnd}}) a.push_back(c);
  } else {
    for (int c : {int{'\n'}, int{kSymQuote}, int{kSymCallEnd}}) a.push_back(c);
  }
  return a;
}

bool Closer(int sym) {
  return sym == '}' || sym == ']' || sym == '"' || sym == kSymQuote ||
         sym == kSymCallEnd || sym == kSymEnd;
}

// Walks at random (later steps favour closers) until complete.
std::vector<int> RandomWalk(const Grammar& g, std::mt19937* rng, int tool) {
  const std::vector<int> alphabet = Alphabet(g.syntax());
  GrammarState s = g.Start(tool);
  std::vector<int> out;
  for (int step = 0; step < 4000 && !s.done(); ++step) {
    std::vector<int> ok;
    std::vector<double> weight;
    for (int sym : alphabet) {
      GrammarState t = s;
      if (!g.Step(&t, sym)) continue;
      ok.push_back(sym);
      weight.push_back(Closer(sym) ? 1.0 + step / 4.0 : 1.0);
    }
    EXPECT_FALSE(ok.empty()) << "dead end after '" << Text(out) << "'";
    if (ok.empty()) break;
    std::discrete_distribution<size_t> pick(weight.begin(), weight.end());
    const int sym = ok[pick(*rng)];
    EXPECT_TRUE(g.Step(&s, sym));
    out.push_back(sym);
  }
  EXPECT_TRUE(s.done()) << Text(out);
  return out;
}

TEST(GrammarConstraintTest, RandomToolCallsParseAndValidate) {
  auto g = Grammar::ForTools(kTools);
  ASSERT_TRUE(g.ok());
  std::mt19937 rng(7);
  for (int i = 0; i < 300; ++i) {
    const int tool = i % 4 == 3 ? -1 : i % 3;
    const std::vector<int> syms = RandomWalk(*g, &rng, tool);
    ASSERT_FALSE(syms.empty());
    ASSERT_EQ(syms.back(), kSymCallEnd);
    const std::string body =
        Text(std::vector<int>(syms.begin(), syms.end() - 1));
    auto call = gemma4::ParseToolCall(body);
    ASSERT_TRUE(call.ok()) << call.status().ToString() << "\n" << body;
    const int index = g->ToolIndex(call->name);
    ASSERT_GE(index, 0);
    if (tool >= 0) {
      EXPECT_EQ(index, tool);
    }
    // Through the app's JSON text, as Response.tool_calls carries it.
    const json args =
        json::parse(gemma4::ToolArgumentsJson(call->arguments), nullptr, false);
    ASSERT_TRUE(args.is_object()) << body;
    EXPECT_TRUE(g->schema(index).Validate(args).ok())
        << g->schema(index).Validate(args).ToString() << "\n"
        << body;
  }
}

TEST(GrammarConstraintTest, RandomJsonDocumentsParseAndValidate) {
  const json schemas[] = {
      json::object(),
      json::parse(R"({"type": "object"})"),
      json::parse(R"({"type": "object", "properties": {
          "name": {"type": "string", "maxLength": 5},
          "tags": {"type": "array", "items": {"enum": ["a", "b", 3, null]},
                   "maxItems": 4},
          "size": {"type": "number"}, "ok": {"type": "boolean"},
          "child": {"type": "object", "properties": {
              "x": {"type": "integer"}}, "required": ["x"]}},
        "required": ["name", "child"], "additionalProperties": false})"),
      json::parse(R"({"type": "array", "items": {"type": ["integer", "string"]},
                      "minItems": 2})"),
  };
  std::mt19937 rng(11);
  for (const json& schema : schemas) {
    auto g = Grammar::ForJsonSchema(schema);
    ASSERT_TRUE(g.ok()) << g.status().ToString();
    for (int i = 0; i < 60; ++i) {
      const std::vector<int> syms = RandomWalk(*g, &rng, -1);
      ASSERT_FALSE(syms.empty());
      ASSERT_EQ(syms.back(), kSymEnd);
      const std::string text =
          Text(std::vector<int>(syms.begin(), syms.end() - 1));
      const json v = json::parse(text, nullptr, false);
      ASSERT_FALSE(v.is_discarded()) << text;
      EXPECT_TRUE(g->schema(0).Validate(v).ok())
          << g->schema(0).Validate(v).ToString() << "\n"
          << text;
    }
  }
}

TEST(GrammarConstraintTest, MarkerScannerFindsEveryMarker) {
  const MarkerScanner& m = MarkerScanner::Get();
  for (const char* marker :
       {"<|\"|>", "<|channel>", "<channel|>", "<|tool_call>", "<tool_call|>",
        "<turn|>", "<eos>", "<|tool_response>", "<|turn>"}) {
    EXPECT_TRUE(m.Contains(std::string("abc<") + marker + "x")) << marker;
  }
  EXPECT_FALSE(m.Contains("<|tool> <turn| <eos <b>"));
}

}  // namespace
}  // namespace facet
