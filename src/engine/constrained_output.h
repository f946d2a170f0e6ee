// Constrained decoding in a session: the declared tools compiled when the
// session is made (so that a schema the constraint cannot enforce is an
// error at declaration time), and per Generate the OutputConstraint of its
// tool_choice / json_schema, which the token loop asks before and after
// each sample.
#ifndef FACET_SRC_ENGINE_CONSTRAINED_OUTPUT_H_
#define FACET_SRC_ENGINE_CONSTRAINED_OUTPUT_H_

#include <memory>
#include <vector>

#include "src/engine/engine_impl.h"
#include "src/sampling/output_constraint.h"
#include "src/sampling/sampler.h"

namespace facet {

// Compiles s->chat.tools into s->tool_grammar (unless the session turned
// constraints off) and checks the session's tool_choice.
Status CompileSessionTools(Session::Impl* s);

// What one Generate is constrained by; constraint is null when nothing is
// (no tools and no json_schema: the token loop is exactly the free one).
// Tools set after NewSession (a restored session's) are compiled here.
struct GenerateConstraint {
  std::unique_ptr<Grammar> json;
  std::unique_ptr<OutputConstraint> constraint;
};
StatusOr<GenerateConstraint> MakeGenerateConstraint(
    Session::Impl& s, const GenerateOptions& options);

// Samples the next token from `logits` under `constraint` (may be null):
// masks what may not come next, and samples again (with that token
// masked) when free text would spell a marker. -1 when no token can come
// (every allowed one was masked by ignore_eos): the turn ends.
StatusOr<int> SampleNext(Sampler* sampler, OutputConstraint* constraint,
                         std::vector<float>* logits, int64_t vocab,
                         const std::vector<int>& history);

}  // namespace facet

#endif  // FACET_SRC_ENGINE_CONSTRAINED_OUTPUT_H_
