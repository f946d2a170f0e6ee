// The engine's shared prefix cache: the KV entries of prompt prefixes that
// sessions prefilled (a long system prompt, tool declarations), so that a
// later session starting with the same tokens imports them instead of
// prefilling again. Bounded by a byte budget, least recently used first
// out. Thread-safe: sessions on many threads share it.
#ifndef FACET_SRC_ENGINE_PREFIX_CACHE_H_
#define FACET_SRC_ENGINE_PREFIX_CACHE_H_

#include <cstdint>
#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace facet {

class PrefixCache {
 public:
  struct Entry {
    std::vector<int> tokens;  // positions [0, tokens.size())
    std::string kv;           // ModelState::ExportKv at tokens.size()
    std::string kv_type;      // ModelState::kv_type of the exporter
  };

  explicit PrefixCache(uint64_t budget_bytes) : budget_(budget_bytes) {}

  // The longest entry of KV type `kv_type` whose tokens are a prefix of
  // ids[0, max_len), or null.
  std::shared_ptr<const Entry> Lookup(const std::vector<int>& ids,
                                      size_t max_len,
                                      const std::string& kv_type = "f32");
  // Adds (or refreshes) an entry; entries past the budget are dropped,
  // oldest use first (an entry larger than the budget is not kept).
  void Insert(std::vector<int> tokens, std::string kv,
              std::string kv_type = "f32");

  uint64_t bytes() const;
  size_t size() const;

 private:
  static uint64_t Cost(const Entry& e) {
    return e.kv.size() + e.tokens.size() * sizeof(int);
  }

  const uint64_t budget_;
  mutable std::mutex mu_;
  std::list<std::shared_ptr<const Entry>> lru_;  // most recent first
  uint64_t bytes_ = 0;
};

}  // namespace facet

#endif  // FACET_SRC_ENGINE_PREFIX_CACHE_H_
