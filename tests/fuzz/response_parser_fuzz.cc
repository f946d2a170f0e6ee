// libFuzzer target: the streaming parser of the model's answer
// (models/gemma4/chat.h ResponseParser) and the Gemma 4 tool-value syntax.
//
// ResponseParser promises that pieces may be cut anywhere (inside UTF-8, a
// special token's text or a tool call) without changing the result. The
// input is fed whole, in chunks whose lengths come from its first bytes
// (empty chunks included), and one byte at a time; for each, the events of
// every Feed plus Finish are concatenated (adjacent text of one kind merged,
// as a single Feed would merge it) and must equal the whole-input events:
// same kinds, texts, tool-call names and arguments, the same Finish status
// (code and message) and the same done(). __builtin_trap() on a mismatch.
//
// The input also goes to ParseToolValue and ParseToolCall ("Inverse of
// FormatToolValue"). A value that parses must come back unchanged from
// FormatToolValue -> ParseToolValue, and a call (name and arguments) from
// FormatToolCall -> ParseToolCall, where the value is representable: no
// string or key contains the quote token <|"|> (which has no escape) and,
// with bare keys (always in calls), every key is non-empty, has no
// surrounding whitespace and none of ":{}[],".
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "facet/status.h"
#include "models/gemma4/chat.h"

namespace {

using facet::gemma4::ResponseEvent;
using facet::gemma4::ResponseParser;
using json = nlohmann::json;

constexpr std::string_view kQuote = "<|\"|>";

struct Outcome {
  std::vector<ResponseEvent> events;
  facet::Status status;
  bool done = false;
};

void Append(std::vector<ResponseEvent>* all, std::vector<ResponseEvent> more) {
  for (ResponseEvent& e : more) {
    if (e.kind != ResponseEvent::kToolCall && !all->empty() &&
        all->back().kind == e.kind) {
      all->back().text += e.text;
    } else {
      all->push_back(std::move(e));
    }
  }
}

Outcome Run(const std::vector<std::string_view>& pieces) {
  ResponseParser parser;
  Outcome o;
  for (std::string_view p : pieces) Append(&o.events, parser.Feed(p));
  std::vector<ResponseEvent> rest;
  o.status = parser.Finish(&rest);
  Append(&o.events, std::move(rest));
  o.done = parser.done();
  return o;
}

bool SameEvents(const Outcome& a, const Outcome& b) {
  if (a.events.size() != b.events.size()) return false;
  for (size_t i = 0; i < a.events.size(); ++i) {
    const ResponseEvent& x = a.events[i];
    const ResponseEvent& y = b.events[i];
    if (x.kind != y.kind || x.text != y.text ||
        x.tool_call.name != y.tool_call.name ||
        x.tool_call.arguments != y.tool_call.arguments) {
      return false;
    }
  }
  return a.status.code() == b.status.code() &&
         a.status.message() == b.status.message() && a.done == b.done;
}

bool IsSpace(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' ||
         c == '\v';
}

// Whether a key can be written bare: ParseKey reads a bare key up to one of
// ":{}[]," or the quote token and trims ASCII whitespace.
bool BareKeyOk(const std::string& key) {
  return !key.empty() && !IsSpace(key.front()) && !IsSpace(key.back()) &&
         key.find_first_of(":{}[],") == std::string::npos &&
         key.find(kQuote) == std::string::npos;
}

// Whether `v` survives formatting: no string or key contains the quote
// token and, when keys are bare, every key can be written bare.
bool Representable(const json& v, bool bare_keys) {
  if (v.is_string()) {
    return v.get_ref<const json::string_t&>().find(kQuote) == std::string::npos;
  }
  if (v.is_array()) {
    for (const json& e : v) {
      if (!Representable(e, bare_keys)) return false;
    }
  }
  if (v.is_object()) {
    for (auto it = v.begin(); it != v.end(); ++it) {
      if (it.key().find(kQuote) != std::string::npos) return false;
      if (bare_keys && !BareKeyOk(it.key())) return false;
      if (!Representable(it.value(), bare_keys)) return false;
    }
  }
  return true;
}

void CheckToolSyntax(std::string_view text) {
  auto value = facet::gemma4::ParseToolValue(text);
  if (value.ok()) {
    for (const bool quote_keys : {true, false}) {
      const std::string formatted =
          facet::gemma4::FormatToolValue(*value, quote_keys);
      if (!Representable(*value, !quote_keys)) continue;
      auto again = facet::gemma4::ParseToolValue(formatted);
      if (!again.ok() || *again != *value) __builtin_trap();
    }
  }
  auto call = facet::gemma4::ParseToolCall(text);
  if (call.ok()) {
    const std::string formatted = facet::gemma4::FormatToolCall(*call);
    if (Representable(call->arguments, /*bare_keys=*/true)) {
      // The body between "<|tool_call>" and "<tool_call|>".
      constexpr size_t kOpen = sizeof("<|tool_call>") - 1;
      constexpr size_t kClose = sizeof("<tool_call|>") - 1;
      if (formatted.size() < kOpen + kClose) __builtin_trap();
      auto back =
          facet::gemma4::ParseToolCall(std::string_view(formatted).substr(
              kOpen, formatted.size() - kOpen - kClose));
      if (!back.ok() || back->name != call->name ||
          back->arguments != call->arguments) {
        __builtin_trap();
      }
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);

  const Outcome whole = Run({text});

  // Chunk lengths 0..23 taken in turn from the first (up to) four bytes.
  std::vector<std::string_view> chunks;
  const size_t n_lengths = size < 4 ? size : 4;
  for (size_t pos = 0, k = 0; pos < size; ++k) {
    size_t len = n_lengths == 0 ? 1 : data[k % n_lengths] % 24;
    if (len == 0) {
      chunks.push_back(text.substr(pos, 0));
      len = 1;
    }
    chunks.push_back(text.substr(pos, len));
    pos += len;
  }
  if (!SameEvents(whole, Run(chunks))) __builtin_trap();

  std::vector<std::string_view> bytes;
  for (size_t i = 0; i < size; ++i) bytes.push_back(text.substr(i, 1));
  if (!SameEvents(whole, Run(bytes))) __builtin_trap();

  CheckToolSyntax(text);
  return 0;
}
