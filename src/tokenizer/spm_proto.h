// The protobuf wire format of sentencepiece's ModelProto, read and written
// by hand: Debian ships libsentencepiece without its .pb.h, and facet only
// needs a few fields (to build a vocabulary from GGUF metadata, and to read
// and patch piece types of a tokenizer.model before sentencepiece sees it).
#ifndef FACET_SRC_TOKENIZER_SPM_PROTO_H_
#define FACET_SRC_TOKENIZER_SPM_PROTO_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "facet/status.h"
#include "src/tokenizer/tokenizer.h"

namespace facet {
namespace tokenizer_internal {

// Protobuf wire format for sentencepiece's ModelProto (no .pb.h on Debian).
// ModelProto: 1 pieces, 2 trainer_spec, 3 normalizer_spec.
// SentencePiece: 1 piece, 2 score (float), 3 type.
// TrainerSpec: 3 model_type (1 unigram, 2 BPE), 4 vocab_size,
//   35 byte_fallback, 40-43 unk/bos/eos/pad id, 45-48 their piece strings.
// NormalizerSpec: 1 name, 3 add_dummy_prefix, 4 remove_extra_whitespaces,
//   5 escape_whitespaces.

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

// A BPE ModelProto with these pieces (ids = positions) and settings.
std::string SerializeModelProto(const std::vector<SpmPiece>& pieces,
                                const SpmSpec& spec);

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

// Reads the pieces and normalizer_spec.add_dummy_prefix of a ModelProto.
// DataLoss on malformed data, an invalid type, or a piece that is empty or
// holds a NUL byte (libsentencepiece cannot take those).
Status ParseModelProto(std::string_view data, ParsedModelProto* out);

}  // namespace tokenizer_internal
}  // namespace facet

#endif  // FACET_SRC_TOKENIZER_SPM_PROTO_H_
