// Status and StatusOr: every error a caller or a file can cause comes back
// through these types; nothing crosses the API as an exception or an abort.
#ifndef FACET_STATUS_H_
#define FACET_STATUS_H_

#include <new>
#include <string>
#include <utility>

namespace facet {

enum class StatusCode {
  kOk = 0,
  kCancelled = 1,
  kInvalidArgument = 3,     // bad option or argument from the caller
  kNotFound = 5,            // missing file, tensor, key
  kOutOfRange = 11,         // prompt longer than the context, index past end
  kUnimplemented = 12,      // unsupported tensor type or architecture
  kInternal = 13,           // a bug in facet
  kResourceExhausted = 8,   // allocation failed
  kFailedPrecondition = 9,  // call in the wrong state
  kDataLoss = 15,           // truncated or corrupt file
};

// Returns a stable name such as "INVALID_ARGUMENT".
const char* StatusCodeName(StatusCode code);

class Status {
 public:
  Status() = default;
  Status(StatusCode code, std::string message)
      : code_(code), message_(std::move(message)) {}

  bool ok() const { return code_ == StatusCode::kOk; }
  StatusCode code() const { return code_; }
  const std::string& message() const { return message_; }
  // "INVALID_ARGUMENT: message" or "OK".
  std::string ToString() const;

 private:
  StatusCode code_ = StatusCode::kOk;
  std::string message_;
};

inline Status OkStatus() { return Status(); }

// Holds either a value or a non-OK Status.
template <typename T>
class StatusOr {
 public:
  StatusOr(const Status& status) : status_(status) {  // NOLINT: implicit
    if (status_.ok())
      status_ = Status(StatusCode::kInternal, "OK without value");
  }
  StatusOr(T value) : has_value_(true) {  // NOLINT: implicit
    new (&storage_) T(std::move(value));
  }
  StatusOr(StatusOr&& other) noexcept
      : status_(std::move(other.status_)), has_value_(other.has_value_) {
    if (has_value_) new (&storage_) T(std::move(other.ref()));
  }
  StatusOr& operator=(StatusOr&& other) noexcept {
    if (this != &other) {
      Reset();
      status_ = std::move(other.status_);
      has_value_ = other.has_value_;
      if (has_value_) new (&storage_) T(std::move(other.ref()));
    }
    return *this;
  }
  StatusOr(const StatusOr&) = delete;
  StatusOr& operator=(const StatusOr&) = delete;
  ~StatusOr() { Reset(); }

  bool ok() const { return has_value_; }
  const Status& status() const { return status_; }
  T& value() & { return ref(); }
  const T& value() const& { return ref(); }
  T&& value() && { return std::move(ref()); }
  T& operator*() & { return ref(); }
  const T& operator*() const& { return ref(); }
  T* operator->() { return &ref(); }
  const T* operator->() const { return &ref(); }

 private:
  T& ref() { return *std::launder(reinterpret_cast<T*>(&storage_)); }
  const T& ref() const {
    return *std::launder(reinterpret_cast<const T*>(&storage_));
  }
  void Reset() {
    if (has_value_) ref().~T();
    has_value_ = false;
  }

  Status status_;
  bool has_value_ = false;
  alignas(T) unsigned char storage_[sizeof(T)];
};

}  // namespace facet

#endif  // FACET_STATUS_H_
