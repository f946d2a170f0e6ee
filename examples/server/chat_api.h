// The OpenAI chat-completions wire format for `facet serve`: request bodies
// parsed and checked into facet types, and the response / stream-chunk
// bodies built from facet's Response. Uses only the public API.
#ifndef FACET_EXAMPLES_SERVER_CHAT_API_H_
#define FACET_EXAMPLES_SERVER_CHAT_API_H_

#include <cstdint>
#include <string>
#include <vector>

#include "facet/facet.h"

namespace facet::server {

// An error for the client, sent as {"error": {message, type, param, code}}.
struct ApiError {
  int http_status = 400;
  std::string message;
  std::string type = "invalid_request_error";
  std::string param;  // empty: null
  std::string code;   // empty: null
};

// The JSON body of an error.
std::string ErrorBody(const ApiError& e);
// The HTTP status and error for a facet Status from a session call.
ApiError ErrorFromStatus(const Status& s);

// One message of the request, ready to be queued in a Session.
struct InputMessage {
  enum class Kind { kUser, kModel, kModelToolCalls, kTool };
  Kind kind = Kind::kUser;
  std::vector<Part> parts;  // kUser: text and media; kModel: text
  std::string text;         // kModel, kModelToolCalls
  std::string thinking;     // kModelToolCalls: the replayed thought
  std::vector<ToolCall> calls;
  std::string tool_name;  // kTool
  std::string tool_json;  // kTool: the result as a JSON value
};

// What the server knows when it reads a request.
struct RequestDefaults {
  SamplerOptions sampling;       // the model's generation config
  bool enable_thinking = false;  // --think
  bool has_vision = false;
  bool has_audio = false;
  std::string model_name;
};

struct ChatRequest {
  std::string model;
  bool stream = false;
  std::string system_prompt;  // the leading system / developer messages
  bool enable_thinking = false;
  std::string tools_json;  // facet's tool declarations; empty: none
  std::vector<InputMessage> messages;
  GenerateOptions generate;  // max_tokens 0 = up to the context length
  bool seed_given = false;
};

// Parses and checks a /v1/chat/completions body. Returns false and fills
// `error` (status 400, the offending field in `param`) on any problem.
bool ParseChatRequest(const std::string& body, const RequestDefaults& defaults,
                      ChatRequest* out, ApiError* error);

// Decodes standard base64 (padding optional, whitespace skipped); false
// on any other character.
bool DecodeBase64(const std::string& in, std::string* out);

// "chatcmpl-..." / "call_..." ids.
std::string NewId(const std::string& prefix);

// OpenAI's finish_reason for a facet stop reason.
std::string FinishReason(StopReason reason, bool tool_calls);

struct Usage {
  int64_t prompt_tokens = 0;
  int64_t completion_tokens = 0;
  int64_t cached_tokens = 0;  // of prompt_tokens, from the prefix cache
};

// The non-streaming chat.completion body.
std::string CompletionBody(const std::string& id, int64_t created,
                           const std::string& model, const Response& r,
                           const Usage& usage);

// Server-sent-event chunks ("data: {...}\n\n") of a streamed answer.
class ChunkWriter {
 public:
  ChunkWriter(std::string id, int64_t created, std::string model)
      : id_(std::move(id)), created_(created), model_(std::move(model)) {}
  // The first chunk (the assistant role), then one per event.
  std::string Start() const;
  std::string Event(const StreamEvent& ev);
  // The finish_reason chunk with usage, then "data: [DONE]".
  std::string Finish(StopReason reason, const Usage& usage) const;
  // An error after the stream started: {"error": {...}} then [DONE].
  static std::string Error(const ApiError& e);

 private:
  std::string id_;
  int64_t created_;
  std::string model_;
  int tool_calls_ = 0;
};

}  // namespace facet::server

#endif  // FACET_EXAMPLES_SERVER_CHAT_API_H_
