#include "mae/models/factory.h"

#include <algorithm>
#include <array>

#include "mae/util/error.h"
#include "mae/util/strings.h"

namespace mae::models {
namespace {

struct NamedArchitecture {
  const char* name;  // the MAE name; the classifier's is the same without "mae_"
  EncoderOptions encoder;
  int64_t decoder_embed_dim;
  int64_t decoder_depth;
  int64_t decoder_num_heads;
};

// {img_size, patch_size, in_chans, embed_dim, depth, num_heads, mlp_ratio}
constexpr std::array<NamedArchitecture, 6> kArchitectures{{
    {"mae_vit_base_patch16", {224, 16, 3, 768, 12, 12, 4.0}, 512, 8, 16},
    {"mae_vit_large_patch16", {224, 16, 3, 1024, 24, 16, 4.0}, 512, 8, 16},
    {"mae_vit_huge_patch14", {224, 14, 3, 1280, 32, 16, 4.0}, 512, 8, 16},
    // Small variants for CPU work: DeiT-small / DeiT-tiny widths with a decoder scaled down alike.
    {"mae_vit_small_patch16", {224, 16, 3, 384, 12, 6, 4.0}, 256, 4, 8},
    {"mae_vit_tiny_patch16", {224, 16, 3, 192, 12, 3, 4.0}, 128, 4, 4},
    {"mae_vit_tiny_patch4", {32, 4, 3, 192, 12, 3, 4.0}, 128, 4, 4},
}};

// models_mae.py defines the official names as aliases of their *_dec512d8b form.
std::string without_decoder_suffix(const std::string& name) {
  const std::string suffix = "_dec512d8b";
  return name.ends_with(suffix) ? name.substr(0, name.size() - suffix.size()) : name;
}

[[noreturn]] void unknown_model(const std::string& name, const std::vector<std::string>& known) {
  const std::string suggestion = closest_match(name, known);
  throw UsageError(text("unknown model '", name, "'", suggestion.empty() ? "" : text(" (did you mean '", suggestion, "'?)"),
                       "; known models: ", join(known)));
}

}  // namespace

std::vector<std::string> mae_architecture_names() {
  std::vector<std::string> names;
  for (const auto& architecture : kArchitectures) {
    names.emplace_back(architecture.name);
  }
  return names;
}

std::vector<std::string> vit_architecture_names() {
  std::vector<std::string> names;
  for (const auto& architecture : kArchitectures) {
    names.push_back(classifier_name(architecture.name));
  }
  return names;
}

MaeOptions mae_architecture(const std::string& name) {
  const std::string canonical = without_decoder_suffix(name);
  for (const auto& architecture : kArchitectures) {
    if (canonical == architecture.name && (canonical == name || architecture.decoder_embed_dim == 512)) {
      return {architecture.encoder, architecture.decoder_embed_dim, architecture.decoder_depth,
              architecture.decoder_num_heads, false};
    }
  }
  unknown_model(name, mae_architecture_names());
}

VitOptions vit_architecture(const std::string& name) {
  for (const auto& architecture : kArchitectures) {
    if ("mae_" + name == architecture.name) {
      VitOptions options;
      options.encoder = architecture.encoder;
      return options;
    }
  }
  unknown_model(name, vit_architecture_names());
}

std::string mae_name(const std::string& model) { return model.starts_with("mae_") ? model : "mae_" + model; }

std::string classifier_name(const std::string& model) {
  return model.starts_with("mae_") ? model.substr(4) : model;
}

bool is_known_architecture(const std::string& model) {
  const auto names = vit_architecture_names();
  return std::find(names.begin(), names.end(), classifier_name(model)) != names.end();
}

}  // namespace mae::models
