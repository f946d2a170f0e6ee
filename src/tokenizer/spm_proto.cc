#include "src/tokenizer/spm_proto.h"

#include <cstring>
#include <utility>

#include "src/util/status_macros.h"

namespace facet {
namespace tokenizer_internal {
namespace {

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

}  // namespace

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

}  // namespace tokenizer_internal
}  // namespace facet
