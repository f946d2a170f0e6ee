// Internal helpers for propagating Status. Not part of the public API.
#ifndef FACET_SRC_UTIL_STATUS_MACROS_H_
#define FACET_SRC_UTIL_STATUS_MACROS_H_

#include <string>

#include "facet/status.h"

#define FACET_RETURN_IF_ERROR(expr)                \
  do {                                             \
    ::facet::Status facet_status_ = (expr);        \
    if (!facet_status_.ok()) return facet_status_; \
  } while (0)

#define FACET_CONCAT_INNER_(a, b) a##b
#define FACET_CONCAT_(a, b) FACET_CONCAT_INNER_(a, b)
#define FACET_ASSIGN_OR_RETURN(lhs, expr) \
  FACET_ASSIGN_OR_RETURN_IMPL_(FACET_CONCAT_(facet_or_, __LINE__), lhs, expr)
#define FACET_ASSIGN_OR_RETURN_IMPL_(tmp, lhs, expr) \
  auto tmp = (expr);                                 \
  if (!tmp.ok()) return tmp.status();                \
  lhs = std::move(tmp).value()

namespace facet {
inline Status InvalidArgument(std::string m) {
  return Status(StatusCode::kInvalidArgument, std::move(m));
}
inline Status NotFound(std::string m) {
  return Status(StatusCode::kNotFound, std::move(m));
}
inline Status DataLoss(std::string m) {
  return Status(StatusCode::kDataLoss, std::move(m));
}
inline Status Unimplemented(std::string m) {
  return Status(StatusCode::kUnimplemented, std::move(m));
}
inline Status OutOfRange(std::string m) {
  return Status(StatusCode::kOutOfRange, std::move(m));
}
inline Status Internal(std::string m) {
  return Status(StatusCode::kInternal, std::move(m));
}
inline Status FailedPrecondition(std::string m) {
  return Status(StatusCode::kFailedPrecondition, std::move(m));
}
}  // namespace facet

#endif  // FACET_SRC_UTIL_STATUS_MACROS_H_
