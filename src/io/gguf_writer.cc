#include "src/io/gguf_writer.h"

#include <cstdio>
#include <cstring>

#include "src/util/status_macros.h"

namespace facet {
namespace {

template <typename T>
void Put(std::string* out, T v) {
  out->append(reinterpret_cast<const char*>(&v), sizeof(T));
}

void PutString(std::string* out, const std::string& s) {
  Put<uint64_t>(out, s.size());
  out->append(s);
}

void PutKey(std::string* out, const std::string& key, GgufType type) {
  PutString(out, key);
  Put<uint32_t>(out, static_cast<uint32_t>(type));
}

void PutNumber(std::string* out, GgufType t, double v) {
  switch (t) {
    case GgufType::kUint8:
      Put<uint8_t>(out, static_cast<uint8_t>(v));
      break;
    case GgufType::kInt8:
      Put<int8_t>(out, static_cast<int8_t>(v));
      break;
    case GgufType::kUint16:
      Put<uint16_t>(out, static_cast<uint16_t>(v));
      break;
    case GgufType::kInt16:
      Put<int16_t>(out, static_cast<int16_t>(v));
      break;
    case GgufType::kUint32:
      Put<uint32_t>(out, static_cast<uint32_t>(v));
      break;
    case GgufType::kInt32:
      Put<int32_t>(out, static_cast<int32_t>(v));
      break;
    case GgufType::kFloat32:
      Put<float>(out, static_cast<float>(v));
      break;
    case GgufType::kBool:
      Put<uint8_t>(out, v != 0);
      break;
    case GgufType::kUint64:
      Put<uint64_t>(out, static_cast<uint64_t>(v));
      break;
    case GgufType::kInt64:
      Put<int64_t>(out, static_cast<int64_t>(v));
      break;
    case GgufType::kFloat64:
      Put<double>(out, v);
      break;
    default:
      break;
  }
}

void PutValueBody(std::string* out, const GgufValue& v) {
  switch (v.type) {
    case GgufType::kString:
      PutString(out, v.str);
      return;
    case GgufType::kArray:
      Put<uint32_t>(out, static_cast<uint32_t>(v.elem_type));
      Put<uint64_t>(out, v.array_size());
      if (v.elem_type == GgufType::kString) {
        for (const std::string& s : v.strs) PutString(out, s);
      } else if (v.elem_type == GgufType::kArray) {
        for (const GgufValue& item : v.items) PutValueBody(out, item);
      } else {
        for (double x : v.nums) PutNumber(out, v.elem_type, x);
      }
      return;
    case GgufType::kUint64:
      Put<uint64_t>(out, v.u);
      return;
    case GgufType::kInt64:
      Put<int64_t>(out, v.i);
      return;
    default:
      PutNumber(out, v.type, v.as_double());
  }
}

}  // namespace

void GgufWriter::AddString(const std::string& key, const std::string& v) {
  PutKey(&kv_bytes_, key, GgufType::kString);
  PutString(&kv_bytes_, v);
  ++n_kv_;
}
void GgufWriter::AddUint32(const std::string& key, uint32_t v) {
  PutKey(&kv_bytes_, key, GgufType::kUint32);
  Put(&kv_bytes_, v);
  ++n_kv_;
}
void GgufWriter::AddInt32(const std::string& key, int32_t v) {
  PutKey(&kv_bytes_, key, GgufType::kInt32);
  Put(&kv_bytes_, v);
  ++n_kv_;
}
void GgufWriter::AddUint64(const std::string& key, uint64_t v) {
  PutKey(&kv_bytes_, key, GgufType::kUint64);
  Put(&kv_bytes_, v);
  ++n_kv_;
}
void GgufWriter::AddFloat32(const std::string& key, float v) {
  PutKey(&kv_bytes_, key, GgufType::kFloat32);
  Put(&kv_bytes_, v);
  ++n_kv_;
}
void GgufWriter::AddBool(const std::string& key, bool v) {
  PutKey(&kv_bytes_, key, GgufType::kBool);
  Put<uint8_t>(&kv_bytes_, v ? 1 : 0);
  ++n_kv_;
}
void GgufWriter::AddInt32Array(const std::string& key,
                               const std::vector<int32_t>& v) {
  PutKey(&kv_bytes_, key, GgufType::kArray);
  Put<uint32_t>(&kv_bytes_, static_cast<uint32_t>(GgufType::kInt32));
  Put<uint64_t>(&kv_bytes_, v.size());
  for (int32_t x : v) Put(&kv_bytes_, x);
  ++n_kv_;
}
void GgufWriter::AddFloat32Array(const std::string& key,
                                 const std::vector<float>& v) {
  PutKey(&kv_bytes_, key, GgufType::kArray);
  Put<uint32_t>(&kv_bytes_, static_cast<uint32_t>(GgufType::kFloat32));
  Put<uint64_t>(&kv_bytes_, v.size());
  for (float x : v) Put(&kv_bytes_, x);
  ++n_kv_;
}
void GgufWriter::AddBoolArray(const std::string& key,
                              const std::vector<bool>& v) {
  PutKey(&kv_bytes_, key, GgufType::kArray);
  Put<uint32_t>(&kv_bytes_, static_cast<uint32_t>(GgufType::kBool));
  Put<uint64_t>(&kv_bytes_, v.size());
  for (bool x : v) Put<uint8_t>(&kv_bytes_, x ? 1 : 0);
  ++n_kv_;
}
void GgufWriter::AddStringArray(const std::string& key,
                                const std::vector<std::string>& v) {
  PutKey(&kv_bytes_, key, GgufType::kArray);
  Put<uint32_t>(&kv_bytes_, static_cast<uint32_t>(GgufType::kString));
  Put<uint64_t>(&kv_bytes_, v.size());
  for (const std::string& s : v) PutString(&kv_bytes_, s);
  ++n_kv_;
}
void GgufWriter::AddValue(const std::string& key, const GgufValue& v) {
  PutKey(&kv_bytes_, key, v.type);
  PutValueBody(&kv_bytes_, v);
  ++n_kv_;
}

StatusOr<uint64_t> GgufWriter::CheckShape(
    const std::string& name, kernels::DType dtype,
    const std::vector<int64_t>& shape) const {
  const kernels::DTypeInfo* info = kernels::GetDTypeInfo(dtype);
  if (info == nullptr || shape.empty() || shape.size() > 4) {
    return InvalidArgument("tensor '" + name + "': bad type or rank");
  }
  int64_t elems = 1;
  for (int64_t d : shape) {
    if (d <= 0) return InvalidArgument("tensor '" + name + "': empty shape");
    elems *= d;
  }
  if (shape[0] % info->block_elems != 0) {
    return InvalidArgument(
        "tensor '" + name + "': row length " + std::to_string(shape[0]) +
        " is not a multiple of the " + info->name + " block size");
  }
  return static_cast<uint64_t>(elems / info->block_elems * info->block_bytes);
}

Status GgufWriter::AddTensor(const std::string& name, kernels::DType dtype,
                             const std::vector<int64_t>& shape,
                             const void* data, size_t nbytes) {
  FACET_ASSIGN_OR_RETURN(uint64_t want, CheckShape(name, dtype, shape));
  if (want != nbytes) {
    return InvalidArgument("tensor '" + name + "': " + std::to_string(nbytes) +
                           " bytes do not match shape " + ShapeString(shape) +
                           " of type " + kernels::DTypeName(dtype));
  }
  tensors_.push_back({name, dtype, shape, want,
                      std::string(static_cast<const char*>(data), nbytes),
                      nullptr});
  return OkStatus();
}

Status GgufWriter::AddTensorLazy(const std::string& name, kernels::DType dtype,
                                 const std::vector<int64_t>& shape,
                                 Producer produce) {
  FACET_ASSIGN_OR_RETURN(uint64_t want, CheckShape(name, dtype, shape));
  tensors_.push_back({name, dtype, shape, want, "", std::move(produce)});
  return OkStatus();
}

std::string GgufWriter::Header() const {
  std::string out;
  Put<uint32_t>(&out, 0x46554747);
  Put<uint32_t>(&out, 3);
  Put<uint64_t>(&out, tensors_.size());
  Put<uint64_t>(&out, n_kv_ + (alignment_ != 32 ? 1 : 0));
  out += kv_bytes_;
  if (alignment_ != 32) {
    PutKey(&out, "general.alignment", GgufType::kUint32);
    Put<uint32_t>(&out, static_cast<uint32_t>(alignment_));
  }
  uint64_t offset = 0;
  for (const Tensor& t : tensors_) {
    PutString(&out, t.name);
    Put<uint32_t>(&out, static_cast<uint32_t>(t.shape.size()));
    for (int64_t d : t.shape) Put<uint64_t>(&out, static_cast<uint64_t>(d));
    Put<uint32_t>(&out, static_cast<uint32_t>(t.dtype));
    Put<uint64_t>(&out, offset);
    offset = (offset + t.nbytes + alignment_ - 1) / alignment_ * alignment_;
  }
  return out;
}

Status GgufWriter::Emit(
    const std::function<Status(const std::string&)>& sink) const {
  std::string header = Header();
  header.resize((header.size() + alignment_ - 1) / alignment_ * alignment_,
                '\0');
  FACET_RETURN_IF_ERROR(sink(header));
  std::string buf;
  for (const Tensor& t : tensors_) {
    const std::string* bytes = &t.bytes;
    if (t.produce) {
      buf.clear();
      FACET_RETURN_IF_ERROR(t.produce(&buf));
      bytes = &buf;
    }
    if (bytes->size() != t.nbytes) {
      return Internal("tensor '" + t.name + "': produced " +
                      std::to_string(bytes->size()) + " bytes, expected " +
                      std::to_string(t.nbytes));
    }
    FACET_RETURN_IF_ERROR(sink(*bytes));
    const uint64_t pad = (alignment_ - t.nbytes % alignment_) % alignment_;
    if (pad) FACET_RETURN_IF_ERROR(sink(std::string(pad, '\0')));
  }
  return OkStatus();
}

StatusOr<std::string> GgufWriter::Serialize() const {
  std::string out;
  FACET_RETURN_IF_ERROR(Emit([&](const std::string& b) {
    out += b;
    return OkStatus();
  }));
  return out;
}

Status GgufWriter::WriteFile(const std::string& path) const {
  FILE* f = std::fopen(path.c_str(), "wb");
  if (f == nullptr) return InvalidArgument("cannot create '" + path + "'");
  Status s = Emit([&](const std::string& b) {
    if (std::fwrite(b.data(), 1, b.size(), f) != b.size()) {
      return Internal("short write to '" + path + "' (disk full?)");
    }
    return OkStatus();
  });
  if (std::fclose(f) != 0 && s.ok()) {
    s = Internal("cannot finish writing '" + path + "'");
  }
  if (!s.ok()) std::remove(path.c_str());
  return s;
}

}  // namespace facet
