#include "mae/io/storage_types.h"

#include <array>
#include <utility>

#include "mae/util/error.h"
#include "mae/util/strings.h"

namespace mae::io {
namespace {

constexpr std::array<std::pair<c10::ScalarType, const char*>, 11> kStorageTypes{{
    {c10::ScalarType::Float, "FloatStorage"},
    {c10::ScalarType::Double, "DoubleStorage"},
    {c10::ScalarType::Half, "HalfStorage"},
    {c10::ScalarType::BFloat16, "BFloat16Storage"},
    {c10::ScalarType::Long, "LongStorage"},
    {c10::ScalarType::Int, "IntStorage"},
    {c10::ScalarType::Short, "ShortStorage"},
    {c10::ScalarType::Char, "CharStorage"},
    {c10::ScalarType::Byte, "ByteStorage"},
    {c10::ScalarType::Bool, "BoolStorage"},
    {c10::ScalarType::ComplexFloat, "ComplexFloatStorage"},
}};

}  // namespace

std::string storage_type_name(c10::ScalarType dtype) {
  for (const auto& [type, name] : kStorageTypes) {
    if (type == dtype) {
      return name;
    }
  }
  throw IoError(text("tensors of dtype ", c10::toString(dtype), " cannot be written to a .pth file"));
}

std::optional<c10::ScalarType> dtype_of_storage_type(const std::string& name) {
  for (const auto& [type, storage_name] : kStorageTypes) {
    if (name == storage_name) {
      return type;
    }
  }
  return std::nullopt;
}

}  // namespace mae::io
