#include "src/engine/prefix_cache.h"

#include <algorithm>
#include <utility>

namespace facet {

std::shared_ptr<const PrefixCache::Entry> PrefixCache::Lookup(
    const std::vector<int>& ids, size_t max_len, const std::string& kv_type) {
  std::lock_guard<std::mutex> lock(mu_);
  auto best = lru_.end();
  for (auto it = lru_.begin(); it != lru_.end(); ++it) {
    const std::vector<int>& t = (*it)->tokens;
    if (t.size() > max_len || t.size() > ids.size()) continue;
    if ((*it)->kv_type != kv_type) continue;
    if (best != lru_.end() && t.size() <= (*best)->tokens.size()) continue;
    if (std::equal(t.begin(), t.end(), ids.begin())) best = it;
  }
  if (best == lru_.end()) return nullptr;
  std::shared_ptr<const Entry> e = *best;
  lru_.splice(lru_.begin(), lru_, best);
  return e;
}

void PrefixCache::Insert(std::vector<int> tokens, std::string kv,
                         std::string kv_type) {
  auto e = std::make_shared<Entry>();
  e->tokens = std::move(tokens);
  e->kv = std::move(kv);
  e->kv_type = std::move(kv_type);
  const uint64_t cost = Cost(*e);
  std::lock_guard<std::mutex> lock(mu_);
  for (auto it = lru_.begin(); it != lru_.end(); ++it) {
    if ((*it)->tokens == e->tokens && (*it)->kv_type == e->kv_type) {
      bytes_ -= Cost(**it);
      lru_.erase(it);
      break;
    }
  }
  if (cost > budget_) return;
  lru_.push_front(std::move(e));
  bytes_ += cost;
  while (bytes_ > budget_ && !lru_.empty()) {
    bytes_ -= Cost(*lru_.back());
    lru_.pop_back();
  }
}

uint64_t PrefixCache::bytes() const {
  std::lock_guard<std::mutex> lock(mu_);
  return bytes_;
}

size_t PrefixCache::size() const {
  std::lock_guard<std::mutex> lock(mu_);
  return lru_.size();
}

}  // namespace facet
