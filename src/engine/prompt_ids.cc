#include "src/engine/prompt_ids.h"

#include <algorithm>

#include "src/util/status_macros.h"

namespace facet {

Status AppendPromptIds(const gemma4::Prompt& prompt, const Tokenizer& tok,
                       std::vector<int>* ids, std::vector<SoftSpan>* spans) {
  // Text is encoded in runs between special tokens. A marker the
  // vocabulary lacks (small test vocabularies) joins the run as text, as a
  // reference tokenizer would read the rendered string.
  std::string run;
  auto flush = [&]() -> Status {
    if (run.empty()) return OkStatus();
    FACET_ASSIGN_OR_RETURN(std::vector<int> t,
                           tok.Encode(run, false, /*parse_special=*/false));
    ids->insert(ids->end(), t.begin(), t.end());
    run.clear();
    return OkStatus();
  };
  for (const gemma4::Segment& s : prompt.segments()) {
    switch (s.kind) {
      case gemma4::Segment::kText:
        run += s.text;
        break;
      case gemma4::Segment::kMarker: {
        const int id = tok.TokenId(s.text);
        if (id < 0) {
          run += s.text;
          break;
        }
        FACET_RETURN_IF_ERROR(flush());
        ids->push_back(id);
        break;
      }
      case gemma4::Segment::kSoftTokens: {
        if (spans == nullptr) {
          return Unimplemented("soft tokens ('" + s.text +
                               "') need a multimodal encoder");
        }
        FACET_RETURN_IF_ERROR(flush());
        SoftSpan span;
        span.start = ids->size();
        span.count = s.count;
        span.media = s.media;
        span.image = s.text != "<|audio|>";
        spans->push_back(span);
        const int id = std::max(0, tok.TokenId(s.text));
        ids->insert(ids->end(), static_cast<size_t>(s.count), id);
        break;
      }
    }
  }
  return flush();
}

}  // namespace facet
