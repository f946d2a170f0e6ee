// Tokenizer::FromHfTokenizerJson: a Hugging Face tokenizer.json with a BPE
// model, read with a SAX parser that streams the big vocab and merges.
#include <algorithm>
#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

#include "src/tokenizer/tokenizer.h"
#include "src/tokenizer/tokenizer_internal.h"
#include "src/util/status_macros.h"

namespace facet {

namespace tokenizer_internal {

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

}  // namespace tokenizer_internal

namespace {

using json = nlohmann::json;
using tokenizer_internal::HfStreamed;
using tokenizer_internal::kSpaceMarker;
using tokenizer_internal::ParseBytePiece;
using tokenizer_internal::ReadFile;

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

}  // namespace facet
