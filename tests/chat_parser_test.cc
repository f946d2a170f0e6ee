// Gemma 4 chat format: the tool-value syntax, tool calls, and the streaming
// answer parser.
#include <string>
#include <utility>
#include <vector>

#include "gtest/gtest.h"
#include "models/gemma4/chat.h"
#include "tests/chat_util.h"

namespace facet::gemma4 {
namespace {

using ::facet::gemma4::chat_testing::json;
using ::facet::gemma4::chat_testing::Q;

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

}  // namespace
}  // namespace facet::gemma4
