// The token side of constrained decoding: which of the vocabulary's tokens
// a grammar state accepts next, as a bitset.
//
// TokenVocab is built once per engine: every token's text as the answer
// stream decodes it (special tokens with a grammar role become symbols),
// a byte trie over those texts in pre-order (each node knows where its
// subtree ends), and, per syntax, the tokens that stay inside a string
// from its ground state ("interior" tokens, bucketed by code points) and
// the few that leave it or end mid-character ("boundary" tokens).
//
// TokenMasker computes masks for one grammar: inside a string (the state
// most tokens are written in, where nearly the whole vocabulary is
// allowed) it ORs the precomputed interior buckets and checks only the
// boundary tokens; elsewhere it walks the trie with the grammar state,
// skipping a whole subtree when its prefix is refused, and caches the
// result per state.
#ifndef FACET_SRC_SAMPLING_TOKEN_MASK_H_
#define FACET_SRC_SAMPLING_TOKEN_MASK_H_

#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "src/sampling/grammar_constraint.h"
#include "src/tokenizer/tokenizer.h"

namespace facet {

// A set of token ids.
using TokenBits = std::vector<uint64_t>;
inline bool TestBit(const TokenBits& b, int id) {
  return b[static_cast<size_t>(id) >> 6] >> (id & 63) & 1;
}
inline void SetBit(TokenBits* b, int id) {
  (*b)[static_cast<size_t>(id) >> 6] |= uint64_t{1} << (id & 63);
}

class TokenVocab {
 public:
  // `vocab_size` is the model's (logit rows); ids past the tokenizer's
  // are never allowed in constrained text.
  static std::unique_ptr<TokenVocab> Build(const Tokenizer& tokenizer,
                                           int vocab_size);

  // What a token is to the constraint.
  enum Kind : int8_t {
    kBytes,    // ordinary text: text(id)
    kSymbol,   // a grammar symbol: symbol(id)
    kControl,  // another special token (or no text): never in a grammar
  };
  int size() const { return static_cast<int>(kind_.size()); }
  Kind kind(int id) const { return static_cast<Kind>(kind_[id]); }
  int symbol(int id) const { return symbol_[id]; }
  const std::string& text(int id) const { return text_[id]; }

  // Special tokens the output constraint switches on (-1 when absent).
  int tool_call_open = -1;   // <|tool_call>
  int tool_response = -1;    // <|tool_response>
  int channel_open = -1;     // <|channel>
  int channel_close = -1;    // <channel|>
  int turn_open = -1;        // <|turn>
  std::vector<int> end_ids;  // <turn|>, <eos>

  // Bytes of memory held (for docs/performance.md).
  size_t MemoryBytes() const;
  int trie_nodes() const { return static_cast<int>(byte_.size()); }

 private:
  friend class TokenMasker;
  TokenVocab() = default;
  void BuildTrie();
  void BuildRunClasses(int kind);

  std::vector<int8_t> kind_;
  std::vector<int16_t> symbol_;
  std::vector<std::string> text_;
  std::vector<int> symbol_tokens_;
  // Byte trie in pre-order: node i spells byte_[i] at depth_[i] (1 = the
  // first byte), its subtree is [i, end_[i]), token_[i] ends there (-1:
  // none) and more tokens of the same text follow in same_text_.
  std::vector<uint8_t> byte_;
  std::vector<uint16_t> depth_;
  std::vector<uint32_t> end_;
  std::vector<int32_t> token_;
  std::unordered_map<int, std::vector<int>> same_text_;
  int max_depth_ = 0;
  // Per run kind (Grammar::RunKind): interior tokens by length (bucket k <
  // kBuckets - 1: exactly k; the last bucket: kBuckets - 1 or more, with the
  // exact counts in long_interior_), and boundary tokens.
  static constexpr int kBuckets = 17;
  struct StringClasses {
    std::vector<TokenBits> interior;  // [kBuckets]
    std::vector<std::pair<int, uint32_t>> long_interior;
    std::vector<int> boundary;
  };
  StringClasses runs_[Grammar::kNumRunKinds];
};

class TokenMasker {
 public:
  TokenMasker(const TokenVocab& vocab, const Grammar& grammar);

  // The tokens `state` accepts next. The reference stays valid until the
  // next call.
  const TokenBits& Allowed(const GrammarState& state);
  // Steps `state` over `id`; false (state unusable) when it is refused.
  bool Step(GrammarState* state, int id) const;

  const Grammar& grammar() const { return grammar_; }
  // Masks computed by walking the trie, and those found in the cache.
  int64_t walks() const { return walks_; }
  int64_t cache_hits() const { return cache_hits_; }

 private:
  void Walk(const GrammarState& state, TokenBits* out);

  const TokenVocab& vocab_;
  const Grammar& grammar_;
  TokenBits bits_;
  std::vector<GrammarState> stack_;  // per trie depth
  std::unordered_map<std::string, TokenBits> cache_;
  int64_t walks_ = 0;
  int64_t cache_hits_ = 0;
};

}  // namespace facet

#endif  // FACET_SRC_SAMPLING_TOKEN_MASK_H_
