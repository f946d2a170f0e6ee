// Gemma 4 chat format: rendering against hand-written transcripts of the
// template (models/gemma4/chat.h names the sources), the tool-value syntax,
// and the streaming answer parser.
#include "models/gemma4/chat.h"

#include <cstdint>
#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace facet::gemma4 {
namespace {

using json = nlohmann::json;

// The quote token, to keep the expected strings readable.
const std::string Q = "<|\"|>";

ChatMessage System(const std::string& text) {
  ChatMessage m;
  m.role = ChatMessage::kSystem;
  m.content = text;
  return m;
}

ChatMessage User(const std::string& text) {
  ChatMessage m;
  m.role = ChatMessage::kUser;
  m.content = text;
  return m;
}

ChatMessage Model(const std::string& text, std::vector<ToolCall> calls = {},
                  const std::string& thinking = "") {
  ChatMessage m;
  m.role = ChatMessage::kModel;
  m.content = text;
  m.tool_calls = std::move(calls);
  m.thinking = thinking;
  return m;
}

ChatMessage Tool(const std::string& name, const json& response,
                 const std::string& content = "") {
  ChatMessage m;
  m.role = ChatMessage::kTool;
  m.tool_name = name;
  m.response = response;
  m.content = content;
  return m;
}

ToolCall Call(const std::string& name, const json& args) {
  ToolCall c;
  c.name = name;
  c.arguments = args;
  return c;
}

json WeatherTool() {
  return json::parse(R"({
    "name": "get_weather",
    "description": "Get the weather",
    "parameters": {
      "type": "object",
      "properties": {
        "city": {"type": "string", "description": "City name"},
        "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]}
      },
      "required": ["city"]
    }
  })");
}

const std::string kWeatherDecl =
    "declaration:get_weather{description:" + Q + "Get the weather" + Q +
    ",parameters:{properties:{city:{description:" + Q + "City name" + Q +
    ",type:" + Q + "STRING" + Q + "},unit:{enum:[" + Q + "celsius" + Q + "," +
    Q + "fahrenheit" + Q + "],type:" + Q + "STRING" + Q + "}},required:[" + Q +
    "city" + Q + "],type:" + Q + "OBJECT" + Q + "}}";

size_t Count(const std::string& s, const std::string& needle) {
  size_t n = 0;
  for (size_t p = s.find(needle); p != std::string::npos;
       p = s.find(needle, p + 1)) {
    ++n;
  }
  return n;
}

// --- Rendering ---

TEST(ChatRender, UserOnlyHasNoSystemTurn) {
  ChatOptions o;
  EXPECT_EQ(RenderPrompt({User("  Hello \n")}, o, true),
            "<bos><|turn>user\nHello<turn|>\n<|turn>model\n");
  EXPECT_EQ(RenderPrompt({User("Hello")}, o, false),
            "<bos><|turn>user\nHello<turn|>\n");
  o.empty_thought_prefill = true;  // 26B-A4B / 31B / 12B template
  EXPECT_EQ(RenderPrompt({User("Hello")}, o, true),
            "<bos><|turn>user\nHello<turn|>\n<|turn>model\n"
            "<|channel>thought\n<channel|>");
  EXPECT_EQ(RenderPrompt({}, ChatOptions(), true), "<bos><|turn>model\n");
}

TEST(ChatRender, SystemPromptThinkingOff) {
  ChatOptions o;
  const std::vector<ChatMessage> msgs = {System("You are terse.\n"),
                                         User("Hi")};
  EXPECT_EQ(RenderPrompt(msgs, o, true),
            "<bos><|turn>system\nYou are terse.<turn|>\n"
            "<|turn>user\nHi<turn|>\n<|turn>model\n");
  o.empty_thought_prefill = true;
  EXPECT_EQ(RenderPrompt(msgs, o, true),
            "<bos><|turn>system\nYou are terse.<turn|>\n"
            "<|turn>user\nHi<turn|>\n<|turn>model\n"
            "<|channel>thought\n<channel|>");
}

TEST(ChatRender, ThinkingOn) {
  ChatOptions o;
  o.enable_thinking = true;
  o.empty_thought_prefill = true;  // never pre-filled with thinking on
  EXPECT_EQ(RenderPrompt({System("Be careful."), User("2+2?")}, o, true),
            "<bos><|turn>system\n<|think|>\nBe careful.<turn|>\n"
            "<|turn>user\n2+2?<turn|>\n<|turn>model\n");
  EXPECT_EQ(RenderPrompt({User("2+2?")}, o, true),
            "<bos><|turn>system\n<|think|>\n<turn|>\n"
            "<|turn>user\n2+2?<turn|>\n<|turn>model\n");
}

