// The exception boundary: libraries facet calls (sentencepiece,
// nlohmann_json, the standard library's allocations) may throw, and an
// exception that reaches an app (or std::terminate) must never come from
// bad input. Every such call goes through CatchAll, which turns whatever
// was thrown into a Status.
#ifndef FACET_SRC_UTIL_NO_THROW_H_
#define FACET_SRC_UTIL_NO_THROW_H_

#include <exception>
#include <new>
#include <string>
#include <utility>

#include "facet/status.h"

namespace facet {

// Runs `f` (returning Status or StatusOr<T>); an exception becomes
// kResourceExhausted (std::bad_alloc) or kInternal, its message prefixed
// by `what`.
template <typename F>
auto CatchAll(const char* what, F&& f) -> decltype(f()) {
  try {
    return std::forward<F>(f)();
  } catch (const std::bad_alloc&) {
    return Status(StatusCode::kResourceExhausted,
                  std::string(what) + ": out of memory");
  } catch (const std::exception& e) {
    return Status(StatusCode::kInternal, std::string(what) + ": " + e.what());
  } catch (...) {
    return Status(StatusCode::kInternal,
                  std::string(what) + ": unknown exception");
  }
}

}  // namespace facet

#endif  // FACET_SRC_UTIL_NO_THROW_H_
