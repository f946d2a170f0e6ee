// The answer side of a generation: sampled token ids in, the app's stream
// events and the Response out. Token pieces are decoded (UTF-8 held back
// across tokens), split by the Gemma 4 response parser into text, thoughts
// and tool calls, and cut at the first stop string (nothing of which is
// ever streamed).
#ifndef FACET_SRC_ENGINE_ANSWER_STREAM_H_
#define FACET_SRC_ENGINE_ANSWER_STREAM_H_

#include <string>
#include <vector>

#include "facet/facet.h"
#include "models/gemma4/chat.h"
#include "src/tokenizer/tokenizer.h"

namespace facet {

class AnswerStream {
 public:
  AnswerStream(const Tokenizer& tokenizer,
               const std::vector<std::string>& stop_strings,
               const StreamCallback& on_event);

  // Feeds one sampled token.
  void Push(int id);
  // The parser saw the end of the turn (<turn|>, <eos>, <|tool_response>,
  // <|turn>): the single source of truth for where a turn ends.
  bool ended() const { return parser_.done(); }
  bool stop_found() const { return stop_found_; }
  // The callback returned false.
  bool cancelled() const { return cancelled_; }
  // Flushes what is held back into the stream; returns the parser's verdict
  // on the tool calls (kInvalidArgument for a malformed one). The text,
  // thoughts and tool calls are in response() afterwards.
  Status Finish();
  Response& response() { return response_; }

 private:
  void Deliver(const std::vector<gemma4::ResponseEvent>& events);
  void Emit(const StreamEvent& event);

  StreamDecoder decoder_;
  gemma4::ResponseParser parser_;
  const std::vector<std::string>& stops_;
  const StreamCallback& on_event_;
  Response response_;
  std::string visible_;  // answer text so far (for stop strings)
  size_t streamed_ = 0;  // bytes of visible_ already given out
  bool stop_found_ = false;
  bool cancelled_ = false;
};

}  // namespace facet

#endif  // FACET_SRC_ENGINE_ANSWER_STREAM_H_