TEST(ChatRender, BosExactlyOnce) {
  ChatOptions o;
  o.tools = json::array({WeatherTool()});
  o.enable_thinking = true;
  const std::vector<ChatMessage> msgs = {
      System("s"),
      User("u"),
      Model("", {Call("get_weather", {{"city", "X"}})}),
      Tool("get_weather", {{"t", 1}}),
      Model("done"),
      User("again")};
  const std::string p = RenderPrompt(msgs, o, true);
  EXPECT_EQ(Count(p, "<bos>"), 1u);
  EXPECT_EQ(p.rfind("<bos>", 0), 0u);
  StatusOr<std::string> inc =
      RenderIncrement({msgs.begin(), msgs.begin() + 2},
                      {msgs.begin() + 2, msgs.end()}, o, true);
  ASSERT_TRUE(inc.ok()) << inc.status().ToString();
  EXPECT_EQ(Count(*inc, "<bos>"), 0u);
}

TEST(ChatRender, ToolDeclaration) {
  EXPECT_EQ(FormatToolDeclaration(WeatherTool()), kWeatherDecl);
  // The OpenAI form renders the same.
  json openai = {{"type", "function"}, {"function", WeatherTool()}};
  EXPECT_EQ(FormatToolDeclaration(openai), kWeatherDecl);

  ChatOptions o;
  o.tools = json::array({WeatherTool()});
  EXPECT_EQ(RenderPrompt({User("Weather in Paris?")}, o, true),
            "<bos><|turn>system\n<|tool>" + kWeatherDecl +
                "<tool|><turn|>\n<|turn>user\nWeather in Paris?<turn|>\n"
                "<|turn>model\n");
  EXPECT_EQ(RenderPrompt({System("Use tools."), User("Hi")}, o, false),
            "<bos><|turn>system\nUse tools.<|tool>" + kWeatherDecl +
                "<tool|><turn|>\n<|turn>user\nHi<turn|>\n");
}

TEST(ChatRender, ToolDeclarationNestedSchema) {
  json tool = json::parse(R"({
    "name": "search", "description": "Search",
    "parameters": {"type": "object", "properties": {
      "filter": {"type": "object", "description": "Filter",
                 "properties": {"min": {"type": "number"},
                                "tags": {"type": "array",
                                         "items": {"type": "string"}}},
                 "required": ["min"]},
      "ids": {"type": "array", "description": "IDs",
              "items": {"type": "integer"}},
      "type": {"type": "string", "description": "kind"},
      "maybe": {"type": "string", "nullable": true}}}})");
  const std::string expected =
      "declaration:search{description:" + Q + "Search" + Q +
      ",parameters:{properties:{"
      "filter:{description:" +
      Q + "Filter" + Q + ",properties:{min:{type:" + Q + "NUMBER" + Q +
      "},tags:{items:{type:" + Q + "STRING" + Q + "},type:" + Q + "ARRAY" + Q +
      "}},required:[" + Q + "min" + Q + "],type:" + Q + "OBJECT" + Q + "}," +
      "ids:{description:" + Q + "IDs" + Q + ",items:{type:" + Q + "INTEGER" +
      Q + "},type:" + Q + "ARRAY" + Q + "}," +
      "maybe:{nullable:true,type:" + Q + "STRING" + Q + "}," +
      "type:{description:" + Q + "kind" + Q + ",type:" + Q + "STRING" + Q +
      "}},type:" + Q + "OBJECT" + Q + "}}";
  EXPECT_EQ(FormatToolDeclaration(tool), expected);
}

