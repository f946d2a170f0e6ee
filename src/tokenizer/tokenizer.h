// Text <-> token ids for Gemma models.
//
// Three sources of a vocabulary:
//   * GGUF metadata (tokenizer.ggml.*). For tokenizer.ggml.model "gemma4" the
//     file has merges and the tokenizer reproduces llama.cpp exactly: spaces
//     become U+2581 ("▁"), the text is split into runs of '\n' and runs of
//     everything else, a run of newlines that is itself a token is emitted
//     whole, and every other run is merged by merge rank (lowest rank first,
//     leftmost first on ties) over UTF-8 characters; characters without a
//     token fall back to <0xXX> byte tokens (a byte of invalid UTF-8 is a
//     character of its own). For tokenizer.ggml.model "llama"
//     (SentencePiece BPE with scores, e.g. Gemma 1-3 GGUFs) the vocabulary is
//     turned into an in-memory sentencepiece ModelProto and run by
//     libsentencepiece.
//   * A sentencepiece tokenizer.model, run by libsentencepiece.
//   * A Hugging Face tokenizer.json with a BPE model (Gemma 3's layout:
//     normalizer Replace(" " -> "▁"), byte_fallback, added tokens), merged by
//     merge rank like the GGUF path but without the newline split.
//
// Special and user-defined tokens, the same rule for every source:
//   * User-defined pieces (GGUF/sentencepiece type 4; tokenizer.json
//     added_tokens with "special": false) such as <table>, <b>, <mask>,
//     [multimodal], <unusedN>, runs of "\n", "\t" or "▁" are matched in any
//     text, as Hugging Face tokenizers, sentencepiece and llama.cpp all do:
//     leftmost-longest on the raw text (before spaces become "▁"), each
//     match becoming that single token, the text in between encoded
//     normally. A literal "▁▁" is thus the user-defined token while "  "
//     goes through the merges.
//   * Control and unknown pieces (types 3, 2; "special": true added tokens)
//     such as <bos>, <eos>, <start_of_turn> are matched the same way only
//     with parse_special; otherwise their text is ordinary characters (safe
//     for untrusted user text).
//   * Markup pieces, <|name> or <name|> (Gemma 4's turn, channel, tool and
//     media markers), are never matched without parse_special whatever type
//     the file gives them: only the chat format emits them. (The reference
//     encoders would match a user-defined one; facet deliberately does not.)
// The merge-rank paths implement this with a trie; the sentencepiece paths
// leave user-defined pieces to libsentencepiece, which matches them itself,
// and turn user-defined markup pieces into control pieces in the proto.
// libsentencepiece matches after its whitespace escaping, so there (as with
// sentencepiece and Gemma's own tokenizer.model) "▁▁ " is one "▁▁▁" piece,
// where the merge-rank paths (as Hugging Face and llama.cpp) give "▁▁" and
// then merge " " with what follows.
//
// Errors come back as Status; nothing throws or aborts on bad input.
#ifndef FACET_SRC_TOKENIZER_TOKENIZER_H_
#define FACET_SRC_TOKENIZER_TOKENIZER_H_

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "facet/status.h"

namespace sentencepiece {
class SentencePieceProcessor;
}  // namespace sentencepiece

namespace facet {

class GgufFile;

// Token types, numbered as in sentencepiece and GGUF tokenizer.ggml.token_type.
enum class TokenType : uint8_t {
  kNormal = 1,
  kUnknown = 2,
  kControl = 3,
  kUserDefined = 4,
  kUnused = 5,
  kByte = 6,
};

class Tokenizer {
 public:
  // How ordinary text (between special tokens) is split into pieces.
  enum class Algorithm {
    // facet's own BPE: merges applied by rank (as llama.cpp and HF tokenizers
    // do). Needs merges.
    kMergeRank,
    // libsentencepiece BPE: pieces merged by score.
    kSentencePiece,
  };

  ~Tokenizer();
  Tokenizer(const Tokenizer&) = delete;
  Tokenizer& operator=(const Tokenizer&) = delete;

