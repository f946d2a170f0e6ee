#include "src/engine/decode_batcher.h"

#include <algorithm>

namespace facet {

void DecodeBatcher::Join() {
  std::lock_guard<std::mutex> lock(mu_);
  ++joined_;
}

void DecodeBatcher::Leave() {
  std::lock_guard<std::mutex> lock(mu_);
  --joined_;
  // A leader waiting for this session's step goes without it.
  cv_.notify_all();
}

int64_t DecodeBatcher::passes() const {
  std::lock_guard<std::mutex> lock(mu_);
  return passes_;
}

int64_t DecodeBatcher::steps() const {
  std::lock_guard<std::mutex> lock(mu_);
  return steps_;
}

Status DecodeBatcher::Forward(const ForwardRequest& request, int* sessions) {
  Waiting me{&request, OkStatus()};
  std::unique_lock<std::mutex> lock(mu_);
  queue_.push_back(&me);
  cv_.notify_all();  // a leader may be waiting for this step
  while (!me.done) {
    if (running_) {
      cv_.wait(lock);
      continue;
    }
    // Lead the next pass: wait for the steps of the sessions in their
    // token loops, for at most the grace time (half a pass, 1-100 ms).
    running_ = true;
    const double grace = std::clamp(0.5 * last_pass_s_, 0.001, 0.1);
    const Clock::time_point deadline =
        Clock::now() + std::chrono::duration_cast<Clock::duration>(
                           std::chrono::duration<double>(grace));
    while (static_cast<int>(queue_.size()) < joined_ &&
           cv_.wait_until(lock, deadline) != std::cv_status::timeout) {
    }
    std::vector<Waiting*> batch;
    batch.swap(queue_);
    lock.unlock();
    std::vector<ForwardRequest> requests;
    requests.reserve(batch.size());
    for (const Waiting* w : batch) requests.push_back(*w->request);
    const Clock::time_point t0 = Clock::now();
    Status status = model_->ForwardMany(
        requests.data(), static_cast<int>(requests.size()), pool_);
    std::vector<Status> each(batch.size(), status);
    if (!status.ok() && batch.size() > 1) {
      // One session's bad step must not fail the others: the model checks
      // every part before it changes any state, so run them alone.
      for (size_t i = 0; i < batch.size(); ++i) {
        each[i] = model_->ForwardMany(&requests[i], 1, pool_);
      }
    }
    const double seconds =
        std::chrono::duration<double>(Clock::now() - t0).count();
    lock.lock();
    for (size_t i = 0; i < batch.size(); ++i) {
      batch[i]->status = each[i];
      batch[i]->sessions = static_cast<int>(batch.size());
      batch[i]->done = true;
    }
    last_pass_s_ = seconds;
    ++passes_;
    steps_ += static_cast<int64_t>(batch.size());
    running_ = false;
    cv_.notify_all();
  }
  if (sessions != nullptr) *sessions = me.sessions;
  return me.status;
}

}  // namespace facet
