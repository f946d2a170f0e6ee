#include "src/tokenizer/tokenizer.h"

#include <sentencepiece_processor.h>
#include <sys/stat.h>

#include <algorithm>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>
#include <queue>
#include <sstream>
#include <utility>

#include "src/io/gguf.h"
#include "src/io/mapped_file.h"
#include "src/util/no_throw.h"
#include "src/util/status_macros.h"

namespace facet {
namespace {

using json = nlohmann::json;

constexpr std::string_view kSpaceMarker = "\xE2\x96\x81";  // U+2581 "▁"

// Length of the UTF-8 character at `s[off]`. A well-formed sequence is one
// symbol (as in llama.cpp); a byte that does not start one (a stray
// continuation byte, a truncated or invalid sequence) is a symbol of its own,
// so it cannot swallow the bytes of the next character.
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

// Parses "<0xAB>" into 0xAB; -1 when `piece` is not a byte piece.
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

bool IsDirectory(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

bool IsRegularFile(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

bool EndsWith(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() &&
         s.substr(s.size() - suffix.size()) == suffix;
}

// Gemma's markup tokens, <|name> and <name|> (turns, channels, tool calls,
// media, <|"|>): only the chat format may emit them, so they are never
// matched in plain text whatever type a vocabulary file gives them.
bool IsMarkupPiece(std::string_view piece) {
  return piece.size() > 3 && piece.front() == '<' && piece.back() == '>' &&
         (piece[1] == '|' || piece[piece.size() - 2] == '|');
}

StatusOr<std::string> ReadFile(const std::string& path, const char* what) {
  StatusOr<std::string> text = ReadFileToString(path);
  if (!text.ok()) {
    return Status(text.status().code(),
                  std::string(what) + ": " + text.status().message());
  }
  return text;
}

// ---------------------------------------------------------------------------
// Protobuf wire format for sentencepiece's ModelProto (no .pb.h on Debian).
// ModelProto: 1 pieces, 2 trainer_spec, 3 normalizer_spec.
// SentencePiece: 1 piece, 2 score (float), 3 type.
// TrainerSpec: 3 model_type (1 unigram, 2 BPE), 4 vocab_size,
//   35 byte_fallback, 40-43 unk/bos/eos/pad id, 45-48 their piece strings.
// NormalizerSpec: 1 name, 3 add_dummy_prefix, 4 remove_extra_whitespaces,
//   5 escape_whitespaces.

void PutVarint(std::string* out, uint64_t v) {
  while (v >= 0x80) {
    out->push_back(static_cast<char>((v & 0x7F) | 0x80));
    v >>= 7;
  }
  out->push_back(static_cast<char>(v));
}
void PutKey(std::string* out, int field, int wire_type) {
  PutVarint(out, (static_cast<uint64_t>(field) << 3) | wire_type);
}
// int32/int64/bool/enum fields; negative values take 10 bytes, as protobuf
// encodes a sign-extended int32.
void PutInt(std::string* out, int field, int64_t v) {
  PutKey(out, field, 0);
  PutVarint(out, static_cast<uint64_t>(v));
}
void PutBytes(std::string* out, int field, std::string_view bytes) {
  PutKey(out, field, 2);
  PutVarint(out, bytes.size());
  out->append(bytes.data(), bytes.size());
}
void PutFloat(std::string* out, int field, float f) {
  PutKey(out, field, 5);
  uint32_t u;
  std::memcpy(&u, &f, sizeof(u));
  for (int i = 0; i < 4; ++i) out->push_back(static_cast<char>(u >> (8 * i)));
}

struct SpmPiece {
  std::string piece;
  float score = 0;
  TokenType type = TokenType::kNormal;
};

struct SpmSpec {
  int model_type = 2;  // BPE
  bool byte_fallback = true;
  bool add_dummy_prefix = false;
  int unk_id = -1, bos_id = -1, eos_id = -1, pad_id = -1;
};

std::string SerializeModelProto(const std::vector<SpmPiece>& pieces,
                                const SpmSpec& spec) {
  std::string out;
  std::string msg;
  for (const SpmPiece& p : pieces) {
    msg.clear();
    PutBytes(&msg, 1, p.piece);
    PutFloat(&msg, 2, p.score);
    PutInt(&msg, 3, static_cast<int>(p.type));
    PutBytes(&out, 1, msg);
  }
  auto piece_of = [&](int id) {
    return id >= 0 ? std::string_view(pieces[id].piece) : std::string_view();
  };
  msg.clear();
  PutInt(&msg, 3, spec.model_type);
  PutInt(&msg, 4, static_cast<int64_t>(pieces.size()));
  PutInt(&msg, 35, spec.byte_fallback ? 1 : 0);
  PutInt(&msg, 40, spec.unk_id);
  PutInt(&msg, 41, spec.bos_id);
  PutInt(&msg, 42, spec.eos_id);
  PutInt(&msg, 43, spec.pad_id);
  if (spec.unk_id >= 0) PutBytes(&msg, 45, piece_of(spec.unk_id));
  if (spec.bos_id >= 0) PutBytes(&msg, 46, piece_of(spec.bos_id));
  if (spec.eos_id >= 0) PutBytes(&msg, 47, piece_of(spec.eos_id));
  if (spec.pad_id >= 0) PutBytes(&msg, 48, piece_of(spec.pad_id));
  PutBytes(&out, 2, msg);
  msg.clear();
  PutBytes(&msg, 1, "identity");
  PutInt(&msg, 3, spec.add_dummy_prefix ? 1 : 0);
  PutInt(&msg, 4, 0);  // remove_extra_whitespaces
  PutInt(&msg, 5, 1);  // escape_whitespaces
  PutBytes(&out, 3, msg);
  return out;
}

// Minimal protobuf reader: enough to walk ModelProto's fields.
class WireReader {
 public:
  explicit WireReader(std::string_view data)
      : p_(reinterpret_cast<const uint8_t*>(data.data())),
        end_(p_ + data.size()) {}
  struct Field {
    int number = 0;
    int wire_type = 0;
    uint64_t varint = 0;     // wire type 0
    uint32_t fixed32 = 0;    // wire type 5
    std::string_view bytes;  // wire type 2
  };
  // 1: a field was read, 0: end of data, -1: malformed.
  int Next(Field* f) {
    if (p_ == end_) return 0;
    uint64_t key;
    if (!Varint(&key)) return -1;
    f->number = static_cast<int>(key >> 3);
    f->wire_type = static_cast<int>(key & 7);
    if (f->number <= 0) return -1;
    switch (f->wire_type) {
      case 0:
        return Varint(&f->varint) ? 1 : -1;
      case 1:
        if (end_ - p_ < 8) return -1;
        p_ += 8;
        return 1;
      case 2: {
        uint64_t len;
        if (!Varint(&len) || len > static_cast<uint64_t>(end_ - p_)) return -1;
        f->bytes = std::string_view(reinterpret_cast<const char*>(p_), len);
        p_ += len;
        return 1;
      }
      case 5:
        if (end_ - p_ < 4) return -1;
        f->fixed32 = static_cast<uint32_t>(p_[0]) |
                     (static_cast<uint32_t>(p_[1]) << 8) |
                     (static_cast<uint32_t>(p_[2]) << 16) |
                     (static_cast<uint32_t>(p_[3]) << 24);
        p_ += 4;
        return 1;
      default:
        return -1;  // groups are not used by ModelProto
    }
  }

 private:
  bool Varint(uint64_t* v) {
    *v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (p_ == end_) return false;
      const uint8_t b = *p_++;
      *v |= static_cast<uint64_t>(b & 0x7F) << shift;
      if (!(b & 0x80)) return true;
    }
    return false;
  }
  const uint8_t* p_;
  const uint8_t* end_;

 public:
  const uint8_t* pos() const { return p_; }
};

struct ParsedModelProto {
  std::vector<SpmPiece> pieces;
  // Per piece: the offset in the serialized proto of its one-byte type
  // value, or npos when the type is absent or longer.
  std::vector<size_t> type_offsets;
  bool add_dummy_prefix = true;  // proto default
};

Status ParseModelProto(std::string_view data, ParsedModelProto* out) {
  const Status corrupt =
      DataLoss("sentencepiece model is not a valid ModelProto");
  WireReader r(data);
  WireReader::Field f;
  int rc;
  while ((rc = r.Next(&f)) == 1) {
    if (f.number == 1 && f.wire_type == 2) {
      SpmPiece piece;
      size_t type_offset = std::string_view::npos;
      WireReader pr(f.bytes);
      WireReader::Field pf;
      int prc;
      while ((prc = pr.Next(&pf)) == 1) {
        if (pf.number == 1 && pf.wire_type == 2) {
          piece.piece = std::string(pf.bytes);
        } else if (pf.number == 2 && pf.wire_type == 5) {
          std::memcpy(&piece.score, &pf.fixed32, sizeof(float));
        } else if (pf.number == 3 && pf.wire_type == 0) {
          if (pf.varint < 1 || pf.varint > 6) {
            return DataLoss("sentencepiece model: piece " +
                            std::to_string(out->pieces.size()) +
                            " has invalid type " + std::to_string(pf.varint));
          }
          piece.type = static_cast<TokenType>(pf.varint);
          type_offset = static_cast<size_t>(
              reinterpret_cast<const char*>(pr.pos()) - 1 - data.data());
        }
      }
      if (prc < 0) return corrupt;
      if (piece.piece.empty() || piece.piece.find('\0') != std::string::npos) {
        // libsentencepiece's trie takes NUL-terminated keys and throws on
        // one that is empty.
        return DataLoss("sentencepiece model: piece " +
                        std::to_string(out->pieces.size()) +
                        " is empty or holds a NUL byte");
      }
      out->pieces.push_back(std::move(piece));
      out->type_offsets.push_back(type_offset);
    } else if (f.number == 3 && f.wire_type == 2) {
      WireReader nr(f.bytes);
      WireReader::Field nf;
      int nrc;
      while ((nrc = nr.Next(&nf)) == 1) {
        if (nf.number == 3 && nf.wire_type == 0) {
          out->add_dummy_prefix = nf.varint != 0;
        }
      }
      if (nrc < 0) return corrupt;
    }
  }
  if (rc < 0) return corrupt;
  return OkStatus();
}

// Reads a GGUF string array; NotFound when absent (if required).
StatusOr<const std::vector<std::string>*> GgufStrings(const GgufFile& gguf,
                                                      const std::string& key) {
  const GgufValue* v = gguf.Find(key);
  if (v == nullptr) return NotFound("GGUF has no " + key);
  if (v->type != GgufType::kArray || v->elem_type != GgufType::kString) {
    return DataLoss("GGUF " + key + " is not an array of strings (type " +
                    GgufTypeName(v->type) + ")");
  }
  return &v->strs;
}

StatusOr<const std::vector<double>*> GgufNumbers(const GgufFile& gguf,
                                                 const std::string& key,
                                                 size_t n) {
  const GgufValue* v = gguf.Find(key);
  if (v == nullptr) return NotFound("GGUF has no " + key);
  if (v->type != GgufType::kArray || v->elem_type == GgufType::kString ||
      v->elem_type == GgufType::kArray) {
    return DataLoss("GGUF " + key + " is not an array of numbers");
  }
  if (v->nums.size() != n) {
    return DataLoss("GGUF " + key + " has " + std::to_string(v->nums.size()) +
                    " entries but tokenizer.ggml.tokens has " +
                    std::to_string(n));
  }
  return &v->nums;
}

StatusOr<int> GgufTokenId(const GgufFile& gguf, const std::string& key,
                          size_t n) {
  const GgufValue* v = gguf.Find(key);
  if (v == nullptr) return -1;
  if (!v->is_integer()) {
    return DataLoss("GGUF " + key + " is not an integer");
  }
  const int64_t id = v->as_int();
  if (id < 0 || static_cast<uint64_t>(id) >= n) {
    return DataLoss("GGUF " + key + " = " + std::to_string(id) +
                    " is outside the vocabulary [0, " + std::to_string(n) +
                    ")");
  }
  return static_cast<int>(id);
}

StatusOr<bool> GgufBool(const GgufFile& gguf, const std::string& key,
                        bool default_value) {
  const GgufValue* v = gguf.Find(key);
  if (v == nullptr) return default_value;
  if (v->type != GgufType::kBool && !v->is_integer()) {
    return DataLoss("GGUF " + key + " is not a bool");
  }
  return v->as_int() != 0;
}

struct HfStreamed;

}  // namespace

// Loaders live in a nested struct so that they can fill private members.
struct Tokenizer::Builder {
  static Status AddMerge(Tokenizer* t, std::string_view left,
                         std::string_view right, int rank, bool strict,
                         const char* where);
  static Status LoadSentencePiece(Tokenizer* t, const std::string& proto);
  static StatusOr<std::string> MakeSpmProto(const Tokenizer& t,
                                            bool markup_as_control,
                                            bool add_dummy_prefix);
  static Status ParseHfJson(Tokenizer* t, const json& root,
                            HfStreamed* streamed);
};

Tokenizer::Tokenizer() {
  std::fill(std::begin(byte_ids_), std::end(byte_ids_), -1);
  std::fill(std::begin(ascii_ids_), std::end(ascii_ids_), -1);
  std::fill(std::begin(special_first_byte_), std::end(special_first_byte_),
            false);
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
    trie_[node].token = static_cast<int>(i);
    special_first_byte_[static_cast<unsigned char>(pieces_[i][0])] = true;
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

Status Tokenizer::Builder::LoadSentencePiece(Tokenizer* t,
                                             const std::string& proto) {
  auto spm = std::make_unique<sentencepiece::SentencePieceProcessor>();
  FACET_RETURN_IF_ERROR(CatchAll("sentencepiece", [&]() -> Status {
    const auto st = spm->LoadFromSerializedProto(proto);
    if (!st.ok()) {
      return InvalidArgument(
          std::string("sentencepiece rejected the vocabulary: ") +
          st.ToString());
    }
    return OkStatus();
  }));
  if (spm->GetPieceSize() != static_cast<int>(t->pieces_.size())) {
    return Internal("sentencepiece vocabulary size differs");
  }
  t->spm_ = std::move(spm);
  t->algorithm_ = Algorithm::kSentencePiece;
  return OkStatus();
}

// --- GGUF ------------------------------------------------------------------

StatusOr<std::unique_ptr<Tokenizer>> Tokenizer::FromGguf(const GgufFile& gguf) {
  const GgufValue* merges = gguf.Find("tokenizer.ggml.merges");
  return FromGguf(gguf, merges != nullptr && merges->array_size() > 0
                            ? Algorithm::kMergeRank
                            : Algorithm::kSentencePiece);
}

StatusOr<std::unique_ptr<Tokenizer>> Tokenizer::FromGguf(const GgufFile& gguf,
                                                         Algorithm algorithm) {
  std::unique_ptr<Tokenizer> t(new Tokenizer());
  std::string model = "gemma4";
  if (const GgufValue* v = gguf.Find("tokenizer.ggml.model")) {
    if (v->type != GgufType::kString) {
      return DataLoss("GGUF tokenizer.ggml.model is not a string");
    }
    model = v->str;
  } else {
    return NotFound("GGUF has no tokenizer.ggml.model");
  }
  if (model != "gemma4" && model != "llama") {
    return Unimplemented("GGUF tokenizer.ggml.model '" + model +
                         "' is not supported (facet reads 'gemma4' and the "
                         "SentencePiece 'llama' vocabularies)");
  }
  FACET_ASSIGN_OR_RETURN(const std::vector<std::string>* tokens,
                         GgufStrings(gguf, "tokenizer.ggml.tokens"));
  const size_t n = tokens->size();
  if (n == 0) return DataLoss("GGUF tokenizer.ggml.tokens is empty");
  if (n > (1u << 30)) return DataLoss("GGUF tokenizer.ggml.tokens is too long");
  t->pieces_ = *tokens;
  t->types_.assign(n, TokenType::kNormal);
  std::vector<float> scores(n, 0.0f);
  if (gguf.Find("tokenizer.ggml.scores") != nullptr) {
    FACET_ASSIGN_OR_RETURN(const std::vector<double>* s,
                           GgufNumbers(gguf, "tokenizer.ggml.scores", n));
    for (size_t i = 0; i < n; ++i) scores[i] = static_cast<float>((*s)[i]);
  }
  if (gguf.Find("tokenizer.ggml.token_type") != nullptr) {
    FACET_ASSIGN_OR_RETURN(const std::vector<double>* types,
                           GgufNumbers(gguf, "tokenizer.ggml.token_type", n));
    for (size_t i = 0; i < n; ++i) {
      const double ty = (*types)[i];
      if (ty != static_cast<int>(ty) || ty < 0 || ty > 6) {
        return DataLoss("GGUF tokenizer.ggml.token_type[" + std::to_string(i) +
                        "] = " + std::to_string(ty) + " is not a token type");
      }
      // 0 (undefined) counts as normal.
      if (ty != 0) t->types_[i] = static_cast<TokenType>(static_cast<int>(ty));
    }
  } else {
    for (size_t i = 0; i < n; ++i) {
      if (ParseBytePiece(t->pieces_[i]) >= 0) t->types_[i] = TokenType::kByte;
    }
  }
  FACET_ASSIGN_OR_RETURN(t->bos_id_,
                         GgufTokenId(gguf, "tokenizer.ggml.bos_token_id", n));
  FACET_ASSIGN_OR_RETURN(t->eos_id_,
                         GgufTokenId(gguf, "tokenizer.ggml.eos_token_id", n));
  FACET_ASSIGN_OR_RETURN(
      t->unk_id_, GgufTokenId(gguf, "tokenizer.ggml.unknown_token_id", n));
  FACET_ASSIGN_OR_RETURN(
      t->pad_id_, GgufTokenId(gguf, "tokenizer.ggml.padding_token_id", n));
  // llama.cpp forces BOS on for gemma4.
  FACET_ASSIGN_OR_RETURN(t->add_bos_default_,
                         GgufBool(gguf, "tokenizer.ggml.add_bos_token", true));
  if (model == "gemma4") t->add_bos_default_ = true;
  FACET_ASSIGN_OR_RETURN(
      const bool add_space_prefix,
      GgufBool(gguf, "tokenizer.ggml.add_space_prefix", model == "llama"));
  if (model == "gemma4" && add_space_prefix) {
    return Unimplemented(
        "GGUF gemma4 vocabulary with tokenizer.ggml.add_space_prefix = true");
  }
  t->escape_spaces_ = true;
  t->split_newlines_ = model == "gemma4";
  t->byte_fallback_ = true;
  FACET_RETURN_IF_ERROR(t->Finish());

  t->scores_ = std::move(scores);

  if (gguf.Find("tokenizer.ggml.merges") != nullptr) {
    FACET_ASSIGN_OR_RETURN(const std::vector<std::string>* merges,
                           GgufStrings(gguf, "tokenizer.ggml.merges"));
    if (merges->size() > static_cast<size_t>(INT32_MAX)) {
      return DataLoss("GGUF tokenizer.ggml.merges is too long");
    }
    t->merges_.reserve(merges->size());
    for (size_t i = 0; i < merges->size(); ++i) {
      const std::string& m = (*merges)[i];
      // Split at the first space after the first byte, as llama.cpp does.
      const size_t sp = m.find(' ', 1);
      if (sp == std::string::npos) {
        return DataLoss("GGUF tokenizer.ggml.merges[" + std::to_string(i) +
                        "] = '" + m +
                        "' is not two pieces separated by a space");
      }
      FACET_RETURN_IF_ERROR(Builder::AddMerge(
          t.get(), std::string_view(m).substr(0, sp),
          std::string_view(m).substr(sp + 1), static_cast<int>(i),
          /*strict=*/false, "GGUF"));
    }
  }
  if (algorithm == Algorithm::kMergeRank) {
    if (t->merges_.empty()) {
      return InvalidArgument(
          "merge-rank BPE needs tokenizer.ggml.merges, which this GGUF lacks");
    }
    t->algorithm_ = Algorithm::kMergeRank;
    return t;
  }
  // sentencepiece with the file's scores, or with scores derived from the
  // merge ranks. User-defined markup pieces become control pieces so that
  // only facet's parse_special matching produces them; other user-defined
  // pieces ("\n", "<table>") stay what they are, which sentencepiece needs
  // to consume text that only they cover.
  FACET_ASSIGN_OR_RETURN(
      std::string proto,
      Builder::MakeSpmProto(*t, /*markup_as_control=*/true, add_space_prefix));
  t->merges_.clear();
  FACET_RETURN_IF_ERROR(Builder::LoadSentencePiece(t.get(), proto));
  t->strip_leading_space_ = add_space_prefix;
  return t;
}

StatusOr<std::string> Tokenizer::ExportSentencePieceProto() const {
  return Builder::MakeSpmProto(*this, /*markup_as_control=*/false,
                               strip_leading_space_);
}

StatusOr<std::string> Tokenizer::Builder::MakeSpmProto(const Tokenizer& t,
                                                       bool markup_as_control,
                                                       bool add_dummy_prefix) {
  const size_t n = t.pieces_.size();
  std::vector<SpmPiece> pieces(n);
  for (size_t i = 0; i < n; ++i) {
    pieces[i].piece = t.pieces_[i];
    pieces[i].type = t.types_[i];
    pieces[i].score = i < t.scores_.size() ? t.scores_[i] : 0.0f;
  }
  if (!t.merges_.empty()) {
    // Score of a merged piece = -(rank of the first merge that makes it);
    // pieces no merge makes come after every merged piece.
    std::vector<int> best(n, INT32_MAX);
    int max_rank = 0;
    for (const auto& kv : t.merges_) {
      best[kv.second.result] = std::min(best[kv.second.result], kv.second.rank);
      max_rank = std::max(max_rank, kv.second.rank);
    }
    for (size_t i = 0; i < n; ++i) {
      pieces[i].score = best[i] != INT32_MAX ? -static_cast<float>(best[i])
                                             : -static_cast<float>(max_rank) -
                                                   1.0f - static_cast<float>(i);
    }
  }
  // sentencepiece needs unique, non-empty pieces without NUL bytes and exactly
  // one unknown piece.
  int unk = t.unk_id_;
  for (size_t i = 0; i < n; ++i) {
    SpmPiece& p = pieces[i];
    if (markup_as_control && p.type == TokenType::kUserDefined &&
        IsMarkupPiece(p.piece)) {
      p.type = TokenType::kControl;
    }
    if (p.type == TokenType::kUnknown) {
      if (unk < 0) unk = static_cast<int>(i);
      if (static_cast<int>(i) != unk) p.type = TokenType::kControl;
    }
    if (p.piece.empty() || p.piece.find('\0') != std::string::npos ||
        t.TokenId(p.piece) != static_cast<int>(i)) {
      p.piece = "<facet_shadowed_" + std::to_string(i) + ">";
      p.type = TokenType::kUnused;
    }
  }
  if (unk < 0) {
    return InvalidArgument(
        "vocabulary has no unknown token, which sentencepiece needs");
  }
  pieces[unk].type = TokenType::kUnknown;
  SpmSpec spec;
  spec.model_type = 2;
  spec.byte_fallback = false;
  for (size_t i = 0; i < n; ++i) {
    if (pieces[i].type == TokenType::kByte) spec.byte_fallback = true;
  }
  spec.add_dummy_prefix = add_dummy_prefix;
  spec.unk_id = unk;
  spec.bos_id = t.bos_id_;
  spec.eos_id = t.eos_id_;
  spec.pad_id = t.pad_id_;
  for (int* id : {&spec.bos_id, &spec.eos_id, &spec.pad_id}) {
    if (*id >= 0 && pieces[*id].type != TokenType::kControl) *id = -1;
  }
  return SerializeModelProto(pieces, spec);
}

// --- sentencepiece model files -------------------------------------------

StatusOr<std::unique_ptr<Tokenizer>> Tokenizer::FromSentencePieceFile(
    const std::string& path) {
  FACET_ASSIGN_OR_RETURN(std::string data,
                         ReadFile(path, "sentencepiece model"));
  auto t = FromSentencePieceProto(data);
  if (!t.ok()) {
    return Status(t.status().code(), t.status().message() + " (" + path + ")");
  }
  return t;
}

StatusOr<std::unique_ptr<Tokenizer>> Tokenizer::FromSentencePieceProto(
    std::string_view serialized) {
  ParsedModelProto parsed;
  FACET_RETURN_IF_ERROR(ParseModelProto(serialized, &parsed));
  if (parsed.pieces.empty()) {
    return DataLoss("sentencepiece model has no pieces");
  }
  // Markup pieces listed as user-defined (which sentencepiece would match
  // in any text) become control pieces, so user text never turns into turn
  // markers: the type byte is rewritten in place (4 -> 3, both one byte).
  std::string proto(serialized);
  for (size_t i = 0; i < parsed.pieces.size(); ++i) {
    SpmPiece& p = parsed.pieces[i];
    if (p.type != TokenType::kUserDefined || !IsMarkupPiece(p.piece)) continue;
    const size_t at = parsed.type_offsets[i];
    if (at >= proto.size() || proto[at] != 4) {
      return DataLoss("sentencepiece model: piece " + std::to_string(i) +
                      " has an unexpected type encoding");
    }
    proto[at] = 3;
    p.type = TokenType::kControl;
  }
  auto spm = std::make_unique<sentencepiece::SentencePieceProcessor>();
  FACET_RETURN_IF_ERROR(CatchAll("sentencepiece", [&]() -> Status {
    const auto st = spm->LoadFromSerializedProto(
        absl::string_view(proto.data(), proto.size()));
    if (!st.ok()) {
      return DataLoss(std::string("sentencepiece cannot load the model: ") +
                      st.ToString());
    }
    return OkStatus();
  }));
  if (spm->GetPieceSize() != static_cast<int>(parsed.pieces.size())) {
    return DataLoss("sentencepiece model: piece count mismatch");
  }
  std::unique_ptr<Tokenizer> t(new Tokenizer());
  for (SpmPiece& p : parsed.pieces) {
    t->pieces_.push_back(std::move(p.piece));
    t->types_.push_back(p.type);
    t->scores_.push_back(p.score);
  }
  t->bos_id_ = spm->bos_id();
  t->eos_id_ = spm->eos_id();
  t->unk_id_ = spm->unk_id();
  t->pad_id_ = spm->pad_id();
  t->add_bos_default_ = t->bos_id_ >= 0;
  t->strip_leading_space_ = parsed.add_dummy_prefix;
  t->spm_ = std::move(spm);
  t->algorithm_ = Algorithm::kSentencePiece;
  FACET_RETURN_IF_ERROR(t->Finish());
  return t;
}

// --- Hugging Face tokenizer.json ------------------------------------------

namespace {

// model.vocab and model.merges of a tokenizer.json, streamed out of the
// parser (a DOM of the 33 MB Gemma file takes seconds to build and free).
struct HfStreamed {
  bool has_vocab = false;
  bool has_merges = false;
  std::vector<std::pair<std::string, int64_t>> vocab;
  // "a b" (split at the first space after the first byte) or a pair.
  struct Merge {
    std::string left;
    std::string right;
  };
  std::vector<Merge> merges;
};

// SAX handler: streams model.vocab / model.merges into HfStreamed and builds
// a DOM of everything else.
class HfJsonSax : public nlohmann::json_sax<json> {
 public:
  explicit HfJsonSax(HfStreamed* streamed) : streamed_(streamed) {}

  json& root() { return root_; }
  const Status& error() const { return error_; }
  const std::string& syntax_error() const { return syntax_error_; }

  bool null() override { return Value(json()); }
  bool boolean(bool v) override { return Value(json(v)); }
  bool number_integer(number_integer_t v) override {
    if (mode_ == Mode::kVocab) return VocabId(v);
    return Value(json(v));
  }
  bool number_unsigned(number_unsigned_t v) override {
    if (mode_ == Mode::kVocab) {
      return VocabId(v > static_cast<number_unsigned_t>(INT64_MAX)
                         ? -1
                         : static_cast<int64_t>(v));
    }
    return Value(json(v));
  }
  bool number_float(number_float_t v, const string_t&) override {
    return Value(json(v));
  }
  bool string(string_t& v) override {
    if (mode_ == Mode::kMerges) {
      const size_t sp = v.find(' ', 1);
      if (sp == std::string::npos) {
        return Fail("tokenizer.json model.merges[" +
                    std::to_string(streamed_->merges.size()) + "] = '" + v +
                    "' is not two pieces separated by a space");
      }
      streamed_->merges.push_back({v.substr(0, sp), v.substr(sp + 1)});
      return true;
    }
    if (mode_ == Mode::kMergePair) {
      pair_.push_back(std::move(v));
      return true;
    }
    return Value(json(std::move(v)));
  }
  bool binary(binary_t&) override { return Fail("binary value in JSON"); }
  bool start_object(std::size_t) override {
    if (mode_ != Mode::kDom) return Value(json());  // reports the error
    if (depth_ == 2 && in_model_ && key_ == "vocab") {
      mode_ = Mode::kVocab;
      streamed_->has_vocab = true;
      ++depth_;
      return true;
    }
    const bool model = depth_ == 1 && key_ == "model";
    if (!Open(json::object())) return false;
    if (model) in_model_ = true;
    return true;
  }
  bool key(string_t& k) override {
    key_ = std::move(k);
    return true;
  }
  bool end_object() override {
    if (mode_ == Mode::kVocab) {
      mode_ = Mode::kDom;
    } else {
      if (depth_ == 2) in_model_ = false;
      stack_.pop_back();
    }
    --depth_;
    return true;
  }
  bool start_array(std::size_t) override {
    if (mode_ == Mode::kMerges) {
      mode_ = Mode::kMergePair;
      pair_.clear();
      ++depth_;
      return true;
    }
    if (mode_ != Mode::kDom) return Value(json());  // reports the error
    if (depth_ == 2 && in_model_ && key_ == "merges") {
      mode_ = Mode::kMerges;
      streamed_->has_merges = true;
      ++depth_;
      return true;
    }
    return Open(json::array());
  }
  bool end_array() override {
    if (mode_ == Mode::kMergePair) {
      if (pair_.size() != 2) return BadMerge();
      streamed_->merges.push_back({std::move(pair_[0]), std::move(pair_[1])});
      mode_ = Mode::kMerges;
    } else if (mode_ == Mode::kMerges) {
      mode_ = Mode::kDom;
    } else {
      stack_.pop_back();
    }
    --depth_;
    return true;
  }
  bool parse_error(std::size_t position, const std::string&,
                   const nlohmann::detail::exception& e) override {
    syntax_error_ = "at byte " + std::to_string(position) + ": " + e.what();
    return false;
  }

 private:
  enum class Mode { kDom, kVocab, kMerges, kMergePair };

  bool Fail(std::string message) {
    error_ = DataLoss(std::move(message));
    return false;
  }
  bool BadMerge() {
    return Fail("tokenizer.json model.merges[" +
                std::to_string(streamed_->merges.size()) +
                "] is neither \"a b\" nor [\"a\", \"b\"]");
  }
  bool VocabId(int64_t id) {
    streamed_->vocab.emplace_back(std::move(key_), id);
    return true;
  }
  // Adds a scalar (or an empty container) at the current place of the DOM.
  bool Value(json v) {
    if (mode_ == Mode::kVocab) {
      return Fail("tokenizer.json model.vocab[\"" + key_ +
                  "\"] is not a token id");
    }
    if (mode_ != Mode::kDom) return BadMerge();
    Place(std::move(v));
    return true;
  }
  json* Place(json v) {
    if (stack_.empty()) {
      root_ = std::move(v);
      return &root_;
    }
    json* parent = stack_.back();
    if (parent->is_array()) {
      parent->push_back(std::move(v));
      return &parent->back();
    }
    json& slot = (*parent)[key_];
    slot = std::move(v);
    return &slot;
  }
  bool Open(json container) {
    stack_.push_back(Place(std::move(container)));
    ++depth_;
    return true;
  }

  HfStreamed* streamed_;
  json root_;
  std::vector<json*> stack_;
  std::string key_;
  int depth_ = 0;
  bool in_model_ = false;
  Mode mode_ = Mode::kDom;
  std::vector<std::string> pair_;
  Status error_;
  std::string syntax_error_;
};

// Reads an optional bool member; error when present with another type.
Status JsonBool(const json& obj, const char* key, bool* out,
                const std::string& where) {
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return OkStatus();
  if (!it->is_boolean()) {
    return DataLoss("tokenizer.json: " + where + "." + key + " is not a bool");
  }
  *out = it->get<bool>();
  return OkStatus();
}

std::string JsonTypeOf(const json& obj) {
  auto it = obj.find("type");
  if (it == obj.end() || !it->is_string()) return "";
  return it->get<std::string>();
}

bool IsSpaceToMarkerReplace(const json& n) {
  if (JsonTypeOf(n) != "Replace") return false;
  auto pat = n.find("pattern");
  auto content = n.find("content");
  if (pat == n.end() || !pat->is_object() || content == n.end() ||
      !content->is_string()) {
    return false;
  }
  auto s = pat->find("String");
  return s != pat->end() && s->is_string() && s->get<std::string>() == " " &&
         content->get<std::string>() == kSpaceMarker;
}

}  // namespace

Status Tokenizer::Builder::ParseHfJson(Tokenizer* t, const json& root,
                                       HfStreamed* streamed) {
  if (!root.is_object()) return DataLoss("tokenizer.json is not a JSON object");
  auto model_it = root.find("model");
  if (model_it == root.end() || !model_it->is_object()) {
    return DataLoss("tokenizer.json has no \"model\" object");
  }
  const json& model = *model_it;
  const std::string type = JsonTypeOf(model);
  if (type != "BPE") {
    return Unimplemented("tokenizer.json model type '" + type +
                         "' is not supported (only BPE)");
  }
  for (const char* key : {"continuing_subword_prefix", "end_of_word_suffix"}) {
    auto it = model.find(key);
    if (it != model.end() && !it->is_null() &&
        !(it->is_string() && it->get<std::string>().empty())) {
      return Unimplemented(std::string("tokenizer.json BPE with ") + key);
    }
  }
  if (auto it = model.find("dropout");
      it != model.end() && !it->is_null() &&
      !(it->is_number() && it->get<double>() == 0.0)) {
    return Unimplemented("tokenizer.json BPE with dropout");
  }
  bool byte_fallback = false, fuse_unk = false, ignore_merges = false;
  FACET_RETURN_IF_ERROR(
      JsonBool(model, "byte_fallback", &byte_fallback, "model"));
  FACET_RETURN_IF_ERROR(JsonBool(model, "fuse_unk", &fuse_unk, "model"));
  FACET_RETURN_IF_ERROR(
      JsonBool(model, "ignore_merges", &ignore_merges, "model"));
  if (ignore_merges) {
    return Unimplemented("tokenizer.json BPE with ignore_merges");
  }

  // Vocabulary and added tokens.
  if (!streamed->has_vocab) {
    return DataLoss(model.contains("vocab")
                        ? "tokenizer.json model.vocab is not an object"
                        : "tokenizer.json has no model.vocab");
  }
  constexpr int64_t kMaxId = 1 << 26;
  std::vector<std::pair<std::string, int64_t>>& entries = streamed->vocab;
  int64_t max_id = -1;
  for (const auto& e : entries) {
    if (e.second < 0 || e.second >= kMaxId) {
      return DataLoss("tokenizer.json model.vocab[\"" + e.first +
                      "\"] is not a token id");
    }
    max_id = std::max(max_id, e.second);
  }
  struct Added {
    int64_t id;
    std::string content;
    bool special;
  };
  std::vector<Added> added;
  if (auto at = root.find("added_tokens"); at != root.end() && !at->is_null()) {
    if (!at->is_array()) {
      return DataLoss("tokenizer.json added_tokens is not an array");
    }
    for (size_t i = 0; i < at->size(); ++i) {
      const json& a = (*at)[i];
      const std::string where = "added_tokens[" + std::to_string(i) + "]";
      if (!a.is_object())
        return DataLoss("tokenizer.json " + where + " is not an object");
      auto id = a.find("id");
      auto content = a.find("content");
      if (id == a.end() || !id->is_number_integer() || id->get<int64_t>() < 0 ||
          id->get<int64_t>() >= kMaxId) {
        return DataLoss("tokenizer.json " + where + ".id is not a token id");
      }
      if (content == a.end() || !content->is_string() ||
          content->get<std::string>().empty()) {
        return DataLoss("tokenizer.json " + where +
                        ".content is not a non-empty string");
      }
      bool special = false, lstrip = false, rstrip = false, single = false;
      FACET_RETURN_IF_ERROR(JsonBool(a, "special", &special, where));
      FACET_RETURN_IF_ERROR(JsonBool(a, "lstrip", &lstrip, where));
      FACET_RETURN_IF_ERROR(JsonBool(a, "rstrip", &rstrip, where));
      FACET_RETURN_IF_ERROR(JsonBool(a, "single_word", &single, where));
      if (lstrip || rstrip || single) {
        return Unimplemented("tokenizer.json " + where + " ('" +
                             content->get<std::string>() +
                             "') uses lstrip/rstrip/single_word");
      }
      added.push_back(
          {id->get<int64_t>(), content->get<std::string>(), special});
      max_id = std::max(max_id, added.back().id);
    }
  }
  if (max_id < 0) return DataLoss("tokenizer.json model.vocab is empty");
  // Ids are contiguous from 0, so there are at least max_id + 1 entries:
  // checked before allocating, so a lone huge id cannot cost gigabytes.
  if (static_cast<size_t>(max_id) >= entries.size() + added.size()) {
    return DataLoss("tokenizer.json: id " + std::to_string(max_id) +
                    " with only " +
                    std::to_string(entries.size() + added.size()) +
                    " tokens (ids must be contiguous from 0)");
  }
  const size_t n = static_cast<size_t>(max_id) + 1;
  t->pieces_.assign(n, std::string());
  t->types_.assign(n, TokenType::kNormal);
  std::vector<bool> present(n, false);
  for (auto& e : entries) {
    if (present[e.second]) {
      return DataLoss("tokenizer.json model.vocab lists id " +
                      std::to_string(e.second) + " twice");
    }
    present[e.second] = true;
    t->pieces_[e.second] = std::move(e.first);
    if (ParseBytePiece(t->pieces_[e.second]) >= 0) {
      t->types_[e.second] = TokenType::kByte;
    }
  }
  std::vector<std::pair<std::string, int64_t>>().swap(entries);
  for (const Added& a : added) {
    // An added token replaces the vocab entry with its id (as in HF).
    present[a.id] = true;
    t->pieces_[a.id] = a.content;
    t->types_[a.id] = a.special ? TokenType::kControl : TokenType::kUserDefined;
  }
  for (size_t i = 0; i < n; ++i) {
    if (!present[i]) {
      return DataLoss("tokenizer.json: no token has id " + std::to_string(i) +
                      " (ids must be contiguous from 0)");
    }
  }
  t->byte_fallback_ = byte_fallback;
  t->fuse_unk_ = fuse_unk;
  t->IndexPieces();

  if (auto unk = model.find("unk_token");
      unk != model.end() && !unk->is_null()) {
    if (!unk->is_string())
      return DataLoss("tokenizer.json model.unk_token is not a string");
    t->unk_id_ = t->TokenId(unk->get<std::string>());
    if (t->unk_id_ < 0) {
      return DataLoss("tokenizer.json model.unk_token '" +
                      unk->get<std::string>() + "' is not in the vocabulary");
    }
    t->types_[t->unk_id_] = TokenType::kUnknown;
  }

  // Normalizer: only Replace(" " -> "▁") (alone or in a Sequence) or none.
  bool escape = false;
  if (auto norm = root.find("normalizer");
      norm != root.end() && !norm->is_null()) {
    std::vector<const json*> steps;
    if (JsonTypeOf(*norm) == "Sequence") {
      auto list = norm->find("normalizers");
      if (list == norm->end() || !list->is_array()) {
        return DataLoss(
            "tokenizer.json normalizer.normalizers is not an array");
      }
      for (const json& s : *list) steps.push_back(&s);
    } else {
      steps.push_back(&*norm);
    }
    for (const json* s : steps) {
      if (!s->is_object())
        return DataLoss("tokenizer.json normalizer is not an object");
      if (!IsSpaceToMarkerReplace(*s)) {
        return Unimplemented("tokenizer.json normalizer '" + JsonTypeOf(*s) +
                             "' is not supported (only Replace ' ' -> '▁')");
      }
      escape = true;
    }
  }
  // Pre-tokenizer: none, a Split on " " (a no-op once spaces are "▁"), or a
  // Metaspace that only replaces spaces.
  if (auto pre = root.find("pre_tokenizer");
      pre != root.end() && !pre->is_null()) {
    const std::string ptype = JsonTypeOf(*pre);
    bool ok = false;
    if (ptype == "Split" && escape) {
      auto pat = pre->find("pattern");
      if (pat != pre->end() && pat->is_object()) {
        auto s = pat->find("String");
        ok = s != pat->end() && s->is_string() && s->get<std::string>() == " ";
      }
    } else if (ptype == "Metaspace") {
      auto rep = pre->find("replacement");
      auto scheme = pre->find("prepend_scheme");
      auto split = pre->find("split");
      ok =
          rep != pre->end() && rep->is_string() &&
          rep->get<std::string>() == kSpaceMarker && scheme != pre->end() &&
          scheme->is_string() && scheme->get<std::string>() == "never" &&
          (split == pre->end() || (split->is_boolean() && !split->get<bool>()));
      escape = escape || ok;
    }
    if (!ok) {
      return Unimplemented("tokenizer.json pre_tokenizer '" + ptype +
                           "' is not supported with this normalizer");
    }
  }
  t->escape_spaces_ = escape;
  t->split_newlines_ = false;

  // Post-processor: a TemplateProcessing that starts with a special token
  // gives the BOS.
  t->add_bos_default_ = false;
  if (auto post = root.find("post_processor");
      post != root.end() && post->is_object() &&
      JsonTypeOf(*post) == "TemplateProcessing") {
    auto single = post->find("single");
    if (single != post->end() && single->is_array() && !single->empty() &&
        (*single)[0].is_object()) {
      auto st = (*single)[0].find("SpecialToken");
      if (st != (*single)[0].end() && st->is_object()) {
        auto id = st->find("id");
        if (id != st->end() && id->is_string()) {
          const int bos = t->TokenId(id->get<std::string>());
          if (bos < 0) {
            return DataLoss("tokenizer.json post_processor token '" +
                            id->get<std::string>() +
                            "' is not in the vocabulary");
          }
          t->bos_id_ = bos;
          t->add_bos_default_ = true;
        }
      }
    }
  }
  if (t->bos_id_ < 0) t->bos_id_ = t->TokenId("<bos>");
  t->eos_id_ = t->TokenId("<eos>");
  t->pad_id_ = t->TokenId("<pad>");
  FACET_RETURN_IF_ERROR(t->Finish());

  // Merges: "a b" strings or [a, b] pairs, rank = position.
  if (!streamed->has_merges) {
    return DataLoss(model.contains("merges")
                        ? "tokenizer.json model.merges is not an array"
                        : "tokenizer.json has no model.merges");
  }
  if (streamed->merges.size() > static_cast<size_t>(INT32_MAX)) {
    return DataLoss("tokenizer.json model.merges is too long");
  }
  t->merges_.reserve(streamed->merges.size());
  for (size_t i = 0; i < streamed->merges.size(); ++i) {
    const HfStreamed::Merge& m = streamed->merges[i];
    FACET_RETURN_IF_ERROR(AddMerge(t, m.left, m.right, static_cast<int>(i),
                                   /*strict=*/true, "tokenizer.json"));
  }
  t->algorithm_ = Algorithm::kMergeRank;
  return OkStatus();
}

StatusOr<std::unique_ptr<Tokenizer>> Tokenizer::FromHfTokenizerJson(
    const std::string& path) {
  FACET_ASSIGN_OR_RETURN(std::string text, ReadFile(path, "tokenizer.json"));
  HfStreamed streamed;
  HfJsonSax sax(&streamed);
  const bool parsed = json::sax_parse(text, &sax, json::input_format_t::json,
                                      /*strict=*/true);
  std::string().swap(text);
  if (!parsed) {
    if (!sax.error().ok()) {
      return Status(sax.error().code(),
                    sax.error().message() + " (" + path + ")");
    }
    return DataLoss("tokenizer.json is not valid JSON (" + sax.syntax_error() +
                    "): " + path);
  }
  std::unique_ptr<Tokenizer> t(new Tokenizer());
  Status st = Builder::ParseHfJson(t.get(), sax.root(), &streamed);
  if (!st.ok()) return Status(st.code(), st.message() + " (" + path + ")");
  return t;
}

StatusOr<std::unique_ptr<Tokenizer>> Tokenizer::ForModelPath(
    const std::string& path) {
  if (IsDirectory(path)) {
    std::string dir = path;
    while (dir.size() > 1 && dir.back() == '/') dir.pop_back();
    const std::string model = dir + "/tokenizer.model";
    if (IsRegularFile(model)) return FromSentencePieceFile(model);
    const std::string json_path = dir + "/tokenizer.json";
    if (IsRegularFile(json_path)) return FromHfTokenizerJson(json_path);
    return NotFound("no tokenizer in " + dir +
                    ": neither tokenizer.model nor tokenizer.json exists");
  }
  if (!IsRegularFile(path))
    return NotFound("tokenizer path not found: " + path);
  if (EndsWith(path, ".gguf")) {
    FACET_ASSIGN_OR_RETURN(std::unique_ptr<GgufFile> gguf,
                           GgufFile::Open(path));
    return FromGguf(*gguf);
  }
  if (EndsWith(path, ".model")) return FromSentencePieceFile(path);
  if (EndsWith(path, ".json")) return FromHfTokenizerJson(path);
  return InvalidArgument(
      "cannot tell the tokenizer format of " + path +
      " (expected a .gguf, .model or .json file, or a model folder)");
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

bool Tokenizer::MatchSpecial(std::string_view text, size_t pos, int* id,
                             size_t* len) const {
  if (!special_first_byte_[static_cast<unsigned char>(text[pos])]) return false;
  int node = 0;
  int best = -1;
  size_t best_len = 0;
  for (size_t i = pos; i < text.size(); ++i) {
    const uint64_t key = (static_cast<uint64_t>(node) << 8) |
                         static_cast<unsigned char>(text[i]);
    auto it = trie_edges_.find(key);
    if (it == trie_edges_.end()) break;
    node = it->second;
    if (trie_[node].token >= 0) {
      best = trie_[node].token;
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
  if (parse_special) {
    for (size_t pos = 0; pos < text.size();) {
      int id;
      size_t len;
      if (MatchSpecial(text, pos, &id, &len)) {
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