TEST(ChatRender, MultiTurnWithToolResponse) {
  ChatOptions o;
  o.tools = json::array({WeatherTool()});
  const std::vector<ChatMessage> msgs = {
      System("Use tools."),
      User("Weather in Paris?"),
      Model("",
            {Call("get_weather", {{"unit", "celsius"}, {"city", "Paris"}})}),
      Tool("get_weather", {{"temperature", 20}, {"sky", "clear"}}),
      Model("It is 20 \xC2\xB0"
            "C and clear."),
      User("Thanks!")};
  const std::string head = "<bos><|turn>system\nUse tools.<|tool>" +
                           kWeatherDecl +
                           "<tool|><turn|>\n<|turn>user\nWeather in "
                           "Paris?<turn|>\n<|turn>model\n";
  const std::string call = "<|tool_call>call:get_weather{city:" + Q + "Paris" +
                           Q + ",unit:" + Q + "celsius" + Q + "}<tool_call|>";
  const std::string response = "<|tool_response>response:get_weather{sky:" + Q +
                               "clear" + Q + ",temperature:20}<tool_response|>";
  EXPECT_EQ(RenderPrompt(msgs, o, true),
            head + call + response +
                "It is 20 \xC2\xB0"
                "C and clear.<turn|>\n"
                "<|turn>user\nThanks!<turn|>\n<|turn>model\n");

  // Waiting for the result: the turn ends at the <|tool_response> stop
  // token and there is no generation prompt.
  std::vector<ChatMessage> pending(msgs.begin(), msgs.begin() + 3);
  EXPECT_EQ(RenderPrompt(pending, o, true), head + call + "<|tool_response>");
  EXPECT_EQ(RenderGenerationPrompt(pending, o), "");
  // Result given: the model continues the same turn, no new header.
  pending.push_back(msgs[3]);
  EXPECT_EQ(RenderPrompt(pending, o, true), head + call + response);
  EXPECT_EQ(RenderGenerationPrompt(pending, o), "");
}

TEST(ChatRender, ToolResponseForms) {
  const std::vector<ChatMessage> msgs = {
      User("t?"), Model("", {Call("get_time", json::object())}),
      Tool("get_time", nullptr, "12:00, {UTC}")};
  EXPECT_EQ(RenderPrompt(msgs, ChatOptions(), false),
            "<bos><|turn>user\nt?<turn|>\n<|turn>model\n"
            "<|tool_call>call:get_time{}<tool_call|>"
            "<|tool_response>response:get_time{value:" +
                Q + "12:00, {UTC}" + Q + "}<tool_response|>");
  const std::vector<ChatMessage> scalar = {
      User("n?"), Model("", {Call("count", json::object())}),
      Tool("", json::array({1, "two"}))};
  EXPECT_EQ(RenderPrompt(scalar, ChatOptions(), false),
            "<bos><|turn>user\nn?<turn|>\n<|turn>model\n"
            "<|tool_call>call:count{}<tool_call|>"
            "<|tool_response>response:unknown{value:[1," +
                Q + "two" + Q + "]}<tool_response|>");
}

TEST(ChatRender, SeveralCallsInOneTurn) {
  const std::vector<ChatMessage> msgs = {
      User("Both cities?"),
      Model("", {Call("get_weather", {{"city", "Paris"}}),
                 Call("get_weather", {{"city", "Oslo"}})}),
      Tool("get_weather", {{"t", 20}}), Tool("get_weather", {{"t", -3}}),
      Model("Paris 20, Oslo -3.")};
  EXPECT_EQ(RenderPrompt(msgs, ChatOptions(), true),
            "<bos><|turn>user\nBoth cities?<turn|>\n<|turn>model\n"
            "<|tool_call>call:get_weather{city:" +
                Q + "Paris" + Q + "}<tool_call|>" +
                "<|tool_call>call:get_weather{city:" + Q + "Oslo" + Q +
                "}<tool_call|>" +
                "<|tool_response>response:get_weather{t:20}<tool_response|>"
                "<|tool_response>response:get_weather{t:-3}<tool_response|>"
                "Paris 20, Oslo -3.<turn|>\n<|turn>model\n");
}

