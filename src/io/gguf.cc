#include "src/io/gguf.h"

#include <cmath>
#include <cstring>

#include "kernels/dtype.h"
#include "src/util/status_macros.h"

namespace facet {
namespace {

constexpr uint32_t kMagic = 0x46554747;  // "GGUF" little-endian
constexpr int kMaxDims = 4;
constexpr int kMaxArrayDepth = 4;

// Bounds-checked little-endian reader over the mapped header.
class Cursor {
 public:
  Cursor(const uint8_t* data, size_t size) : data_(data), size_(size) {}
  size_t pos() const { return pos_; }
  size_t remaining() const { return size_ - pos_; }

  template <typename T>
  Status Read(T* out, const char* what) {
    if (remaining() < sizeof(T)) {
      return DataLoss("GGUF file truncated while reading " + std::string(what) +
                      " at offset " + std::to_string(pos_));
    }
    std::memcpy(out, data_ + pos_, sizeof(T));
    pos_ += sizeof(T);
    return OkStatus();
  }

  Status ReadString(std::string* out, const char* what) {
    uint64_t len;
    FACET_RETURN_IF_ERROR(Read(&len, what));
    if (len > remaining()) {
      return DataLoss("GGUF " + std::string(what) + " length " +
                      std::to_string(len) + " at offset " +
                      std::to_string(pos_ - 8) + " runs past the end of file");
    }
    out->assign(reinterpret_cast<const char*>(data_ + pos_), len);
    pos_ += len;
    return OkStatus();
  }

