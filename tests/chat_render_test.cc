// Gemma 4 chat format: rendering against hand-written transcripts of the
// template (models/gemma4/chat.h names the sources), incremental rendering
// and the chat options.
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "models/gemma4/chat.h"
#include "tests/chat_util.h"

namespace facet::gemma4 {
namespace {

using ::facet::gemma4::chat_testing::Call;
using ::facet::gemma4::chat_testing::json;
using ::facet::gemma4::chat_testing::Model;
using ::facet::gemma4::chat_testing::Q;
using ::facet::gemma4::chat_testing::System;
using ::facet::gemma4::chat_testing::Tool;
using ::facet::gemma4::chat_testing::User;
using ::facet::gemma4::chat_testing::WeatherTool;

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
