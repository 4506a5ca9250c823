#pragma once
// The official model names (models_mae.py, models_vit.py) and small variants for CPU demos and tests.
#include <string>
#include <vector>

#include "mae/models/architecture.h"

namespace mae::models {

// mae_vit_base_patch16 (alias mae_vit_base_patch16_dec512d8b), mae_vit_large_patch16, mae_vit_huge_patch14, and
// mae_vit_small_patch16, mae_vit_tiny_patch16, mae_vit_tiny_patch4 (32-pixel demo). Unknown names are a UsageError
// that suggests the closest one.
MaeOptions mae_architecture(const std::string& name);

// vit_base_patch16, vit_large_patch16, vit_huge_patch14, and vit_small_patch16, vit_tiny_patch16, vit_tiny_patch4:
// the encoder of the MAE model of the same name plus a classification head.
VitOptions vit_architecture(const std::string& name);

std::vector<std::string> mae_architecture_names();
std::vector<std::string> vit_architecture_names();

// The two spellings of one architecture: mae_vit_base_patch16 <-> vit_base_patch16 (either spelling in).
std::string mae_name(const std::string& model);
std::string classifier_name(const std::string& model);
// Whether `model`, in either spelling, is one of the names above.
bool is_known_architecture(const std::string& model);

}  // namespace mae::models
