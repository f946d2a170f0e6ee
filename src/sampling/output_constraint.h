// What a model's turn may say when tools or a JSON schema constrain it:
// the tool_choice modes and structured output, on top of the grammar and
// token masks.
//
//   auto      free text; once <|tool_call> is sampled, the call follows the
//             tools' grammar up to <tool_call|>, then free again.
//   none      free text; <|tool_call> is never sampled.
//   required  the turn starts with a call (after a thought channel, when
//   / named   thinking is on); after a call only another call (of the same
//             tool when named) or <|tool_response> may follow.
//   JSON      the turn is one JSON document matching the schema, then the
//             end of the turn (after a thought channel when thinking is
//             on; a tool call instead when tools are declared in auto).
// Free text never spells a chat marker with ordinary tokens (only the
// special tokens open or close calls and channels), so the response
// parser and the constraint always agree on where a call starts.
#ifndef FACET_SRC_SAMPLING_OUTPUT_CONSTRAINT_H_
#define FACET_SRC_SAMPLING_OUTPUT_CONSTRAINT_H_

#include <cstdint>
#include <memory>
#include <string>

#include "facet/status.h"
#include "src/sampling/grammar_constraint.h"
#include "src/sampling/token_mask.h"

namespace facet {

enum class ToolChoiceMode { kAuto, kNone, kRequired, kNamed };

struct OutputConstraintSpec {
  const Grammar* tools = nullptr;  // null: no tool calls are constrained
  ToolChoiceMode mode = ToolChoiceMode::kAuto;
  int named_tool = -1;            // kNamed: index in tools->tool_names()
  const Grammar* json = nullptr;  // structured output, or null
  bool thinking = false;          // a thought channel may come first
};

class OutputConstraint {
 public:
  OutputConstraint(const TokenVocab& vocab, const OutputConstraintSpec& spec);

  // Sets logits [vocab] of the tokens that may not come next to -inf.
  // kInternal when none may (a vocabulary without byte tokens could
  // leave a grammar state with no token to spell it).
  Status Apply(float* logits, int64_t vocab);
  // Feeds the sampled token. False when free text may not take it (it
  // would spell a marker): the caller masks it and samples again.
  bool Accept(int token);
  // The JSON document is complete: only the end of the turn remains.
  bool Complete() const;

  // Seconds spent in Apply and Accept (the cost per token).
  double seconds() const { return seconds_; }

 private:
  enum class State { kFree, kStart, kThought, kCall, kAfterCall, kJson, kEnd };
  bool CallsAllowed() const;
  bool FreeAccept(int token);

  const TokenVocab& vocab_;
  OutputConstraintSpec spec_;
  std::unique_ptr<TokenMasker> tool_masker_;
  std::unique_ptr<TokenMasker> json_masker_;
  State state_ = State::kFree;
  State after_thought_ = State::kFree;
  GrammarState grammar_;
  uint8_t marker_ = 0;  // MarkerScanner state of the free text
  TokenBits bits_;
  double seconds_ = 0;
};

}  // namespace facet

#endif  // FACET_SRC_SAMPLING_OUTPUT_CONSTRAINT_H_
