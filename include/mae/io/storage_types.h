#pragma once
// The storage class names torch.save writes into its pickles (torch.FloatStorage, ...) and their dtypes.
#include <c10/core/ScalarType.h>

#include <optional>
#include <string>

namespace mae::io {

// "FloatStorage" for kFloat; throws IoError for a dtype torch.save files cannot carry here.
std::string storage_type_name(c10::ScalarType dtype);

// kFloat for "FloatStorage" (without the "torch." module); nullopt for an unknown name.
std::optional<c10::ScalarType> dtype_of_storage_type(const std::string& name);

}  // namespace mae::io