TEST(ChatRender, ThinkingKeptOnlyDuringToolExchange) {
  ChatOptions o;
  o.enable_thinking = true;
  std::vector<ChatMessage> msgs = {
      User("Q"), Model("", {Call("lookup", {{"q", "x"}})}, "Need data."),
      Tool("lookup", {{"r", 1}}), Model("Answer.")};
  const std::string rest = "<|tool_call>call:lookup{q:" + Q + "x" + Q +
                           "}<tool_call|><|tool_response>response:lookup{r:1}"
                           "<tool_response|>Answer.<turn|>\n";
  const std::string head =
      "<bos><|turn>system\n<|think|>\n<turn|>\n<|turn>user\nQ<turn|>\n"
      "<|turn>model\n";
  EXPECT_EQ(RenderPrompt(msgs, o, false),
            head + "<|channel>thought\nNeed data.\n<channel|>" + rest);

  // A new user message ends the exchange: the template drops the thought,
  // so the history re-renders differently and no increment exists.
  std::vector<ChatMessage> next = {User("More")};
  msgs.push_back(next[0]);
  EXPECT_EQ(RenderPrompt(msgs, o, false),
            head + rest + "<|turn>user\nMore<turn|>\n");
  msgs.pop_back();
  StatusOr<std::string> inc = RenderIncrement(msgs, next, o, true);
  EXPECT_EQ(inc.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(inc.status().message().find("history"), std::string::npos);

  // Thoughts of a model turn without tool calls are never rendered.
  EXPECT_EQ(RenderPrompt({User("Q"), Model("A.", {}, "secret")}, o, false),
            "<bos><|turn>system\n<|think|>\n<turn|>\n<|turn>user\nQ<turn|>\n"
            "<|turn>model\nA.<turn|>\n");
}

TEST(ChatRender, ModelContentDropsThoughtMarkup) {
  EXPECT_EQ(
      RenderPrompt(
          {User("Q"), Model("<|channel>thought\nhmm\n<channel|>  Final. \n")},
          ChatOptions(), false),
      "<bos><|turn>user\nQ<turn|>\n<|turn>model\nFinal.<turn|>\n");
}

// --- Incremental rendering ---

// For every split of `msgs` from `first_split` on, history + increment is
// the full render; at `broken` the history re-renders differently instead.
void ExpectSuffixProperty(const std::vector<ChatMessage>& msgs,
                          const ChatOptions& o, size_t first_split,
                          size_t broken = SIZE_MAX) {
  for (size_t k = first_split; k <= msgs.size(); ++k) {
    const std::vector<ChatMessage> history(msgs.begin(), msgs.begin() + k);
    const std::vector<ChatMessage> appended(msgs.begin() + k, msgs.end());
    for (bool gen : {false, true}) {
      StatusOr<std::string> inc = RenderIncrement(history, appended, o, gen);
      if (k == broken) {
        EXPECT_EQ(inc.status().code(), StatusCode::kFailedPrecondition);
        continue;
      }
      ASSERT_TRUE(inc.ok()) << "split " << k << ": " << inc.status().ToString();
      EXPECT_EQ(RenderPrompt(history, o, false) + *inc,
                RenderPrompt(msgs, o, gen))
          << "split " << k;
    }
    StatusOr<std::string> gen_only = RenderIncrement(history, {}, o, true);
    ASSERT_TRUE(gen_only.ok());
    EXPECT_EQ(*gen_only, RenderGenerationPrompt(history, o));
  }
}

TEST(ChatIncrement, EqualsSuffixOfFullRender) {
  const std::vector<ChatMessage> msgs = {
      System("Use tools."),
      User("Weather in Paris and Oslo?"),
      Model("", {Call("get_weather", {{"city", "Paris"}}),
                 Call("get_weather", {{"city", "Oslo"}})}),
      Tool("get_weather", {{"t", 20}}),
      Tool("get_weather", {{"t", -3}}),
      Model("Paris 20, Oslo -3."),
      User("And Rome?"),
      Model("Checking.", {Call("get_weather", {{"city", "Rome"}})}),
      Tool("get_weather", nullptr, "25"),
      Model("Rome 25."),
      User("Thanks")};
  // Template order: a model message's text follows its calls and their
  // responses. So "Checking." moves behind the responses that arrive later
  // and split 8 has no increment.
  const size_t broken = 8;
  for (bool prefill : {false, true}) {
    ChatOptions o;
    o.empty_thought_prefill = prefill;
    ExpectSuffixProperty(msgs, o, 0, broken);
    o.tools = json::array({WeatherTool()});
    // With tools the system turn exists from the start, so the system
    // message has to be in the first render.
    ExpectSuffixProperty(msgs, o, 1, broken);
  }
  // Thinking: increments inside one tool exchange keep the thought.
  ChatOptions o;
  o.enable_thinking = true;
  const std::vector<ChatMessage> agent = {
      User("Plan a trip."),
      Model("", {Call("search", {{"q", "flights"}})}, "Flights first."),
      Tool("search", {{"n", 3}}),
      Model("", {Call("book", {{"id", 2}})}, "Take the second."),
      Tool("book", {{"ok", true}}),
      Model("Booked.")};
  ExpectSuffixProperty(agent, o, 0);
}

// --- Tool values ---

TEST(ChatToolValue, FormatsNestedValues) {
  json v = json::parse(R"({"b": [1, 2.5, -3, true, false, null, "x"],
                           "a": {"z": {"deep": []}, "Y": {}}, "s": "t"})");
  EXPECT_EQ(FormatToolValue(v),
            "{a:{Y:{},z:{deep:[]}},b:[1,2.5,-3,true,false,"
            "null," +
                Q + "x" + Q + "],s:" + Q + "t" + Q + "}");
  EXPECT_EQ(FormatToolValue(json{{"k", 1}}, /*quote_keys=*/true),
            "{" + Q + "k" + Q + ":1}");
  // dictsort is case-insensitive.
  EXPECT_EQ(FormatToolValue(json::parse(R"({"b":1,"A":2,"a":3})")),
            "{A:2,a:3,b:1}");
}

