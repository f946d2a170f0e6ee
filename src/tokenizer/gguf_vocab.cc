// Tokenizer::FromGguf: the vocabulary in a GGUF file's tokenizer.ggml.*
// metadata (merge-based "gemma4" or score-based "llama").
#include <cstdint>
#include <string>
#include <vector>

#include "src/io/gguf.h"
#include "src/tokenizer/tokenizer.h"
#include "src/tokenizer/tokenizer_internal.h"
#include "src/util/status_macros.h"

namespace facet {
namespace {

using tokenizer_internal::ParseBytePiece;

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

}  // namespace

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

}  // namespace facet