  // From GGUF metadata: kMergeRank when the file has merges, else
  // kSentencePiece with the file's scores.
  static StatusOr<std::unique_ptr<Tokenizer>> FromGguf(const GgufFile& gguf);
  // Same, forcing an algorithm. kSentencePiece on a file with merges derives
  // each merged piece's score from the rank of the first merge that makes it
  // (earlier merge = higher score); it exists to measure how far
  // sentencepiece's score-driven BPE is from merge-rank BPE (see the tests).
  static StatusOr<std::unique_ptr<Tokenizer>> FromGguf(const GgufFile& gguf,
                                                       Algorithm algorithm);
  // From a sentencepiece model file (tokenizer.model).
  static StatusOr<std::unique_ptr<Tokenizer>> FromSentencePieceFile(
      const std::string& path);
  // From a serialized sentencepiece ModelProto held in memory.
  static StatusOr<std::unique_ptr<Tokenizer>> FromSentencePieceProto(
      std::string_view serialized);
  // From a Hugging Face tokenizer.json (BPE model).
  static StatusOr<std::unique_ptr<Tokenizer>> FromHfTokenizerJson(
      const std::string& path);
  // Picks the source for a model path: a .gguf file (FromGguf), a .model file
  // (FromSentencePieceFile), a .json file (FromHfTokenizerJson), or a folder
  // holding tokenizer.model (preferred) or tokenizer.json.
  static StatusOr<std::unique_ptr<Tokenizer>> ForModelPath(
      const std::string& path);

  // Token ids of `text`. add_bos prepends bos_id() exactly once (even if the
  // text itself starts with "<bos>" and parse_special is set: that gives two,
  // as llama.cpp does). Errors: kFailedPrecondition when add_bos is set and
  // the vocabulary has no BOS token; kOutOfRange for text over 2 GiB.
  StatusOr<std::vector<int>> Encode(std::string_view text, bool add_bos,
                                    bool parse_special) const;

  // Text of `ids`: byte tokens become raw bytes, "▁" becomes ' '. Control
  // and unknown tokens (e.g. <bos>, <eos>, <|turn>) produce no text unless
  // `special` is set, then their piece text. User-defined tokens always
  // render. Ids outside [0, vocab_size()) are skipped. Invalid UTF-8 from
  // byte tokens is passed through as is.
  std::string Decode(const std::vector<int>& ids, bool special = false) const;

  // Id of a piece (exact vocabulary string, e.g. "▁the", "<|turn>"), or -1.
  int TokenId(std::string_view piece) const;
  // Vocabulary string of `id` ("" when out of range).
  std::string Piece(int id) const;
  // Type of `id` (kUnused when out of range).
  TokenType Type(int id) const;
  int vocab_size() const { return static_cast<int>(pieces_.size()); }
  // Bytes of the longest piece: no token covers more bytes of text, so a
  // text of b bytes needs at least b / max_piece_bytes() tokens.
  int max_piece_bytes() const { return max_piece_bytes_; }
  int bos_id() const { return bos_id_; }
  int eos_id() const { return eos_id_; }
  int unk_id() const { return unk_id_; }
  int pad_id() const { return pad_id_; }
  // True for control tokens (<bos>, <eos>, <|turn>, ...).
  bool IsControl(int id) const { return Type(id) == TokenType::kControl; }
  // True for tokens matched by parse_special (control, unknown,
  // user-defined). User-defined ones that are not markup are matched
  // without parse_special too.
  bool IsSpecial(int id) const;
  // Whether the source asks for a BOS at the start of a prompt
  // (tokenizer.ggml.add_bos_token, the HF post-processor).
  bool add_bos_default() const { return add_bos_default_; }
  Algorithm algorithm() const { return algorithm_; }

