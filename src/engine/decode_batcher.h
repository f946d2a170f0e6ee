// Batched decode across sessions: concurrent sessions of one engine that
// are generating put their decode steps here, and the steps that meet are
// run as one forward pass (LanguageModel::ForwardMany), so the weights,
// which bound a decode step on a CPU, are read once for all of them. Each
// session keeps its own KV cache and sampler and gets the logits it would
// get alone.
//
// No scheduler thread: the first session to arrive while no pass runs
// leads the next one. It waits until every session in its token loop has
// put a step in (they sample between steps, so they arrive within a
// moment of each other), or for a short grace time after which it goes
// with what it has (a session may be busy in a slow callback). Steps that
// arrive while a pass runs form the next one.
#ifndef FACET_SRC_ENGINE_DECODE_BATCHER_H_
#define FACET_SRC_ENGINE_DECODE_BATCHER_H_

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <vector>

#include "facet/status.h"
#include "src/engine/language_model.h"

namespace facet {

class DecodeBatcher {
 public:
  DecodeBatcher(const LanguageModel* model, kernels::ThreadPool* pool)
      : model_(model), pool_(pool) {}

  // A session enters / leaves its token loop: the leader of a pass waits
  // for the steps of the sessions inside.
  void Join();
  void Leave();

  // Forwards `request` together with the other sessions' steps that meet
  // it; returns when its pass is done. *sessions (if set) gets how many
  // steps the pass ran, this one included.
  Status Forward(const ForwardRequest& request, int* sessions = nullptr);

  // Passes run and steps forwarded so far (for tests and benchmarks).
  int64_t passes() const;
  int64_t steps() const;

 private:
  struct Waiting {
    const ForwardRequest* request;
    Status status;
    int sessions = 1;
    bool done = false;
  };
  using Clock = std::chrono::steady_clock;

  const LanguageModel* model_;
  kernels::ThreadPool* pool_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::vector<Waiting*> queue_;
  bool running_ = false;
  int joined_ = 0;
  double last_pass_s_ = 0;  // the grace time follows the pass time
  int64_t passes_ = 0, steps_ = 0;
};

}  // namespace facet

#endif  // FACET_SRC_ENGINE_DECODE_BATCHER_H_
