// libFuzzer target: the schema compiler and the grammar of constrained
// decoding (src/sampling/). The input is a JSON schema (parsed without
// exceptions); it is compiled for structured output and as a tool's
// parameters. When it compiles, a walk driven by the input's bytes takes
// allowed symbols (any byte or grammar symbol) until the grammar is
// complete, and the text must parse back (nlohmann for JSON, the Gemma 4
// parser for a call) and validate against the schema. A walk that finds no
// allowed symbol (a dead end) or a complete text that does not validate is
// a finding, as is any exception or crash.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

#include "models/gemma4/chat.h"
#include "src/sampling/grammar_constraint.h"

namespace {

using facet::Grammar;
using facet::GrammarState;
using json = nlohmann::json;

std::string Render(const std::vector<int>& syms) {
  std::string out;
  for (int s : syms) {
    if (s == facet::kSymQuote) {
      out += "<|\"|>";
    } else if (s < 256) {
      out += static_cast<char>(s);
    }
  }
  return out;
}

// Walks `g`, choosing among the allowed symbols with the input's bytes
// (closers first once the walk is long, so that it ends).
std::vector<int> Walk(const Grammar& g, const uint8_t* data, size_t size) {
  GrammarState s = g.Start();
  std::vector<int> out;
  size_t pos = 0;
  for (int step = 0; step < 400 && !s.done(); ++step) {
    std::vector<int> ok;
    for (int sym = 0; sym <= facet::kSymEnd; ++sym) {
      GrammarState t = s;
      if (g.Step(&t, sym)) ok.push_back(sym);
    }
    if (ok.empty()) std::abort();  // a dead end
    int pick = ok[data[pos++ % size] % ok.size()];
    if (step > 200) {
      for (int sym : ok) {
        if (sym == '}' || sym == ']' || sym == '"' || sym == facet::kSymQuote ||
            sym == facet::kSymCallEnd || sym == facet::kSymEnd) {
          pick = sym;
          break;
        }
      }
    }
    if (!g.Step(&s, pick)) std::abort();
    out.push_back(pick);
  }
  if (!s.done()) out.clear();
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const json schema = json::parse(data, data + size, nullptr, false);
  if (schema.is_discarded()) return 0;
  auto doc = Grammar::ForJsonSchema(schema);
  if (doc.ok()) {
    const std::vector<int> syms = Walk(*doc, data, size);
    if (!syms.empty()) {
      const json v = json::parse(Render(syms), nullptr, false);
      if (v.is_discarded() || !doc->schema(0).Validate(v).ok()) std::abort();
    }
  }
  auto tools =
      Grammar::ForTools(json::array({{{"name", "f"}, {"parameters", schema}}}));
  if (tools.ok()) {
    const std::vector<int> syms = Walk(*tools, data, size);
    if (!syms.empty()) {
      auto call = facet::gemma4::ParseToolCall(Render(syms));
      if (!call.ok()) std::abort();
      const json args = json::parse(
          facet::gemma4::ToolArgumentsJson(call->arguments), nullptr, false);
      if (!tools->schema(0).Validate(args).ok()) std::abort();
    }
  }
  return 0;
}
