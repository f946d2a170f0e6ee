// JSON schemas for constrained decoding: the subset of JSON Schema that
// tool parameters and structured output use, compiled into a node table,
// and a validator of JSON values against it.
//
// Supported keywords: type (a name or a list of names: string, number,
// integer, boolean, null, object, array), properties, required,
// additionalProperties (false, true or a schema), items (a schema),
// minItems, maxItems, minLength, maxLength, enum and const (of strings,
// numbers, booleans and null), nullable (OpenAPI's, as Gemma's template
// renders it). Annotations are accepted and ignored: title, description,
// default, examples, format (an annotation in JSON Schema 2020-12),
// deprecated, readOnly, writeOnly, $schema, $id, $comment. Any other
// keyword (pattern, anyOf, $ref, minimum, ...) is refused with
// kInvalidArgument naming it and where it is, so that a schema is never
// silently enforced only in part.
//
// Generation is stricter than JSON Schema in one respect: an object that
// declares properties and says nothing about additionalProperties gets
// only its declared properties (as OpenAI's strict mode and XGrammar do);
// Validate follows JSON Schema and allows extra ones there.
#ifndef FACET_SRC_SAMPLING_JSON_SCHEMA_H_
#define FACET_SRC_SAMPLING_JSON_SCHEMA_H_

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "facet/status.h"

namespace facet {

enum SchemaType : uint8_t {
  kTypeNull = 1,
  kTypeBoolean = 2,
  kTypeInteger = 4,
  kTypeNumber = 8,  // any number (integers included)
  kTypeString = 16,
  kTypeArray = 32,
  kTypeObject = 64,
  kTypeAny = 127,
};

inline constexpr uint32_t kUnbounded = 0xFFFFFFFFu;
// Most properties one object may declare (a bit each while generating).
inline constexpr int kMaxSchemaProperties = 64;
// Deepest nesting of schemas inside schemas.
inline constexpr int kMaxSchemaDepth = 20;

struct SchemaNode {
  uint8_t types = kTypeAny;
  // Non-empty: the value is one of these (scalars only).
  std::vector<nlohmann::json> enum_values;
  uint32_t min_length = 0, max_length = kUnbounded;  // code points
  uint32_t min_items = 0, max_items = kUnbounded;
  int items = 0;  // node of the array items (0 = any value)
  struct Property {
    std::string name;
    int node = 0;
    bool required = false;
  };
  std::vector<Property> properties;  // in declaration order
  // Node of the values of undeclared keys, or -1 when none may be
  // generated; `additional_explicit` says the schema said so itself.
  int additional = 0;
  bool additional_explicit = false;
};

class JsonSchema {
 public:
  // Node 0, a value of any type, is where schemas say nothing.
  static constexpr int kAnyNode = 0;

  // `where` prefixes error messages (e.g. "tool 'f' parameters").
  static StatusOr<JsonSchema> Compile(const nlohmann::json& schema,
                                      const std::string& where);
  // A schema that accepts any value (node 0 as the root).
  static JsonSchema Any();

  int root() const { return root_; }
  const SchemaNode& node(int i) const { return nodes_[i]; }
  int num_nodes() const { return static_cast<int>(nodes_.size()); }

  // kInvalidArgument naming the first place `value` breaks the schema.
  Status Validate(const nlohmann::json& value) const;

 private:
  JsonSchema();
  StatusOr<int> CompileNode(const nlohmann::json& s, const std::string& path,
                            int depth);
  Status ValidateNode(int node, const nlohmann::json& v,
                      const std::string& path) const;

  std::vector<SchemaNode> nodes_;
  int root_ = kAnyNode;
};

}  // namespace facet

#endif  // FACET_SRC_SAMPLING_JSON_SCHEMA_H_
