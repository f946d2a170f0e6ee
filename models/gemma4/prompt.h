// A rendered prompt as segments, so that nothing is searched again after
// rendering: text (tokenized as ordinary text: user, tool and file content
// can never become control tokens), markers (exactly one special token
// each, emitted only by the chat format), and soft-token spans that a
// multimodal encoder fills.
#ifndef FACET_MODELS_GEMMA4_PROMPT_H_
#define FACET_MODELS_GEMMA4_PROMPT_H_

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace facet::gemma4 {

struct Segment {
  enum Kind { kText, kMarker, kSoftTokens };
  Kind kind = kText;
  // kText: the text. kMarker: the special token's piece ("<|turn>").
  // kSoftTokens: the placeholder piece of each soft token ("<|image|>").
  std::string text;
  int count = 0;   // kSoftTokens: how many soft tokens
  int media = -1;  // kSoftTokens: index of the media part, in prompt order
};

class Prompt {
 public:
  // Appends text; adjacent text merges into one segment.
  Prompt& operator+=(std::string_view text);
  Prompt& operator+=(char c) { return *this += std::string_view(&c, 1); }
  // Appends one special token by its piece.
  void Mark(std::string_view piece);
  // Appends `count` soft tokens whose placeholder piece is `piece`.
  void SoftTokens(std::string_view piece, int count, int media);

  const std::vector<Segment>& segments() const { return segments_; }
  // The prompt as one string (markers and placeholders as their pieces):
  // what a Jinja renderer would produce.
  std::string Flat() const;
  // Removes the first `bytes` bytes of Flat(); a marker or soft-token span
  // is never split (false if `bytes` falls inside one).
  bool DropPrefix(size_t bytes);
  void Append(const Prompt& other);

 private:
  std::vector<Segment> segments_;
};

}  // namespace facet::gemma4

#endif  // FACET_MODELS_GEMMA4_PROMPT_H_