TEST(ChatToolValue, RoundTripsTrickyValues) {
  const std::vector<std::string> strings = {
      "",
      "plain",
      "{braces}",
      "a}b{c]d[",
      "\"quoted\" and 'single'",
      "a,b,,c",
      "k:v::",
      "line1\nline2\n",
      "<|",
      "|>",
      "\"|>",
      "<|\"",
      "<|\"|",
      "x<|\"",
      "|>tail",
      "<|\"<|\"|",
      "{\"json\": [1, 2], \"k\": null}",
      "  spaced  ",
      "na\xC3\xAFve \xE2\x98\x83",
      "back\\slash",
      "<|tool_call>inside",
  };
  for (const std::string& s : strings) {
    json v = {{"s", s},
              {"arr", json::array({s, 1, s})},
              {"nested", {{"k", s}, {"list", json::array({json{{"x", s}}})}}}};
    const std::string text = FormatToolValue(v);
    StatusOr<json> back = ParseToolValue(text);
    ASSERT_TRUE(back.ok()) << text << ": " << back.status().ToString();
    EXPECT_EQ(*back, v) << text;
    StatusOr<ToolCall> call = ParseToolCall("call:f" + text);
    ASSERT_TRUE(call.ok()) << call.status().ToString();
    EXPECT_EQ(call->name, "f");
    EXPECT_EQ(call->arguments, v);
  }
  json numbers = {{"zero", 0},
                  {"neg", -1},
                  {"f", 2.5},
                  {"small", 1e-7},
                  {"big", 1e300},
                  {"u", 18446744073709551615ull},
                  {"i", -9223372036854775807ll - 1}};
  StatusOr<json> back = ParseToolValue(FormatToolValue(numbers));
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(*back, numbers);
}

TEST(ChatToolValue, AcceptsWhitespaceQuotedKeysAndPythonWords) {
  StatusOr<json> v =
      ParseToolValue(" { a : 1 , " + Q + "b c" + Q + " : [ True , None ] } ");
  ASSERT_TRUE(v.ok()) << v.status().ToString();
  EXPECT_EQ(*v, json::parse(R"({"a": 1, "b c": [true, null]})"));
}

TEST(ChatToolValue, MalformedGivesClearStatus) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"{city:Paris}", "unquoted text 'Paris'"},
      {"{city:" + Q + "Paris}", "unterminated string"},
      {"{city:\"Paris\"}", "Gemma 4 wraps strings"},
      {"{a:1", "unterminated object"},
      {"{a:1}}", "unexpected text after the value"},
      {"{a 1}", "expected ':' after key 'a 1'"},
      {"{:1}", "expected a key"},
      {"[1,,2]", "unexpected character ','"},
      {"{a:1.2.3}", "invalid number '1.2.3'"},
      {"{a:}", "unexpected character '}'"},
      {"[1 2]", "expected ',' or ']'"},
      {"", "expected a value"},
      {std::string(500, '['), "nested too deeply"},
  };
  for (const auto& [text, why] : cases) {
    StatusOr<json> v = ParseToolValue(text);
    ASSERT_FALSE(v.ok()) << text;
    EXPECT_EQ(v.status().code(), StatusCode::kInvalidArgument);
    EXPECT_NE(v.status().message().find(why), std::string::npos)
        << text << " -> " << v.status().message();
    EXPECT_NE(v.status().message().find("offset"), std::string::npos);
  }
}

