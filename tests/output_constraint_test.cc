// Constrained decoding end to end: on the golden tiny model (random
// weights) and the demo model (whose untrained tool calls are garbage),
// every tool call a constrained Generate returns parses and matches its
// tool's schema, over seeds and temperatures up to 1.5, in every
// tool_choice mode; structured output is JSON matching its schema; bad
// schemas and choices are refused up front.
#include "src/sampling/output_constraint.h"

#include <algorithm>
#include <string>

#include "facet/facet.h"
#include "gtest/gtest.h"
#include "src/sampling/json_schema.h"
#include "tests/test_paths.h"

namespace facet {
namespace {

using json = nlohmann::json;

const char* kTools = R"([
  {"name": "get_weather", "description": "Weather of a city",
   "parameters": {"type": "object", "properties": {
     "city": {"type": "string", "maxLength": 16},
     "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
     "days": {"type": "integer"},
     "hourly": {"type": "boolean"}},
    "required": ["city", "unit"]}},
  {"name": "search", "parameters": {"type": "object", "properties": {
     "terms": {"type": "array", "items": {"type": "string", "maxLength": 8},
               "minItems": 1, "maxItems": 3},
     "filter": {"type": "object", "properties": {
         "year": {"type": ["integer", "null"]}},
       "required": ["year"], "additionalProperties": false}},
    "required": ["terms"]}}
])";

std::shared_ptr<Engine> MakeEngine(const std::string& path) {
  EngineOptions o;
  o.model_path = path;
  o.num_threads = 1;
  auto e = Engine::Create(o);
  EXPECT_TRUE(e.ok()) << e.status().ToString();
  return e.ok() ? *e : nullptr;
}

std::string Golden() {
  return testing::TestData("golden/e2b-tiny-q8_0-s16/model.gguf");
}
std::string Demo() { return std::string(FACET_SOURCE_DIR) + "/models/demo"; }

// Each tool's compiled parameter schema, by name.
std::map<std::string, JsonSchema> Schemas() {
  std::map<std::string, JsonSchema> out;
  for (const json& t : json::parse(kTools)) {
    auto s = JsonSchema::Compile(t["parameters"], t["name"]);
    EXPECT_TRUE(s.ok());
    out.emplace(t["name"].get<std::string>(), std::move(*s));
  }
  return out;
}

struct Tally {
  int answers = 0;
  int calls = 0;
};

// Generates with `choice` over seeds and temperatures; every call must be
// valid. Returns how many answers and calls there were.
Tally CheckCalls(const Engine& engine, const std::string& choice, int seeds,
                 int max_tokens, const std::string& only = "") {
  static const std::map<std::string, JsonSchema> schemas = Schemas();
  Tally tally;
  for (float temp : {0.7f, 1.0f, 1.5f}) {
    for (int seed = 0; seed < seeds; ++seed) {
      SessionOptions so;
      so.tools_json = kTools;
      so.context_length = 2048;
      auto s = engine.NewSession(so);
      EXPECT_TRUE(s.ok()) << s.status().ToString();
      if (!s.ok()) return tally;
      EXPECT_TRUE((*s)->AddMessage(Role::kUser, "Weather in Paris?").ok());
      GenerateOptions g;
      g.max_tokens = max_tokens;
      g.sampling.temperature = temp;
      g.sampling.top_k = 0;  // the whole (masked) vocabulary
      g.sampling.top_p = 1.0f;
      g.sampling.seed = seed;
      g.tool_choice = choice;
      auto r = (*s)->Generate(g);
      EXPECT_TRUE(r.ok()) << choice << " seed " << seed << " temp " << temp
                          << ": " << r.status().ToString();
      if (!r.ok()) continue;
      ++tally.answers;
      if (choice == "required" || !only.empty()) {
        if (r->stop_reason == StopReason::kEndOfTurn) {
          EXPECT_FALSE(r->tool_calls.empty()) << "seed " << seed;
        }
      }
      if (choice == "none") {
        EXPECT_TRUE(r->tool_calls.empty());
      }
      for (const ToolCall& c : r->tool_calls) {
        ++tally.calls;
        if (!only.empty()) {
          EXPECT_EQ(c.name, only);
        }
        const auto schema = schemas.find(c.name);
        EXPECT_NE(schema, schemas.end()) << c.name;
        const json args = json::parse(c.arguments_json, nullptr, false);
        EXPECT_TRUE(args.is_object()) << c.arguments_json;
        if (schema == schemas.end() || !args.is_object()) continue;
        const Status valid = schema->second.Validate(args);
        EXPECT_TRUE(valid.ok()) << valid.ToString() << ": " << c.arguments_json;
      }
    }
  }
  return tally;
}

