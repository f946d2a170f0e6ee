// JSON schema compilation for constrained decoding: every supported
// keyword, refusals at compile time, and the validator.
#include "src/sampling/json_schema.h"

#include "gtest/gtest.h"

namespace facet {
namespace {

using json = nlohmann::json;

StatusOr<JsonSchema> Compile(const char* text) {
  return JsonSchema::Compile(json::parse(text), "schema");
}

TEST(JsonSchemaTest, EverySupportedKeyword) {
  auto s = Compile(R"({
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "t", "description": "d", "type": "object",
    "properties": {
      "s": {"type": "string", "minLength": 2, "maxLength": 4,
            "format": "date", "default": "ab", "examples": ["ab"]},
      "e": {"enum": ["x", 1, true, null]},
      "c": {"const": "k"},
      "i": {"type": "integer"},
      "n": {"type": "NUMBER"},
      "b": {"type": "boolean", "deprecated": false},
      "z": {"type": "null"},
      "u": {"type": ["string", "integer"], "nullable": true},
      "a": {"type": "array", "items": {"type": "integer"},
            "minItems": 1, "maxItems": 2},
      "o": {"type": "object", "properties": {"k": {"type": "string"}},
            "required": ["k"], "additionalProperties": false},
      "m": {"type": "object", "additionalProperties": {"type": "boolean"}}
    },
    "required": ["s"], "additionalProperties": false})");
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  EXPECT_TRUE(s->Validate(json::parse(R"({"s": "abc", "e": null, "c": "k",
      "i": 3, "n": 2.5, "b": true, "z": null, "u": null,
      "a": [1, 2], "o": {"k": "v"}, "m": {"x": false}})"))
                  .ok());
  const char* bad[] = {
      R"({})",                                    // s missing
      R"({"s": "a"})",                            // too short
      R"({"s": "abcde"})",                        // too long
      R"({"s": "ab", "e": "y"})",                 // not in enum
      R"({"s": "ab", "c": "j"})",                 // not the const
      R"({"s": "ab", "i": 1.5})",                 // not an integer
      R"({"s": "ab", "n": "1"})",                 // not a number
      R"({"s": "ab", "u": 1.5})",                 // neither type
      R"({"s": "ab", "a": []})",                  // too few items
      R"({"s": "ab", "a": [1, 2, 3]})",           // too many
      R"({"s": "ab", "a": ["x"]})",               // item type
      R"({"s": "ab", "o": {}})",                  // nested required
      R"({"s": "ab", "o": {"k": "v", "j": 1}})",  // nested extra
      R"({"s": "ab", "m": {"x": 1}})",            // additional schema
      R"({"s": "ab", "other": 1})",               // additionalProperties false
  };
  for (const char* b : bad) {
    EXPECT_FALSE(s->Validate(json::parse(b)).ok()) << b;
  }
  // Integers are numbers; 3.0 is an integer.
  EXPECT_TRUE(
      s->Validate(json::parse(R"({"s": "ab", "n": 3, "i": 3.0})")).ok());
}

TEST(JsonSchemaTest, UnsupportedKeywordsAreRefusedWithTheirPlace) {
  const char* cases[] = {
      R"({"type": "string", "pattern": "^a"})",
      R"({"anyOf": [{"type": "string"}, {"type": "null"}]})",
      R"({"type": "object", "properties": {"x": {"$ref": "#/defs/x"}}})",
      R"({"type": "integer", "minimum": 1})",
      R"({"type": "array", "items": [{"type": "string"}]})",
      R"({"type": "array", "uniqueItems": true})",
      R"({"type": "object", "patternProperties": {}})",
  };
  for (const char* c : cases) {
    auto s = Compile(c);
    ASSERT_FALSE(s.ok()) << c;
    EXPECT_EQ(s.status().code(), StatusCode::kInvalidArgument);
    EXPECT_NE(s.status().message().find("schema"), std::string::npos);
  }
  auto s = Compile(R"({"properties": {"x": {"minimum": 1}}})");
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.status().message().find("schema.properties.x"), std::string::npos)
      << s.status().message();
  EXPECT_NE(s.status().message().find("'minimum'"), std::string::npos);
}

TEST(JsonSchemaTest, MalformedSchemasAreRefused) {
  const char* cases[] = {
      R"({"type": "text"})",
      R"({"type": 3})",
      R"({"required": ["x"]})",  // not declared
      R"({"minLength": 5, "maxLength": 2})",
      R"({"minItems": -1})",
      R"({"enum": []})",
      R"({"enum": [{"a": 1}]})",
      R"({"type": "string", "enum": [1, 2]})",  // no value of the type
      R"({"const": 1, "enum": [2]})",
      R"(false)",
      R"([])",
  };
  for (const char* c : cases) EXPECT_FALSE(Compile(c).ok()) << c;
  json deep = json::object();
  for (int i = 0; i < kMaxSchemaDepth + 2; ++i) {
    deep = json({{"type", "array"}, {"items", deep}});
  }
  EXPECT_FALSE(JsonSchema::Compile(deep, "deep").ok());
}

TEST(JsonSchemaTest, ImpliedTypesAndStrictGeneration) {
  auto s = Compile(R"({"properties": {"a": {}}})");
  ASSERT_TRUE(s.ok());
  const SchemaNode& root = s->node(s->root());
  EXPECT_EQ(root.types, kTypeObject);
  // Declared properties only while generating, extra keys valid for JSON
  // Schema (it said nothing).
  EXPECT_EQ(root.additional, -1);
  EXPECT_TRUE(s->Validate(json::parse(R"({"b": 1})")).ok());
  auto any_object = Compile(R"({"type": "object"})");
  ASSERT_TRUE(any_object.ok());
  EXPECT_EQ(any_object->node(any_object->root()).additional,
            JsonSchema::kAnyNode);
  EXPECT_TRUE(Compile("true").ok());
}

}  // namespace
}  // namespace facet
