// The encode/decode core shared by every vocabulary source: the piece
// index, the special-token trie, merge-rank BPE, decoding and streaming.
// The loaders are in gguf_vocab.cc, sentencepiece_vocab.cc,
// hf_tokenizer_json.cc and tokenizer_files.cc.
#include "src/tokenizer/tokenizer.h"

#include <sentencepiece_processor.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <queue>
#include <string>
#include <utility>
#include <vector>

#include "src/tokenizer/tokenizer_internal.h"
#include "src/util/no_throw.h"
#include "src/util/status_macros.h"

namespace facet {
namespace tokenizer_internal {

size_t Utf8CharLen(std::string_view s, size_t off) {
  const unsigned char c = static_cast<unsigned char>(s[off]);
  const size_t n = c < 0x80             ? 1
                   : (c & 0xE0) == 0xC0 ? 2
                   : (c & 0xF0) == 0xE0 ? 3
                   : (c & 0xF8) == 0xF0 ? 4
                                        : 1;
  if (n == 1 || off + n > s.size()) return 1;
  for (size_t k = 1; k < n; ++k) {
    if ((static_cast<unsigned char>(s[off + k]) & 0xC0) != 0x80) return 1;
  }
  return n;
}

int ParseBytePiece(std::string_view piece) {
  if (piece.size() != 6 || piece.substr(0, 3) != "<0x" || piece[5] != '>') {
    return -1;
  }
  int value = 0;
  for (int i = 3; i < 5; ++i) {
    const char c = piece[i];
    int digit;
    if (c >= '0' && c <= '9') {
      digit = c - '0';
    } else if (c >= 'A' && c <= 'F') {
      digit = c - 'A' + 10;
    } else if (c >= 'a' && c <= 'f') {
      digit = c - 'a' + 10;
    } else {
      return -1;
    }
    value = value * 16 + digit;
  }
  return value;
}

std::string BytePiece(int byte) {
  static const char kHex[] = "0123456789ABCDEF";
  std::string s = "<0x00>";
  s[3] = kHex[(byte >> 4) & 15];
  s[4] = kHex[byte & 15];
  return s;
}

std::string EscapeSpaces(std::string_view text) {
  std::string out;
  out.reserve(text.size() + text.size() / 4);
  for (char c : text) {
    if (c == ' ') {
      out.append(kSpaceMarker);
    } else {
      out.push_back(c);
    }
  }
  return out;
}

bool IsMarkupPiece(std::string_view piece) {
  return piece.size() > 3 && piece.front() == '<' && piece.back() == '>' &&
         (piece[1] == '|' || piece[piece.size() - 2] == '|');
}

}  // namespace tokenizer_internal

using tokenizer_internal::BytePiece;
using tokenizer_internal::EscapeSpaces;
using tokenizer_internal::kSpaceMarker;
using tokenizer_internal::ParseBytePiece;
using tokenizer_internal::Utf8CharLen;

Tokenizer::Tokenizer() {
  std::fill(std::begin(byte_ids_), std::end(byte_ids_), -1);
  std::fill(std::begin(ascii_ids_), std::end(ascii_ids_), -1);
  std::fill(std::begin(special_first_byte_), std::end(special_first_byte_),
            false);
  std::fill(std::begin(plain_first_byte_), std::end(plain_first_byte_), false);
}

Tokenizer::~Tokenizer() = default;

void Tokenizer::IndexPieces() {
  piece_to_id_.clear();
  piece_to_id_.reserve(pieces_.size());
  // A string listed twice maps to its last id, as in llama.cpp.
  for (size_t i = 0; i < pieces_.size(); ++i) {
    piece_to_id_[pieces_[i]] = static_cast<int>(i);
  }
}

Status Tokenizer::Finish() {
  const size_t n = pieces_.size();
  if (n == 0) return InvalidArgument("tokenizer vocabulary is empty");
  if (n > (1u << 30)) return InvalidArgument("tokenizer vocabulary too large");
  if (types_.size() != n) return Internal("token types do not match pieces");
  if (piece_to_id_.empty()) IndexPieces();
  for (const std::string& p : pieces_) {
    max_piece_bytes_ = static_cast<int>(std::max<size_t>(
        max_piece_bytes_, std::min<size_t>(p.size(), 1 << 30)));
  }
  byte_value_.assign(n, -1);
  for (size_t i = 0; i < n; ++i) {
    if (types_[i] == TokenType::kByte) {
      const int b = ParseBytePiece(pieces_[i]);
      if (b < 0) {
        return DataLoss("token " + std::to_string(i) + " '" + pieces_[i] +
                        "' has type BYTE but is not of the form <0xXX>");
      }
      byte_value_[i] = static_cast<int16_t>(b);
    }
  }
  for (int b = 0; b < 256; ++b) {
    auto it = piece_to_id_.find(std::string_view(BytePiece(b)));
    byte_ids_[b] =
        (it != piece_to_id_.end() && types_[it->second] == TokenType::kByte)
            ? it->second
            : -1;
  }
  for (int c = 0; c < 128; ++c) {
    const char ch = static_cast<char>(c);
    auto it = piece_to_id_.find(std::string_view(&ch, 1));
    ascii_ids_[c] = it == piece_to_id_.end() ? -1 : it->second;
  }
  for (int id : {bos_id_, eos_id_, unk_id_, pad_id_}) {
    if (id < -1 || id >= static_cast<int>(n)) {
      return DataLoss("special token id " + std::to_string(id) +
                      " is outside the vocabulary of " + std::to_string(n));
    }
  }
  // Special-token trie.
  trie_.assign(1, TrieNode());
  trie_edges_.clear();
  std::fill(std::begin(special_first_byte_), std::end(special_first_byte_),
            false);
  std::fill(std::begin(plain_first_byte_), std::end(plain_first_byte_), false);
  has_plain_pieces_ = false;
  for (size_t i = 0; i < n; ++i) {
    if (!IsSpecial(static_cast<int>(i)) || pieces_[i].empty()) continue;
    int node = 0;
    for (unsigned char c : pieces_[i]) {
      const uint64_t key = (static_cast<uint64_t>(node) << 8) | c;
      auto it = trie_edges_.find(key);
      if (it == trie_edges_.end()) {
        trie_.push_back(TrieNode());
        it = trie_edges_.emplace(key, static_cast<int>(trie_.size() - 1)).first;
      }
      node = it->second;
    }
    // A piece listed twice is matched as its last id (as TokenId does), so
    // both fields are overwritten together.
    const bool plain = types_[i] == TokenType::kUserDefined &&
                       !tokenizer_internal::IsMarkupPiece(pieces_[i]);
    trie_[node].token = static_cast<int>(i);
    trie_[node].plain_token = plain ? static_cast<int>(i) : -1;
    const unsigned char first = static_cast<unsigned char>(pieces_[i][0]);
    special_first_byte_[first] = true;
    if (plain) {
      plain_first_byte_[first] = true;
      has_plain_pieces_ = true;
    }
  }
  return OkStatus();
}

Status Tokenizer::Builder::AddMerge(Tokenizer* t, std::string_view left,
                                    std::string_view right, int rank,
                                    bool strict, const char* where) {
  const int l = t->TokenId(left);
  const int r = t->TokenId(right);
  std::string merged;
  merged.assign(left.data(), left.size());
  merged.append(right.data(), right.size());
  const int m = t->TokenId(merged);
  if (l < 0 || r < 0 || m < 0) {
    if (!strict) return OkStatus();  // such a merge can never apply
    return DataLoss(std::string(where) + " merge " + std::to_string(rank) +
                    " ('" + std::string(left) + "' '" + std::string(right) +
                    "') uses a piece that is not in the vocabulary");
  }
  const uint64_t key = (static_cast<uint64_t>(static_cast<uint32_t>(l)) << 32) |
                       static_cast<uint32_t>(r);
  t->merges_.emplace(key, MergeInfo{rank, m});  // the first (lowest) rank wins
  return OkStatus();
}

// --- encoding --------------------------------------------------------------

bool Tokenizer::IsSpecial(int id) const {
  const TokenType t = Type(id);
  return t == TokenType::kControl || t == TokenType::kUnknown ||
         t == TokenType::kUserDefined;
}

TokenType Tokenizer::Type(int id) const {
  if (id < 0 || id >= vocab_size()) return TokenType::kUnused;
  return types_[id];
}

int Tokenizer::TokenId(std::string_view piece) const {
  auto it = piece_to_id_.find(piece);
  return it == piece_to_id_.end() ? -1 : it->second;
}

std::string Tokenizer::Piece(int id) const {
  if (id < 0 || id >= vocab_size()) return std::string();
  return pieces_[id];
}

bool Tokenizer::MatchSpecial(std::string_view text, size_t pos, bool plain_only,
                             int* id, size_t* len) const {
  const unsigned char first = static_cast<unsigned char>(text[pos]);
  if (!(plain_only ? plain_first_byte_ : special_first_byte_)[first]) {
    return false;
  }
  int node = 0;
  int best = -1;
  size_t best_len = 0;
  for (size_t i = pos; i < text.size(); ++i) {
    const uint64_t key = (static_cast<uint64_t>(node) << 8) |
                         static_cast<unsigned char>(text[i]);
    auto it = trie_edges_.find(key);
    if (it == trie_edges_.end()) break;
    node = it->second;
    const int token = plain_only ? trie_[node].plain_token : trie_[node].token;
    if (token >= 0) {
      best = token;
      best_len = i + 1 - pos;
    }
  }
  if (best < 0) return false;
  *id = best;
  *len = best_len;
  return true;
}

StatusOr<std::vector<int>> Tokenizer::Encode(std::string_view text,
                                             bool add_bos,
                                             bool parse_special) const {
  if (text.size() > static_cast<size_t>(INT32_MAX)) {
    return OutOfRange("text of " + std::to_string(text.size()) +
                      " bytes is too long to tokenize");
  }
  std::vector<int> out;
  out.reserve(text.size() / 3 + 2);
  if (add_bos) {
    if (bos_id_ < 0) {
      return FailedPrecondition(
          "add_bos requested but the vocabulary has no "
          "BOS token");
    }
    out.push_back(bos_id_);
  }
  size_t start = 0;
  // Without parse_special, user-defined pieces (not markup) are still
  // matched, as every reference encoder does. libsentencepiece does that
  // itself (its proto has the markup pieces as control), so only merge-rank
  // BPE needs the trie for it.
  const bool plain_only = !parse_special;
  if (parse_special ||
      (has_plain_pieces_ && algorithm_ == Algorithm::kMergeRank)) {
    for (size_t pos = 0; pos < text.size();) {
      int id;
      size_t len;
      if (MatchSpecial(text, pos, plain_only, &id, &len)) {
        if (pos > start) {
          FACET_RETURN_IF_ERROR(
              EncodeSegment(text.substr(start, pos - start), &out));
        }
        out.push_back(id);
        pos += len;
        start = pos;
      } else {
        ++pos;
      }
    }
  }
  if (start < text.size()) {
    FACET_RETURN_IF_ERROR(EncodeSegment(text.substr(start), &out));
  }
  return out;
}

Status Tokenizer::EncodeSegment(std::string_view text,
                                std::vector<int>* out) const {
  // The pieces to merge: the whole segment, or (llama.cpp gemma4) runs of
  // newlines and runs of other bytes; a newline run that is a token is
  // emitted as it is.
  auto encode_word = [&](std::string_view word) -> Status {
    if (algorithm_ == Algorithm::kSentencePiece) {
      std::vector<int> ids;
      FACET_RETURN_IF_ERROR(CatchAll("sentencepiece encode", [&]() -> Status {
        const auto st =
            spm_->Encode(absl::string_view(word.data(), word.size()), &ids);
        if (!st.ok()) {
          return Internal(std::string("sentencepiece encode failed: ") +
                          st.ToString());
        }
        return OkStatus();
      }));
      out->insert(out->end(), ids.begin(), ids.end());
      return OkStatus();
    }
    if (escape_spaces_ && word.find(' ') != std::string_view::npos) {
      EncodeWordMergeRank(EscapeSpaces(word), out);
    } else {
      EncodeWordMergeRank(word, out);
    }
    return OkStatus();
  };
  if (!split_newlines_) return encode_word(text);
  size_t i = 0;
  while (i < text.size()) {
    const bool newline = text[i] == '\n';
    size_t j = i;
    while (j < text.size() && (text[j] == '\n') == newline) ++j;
    const std::string_view run = text.substr(i, j - i);
    int id = -1;
    if (newline && (id = TokenId(run)) >= 0) {
      out->push_back(id);
    } else {
      FACET_RETURN_IF_ERROR(encode_word(run));
    }
    i = j;
  }
  return OkStatus();
}

int Tokenizer::LookupChar(std::string_view ch) const {
  if (ch.size() == 1 && static_cast<unsigned char>(ch[0]) < 128) {
    return ascii_ids_[static_cast<unsigned char>(ch[0])];
  }
  return TokenId(ch);
}

void Tokenizer::AppendFallback(std::string_view bytes,
                               std::vector<int>* out) const {
  if (byte_fallback_) {
    bool all = true;
    for (unsigned char c : bytes) all = all && byte_ids_[c] >= 0;
    if (all) {
      for (unsigned char c : bytes) out->push_back(byte_ids_[c]);
      return;
    }
  }
  if (unk_id_ < 0) return;  // nothing to emit (llama.cpp drops it too)
  if (fuse_unk_ && !out->empty() && out->back() == unk_id_) return;
  out->push_back(unk_id_);
}

void Tokenizer::EncodeWordMergeRank(std::string_view word,
                                    std::vector<int>* out) const {
  struct Symbol {
    uint32_t start;
    uint32_t len;  // 0 once merged into the left neighbour
    int id;        // -1: not a token
    int prev;
    int next;
  };
  std::vector<Symbol> syms;
  syms.reserve(word.size());
  for (size_t off = 0; off < word.size();) {
    const size_t len = Utf8CharLen(word, off);
    const int index = static_cast<int>(syms.size());
    syms.push_back({static_cast<uint32_t>(off), static_cast<uint32_t>(len),
                    LookupChar(word.substr(off, len)), index - 1,
                    off + len == word.size() ? -1 : index + 1});
    off += len;
  }
  struct Candidate {
    int rank;
    int left;
    int right;
    int left_id;
    int right_id;
    int result;
  };
  struct Later {
    bool operator()(const Candidate& a, const Candidate& b) const {
      return a.rank > b.rank || (a.rank == b.rank && a.left > b.left);
    }
  };
  std::priority_queue<Candidate, std::vector<Candidate>, Later> queue;
  auto try_add = [&](int left, int right) {
    if (left < 0 || right < 0) return;
    const int l = syms[left].id, r = syms[right].id;
    if (l < 0 || r < 0) return;
    auto it =
        merges_.find((static_cast<uint64_t>(static_cast<uint32_t>(l)) << 32) |
                     static_cast<uint32_t>(r));
    if (it == merges_.end()) return;
    queue.push({it->second.rank, left, right, l, r, it->second.result});
  };
  for (int i = 1; i < static_cast<int>(syms.size()); ++i) try_add(i - 1, i);
  while (!queue.empty()) {
    const Candidate c = queue.top();
    queue.pop();
    Symbol& left = syms[c.left];
    Symbol& right = syms[c.right];
    if (left.len == 0 || right.len == 0 || left.next != c.right ||
        left.id != c.left_id || right.id != c.right_id) {
      continue;  // stale
    }
    left.len += right.len;
    left.id = c.result;
    right.len = 0;
    left.next = right.next;
    if (right.next >= 0) syms[right.next].prev = c.left;
    try_add(left.prev, c.left);
    try_add(c.left, left.next);
  }
  for (int i = syms.empty() ? -1 : 0; i >= 0; i = syms[i].next) {
    const Symbol& s = syms[i];
    if (s.id >= 0) {
      out->push_back(s.id);
    } else {
      AppendFallback(word.substr(s.start, s.len), out);
    }
  }
}

// --- decoding --------------------------------------------------------------

void Tokenizer::AppendTokenText(int id, bool special, std::string* out) const {
  if (id < 0 || id >= vocab_size()) return;
  const TokenType type = types_[id];
  if (type == TokenType::kControl || type == TokenType::kUnknown) {
    if (special) out->append(pieces_[id]);
    return;
  }
  if (type == TokenType::kByte && byte_value_[id] >= 0) {
    out->push_back(static_cast<char>(byte_value_[id]));
    return;
  }
  const std::string& p = pieces_[id];
  size_t pos = 0;
  while (true) {
    const size_t hit = p.find(kSpaceMarker, pos);
    if (hit == std::string::npos) {
      out->append(p, pos, std::string::npos);
      break;
    }
    out->append(p, pos, hit - pos);
    out->push_back(' ');
    pos = hit + kSpaceMarker.size();
  }
}

std::string Tokenizer::Decode(const std::vector<int>& ids, bool special) const {
  std::string out;
  for (int id : ids) {
    const size_t before = out.size();
    AppendTokenText(id, special, &out);
    // sentencepiece's dummy prefix: the first text token's leading space.
    if (strip_leading_space_ && before == 0 && !out.empty() && out[0] == ' ' &&
        !IsSpecial(id)) {
      out.erase(0, 1);
    }
  }
  return out;
}

std::string StreamDecoder::Push(int id) {
  const size_t before = pending_.size();
  tokenizer_.AppendTokenText(id, special_, &pending_);
  if (at_start_ && pending_.size() > before) {
    if (tokenizer_.strip_leading_space_ && before == 0 && pending_[0] == ' ' &&
        !tokenizer_.IsSpecial(id)) {
      pending_.erase(0, 1);
    }
    at_start_ = pending_.empty();
  }
  // Hold back a trailing UTF-8 sequence that is still incomplete.
  size_t keep = pending_.size();
  for (size_t back = 1; back <= 3 && back <= pending_.size(); ++back) {
    const unsigned char c =
        static_cast<unsigned char>(pending_[pending_.size() - back]);
    if ((c & 0xC0) == 0x80) continue;  // continuation byte: look further back
    size_t need = 0;
    if ((c & 0xE0) == 0xC0) {
      need = 2;
    } else if ((c & 0xF0) == 0xE0) {
      need = 3;
    } else if ((c & 0xF8) == 0xF0) {
      need = 4;
    }
    if (need > back) keep = pending_.size() - back;
    break;
  }
  std::string ready = pending_.substr(0, keep);
  pending_.erase(0, keep);
  return ready;
}

std::string StreamDecoder::Flush() {
  std::string rest;
  rest.swap(pending_);
  return rest;
}

float Tokenizer::Score(int id) const {
  if (id < 0 || id >= static_cast<int>(scores_.size())) return 0.f;
  return scores_[id];
}

std::vector<std::string> Tokenizer::MergeList() const {
  std::vector<std::pair<int, uint64_t>> ranked;
  ranked.reserve(merges_.size());
  for (const auto& [key, info] : merges_) ranked.push_back({info.rank, key});
  std::sort(ranked.begin(), ranked.end());
  std::vector<std::string> out;
  out.reserve(ranked.size());
  for (const auto& [rank, key] : ranked) {
    out.push_back(Piece(static_cast<int>(key >> 32)) + " " +
                  Piece(static_cast<int>(key & 0xffffffffu)));
  }
  return out;
}

}  // namespace facet