TEST(ChatToolCall, MalformedGivesClearStatus) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"get_weather{}", "expected 'call:NAME{...}'"},
      {"call:{a:1}", "empty function name"},
      {"call:get weather{}", "invalid function name 'get weather'"},
      {"call:f", "no '{' after the name"},
      {"call:f{a:" + Q + "x}",
       "malformed tool call 'f': arguments: "
       "unterminated string"},
      {"call:f{a:1} trailing", "unexpected text after the arguments"},
  };
  for (const auto& [text, why] : cases) {
    StatusOr<ToolCall> c = ParseToolCall(text);
    ASSERT_FALSE(c.ok()) << text;
    EXPECT_EQ(c.status().code(), StatusCode::kInvalidArgument);
    EXPECT_NE(c.status().message().find(why), std::string::npos)
        << text << " -> " << c.status().message();
  }
}

TEST(ChatToolCall, ParsedCallRendersAsGenerated) {
  const std::string body = "call:get_weather{city:" + Q + "Paris" + Q +
                           ",days:3,opts:{metric:true}}";
  StatusOr<ToolCall> call = ParseToolCall(body);
  ASSERT_TRUE(call.ok()) << call.status().ToString();
  EXPECT_EQ(FormatToolCall(*call), "<|tool_call>" + body + "<tool_call|>");
  // JSON-text arguments (OpenAI clients) render the same.
  ToolCall text_args;
  text_args.name = "get_weather";
  text_args.arguments = R"({"opts": {"metric": true}, "days": 3,
                            "city": "Paris"})";
  EXPECT_EQ(FormatToolCall(text_args), "<|tool_call>" + body + "<tool_call|>");
}

// --- Streaming parser ---

std::string Describe(const std::vector<ResponseEvent>& events) {
  std::string out;
  for (const ResponseEvent& e : events) {
    switch (e.kind) {
      case ResponseEvent::kText:
        out += "T[" + e.text + "]";
        break;
      case ResponseEvent::kThinking:
        out += "H[" + e.text + "]";
        break;
      case ResponseEvent::kToolCall:
        out +=
            "C[" + e.tool_call.name + " " + e.tool_call.arguments.dump() + "]";
        break;
    }
  }
  return out;
}

// Merges adjacent text of one kind, as a split feed may return it in parts.
std::vector<ResponseEvent> Coalesce(const std::vector<ResponseEvent>& in) {
  std::vector<ResponseEvent> out;
  for (const ResponseEvent& e : in) {
    if (!out.empty() && e.kind != ResponseEvent::kToolCall &&
        out.back().kind == e.kind) {
      out.back().text += e.text;
    } else {
      out.push_back(e);
    }
  }
  return out;
}

std::string FeedPieces(const std::vector<std::string>& pieces, Status* status) {
  ResponseParser p;
  std::vector<ResponseEvent> all;
  for (const std::string& piece : pieces) {
    for (ResponseEvent& e : p.Feed(piece)) all.push_back(std::move(e));
  }
  *status = p.Finish(&all);
  return Describe(Coalesce(all));
}

std::string RunWhole(const std::string& text, Status* status) {
  return FeedPieces({text}, status);
}

TEST(ChatParser, PlainTextStreamsImmediately) {
  ResponseParser p;
  EXPECT_EQ(Describe(p.Feed("Hello")), "T[Hello]");
  EXPECT_EQ(Describe(p.Feed(", world")), "T[, world]");
  std::vector<ResponseEvent> rest;
  EXPECT_TRUE(p.Finish(&rest).ok());
  EXPECT_TRUE(rest.empty());
}

TEST(ChatParser, HoldsBackOnlyPossibleMarkerPrefixes) {
  ResponseParser p;
  EXPECT_EQ(Describe(p.Feed("a < b |> c <|x")), "T[a < b |> c <|x]");
  EXPECT_EQ(Describe(p.Feed(" x <")), "T[ x ]");
  EXPECT_EQ(Describe(p.Feed("|tool_ca")), "");
  EXPECT_EQ(Describe(p.Feed("ll>call:f{}<tool_call|>done <|")),
            "C[f {}]T[done ]");
  EXPECT_EQ(Describe(p.Feed("2")), "T[<|2]");
  std::vector<ResponseEvent> rest;
  EXPECT_EQ(Describe(p.Feed("end <tu")), "T[end ]");
  EXPECT_TRUE(p.Finish(&rest).ok());
  EXPECT_EQ(Describe(rest), "T[<tu]");  // never became a marker

  ResponseParser t;
  EXPECT_EQ(Describe(t.Feed("<|channel>thought\nabc\n")), "H[abc]");
  EXPECT_EQ(Describe(t.Feed("def\n")), "H[\ndef]");
  EXPECT_EQ(Describe(t.Feed("<channel|>Hi")), "T[Hi]");
}

