#include "models/gemma4/model.h"

#include <sys/stat.h>

#include "src/util/status_macros.h"

namespace facet::gemma4 {

StatusOr<std::unique_ptr<Model>> Model::Load(const std::string& path) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) {
    return NotFound("model path '" + path + "' does not exist");
  }
  std::unique_ptr<Model> m(new Model());
  m->path_ = path;
  TensorLookup lookup;
  if (S_ISDIR(st.st_mode)) {
    m->format_ = SourceFormat::kHfFolder;
    FACET_ASSIGN_OR_RETURN(m->hf_, HfFolder::Open(path));
    StatusOr<Gemma4Config> c = ConfigFromHfJson(m->hf_->config_json());
    if (!c.ok()) {
      return Status(c.status().code(),
                    path + "/config.json: " + c.status().message());
    }
    m->config_ = std::move(c).value();
    // Multimodal checkpoints nest the text model; text-only saves do not.
    m->hf_prefix_ =
        m->hf_->Find("model.language_model.embed_tokens.weight") != nullptr
            ? "model.language_model."
            : "model.";
    const HfFolder* hf = m->hf_.get();
    const std::string prefix = m->hf_prefix_;
    lookup = [hf, prefix](const std::string& name) -> const TensorView* {
      std::string n = HfNameFor(name);
      return n.empty() ? nullptr : hf->Find(prefix + n);
    };
  } else {
    m->format_ = SourceFormat::kGguf;
    FACET_ASSIGN_OR_RETURN(m->gguf_, GgufFile::Open(path));
    StatusOr<Gemma4Config> c = ConfigFromGguf(*m->gguf_);
    if (!c.ok()) {
      return Status(c.status().code(), path + ": " + c.status().message());
    }
    m->config_ = std::move(c).value();
    const GgufFile* g = m->gguf_.get();
    lookup = [g](const std::string& name) { return g->FindTensor(name); };
  }
  StatusOr<Weights> w = BindWeights(m->config_, lookup);
  if (!w.ok()) {
    return Status(w.status().code(), path + ": " + w.status().message());
  }
  m->weights_ = std::move(w).value();
  return m;
}

std::vector<const TensorView*> Model::AllTensors() const {
  if (hf_) return hf_->tensors();
  std::vector<const TensorView*> out;
  for (const TensorView& t : gguf_->tensors()) out.push_back(&t);
  return out;
}

}  // namespace facet::gemma4