 private:
  const uint8_t* data_;
  size_t size_;
  size_t pos_ = 0;
};

size_t ScalarSize(GgufType t) {
  switch (t) {
    case GgufType::kUint8:
    case GgufType::kInt8:
    case GgufType::kBool:
      return 1;
    case GgufType::kUint16:
    case GgufType::kInt16:
      return 2;
    case GgufType::kUint32:
    case GgufType::kInt32:
    case GgufType::kFloat32:
      return 4;
    case GgufType::kUint64:
    case GgufType::kInt64:
    case GgufType::kFloat64:
      return 8;
    default:
      return 0;
  }
}

Status ReadScalar(Cursor* c, GgufType t, GgufValue* v) {
  v->type = t;
  switch (t) {
    case GgufType::kUint8: {
      uint8_t x;
      FACET_RETURN_IF_ERROR(c->Read(&x, "uint8 value"));
      v->u = x;
      return OkStatus();
    }
    case GgufType::kInt8: {
      int8_t x;
      FACET_RETURN_IF_ERROR(c->Read(&x, "int8 value"));
      v->i = x;
      return OkStatus();
    }
    case GgufType::kUint16: {
      uint16_t x;
      FACET_RETURN_IF_ERROR(c->Read(&x, "uint16 value"));
      v->u = x;
      return OkStatus();
    }
    case GgufType::kInt16: {
      int16_t x;
      FACET_RETURN_IF_ERROR(c->Read(&x, "int16 value"));
      v->i = x;
      return OkStatus();
    }
    case GgufType::kUint32: {
      uint32_t x;
      FACET_RETURN_IF_ERROR(c->Read(&x, "uint32 value"));
      v->u = x;
      return OkStatus();
    }
    case GgufType::kInt32: {
      int32_t x;
      FACET_RETURN_IF_ERROR(c->Read(&x, "int32 value"));
      v->i = x;
      return OkStatus();
    }
    case GgufType::kFloat32: {
      float x;
      FACET_RETURN_IF_ERROR(c->Read(&x, "float32 value"));
      v->f = x;
      return OkStatus();
    }
    case GgufType::kBool: {
      uint8_t x;
      FACET_RETURN_IF_ERROR(c->Read(&x, "bool value"));
      if (x > 1) return DataLoss("GGUF bool value " + std::to_string(x));
      v->u = x;
      return OkStatus();
    }
    case GgufType::kUint64: {
      FACET_RETURN_IF_ERROR(c->Read(&v->u, "uint64 value"));
      return OkStatus();
    }
    case GgufType::kInt64: {
      FACET_RETURN_IF_ERROR(c->Read(&v->i, "int64 value"));
      return OkStatus();
    }
    case GgufType::kFloat64: {
      FACET_RETURN_IF_ERROR(c->Read(&v->f, "float64 value"));
      return OkStatus();
    }
    case GgufType::kString:
      return c->ReadString(&v->str, "string value");
    default:
      return DataLoss("unknown GGUF value type " +
                      std::to_string(static_cast<uint32_t>(t)));
  }
}

Status ReadValue(Cursor* c, GgufType t, GgufValue* v, int depth) {
  if (static_cast<uint32_t>(t) > static_cast<uint32_t>(GgufType::kFloat64)) {
    return DataLoss("unknown GGUF value type " +
                    std::to_string(static_cast<uint32_t>(t)));
  }
  if (t != GgufType::kArray) return ReadScalar(c, t, v);
  if (depth >= kMaxArrayDepth) return DataLoss("GGUF arrays nested too deep");
  v->type = GgufType::kArray;
  uint32_t et;
  uint64_t n;
  FACET_RETURN_IF_ERROR(c->Read(&et, "array element type"));
  FACET_RETURN_IF_ERROR(c->Read(&n, "array length"));
  v->elem_type = static_cast<GgufType>(et);
  if (et > static_cast<uint32_t>(GgufType::kFloat64)) {
    return DataLoss("unknown GGUF array element type " + std::to_string(et));
  }
  // Every element takes at least one byte (strings eight): refuse counts the
  // file cannot hold before allocating for them.
  size_t min_size = ScalarSize(v->elem_type);
  if (v->elem_type == GgufType::kString) min_size = 8;
  if (v->elem_type == GgufType::kArray) min_size = 12;
  if (n > c->remaining() / min_size) {
    return DataLoss("GGUF array of " + std::to_string(n) +
                    " elements runs past the end of file");
  }
  if (v->elem_type == GgufType::kString) {
    v->strs.resize(n);
    for (uint64_t k = 0; k < n; ++k) {
      FACET_RETURN_IF_ERROR(c->ReadString(&v->strs[k], "array string"));
    }
  } else if (v->elem_type == GgufType::kArray) {
    v->items.resize(n);
    for (uint64_t k = 0; k < n; ++k) {
      FACET_RETURN_IF_ERROR(
          ReadValue(c, GgufType::kArray, &v->items[k], depth + 1));
    }
  } else {
    v->nums.resize(n);
    GgufValue tmp;
    for (uint64_t k = 0; k < n; ++k) {
      FACET_RETURN_IF_ERROR(ReadScalar(c, v->elem_type, &tmp));
      v->nums[k] = tmp.as_double();
    }
  }
  return OkStatus();
}

}  // namespace

const char* GgufTypeName(GgufType type) {
  static const char* kNames[] = {
      "uint8", "int8",   "uint16", "int16",  "uint32", "int32",  "float32",
      "bool",  "string", "array",  "uint64", "int64",  "float64"};
  uint32_t t = static_cast<uint32_t>(type);
  return t < 13 ? kNames[t] : "unknown";
}

bool GgufValue::is_integer() const {
  switch (type) {
    case GgufType::kUint8:
    case GgufType::kInt8:
    case GgufType::kUint16:
    case GgufType::kInt16:
    case GgufType::kUint32:
    case GgufType::kInt32:
    case GgufType::kUint64:
    case GgufType::kInt64:
      return true;
    default:
      return false;
  }
}

bool GgufValue::is_number() const {
  return is_integer() || type == GgufType::kFloat32 ||
         type == GgufType::kFloat64 || type == GgufType::kBool;
}

double GgufValue::as_double() const {
  switch (type) {
    case GgufType::kInt8:
    case GgufType::kInt16:
    case GgufType::kInt32:
    case GgufType::kInt64:
      return static_cast<double>(i);
    case GgufType::kFloat32:
    case GgufType::kFloat64:
      return f;
    default:
      return static_cast<double>(u);
  }
}

int64_t GgufValue::as_int() const {
  switch (type) {
    case GgufType::kInt8:
    case GgufType::kInt16:
    case GgufType::kInt32:
    case GgufType::kInt64:
      return i;
    case GgufType::kFloat32:
    case GgufType::kFloat64:
      // Saturate: a float-to-int cast out of range is undefined.
      if (!(f > -9.2e18)) return f != f ? 0 : INT64_MIN;
      if (!(f < 9.2e18)) return INT64_MAX;
      return static_cast<int64_t>(f);
    default:
      return u > static_cast<uint64_t>(INT64_MAX) ? INT64_MAX
                                                  : static_cast<int64_t>(u);
  }
}

size_t GgufValue::array_size() const {
  if (type != GgufType::kArray) return 0;
  return nums.size() + strs.size() + items.size();
}

std::string GgufValue::DebugString(size_t max_items) const {
  switch (type) {
    case GgufType::kString:
      return "\"" + str + "\"";
    case GgufType::kBool:
      return u ? "true" : "false";
    case GgufType::kFloat32:
    case GgufType::kFloat64: {
      char buf[32];
      std::snprintf(buf, sizeof(buf), "%g", f);
      return buf;
    }
    case GgufType::kArray: {
      std::string s = "[";
      size_t n = array_size();
      for (size_t k = 0; k < n && k < max_items; ++k) {
        if (k) s += ", ";
        if (!strs.empty()) {
          s += "\"" + strs[k] + "\"";
        } else if (!nums.empty()) {
          char buf[32];
          std::snprintf(buf, sizeof(buf), "%g", nums[k]);
          s += buf;
        } else {
          s += items[k].DebugString(max_items);
        }
      }
      if (n > max_items) s += ", ... (" + std::to_string(n) + " items)";
      return s + "]";
    }
    default:
      return is_integer() &&
                     (type == GgufType::kInt8 || type == GgufType::kInt16 ||
                      type == GgufType::kInt32 || type == GgufType::kInt64)
                 ? std::to_string(i)
                 : std::to_string(u);
  }
}

StatusOr<std::unique_ptr<GgufFile>> GgufFile::Open(const std::string& path) {
  FACET_ASSIGN_OR_RETURN(std::unique_ptr<MappedFile> mapped,
                         MappedFile::Open(path));
  std::unique_ptr<GgufFile> f(new GgufFile());
  f->path_ = path;
  Status s = f->ParseImpl(mapped->data(), mapped->size());
  if (!s.ok()) return Status(s.code(), path + ": " + s.message());
  f->file_ = std::move(mapped);
  return f;
}

StatusOr<std::unique_ptr<GgufFile>> GgufFile::Parse(const uint8_t* data,
                                                    size_t size) {
  std::unique_ptr<GgufFile> f(new GgufFile());
  FACET_RETURN_IF_ERROR(f->ParseImpl(data, size));
  return f;
}

Status GgufFile::ParseImpl(const uint8_t* data, size_t size) {
  Cursor c(data, size);
  uint32_t magic;
  if (size < 4) return DataLoss("file too small to be GGUF");
  FACET_RETURN_IF_ERROR(c.Read(&magic, "magic"));
  if (magic != kMagic) {
    return DataLoss("not a GGUF file (bad magic)");
  }
  FACET_RETURN_IF_ERROR(c.Read(&version_, "version"));
  if (version_ != 2 && version_ != 3) {
    uint32_t swapped = __builtin_bswap32(version_);
    if (swapped == 2 || swapped == 3) {
      return Unimplemented("big-endian GGUF files are not supported");
    }
    return Unimplemented("unsupported GGUF version " +
                         std::to_string(version_) + " (facet reads v2 and v3)");
  }
  uint64_t n_tensors, n_kv;
  FACET_RETURN_IF_ERROR(c.Read(&n_tensors, "tensor count"));
  FACET_RETURN_IF_ERROR(c.Read(&n_kv, "metadata count"));
  // A key-value pair needs >= 12 bytes and a tensor info >= 24.
  if (n_kv > c.remaining() / 12) {
    return DataLoss("GGUF metadata count " + std::to_string(n_kv) +
                    " exceeds what the file can hold");
  }
  if (n_tensors > c.remaining() / 24) {
    return DataLoss("GGUF tensor count " + std::to_string(n_tensors) +
                    " exceeds what the file can hold");
  }
  kv_.reserve(n_kv);
  for (uint64_t k = 0; k < n_kv; ++k) {
    std::string key;
    FACET_RETURN_IF_ERROR(c.ReadString(&key, "metadata key"));
    uint32_t type;
    FACET_RETURN_IF_ERROR(c.Read(&type, "metadata type"));
    GgufValue v;
    Status s = ReadValue(&c, static_cast<GgufType>(type), &v, 0);
    if (!s.ok()) {
      return Status(s.code(), "metadata key '" + key + "': " + s.message());
    }
    if (kv_index_.count(key)) {
      return DataLoss("duplicate metadata key '" + key + "'");
    }
    kv_index_[key] = kv_.size();
    kv_.emplace_back(std::move(key), std::move(v));
  }
  if (const GgufValue* a = Find("general.alignment")) {
    if (!a->is_integer() || a->as_int() <= 0 ||
        (a->as_int() & (a->as_int() - 1)) != 0 || a->as_int() > (1 << 20)) {
      return DataLoss("general.alignment must be a power of two, got " +
                      a->DebugString());
    }
    alignment_ = static_cast<uint64_t>(a->as_int());
  }

  struct Info {
    std::string name;
    std::vector<int64_t> shape;
    uint32_t type;
    uint64_t offset;
  };
  std::vector<Info> infos(n_tensors);
  for (uint64_t t = 0; t < n_tensors; ++t) {
    Info& info = infos[t];
    FACET_RETURN_IF_ERROR(c.ReadString(&info.name, "tensor name"));
    uint32_t n_dims;
    FACET_RETURN_IF_ERROR(c.Read(&n_dims, "tensor dimension count"));
    if (n_dims == 0 || n_dims > kMaxDims) {
      return DataLoss("tensor '" + info.name + "' has " +
                      std::to_string(n_dims) + " dimensions (1 to 4 allowed)");
    }
    for (uint32_t d = 0; d < n_dims; ++d) {
      uint64_t ne;
      FACET_RETURN_IF_ERROR(c.Read(&ne, "tensor dimension"));
      if (ne == 0 || ne > (uint64_t{1} << 40)) {
        return DataLoss("tensor '" + info.name + "' has invalid dimension " +
                        std::to_string(ne));
      }
      info.shape.push_back(static_cast<int64_t>(ne));
    }
    FACET_RETURN_IF_ERROR(c.Read(&info.type, "tensor type"));
    FACET_RETURN_IF_ERROR(c.Read(&info.offset, "tensor offset"));
  }
  data_offset_ = (c.pos() + alignment_ - 1) / alignment_ * alignment_;
  if (data_offset_ > size) {
    return DataLoss("GGUF file truncated: the tensor data section is missing");
  }
  const uint64_t data_size = size - data_offset_;

  tensors_.reserve(n_tensors);
  for (Info& info : infos) {
    const kernels::DTypeInfo* ti = kernels::GetDTypeInfo(info.type);
    if (ti == nullptr || !ti->supported) {
      return Unimplemented("tensor '" + info.name + "' has type " +
                           kernels::DTypeName(info.type) +
                           ", which facet does not support");
    }
    if (info.shape[0] % ti->block_elems != 0) {
      return DataLoss("tensor '" + info.name + "' row length " +
                      std::to_string(info.shape[0]) +
                      " is not a multiple of the " + ti->name + " block size " +
                      std::to_string(ti->block_elems));
    }
    uint64_t elems = 1;
    for (int64_t d : info.shape) {
      if (__builtin_mul_overflow(elems, static_cast<uint64_t>(d), &elems)) {
        return DataLoss("tensor '" + info.name + "' size overflows");
      }
    }
    uint64_t nbytes;
    if (__builtin_mul_overflow(elems / ti->block_elems,
                               static_cast<uint64_t>(ti->block_bytes),
                               &nbytes)) {
      return DataLoss("tensor '" + info.name + "' size overflows");
    }
    if (info.offset % alignment_ != 0) {
      return DataLoss("tensor '" + info.name + "' offset " +
                      std::to_string(info.offset) + " is not aligned to " +
                      std::to_string(alignment_));
    }
    if (info.offset > data_size || nbytes > data_size - info.offset) {
      return DataLoss("tensor '" + info.name + "' (offset " +
                      std::to_string(info.offset) + ", " +
                      std::to_string(nbytes) +
                      " bytes) runs past the end of the file; is it "
                      "truncated?");
    }
    if (tensor_index_.count(info.name)) {
      return DataLoss("duplicate tensor name '" + info.name + "'");
    }
    TensorView view;
    view.name = info.name;
    view.dtype = static_cast<kernels::DType>(info.type);
    view.shape = info.shape;
    view.data = data + data_offset_ + info.offset;
    view.nbytes = nbytes;
    tensor_index_[info.name] = tensors_.size();
    tensors_.push_back(std::move(view));
  }
  return OkStatus();
}

const GgufValue* GgufFile::Find(const std::string& key) const {
  auto it = kv_index_.find(key);
  return it == kv_index_.end() ? nullptr : &kv_[it->second].second;
}

const TensorView* GgufFile::FindTensor(const std::string& name) const {
  auto it = tensor_index_.find(name);
  return it == tensor_index_.end() ? nullptr : &tensors_[it->second];
}

StatusOr<int64_t> GgufFile::GetInt(const std::string& key) const {
  const GgufValue* v = Find(key);
  if (v == nullptr) return NotFound("GGUF metadata key '" + key + "' missing");
  if (!v->is_integer()) {
    return InvalidArgument("GGUF metadata key '" + key + "' has type " +
                           GgufTypeName(v->type) + ", expected an integer");
  }
  return v->as_int();
}

StatusOr<double> GgufFile::GetFloat(const std::string& key) const {
  const GgufValue* v = Find(key);
  if (v == nullptr) return NotFound("GGUF metadata key '" + key + "' missing");
  if (!v->is_number() || v->type == GgufType::kBool) {
    return InvalidArgument("GGUF metadata key '" + key + "' has type " +
                           GgufTypeName(v->type) + ", expected a number");
  }
  return v->as_double();
}

StatusOr<std::string> GgufFile::GetString(const std::string& key) const {
  const GgufValue* v = Find(key);
  if (v == nullptr) return NotFound("GGUF metadata key '" + key + "' missing");
  if (v->type != GgufType::kString) {
    return InvalidArgument("GGUF metadata key '" + key + "' has type " +
                           GgufTypeName(v->type) + ", expected a string");
  }
  return v->str;
}

StatusOr<std::vector<int64_t>> GgufFile::GetIntPerLayer(const std::string& key,
                                                        size_t n) const {
  const GgufValue* v = Find(key);
  if (v == nullptr) return NotFound("GGUF metadata key '" + key + "' missing");
  if (v->type == GgufType::kArray) {
    if (v->nums.size() != n || v->array_size() != n) {
      return InvalidArgument("GGUF metadata key '" + key + "' has " +
                             std::to_string(v->array_size()) +
                             " entries, expected one per layer (" +
                             std::to_string(n) + ")");
    }
    std::vector<int64_t> out(n);
    for (size_t k = 0; k < n; ++k) {
      // The range check first: converting a double outside int64's range
      // is undefined behaviour.
      if (!(std::fabs(v->nums[k]) < 9.2e18) ||
          v->nums[k] != std::floor(v->nums[k])) {
        return InvalidArgument("GGUF metadata key '" + key +
                               "' holds a value that is not an integer "
                               "in range");
      }
      out[k] = static_cast<int64_t>(v->nums[k]);
    }
    return out;
  }
  FACET_ASSIGN_OR_RETURN(int64_t x, GetInt(key));
  return std::vector<int64_t>(n, x);
}

}  // namespace facet