TEST(OutputConstraintTest, GoldenModelCallsAlwaysValid) {
  auto engine = MakeEngine(Golden());
  ASSERT_NE(engine, nullptr);
  const Tally required = CheckCalls(*engine, "required", 12, 96);
  EXPECT_EQ(required.answers, 36);
  EXPECT_GE(required.calls, 30);  // most finish within 96 tokens
  const Tally named = CheckCalls(*engine, "search", 6, 96, "search");
  EXPECT_GE(named.calls, 12);
  CheckCalls(*engine, "auto", 6, 64);
  CheckCalls(*engine, "none", 4, 32);
}

TEST(OutputConstraintTest, DemoModelCallsAlwaysValid) {
  auto engine = MakeEngine(Demo());
  ASSERT_NE(engine, nullptr);
  const Tally required = CheckCalls(*engine, "required", 3, 80);
  EXPECT_GE(required.calls, 6);
  CheckCalls(*engine, "get_weather", 2, 80, "get_weather");
}

TEST(OutputConstraintTest, StructuredOutputMatchesItsSchema) {
  const char* schemas[] = {
      R"({"type": "object"})",
      R"({"type": "object", "properties": {
          "name": {"type": "string", "maxLength": 10},
          "age": {"type": "integer"},
          "tags": {"type": "array", "items": {"enum": ["a", "b"]},
                   "maxItems": 3}},
         "required": ["name", "age"], "additionalProperties": false})",
  };
  for (const std::string& path : {Golden(), Demo()}) {
    auto engine = MakeEngine(path);
    ASSERT_NE(engine, nullptr);
    for (const char* text : schemas) {
      auto schema = JsonSchema::Compile(json::parse(text), "schema");
      ASSERT_TRUE(schema.ok());
      int complete = 0;
      const int seeds = path == Golden() ? 8 : 5;
      for (int seed = 0; seed < seeds; ++seed) {
        auto s = engine->NewSession();
        ASSERT_TRUE(s.ok());
        ASSERT_TRUE((*s)->AddMessage(Role::kUser, "Describe a person.").ok());
        GenerateOptions g;
        g.max_tokens = 200;
        g.sampling.temperature = seed % 2 ? 1.5f : 1.0f;
        g.sampling.seed = seed;
        g.json_schema = text;
        auto r = (*s)->Generate(g);
        ASSERT_TRUE(r.ok()) << r.status().ToString();
        if (r->stop_reason != StopReason::kEndOfTurn) continue;
        ++complete;
        const json v = json::parse(r->text, nullptr, false);
        ASSERT_FALSE(v.is_discarded()) << r->text;
        EXPECT_TRUE(schema->Validate(v).ok())
            << schema->Validate(v).ToString() << ": " << r->text;
      }
      // (An untrained model may write an unbounded object past max_tokens.)
      if (text != schemas[0] || path == Golden()) {
        EXPECT_GT(complete, 0) << path << " " << text;
      }
    }
  }
}

TEST(OutputConstraintTest, BadSchemasAndChoicesAreRefusedUpFront) {
  auto engine = MakeEngine(Golden());
  ASSERT_NE(engine, nullptr);
  SessionOptions so;
  so.tools_json = R"([{"name": "f", "parameters": {"type": "object",
      "properties": {"n": {"type": "integer", "minimum": 0}}}}])";
  auto s = engine->NewSession(so);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.status().message().find("minimum"), std::string::npos)
      << s.status().message();
  // Without constraints the schema is not checked, and only auto / none
  // can be asked for.
  so.constrain_tool_calls = false;
  s = engine->NewSession(so);
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  ASSERT_TRUE((*s)->AddMessage(Role::kUser, "hi").ok());
  GenerateOptions g;
  g.max_tokens = 4;
  g.tool_choice = "required";
  EXPECT_EQ((*s)->Generate(g).status().code(), StatusCode::kInvalidArgument);

  SessionOptions ok;
  ok.tools_json = kTools;
  ok.tool_choice = "no_such_tool";
  EXPECT_EQ(engine->NewSession(ok).status().code(),
            StatusCode::kInvalidArgument);
  SessionOptions none;
  none.tool_choice = "required";  // no tools
  EXPECT_EQ(engine->NewSession(none).status().code(),
            StatusCode::kInvalidArgument);
  auto t = engine->NewSession();
  ASSERT_TRUE(t.ok());
  ASSERT_TRUE((*t)->AddMessage(Role::kUser, "hi").ok());
  GenerateOptions j;
  j.max_tokens = 4;
  j.json_schema = R"({"type": "string", "pattern": "a+"})";
  auto r = (*t)->Generate(j);
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(r.status().message().find("pattern"), std::string::npos);
  j.json_schema = "{not json";
  ASSERT_TRUE((*t)->AddMessage(Role::kUser, "hi").ok());
  EXPECT_EQ((*t)->Generate(j).status().code(), StatusCode::kInvalidArgument);
}

