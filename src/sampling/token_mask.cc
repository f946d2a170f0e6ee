#include "src/sampling/token_mask.h"

#include <algorithm>
#include <string_view>
#include <utility>

namespace facet {
namespace {

constexpr std::string_view kSpaceMarker = "\xe2\x96\x81";  // U+2581

}  // namespace

std::unique_ptr<TokenVocab> TokenVocab::Build(const Tokenizer& tok,
                                              int vocab_size) {
  std::unique_ptr<TokenVocab> v(new TokenVocab());
  const int n = std::max(vocab_size, tok.vocab_size());
  v->kind_.assign(n, kControl);
  v->symbol_.assign(n, -1);
  v->text_.resize(n);
  for (int id = 0; id < tok.vocab_size(); ++id) {
    const std::string piece = tok.Piece(id);
    int symbol = -1;
    if (piece == "<|\"|>") {
      symbol = kSymQuote;
    } else if (piece == "<tool_call|>") {
      symbol = kSymCallEnd;
    } else if (piece == "<turn|>" || id == tok.eos_id()) {
      symbol = kSymEnd;
      v->end_ids.push_back(id);
    } else if (piece == "<|tool_call>") {
      v->tool_call_open = id;
    } else if (piece == "<|tool_response>") {
      v->tool_response = id;
    } else if (piece == "<|channel>") {
      v->channel_open = id;
    } else if (piece == "<channel|>") {
      v->channel_close = id;
    } else if (piece == "<|turn>") {
      v->turn_open = id;
    }
    const TokenType type = tok.Type(id);
    if (symbol >= 0) {
      v->kind_[id] = kSymbol;
      v->symbol_[id] = static_cast<int16_t>(symbol);
      v->text_[id] = piece;
      v->symbol_tokens_.push_back(id);
      continue;
    }
    if (id == v->tool_call_open || id == v->tool_response ||
        id == v->channel_open || id == v->channel_close ||
        type == TokenType::kControl || type == TokenType::kUnknown ||
        type == TokenType::kUnused) {
      v->text_[id] = piece;  // kControl
      continue;
    }
    // The text the answer stream gets for this token anywhere but at the
    // very start (where a dummy-prefix space may be dropped).
    std::string text = tok.Decode({id}, /*special=*/true);
    if (piece.compare(0, kSpaceMarker.size(), kSpaceMarker) == 0 &&
        (text.empty() || text[0] != ' ')) {
      text.insert(text.begin(), ' ');
    }
    if (text.empty()) continue;  // kControl: it would write nothing
    v->kind_[id] = kBytes;
    v->text_[id] = std::move(text);
  }
  v->BuildTrie();
  for (int kind = 0; kind < Grammar::kNumRunKinds; ++kind) {
    v->BuildRunClasses(kind);
  }
  return v;
}

void TokenVocab::BuildTrie() {
  std::vector<std::pair<std::string_view, int>> items;
  for (int id = 0; id < size(); ++id) {
    if (kind_[id] == kBytes) items.push_back({text_[id], id});
  }
  std::sort(items.begin(), items.end());
  std::vector<uint32_t> path;  // node at each depth of the previous text
  std::string_view prev;
  for (const auto& [text, id] : items) {
    size_t lcp = 0;
    while (lcp < prev.size() && lcp < text.size() && prev[lcp] == text[lcp]) {
      ++lcp;
    }
    while (path.size() > lcp) {
      end_[path.back()] = static_cast<uint32_t>(byte_.size());
      path.pop_back();
    }
    const size_t len = std::min<size_t>(text.size(), 0xFFFF);
    for (size_t d = lcp; d < len; ++d) {
      path.push_back(static_cast<uint32_t>(byte_.size()));
      byte_.push_back(static_cast<uint8_t>(text[d]));
      depth_.push_back(static_cast<uint16_t>(d + 1));
      end_.push_back(0);
      token_.push_back(-1);
    }
    int32_t& at = token_[path.back()];
    if (at < 0) {
      at = id;
    } else {
      same_text_[at].push_back(id);
    }
    max_depth_ = std::max(max_depth_, static_cast<int>(len));
    prev = text.substr(0, len);
  }
  while (!path.empty()) {
    end_[path.back()] = static_cast<uint32_t>(byte_.size());
    path.pop_back();
  }
}

void TokenVocab::BuildRunClasses(int kind) {
  StringClasses& sc = runs_[kind];
  const size_t words = (static_cast<size_t>(size()) + 63) / 64;
  sc.interior.assign(kBuckets, TokenBits(words, 0));
  for (int id = 0; id < size(); ++id) {
    if (kind_[id] != kBytes) continue;
    uint32_t sub = 0, count = 0;
    int r = 0;
    for (unsigned char c : text_[id]) {
      r = Grammar::RunStep(kind, &sub, &count, c);
      if (r != 0) break;
    }
    if (r < 0) continue;  // never inside such a run
    if (r == 1 || sub != 0) {
      sc.boundary.push_back(id);
      continue;
    }
    const int bucket = static_cast<int>(
        std::min<uint32_t>(count, static_cast<uint32_t>(kBuckets - 1)));
    SetBit(&sc.interior[bucket], id);
    if (bucket == kBuckets - 1) sc.long_interior.push_back({id, count});
  }
}

size_t TokenVocab::MemoryBytes() const {
  size_t b = kind_.size() + symbol_.size() * 2 + byte_.size() +
             depth_.size() * 2 + end_.size() * 4 + token_.size() * 4;
  for (const std::string& t : text_)
    b += sizeof(std::string) + (t.size() > 15 ? t.capacity() : 0);
  for (const StringClasses& sc : runs_) {
    b += sc.interior.size() * sc.interior[0].size() * 8 +
         sc.long_interior.size() * 8 + sc.boundary.size() * 4;
  }
  return b;
}

TokenMasker::TokenMasker(const TokenVocab& vocab, const Grammar& grammar)
    : vocab_(vocab), grammar_(grammar) {
  stack_.resize(vocab_.max_depth_ + 1);
}

bool TokenMasker::Step(GrammarState* state, int id) const {
  if (id < 0 || id >= vocab_.size()) return false;
  switch (vocab_.kind(id)) {
    case TokenVocab::kBytes:
      return grammar_.StepBytes(state, vocab_.text(id));
    case TokenVocab::kSymbol:
      return grammar_.Step(state, vocab_.symbol(id));
    default:
      return false;
  }
}

const TokenBits& TokenMasker::Allowed(const GrammarState& state) {
  const size_t words = (static_cast<size_t>(vocab_.size()) + 63) / 64;
  int kind = 0;
  uint32_t count = 0, max_len = 0;
  if (grammar_.AtRunGround(state, &kind, &count, &max_len)) {
    // Inside a run: the interior tokens that fit, then the few others.
    const TokenVocab::StringClasses& sc = vocab_.runs_[kind];
    const uint32_t room = max_len == kUnbounded ? kUnbounded : max_len - count;
    bits_.assign(words, 0);
    const int last = TokenVocab::kBuckets - 1;
    const int top =
        static_cast<int>(std::min<uint32_t>(room, static_cast<uint32_t>(last)));
    for (int k = 1; k <= top; ++k) {
      if (k == last && room != kUnbounded) break;  // exact counts below
      const uint64_t* src = sc.interior[k].data();
      uint64_t* dst = bits_.data();
      for (size_t w = 0; w < words; ++w) dst[w] |= src[w];
    }
    if (room != kUnbounded && room >= static_cast<uint32_t>(last)) {
      for (const auto& [id, n] : sc.long_interior) {
        if (n <= room) SetBit(&bits_, id);
      }
    }
    for (int id : sc.boundary) {
      GrammarState s = state;
      if (grammar_.StepBytes(&s, vocab_.text(id))) SetBit(&bits_, id);
    }
    for (int id : vocab_.symbol_tokens_) {
      GrammarState s = state;
      if (grammar_.Step(&s, vocab_.symbol(id))) SetBit(&bits_, id);
    }
    return bits_;
  }
  std::string key = state.Key();
  const auto it = cache_.find(key);
  if (it != cache_.end()) {
    ++cache_hits_;
    return it->second;
  }
  // Structural states repeat (each comma, each key); a bounded cache.
  if (cache_.size() >= 256) cache_.clear();
  TokenBits& out = cache_[std::move(key)];
  out.assign(words, 0);
  Walk(state, &out);
  return out;
}

void TokenMasker::Walk(const GrammarState& state, TokenBits* out) {
  ++walks_;
  stack_[0] = state;
  const size_t n = vocab_.byte_.size();
  size_t i = 0;
  while (i < n) {
    const int d = vocab_.depth_[i];
    GrammarState& s = stack_[d];
    s = stack_[d - 1];
    if (!grammar_.Step(&s, vocab_.byte_[i])) {
      i = vocab_.end_[i];  // no token with this prefix
      continue;
    }
    const int32_t id = vocab_.token_[i];
    if (id >= 0) {
      SetBit(out, id);
      if (!vocab_.same_text_.empty()) {
        const auto same = vocab_.same_text_.find(id);
        if (same != vocab_.same_text_.end()) {
          for (int other : same->second) SetBit(out, other);
        }
      }
    }
    ++i;
  }
  for (int id : vocab_.symbol_tokens_) {
    GrammarState s = state;
    if (grammar_.Step(&s, vocab_.symbol(id))) SetBit(out, id);
  }
}

}  // namespace facet