TEST(ChatParser, ThinkingThenAnswer) {
  Status s;
  EXPECT_EQ(RunWhole("<|channel>thought\nThe user greets me.\n<channel|>"
                     "Hello!<turn|>",
                     &s),
            "H[The user greets me.]T[Hello!]");
  EXPECT_TRUE(s.ok());
}

TEST(ChatParser, EmptyAndOtherChannels) {
  Status s;
  EXPECT_EQ(RunWhole("<|channel>thought\n<channel|>Hi", &s), "T[Hi]");
  EXPECT_EQ(RunWhole("<|channel>final\nVisible", &s), "T[Visible]");
  EXPECT_EQ(RunWhole("<|channel>thought", &s), "");
  EXPECT_EQ(RunWhole("<|channel>thought\nunfinished", &s), "H[unfinished]");
  EXPECT_TRUE(s.ok());
}

TEST(ChatParser, ToolCallAfterThinking) {
  ResponseParser p;
  std::vector<ResponseEvent> ev = p.Feed(
      "<|channel>thought\nI need the weather.\n<channel|><|tool_call>call:"
      "get_weather{city:" +
      Q + "Paris" + Q + "}<tool_call|><|tool_response>");
  EXPECT_EQ(Describe(ev),
            "H[I need the weather.]C[get_weather {\"city\":\"Paris\"}]");
  EXPECT_TRUE(p.done());
  EXPECT_TRUE(p.Feed("ignored").empty());
  EXPECT_TRUE(p.Finish(nullptr).ok());
}

TEST(ChatParser, ToolCallInsideUnclosedThought) {
  Status s;
  EXPECT_EQ(RunWhole("<|channel>thought\nCall it.<|tool_call>call:f{a:1}"
                     "<tool_call|>",
                     &s),
            "H[Call it.]C[f {\"a\":1}]");
  EXPECT_TRUE(s.ok());
}

TEST(ChatParser, SeveralCallsInOneTurn) {
  Status s;
  EXPECT_EQ(RunWhole("Let me check both.<|tool_call>call:a{x:1}<tool_call|>"
                     "<|tool_call>call:b{y:" +
                         Q + "z" + Q + "}<tool_call|><|tool_response>",
                     &s),
            "T[Let me check both.]C[a {\"x\":1}]C[b {\"y\":\"z\"}]");
  EXPECT_TRUE(s.ok());
}

TEST(ChatParser, NestedArguments) {
  ResponseParser p;
  std::vector<ResponseEvent> ev = p.Feed(
      "<|tool_call>call:query{note:" + Q + "line1\nline2 \"q\", {x}: y" + Q +
      ",opts:{flags:[true,false,null],limit:10,nested:{deep:{list:[1,[2,3],"
      "{k:" +
      Q + "v" + Q + "}]}},ratio:-0.5},text:" + Q + "a, b: {c}" + Q +
      "}<tool_call|>");
  ASSERT_EQ(ev.size(), 1u);
  ASSERT_EQ(ev[0].kind, ResponseEvent::kToolCall);
  EXPECT_EQ(ev[0].tool_call.name, "query");
  EXPECT_EQ(ev[0].tool_call.arguments, json::parse(R"({
      "note": "line1\nline2 \"q\", {x}: y",
      "opts": {"flags": [true, false, null], "limit": 10,
               "nested": {"deep": {"list": [1, [2, 3], {"k": "v"}]}},
               "ratio": -0.5},
      "text": "a, b: {c}"})"));
  EXPECT_TRUE(p.Finish(nullptr).ok());
}

