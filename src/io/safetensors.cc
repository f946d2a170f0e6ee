#include "src/io/safetensors.h"

#include <algorithm>
#include <cstdint>
#include <limits>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>

#include "src/util/json_brief.h"
#include "src/util/status_macros.h"

namespace facet {
namespace {

using json = nlohmann::json;

struct DTypeMapping {
  const char* name;
  kernels::DType dtype;
  uint64_t size;
};

constexpr DTypeMapping kDTypes[] = {
    {"BF16", kernels::DType::kBF16, 2}, {"F16", kernels::DType::kF16, 2},
    {"F32", kernels::DType::kF32, 4},   {"I32", kernels::DType::kI32, 4},
    {"I64", kernels::DType::kI64, 8},
};

const DTypeMapping* LookupDType(const std::string& name) {
  for (const DTypeMapping& m : kDTypes) {
    if (name == m.name) return &m;
  }
  return nullptr;
}

// Reads a non-negative JSON integer that fits in int64 (dims and offsets).
bool GetUnsigned(const json& j, uint64_t* out) {
  if (!j.is_number_unsigned()) {
    // Non-negative integers parse as unsigned; a plain "integer" here is
    // negative, and floats are not integers.
    return false;
  }
  uint64_t v = j.get<uint64_t>();
  if (v > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
    return false;
  }
  *out = v;
  return true;
}

Status ParseEntry(const std::string& prefix, const std::string& name,
                  const json& entry, const uint8_t* data_begin,
                  uint64_t data_size, TensorView* out) {
  const std::string where = prefix + "tensor '" + name + "': ";
  if (!entry.is_object()) {
    return DataLoss(where + "entry is not an object but " + BriefJson(entry));
  }

  auto dtype_it = entry.find("dtype");
  if (dtype_it == entry.end()) return DataLoss(where + "missing \"dtype\"");
  if (!dtype_it->is_string()) {
    return DataLoss(where +
                    "\"dtype\" is not a string: " + BriefJson(*dtype_it));
  }
  const std::string& dtype_name = dtype_it->get_ref<const std::string&>();
  const DTypeMapping* dtype = LookupDType(dtype_name);
  if (dtype == nullptr) {
    return Unimplemented(
        where + "unsupported dtype " + dtype_name +
        " (supported: BF16, F16, F32, and I32 / I64 index tensors)");
  }

  auto shape_it = entry.find("shape");
  if (shape_it == entry.end()) return DataLoss(where + "missing \"shape\"");
  if (!shape_it->is_array()) {
    return DataLoss(where +
                    "\"shape\" is not an array: " + BriefJson(*shape_it));
  }
  std::vector<int64_t> shape;
  shape.reserve(shape_it->size());
  uint64_t elements = 1;
  for (const json& d : *shape_it) {
    uint64_t dim = 0;
    if (!GetUnsigned(d, &dim)) {
      return DataLoss(where +
                      "\"shape\" has a negative, non-integer or too "
                      "large dimension: " +
                      BriefJson(*shape_it));
    }
    if (__builtin_mul_overflow(elements, dim, &elements) ||
        elements > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
      return DataLoss(where + "element count of shape " + BriefJson(*shape_it) +
                      " overflows");
    }
    shape.push_back(static_cast<int64_t>(dim));
  }
  std::reverse(shape.begin(), shape.end());  // PyTorch order -> ggml order.
  uint64_t nbytes = 0;
  if (__builtin_mul_overflow(elements, dtype->size, &nbytes)) {
    return DataLoss(where + "byte size of shape " + BriefJson(*shape_it) +
                    " overflows");
  }

  auto off_it = entry.find("data_offsets");
  if (off_it == entry.end()) {
    return DataLoss(where + "missing \"data_offsets\"");
  }
  uint64_t begin = 0, end = 0;
  if (!off_it->is_array() || off_it->size() != 2 ||
      !GetUnsigned((*off_it)[0], &begin) || !GetUnsigned((*off_it)[1], &end)) {
    return DataLoss(where +
                    "\"data_offsets\" must be two non-negative integers, got " +
                    BriefJson(*off_it));
  }
  if (begin > end) {
    return DataLoss(where + "data_offsets begin " + std::to_string(begin) +
                    " > end " + std::to_string(end));
  }
  if (end > data_size) {
    return DataLoss(where + "data_offsets end " + std::to_string(end) +
                    " is past the data section (" + std::to_string(data_size) +
                    " bytes); file truncated?");
  }
  if (end - begin != nbytes) {
    return DataLoss(where + "data_offsets span " + std::to_string(end - begin) +
                    " bytes but " + dtype_name + " shape " +
                    BriefJson(*shape_it) + " needs " + std::to_string(nbytes));
  }

  out->name = name;
  out->dtype = dtype->dtype;
  out->shape = std::move(shape);
  out->data = data_begin + begin;
  out->nbytes = nbytes;
  return OkStatus();
}

}  // namespace

StatusOr<std::unique_ptr<SafetensorsFile>> SafetensorsFile::Open(
    const std::string& path) {
  FACET_ASSIGN_OR_RETURN(std::unique_ptr<MappedFile> file,
                         MappedFile::Open(path));
  const std::string prefix = "safetensors '" + path + "': ";
  const uint64_t file_size = file->size();
  if (file_size < 8) {
    return DataLoss(prefix + "file is " + std::to_string(file_size) +
                    " bytes, shorter than 8 bytes (no header length)");
  }
  const uint8_t* base = file->data();
  uint64_t header_len = 0;
  for (int i = 7; i >= 0; --i) header_len = (header_len << 8) | base[i];
  if (header_len > file_size - 8) {
    return DataLoss(prefix + "header length " + std::to_string(header_len) +
                    " exceeds the " + std::to_string(file_size - 8) +
                    " bytes after the length field; file truncated?");
  }
  if (header_len > kMaxHeaderBytes) {
    return DataLoss(prefix + "header length " + std::to_string(header_len) +
                    " exceeds the " + std::to_string(kMaxHeaderBytes) +
                    "-byte limit");
  }

  const char* header = reinterpret_cast<const char*>(base + 8);
  json root = json::parse(header, header + header_len, nullptr,
                          /*allow_exceptions=*/false);
  if (root.is_discarded()) {
    return DataLoss(prefix + "header is not valid JSON");
  }
  if (!root.is_object()) {
    return DataLoss(prefix + "header is not a JSON object");
  }

  std::unique_ptr<SafetensorsFile> st(new SafetensorsFile());
  const uint8_t* data_begin = base + 8 + header_len;
  const uint64_t data_size = file_size - 8 - header_len;
  std::vector<std::pair<uint64_t, TensorView>> found;
  found.reserve(root.size());
  for (auto it = root.begin(); it != root.end(); ++it) {
    const std::string& key = it.key();
    const json& value = it.value();
    if (key == "__metadata__") {
      if (!value.is_object()) {
        return DataLoss(prefix + "\"__metadata__\" is not an object");
      }
      for (auto m = value.begin(); m != value.end(); ++m) {
        if (!m.value().is_string()) {
          return DataLoss(prefix + "\"__metadata__\" value for '" + m.key() +
                          "' is not a string");
        }
        st->metadata_[m.key()] = m.value().get<std::string>();
      }
      continue;
    }
    TensorView view;
    FACET_RETURN_IF_ERROR(
        ParseEntry(prefix, key, value, data_begin, data_size, &view));
    uint64_t offset = static_cast<uint64_t>(view.data - data_begin);
    found.emplace_back(offset, std::move(view));
  }

  // File order: by data offset, then name (zero-size tensors may share one).
  std::sort(found.begin(), found.end(), [](const auto& a, const auto& b) {
    if (a.first != b.first) return a.first < b.first;
    return a.second.name < b.second.name;
  });
  st->tensors_.reserve(found.size());
  for (auto& f : found) {
    st->index_.emplace(f.second.name, st->tensors_.size());
    st->tensors_.push_back(std::move(f.second));
  }
  st->file_ = std::move(file);
  return st;
}

const TensorView* SafetensorsFile::Find(const std::string& name) const {
  auto it = index_.find(name);
  return it == index_.end() ? nullptr : &tensors_[it->second];
}

}  // namespace facet