  // This vocabulary as a serialized sentencepiece BPE ModelProto (what
  // FromSentencePieceProto reads). With merges, each merged piece's score is
  // minus the rank of the first merge that makes it.
  StatusOr<std::string> ExportSentencePieceProto() const;
  // For writing the vocabulary into a GGUF file: the sentencepiece score of
  // `id` (0 when the source has none) and the merges, lowest rank first,
  // as "left right" piece pairs (empty for score-based vocabularies).
  float Score(int id) const;
  std::vector<std::string> MergeList() const;

 private:
  friend class StreamDecoder;
  struct Builder;
  struct MergeInfo {
    int rank;
    int result;
  };

  Tokenizer();
  // Builds piece_to_id_ from pieces_.
  void IndexPieces();
  // Fills derived tables (piece map unless built, byte ids, special
  // matcher). Checks ids.
  Status Finish();
  // Appends the ids of a text segment (no special tokens in it).
  Status EncodeSegment(std::string_view text, std::vector<int>* out) const;
  void EncodeWordMergeRank(std::string_view word, std::vector<int>* out) const;
  // Ids for a symbol that is not a token: byte tokens, else unk.
  void AppendFallback(std::string_view bytes, std::vector<int>* out) const;
  // Appends the text of one token.
  void AppendTokenText(int id, bool special, std::string* out) const;
  // Longest special token starting at `text[pos]`: its id and length. With
  // plain_only, only the pieces matched without parse_special (user-defined,
  // not markup).
  bool MatchSpecial(std::string_view text, size_t pos, bool plain_only, int* id,
                    size_t* len) const;
  int LookupChar(std::string_view ch) const;

  Algorithm algorithm_ = Algorithm::kMergeRank;
  std::vector<std::string> pieces_;
  std::vector<TokenType> types_;
  std::vector<float> scores_;  // sentencepiece scores (may be empty)
  // Views into pieces_, which never changes once indexed.
  std::unordered_map<std::string_view, int> piece_to_id_;
  std::unordered_map<uint64_t, MergeInfo> merges_;  // (left id, right id)
  int byte_ids_[256];
  std::vector<int16_t> byte_value_;  // per id: byte of a <0xXX> token, or -1
  int ascii_ids_[128];
  int bos_id_ = -1;
  int eos_id_ = -1;
  int unk_id_ = -1;
  int pad_id_ = -1;
  int max_piece_bytes_ = 1;
  bool add_bos_default_ = false;
  // Text handling.
  bool escape_spaces_ = true;         // ' ' -> "▁" before merging
  bool split_newlines_ = false;       // llama.cpp gemma4: [^\n]+|[\n]+
  bool byte_fallback_ = true;         // unknown characters -> <0xXX>
  bool fuse_unk_ = false;             // consecutive unk ids become one
  bool strip_leading_space_ = false;  // decode drops a dummy-prefix space
  // Special-token matcher: a byte trie over the special pieces.
  struct TrieNode {
    int token = -1;        // a special piece ends here
    int plain_token = -1;  // ... and it is matched in plain text too
  };
  std::vector<TrieNode> trie_;
  std::unordered_map<uint64_t, int> trie_edges_;  // (node << 8 | byte) -> node
  bool special_first_byte_[256];
  bool plain_first_byte_[256];
  bool has_plain_pieces_ = false;
  std::unique_ptr<sentencepiece::SentencePieceProcessor> spm_;
};

// Incremental decoding for streaming output. Push returns the text that is
// complete so far; an incomplete UTF-8 sequence at the end (e.g. the first
// byte tokens of an emoji) is held back until the rest arrives. The
// concatenation of every Push and the final Flush equals
// Tokenizer::Decode(all ids).
class StreamDecoder {
 public:
  explicit StreamDecoder(const Tokenizer& tokenizer, bool special = false)
      : tokenizer_(tokenizer), special_(special) {}
  std::string Push(int id);
  // Returns whatever is held back (possibly an invalid UTF-8 tail).
  std::string Flush();

 private:
  const Tokenizer& tokenizer_;
  bool special_;
  bool at_start_ = true;
  std::string pending_;
};

}  // namespace facet

#endif  // FACET_SRC_TOKENIZER_TOKENIZER_H_