// Declaring tools in auto mode changes nothing until the model calls one:
// an answer without calls is the same with and without constraints.
TEST(OutputConstraintTest, AutoWithoutCallsIsTheFreeAnswer) {
  auto engine = MakeEngine(Golden());
  ASSERT_NE(engine, nullptr);
  int same = 0;
  for (int seed = 0; seed < 6; ++seed) {
    std::string text[2];
    bool calls = false;
    for (int constrained = 0; constrained < 2; ++constrained) {
      SessionOptions so;
      so.tools_json = kTools;
      so.constrain_tool_calls = constrained == 1;
      auto s = engine->NewSession(so);
      ASSERT_TRUE(s.ok());
      ASSERT_TRUE((*s)->AddMessage(Role::kUser, "Hello").ok());
      GenerateOptions g;
      g.max_tokens = 24;
      g.sampling.seed = seed;
      auto r = (*s)->Generate(g);
      if (!r.ok()) {  // an unconstrained garbage call may not parse
        calls = true;
        continue;
      }
      calls = calls || !r->tool_calls.empty();
      text[constrained] = r->text;
    }
    if (calls) continue;
    EXPECT_EQ(text[0], text[1]) << "seed " << seed;
    ++same;
  }
  EXPECT_GT(same, 0);
}

// The modes' state machine on the demo vocabulary: a thought channel may
// come first in required mode, free text never spells a marker with plain
// tokens, and after a required call only another call or the wait for
// its response may follow.
TEST(OutputConstraintTest, ModesStateMachine) {
  auto tok = Tokenizer::ForModelPath(Demo());
  ASSERT_TRUE(tok.ok());
  auto vocab = TokenVocab::Build(**tok, (*tok)->vocab_size());
  auto tools = Grammar::ForTools(json::parse(kTools));
  ASSERT_TRUE(tools.ok());
  const int V = vocab->size();
  std::vector<float> logits(V);
  auto allowed = [&](OutputConstraint* c) {
    std::fill(logits.begin(), logits.end(), 0.f);
    EXPECT_TRUE(c->Apply(logits.data(), V).ok());
    std::vector<int> ids;
    for (int id = 0; id < V; ++id) {
      if (logits[id] == 0.f) ids.push_back(id);
    }
    return ids;
  };
  auto ids = [&](const std::string& text) {
    auto r = (*tok)->Encode(text, false, false);
    EXPECT_TRUE(r.ok());
    return *r;
  };
  OutputConstraintSpec spec;
  spec.tools = &*tools;
  spec.mode = ToolChoiceMode::kRequired;
  spec.thinking = true;
  OutputConstraint c(*vocab, spec);
  EXPECT_EQ(allowed(&c),
            (std::vector<int>{vocab->channel_open, vocab->tool_call_open}));
  ASSERT_TRUE(c.Accept(vocab->channel_open));
  // In the thought the turn cannot end, and plain tokens cannot close it.
  std::vector<int> free = allowed(&c);
  EXPECT_EQ(std::count(free.begin(), free.end(), vocab->end_ids[0]), 0);
  const std::vector<int> spelled = ids("a <channel|>");
  ASSERT_GT(spelled.size(), 2u);
  for (size_t i = 0; i + 1 < spelled.size(); ++i) {
    EXPECT_TRUE(c.Accept(spelled[i]));
  }
  EXPECT_FALSE(c.Accept(spelled.back()));
  ASSERT_TRUE(c.Accept(ids(" ok")[0]));
  ASSERT_TRUE(c.Accept(vocab->channel_close));
  EXPECT_EQ(allowed(&c),
            (std::vector<int>{vocab->channel_open, vocab->tool_call_open}));
  ASSERT_TRUE(c.Accept(vocab->tool_call_open));
  const int quote = (*tok)->TokenId("<|\"|>");
  const int end = (*tok)->TokenId("<tool_call|>");
  std::vector<int> call = ids("call:search{terms:[");
  call.push_back(quote);
  for (int id : ids("x")) call.push_back(id);
  call.push_back(quote);
  for (int id : ids("]}")) call.push_back(id);
  call.push_back(end);
  for (int id : call) {
    const std::vector<int> ok = allowed(&c);
    ASSERT_TRUE(std::binary_search(ok.begin(), ok.end(), id))
        << (*tok)->Piece(id);
    ASSERT_TRUE(c.Accept(id));
  }
  std::vector<int> after = {vocab->tool_call_open, vocab->tool_response};
  std::sort(after.begin(), after.end());
  EXPECT_EQ(allowed(&c), after);

  // none: the call token is masked; auto: free text is left alone.
  spec.mode = ToolChoiceMode::kNone;
  OutputConstraint none(*vocab, spec);
  free = allowed(&none);
  EXPECT_EQ(std::count(free.begin(), free.end(), vocab->tool_call_open), 0);
  EXPECT_EQ(static_cast<int>(free.size()), V - 1);
  spec.mode = ToolChoiceMode::kAuto;
  OutputConstraint open(*vocab, spec);
  EXPECT_EQ(static_cast<int>(allowed(&open).size()), V);
}

}  // namespace
}  // namespace facet