TEST(ChatParser, SplitAtEveryBytePositionGivesSameEvents) {
  const std::string transcript =
      "<|channel>thought\nUser wants \xE2\x98\x83 weather; a<b, c|>d.\n"
      "Two lines.\n<channel|>Checking <|\"|> and <| now."
      "<|tool_call>call:get_weather{city:" +
      Q + "Par{is}, \"FR\": x<|\"" + Q + ",days:3,opts:{a:[1,2.5,null],b:" + Q +
      "\n" + Q + "}}<tool_call|>" + "<|tool_call>call:log{msg:" + Q + "<|" + Q +
      "}<tool_call|>Done \xE6\x97\xA5.\n<turn|>trailing";
  Status s;
  const std::string whole = RunWhole(transcript, &s);
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(whole,
            "H[User wants \xE2\x98\x83 weather; a<b, c|>d.\nTwo lines.]"
            "T[Checking <|\"|> and <| now.]"
            "C[get_weather {\"city\":\"Par{is}, \\\"FR\\\": x<|\\\"\","
            "\"days\":3,\"opts\":{\"a\":[1,2.5,null],\"b\":\"\\n\"}}]"
            "C[log {\"msg\":\"<|\"}]T[Done \xE6\x97\xA5.\n]");
  for (size_t i = 0; i <= transcript.size(); ++i) {
    Status si;
    EXPECT_EQ(FeedPieces({transcript.substr(0, i), transcript.substr(i)}, &si),
              whole)
        << "split at " << i;
    EXPECT_TRUE(si.ok());
    // Three pieces too.
    const size_t j = i + (transcript.size() - i) / 2;
    EXPECT_EQ(FeedPieces({transcript.substr(0, i), transcript.substr(i, j - i),
                          transcript.substr(j)},
                         &si),
              whole)
        << "split at " << i << ", " << j;
  }
  std::vector<std::string> bytes;
  for (char c : transcript) bytes.emplace_back(1, c);
  EXPECT_EQ(FeedPieces(bytes, &s), whole);
}

TEST(ChatParser, EndMarkersStopTheTurn) {
  Status s;
  EXPECT_EQ(RunWhole("Done.<turn|>ignored", &s), "T[Done.]");
  EXPECT_EQ(RunWhole("Done.<eos>ignored", &s), "T[Done.]");
  EXPECT_EQ(RunWhole("Done.<|turn>user\nignored", &s), "T[Done.]");
  EXPECT_TRUE(s.ok());
}

TEST(ChatParser, UnterminatedToolCallFails) {
  Status s;
  EXPECT_EQ(RunWhole("Hi <|tool_call>call:f{a:1", &s), "T[Hi ]");
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("unterminated tool call"), std::string::npos)
      << s.message();
  EXPECT_NE(s.message().find("call:f{a:1"), std::string::npos);
  RunWhole("<|tool_call>call:f{a:1}<turn|>", &s);
  EXPECT_NE(s.message().find("end of turn before <tool_call|>"),
            std::string::npos)
      << s.message();
}

TEST(ChatParser, MalformedToolCallIsReportedAndTextContinues) {
  Status s;
  EXPECT_EQ(RunWhole("<|tool_call>call:f{a:oops}<tool_call|>After."
                     "<|tool_call>call:g{}<tool_call|>",
                     &s),
            "T[After.]C[g {}]");
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("malformed tool call 'f'"), std::string::npos)
      << s.message();
  EXPECT_NE(s.message().find("unquoted text 'oops'"), std::string::npos);
}

TEST(ChatParser, StrayClosersAreDropped) {
  Status s;
  EXPECT_EQ(RunWhole("a<channel|>b<tool_call|>c", &s), "T[abc]");
  EXPECT_TRUE(s.ok());
}

// --- Options ---

TEST(ChatOptionsTest, TemplateVariantDetection) {
  EXPECT_TRUE(TemplatePrefillsEmptyThought(
      "{%- if not enable_thinking | default(false) -%}"
      "{{- '<|channel>thought\\n<channel|>' -}}{%- endif -%}"));
  EXPECT_FALSE(TemplatePrefillsEmptyThought(
      "{%- if add_generation_prompt -%}{{- '<|turn>model\\n' -}}"));
  EXPECT_TRUE(PresetPrefillsEmptyThought("31b"));
  EXPECT_FALSE(PresetPrefillsEmptyThought("e2b"));
}

TEST(ChatOptionsTest, Validate) {
  ChatOptions o;
  EXPECT_TRUE(ValidateChatOptions(o).ok());
  o.tools = json::array({WeatherTool()});
  EXPECT_TRUE(ValidateChatOptions(o).ok());
  o.tools = json::object();
  EXPECT_EQ(ValidateChatOptions(o).code(), StatusCode::kInvalidArgument);
  o.tools = json::array({json{{"description", "no name"}}});
  EXPECT_NE(ValidateChatOptions(o).message().find("name"), std::string::npos);
}

}  // namespace
}  // namespace facet::gemma4
