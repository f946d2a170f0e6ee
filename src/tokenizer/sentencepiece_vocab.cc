// sentencepiece vocabularies: tokenizer.model files and protos held in
// memory (run by libsentencepiece), and the export of any vocabulary as a
// ModelProto (used for score-based GGUF vocabularies and by `convert`).
#include <sentencepiece_processor.h>

#include <algorithm>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "src/tokenizer/spm_proto.h"
#include "src/tokenizer/tokenizer.h"
#include "src/tokenizer/tokenizer_internal.h"
#include "src/util/no_throw.h"
#include "src/util/status_macros.h"

namespace facet {

using tokenizer_internal::IsMarkupPiece;
using tokenizer_internal::ParsedModelProto;
using tokenizer_internal::ParseModelProto;
using tokenizer_internal::ReadFile;
using tokenizer_internal::SerializeModelProto;
using tokenizer_internal::SpmPiece;
using tokenizer_internal::SpmSpec;

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

}  // namespace facet
