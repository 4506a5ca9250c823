#include "mae/jobs/architecture_settings.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <functional>
#include <regex>

#include "mae/config/job_config.h"
#include "mae/config/tool_configs.h"
#include "mae/engine/checkpoint.h"
#include "mae/jobs/config_args.h"
#include "mae/models/factory.h"
#include "mae/util/error.h"
#include "mae/util/log.h"
#include "mae/util/strings.h"

namespace mae::jobs {
namespace {

using models::EncoderOptions;

// The encoder's shape settings: their names (= config fields = `args` keys) and where they live in EncoderOptions.
struct EncoderSetting {
  const char* name;
  std::function<double(const EncoderOptions&)> get;
  std::function<void(EncoderOptions&, double)> set;
};

template <typename Member>
EncoderSetting setting(const char* name, Member EncoderOptions::*member) {
  return {name, [member](const EncoderOptions& e) { return static_cast<double>(e.*member); },
          [member](EncoderOptions& e, double v) { e.*member = static_cast<Member>(v); }};
}

const std::array<EncoderSetting, 6>& encoder_settings() {
  static const std::array<EncoderSetting, 6> settings{
      setting("patch_size", &EncoderOptions::patch_size), setting("in_chans", &EncoderOptions::in_chans),
      setting("embed_dim", &EncoderOptions::embed_dim),   setting("depth", &EncoderOptions::depth),
      setting("num_heads", &EncoderOptions::num_heads),   setting("mlp_ratio", &EncoderOptions::mlp_ratio)};
  return settings;
}

// Every key a checkpoint's args and a run must agree on to share weights.
constexpr std::array<const char*, 10> kShapeKeys{"input_size", "patch_size",        "in_chans",      "embed_dim",
                                                 "depth",      "num_heads",         "mlp_ratio",     "decoder_embed_dim",
                                                 "decoder_depth", "decoder_num_heads"};

std::optional<c10::impl::GenericDict> as_dict(const c10::IValue& args) {
  return args.isGenericDict() ? std::optional(args.toGenericDict()) : std::nullopt;
}

std::optional<double> number_arg(const c10::impl::GenericDict& args, const std::string& key) {
  if (!args.contains(key)) {
    return std::nullopt;
  }
  const c10::IValue value = args.at(key);
  if (value.isInt()) {
    return static_cast<double>(value.toInt());
  }
  return value.isDouble() ? std::optional(value.toDouble()) : std::nullopt;
}

std::optional<std::string> string_arg(const c10::impl::GenericDict& args, const std::string& key) {
  return args.contains(key) && args.at(key).isString() ? std::optional(args.at(key).toStringRef()) : std::nullopt;
}

// The config's value of an encoder setting, when given.
std::optional<double> override_of(const config::JobConfig& config, const std::string& name) {
  if (name == "mlp_ratio") {
    return config.mlp_ratio;
  }
  const std::optional<int> value = name == "patch_size" ? config.patch_size
                                   : name == "in_chans" ? config.in_chans
                                   : name == "embed_dim" ? config.embed_dim
                                   : name == "depth"     ? config.depth
                                                         : config.num_heads;
  return value ? std::optional<double>(*value) : std::nullopt;
}

void apply_overrides(const config::JobConfig& config, EncoderOptions& encoder) {
  for (const auto& s : encoder_settings()) {
    if (const auto value = override_of(config, s.name)) {
      s.set(encoder, *value);
    }
  }
}

void record_encoder(config::JobConfig& config, const EncoderOptions& e) {
  config.patch_size = static_cast<int>(e.patch_size);
  config.in_chans = static_cast<int>(e.in_chans);
  config.embed_dim = static_cast<int>(e.embed_dim);
  config.depth = static_cast<int>(e.depth);
  config.num_heads = static_cast<int>(e.num_heads);
  config.mlp_ratio = e.mlp_ratio;
}

}  // namespace

std::optional<EncoderOptions> recorded_encoder(const c10::IValue& args) {
  const auto dict = as_dict(args);
  if (!dict) {
    return std::nullopt;
  }
  // Our checkpoints record every shape setting; an official one names its --model, whose shape stands for them.
  const auto model = string_arg(*dict, "model");
  const bool known_model = model && models::is_known_architecture(*model);
  std::optional<EncoderOptions> encoder =
      known_model ? models::vit_architecture(models::classifier_name(*model)).encoder : EncoderOptions{};
  for (const auto& s : encoder_settings()) {
    if (const auto value = number_arg(*dict, s.name)) {
      s.set(*encoder, *value);
    } else if (!known_model) {
      return std::nullopt;
    }
  }
  if (const auto input_size = number_arg(*dict, "input_size")) {
    encoder->img_size = static_cast<int64_t>(*input_size);
  }
  return encoder;
}

std::optional<InferredEncoder> encoder_from_weights(const models::NamedTensors& weights,
                                                    const config::JobConfig& config) {
  const auto find = [&](const std::string& name) -> const at::Tensor* {
    for (const auto& [key, tensor] : weights) {
      if (key == name) {
        return &tensor;
      }
    }
    return nullptr;
  };
  const at::Tensor* projection = find("patch_embed.proj.weight");  // [width, channels, patch, patch]
  const at::Tensor* fc1 = find("blocks.0.mlp.fc1.weight");          // [hidden, width]
  if (projection == nullptr || projection->dim() != 4 || fc1 == nullptr || fc1->dim() != 2) {
    return std::nullopt;
  }
  EncoderOptions e;
  e.embed_dim = projection->size(0);
  e.in_chans = projection->size(1);
  e.patch_size = projection->size(2);
  e.mlp_ratio = static_cast<double>(fc1->size(0)) / static_cast<double>(e.embed_dim);
  int64_t depth = 0;
  const std::regex block(R"(blocks\.([0-9]+)\..*)");
  for (const auto& [key, tensor] : weights) {
    std::smatch match;
    if (std::regex_match(key, match, block)) {
      depth = std::max<int64_t>(depth, std::stoll(match[1].str()) + 1);
    }
  }
  e.depth = depth;
  std::string input = "input size 224 (no pos_embed)";
  if (const at::Tensor* pos_embed = find("pos_embed"); pos_embed != nullptr && pos_embed->dim() == 3) {
    const auto grid = static_cast<int64_t>(std::lround(std::sqrt(static_cast<double>(pos_embed->size(1) - 1))));
    e.img_size = grid * e.patch_size;
    input = text("input size ", e.img_size, " (pos_embed's ", grid, " x ", grid, " grid)");
  }
  std::string heads;
  const std::string& model = config.model;
  const bool model_fits = models::is_known_architecture(model) &&
                          models::vit_architecture(models::classifier_name(model)).encoder.embed_dim == e.embed_dim;
  if (config.num_heads) {
    e.num_heads = *config.num_heads;
    heads = text(e.num_heads, " heads (--num_heads)");
  } else if (model_fits) {
    e.num_heads = models::vit_architecture(models::classifier_name(model)).encoder.num_heads;
    heads = text(e.num_heads, " heads (--model ", model, "'s)");
  } else {
    e.num_heads = std::max<int64_t>(e.embed_dim / 64, 1);
    heads = text(e.num_heads, " heads (width / 64; pass --num_heads if the model had others)");
  }
  return InferredEncoder{e, text("patch size ", e.patch_size, ", ", e.in_chans, " channels, width ", e.embed_dim,
                                 " (patch_embed.proj.weight), depth ", e.depth, " (blocks.N), MLP ratio ",
                                 e.mlp_ratio, ", ", input, ", ", heads)};
}

c10::IValue architecture_args_of(const std::string& path, const config::JobConfig& config) {
  c10::IValue args = engine::load_checkpoint_args(path);
  if (recorded_encoder(args)) {
    return args;
  }
  const auto inferred = encoder_from_weights(engine::load_model_weights(path, io::PthContents::metadata_only), config);
  if (!inferred) {
    return args;
  }
  log::warn(text(path, " records no settings (args): its architecture was read from its weights: ", inferred->how));
  auto dict = c10::impl::GenericDict(c10::StringType::get(), c10::AnyType::get());
  for (const auto& s : encoder_settings()) {
    const double value = s.get(inferred->encoder);
    if (std::string(s.name) == "mlp_ratio") {
      dict.insert(s.name, value);
    } else {
      dict.insert(s.name, static_cast<int64_t>(value));
    }
  }
  dict.insert("input_size", inferred->encoder.img_size);
  return dict;
}

std::optional<models::MaeOptions> recorded_mae_architecture(const c10::IValue& args) {
  const auto encoder = recorded_encoder(args);
  if (!encoder) {
    return std::nullopt;
  }
  const auto dict = *as_dict(args);
  models::MaeOptions options;
  const auto model = string_arg(dict, "model");
  if (model && models::is_known_architecture(*model)) {
    options = models::mae_architecture(models::mae_name(*model));  // the model's decoder
  }
  options.encoder = *encoder;
  if (const auto v = number_arg(dict, "decoder_embed_dim")) {
    options.decoder_embed_dim = static_cast<int64_t>(*v);
  }
  if (const auto v = number_arg(dict, "decoder_depth")) {
    options.decoder_depth = static_cast<int64_t>(*v);
  }
  if (const auto v = number_arg(dict, "decoder_num_heads")) {
    options.decoder_num_heads = static_cast<int64_t>(*v);
  }
  options.norm_pix_loss = dict.contains("norm_pix_loss") && dict.at("norm_pix_loss").isBool() &&
                          dict.at("norm_pix_loss").toBool();
  options.loss_on_visible = dict.contains("loss_on_visible") && dict.at("loss_on_visible").isBool() &&
                            dict.at("loss_on_visible").toBool();
  if (const auto strategy = string_arg(dict, "mask_strategy")) {
    options.mask_strategy = models::parse_mask_strategy(*strategy);
  }
  return options;
}

models::MaeOptions resolve_visualize_architecture(const config::VisualizeConfig& config,
                                                  const c10::IValue& checkpoint_args, const std::string& source_path) {
  const auto recorded = recorded_mae_architecture(checkpoint_args);
  if (config.model.empty() && !recorded) {
    throw UsageError(text("'", source_path, "' does not say which model it holds: pass --model"));
  }
  models::MaeOptions architecture = recorded.value_or(models::MaeOptions{});
  if (!config.model.empty()) {
    architecture = models::mae_architecture(models::mae_name(config.model));
    if (recorded) {
      architecture.encoder.img_size = recorded->encoder.img_size;
      architecture.norm_pix_loss = recorded->norm_pix_loss;
    }
  }
  architecture.encoder.img_size = config.input_size.value_or(static_cast<int>(architecture.encoder.img_size));
  architecture.norm_pix_loss = config.norm_pix_loss.value_or(architecture.norm_pix_loss);
  models::validate(architecture);
  models::check_mask_ratio(architecture.mask_strategy, architecture.encoder.grid_size(), config.mask_ratio);
  return architecture;
}

models::MaeOptions resolve_mae_architecture(config::PretrainConfig& config) {
  models::MaeOptions options = models::mae_architecture(config.model);
  apply_overrides(config, options.encoder);
  options.encoder.img_size = config.input_size;
  options.decoder_embed_dim = config.decoder_embed_dim.value_or(static_cast<int>(options.decoder_embed_dim));
  options.decoder_depth = config.decoder_depth.value_or(static_cast<int>(options.decoder_depth));
  options.decoder_num_heads = config.decoder_num_heads.value_or(static_cast<int>(options.decoder_num_heads));
  options.norm_pix_loss = config.norm_pix_loss;
  options.mask_strategy = models::parse_mask_strategy(config.mask_strategy);
  options.loss_on_visible = config.loss_on_visible;
  models::validate(options);
  models::check_mask_ratio(options.mask_strategy, options.encoder.grid_size(), config.mask_ratio);
  record_encoder(config, options.encoder);
  config.decoder_embed_dim = static_cast<int>(options.decoder_embed_dim);
  config.decoder_depth = static_cast<int>(options.decoder_depth);
  config.decoder_num_heads = static_cast<int>(options.decoder_num_heads);
  return options;
}

models::VitOptions resolve_vit_architecture(config::ClassifierConfig& config, const c10::IValue& source_args,
                                            const std::string& source_path) {
  const auto recorded = recorded_encoder(source_args);
  const bool from_checkpoint = recorded && !config.was_given("model");
  EncoderOptions encoder = from_checkpoint ? *recorded : models::vit_architecture(config.model).encoder;
  if (recorded && !from_checkpoint) {
    // A --model names a patch, width, depth, heads and MLP ratio, never a channel count (every preset is 3 by
    // default): the checkpoint's channels stand unless --in_chans is given.
    encoder.in_chans = recorded->in_chans;
  }
  apply_overrides(config, encoder);
  if (recorded) {
    std::vector<std::string> differences;
    for (const auto& s : encoder_settings()) {
      if (s.get(encoder) != s.get(*recorded)) {
        differences.emplace_back(s.name);
      }
    }
    if (!differences.empty()) {
      throw UsageError(text(source_path, " holds a model of ", models::describe(*recorded), "; the settings ask for ",
                            models::describe(encoder), " (--model ", config.model, " and the shape flags given). They differ "
                            "in ", join(differences), ": drop those settings to use the checkpoint's, or pass its values"));
    }
  }
  encoder.img_size = recorded && !config.was_given("input_size") ? recorded->img_size : config.input_size;
  if (from_checkpoint) {
    const auto model = string_arg(*as_dict(source_args), "model");
    if (model && models::is_known_architecture(*model)) {
      config.model = models::classifier_name(*model);
    }
  }
  models::VitOptions options;
  options.encoder = encoder;
  options.num_classes = config.nb_classes;
  options.global_pool = config.global_pool;
  models::validate(options);
  record_encoder(config, encoder);
  config.input_size = static_cast<int>(encoder.img_size);
  return options;
}

void check_same_architecture(const c10::IValue& checkpoint_args, const config::JobConfig& config,
                             const std::string& path) {
  const auto theirs = as_dict(checkpoint_args);
  const auto ours = as_dict(config_as_dict(config));
  if (!theirs || !ours) {
    return;
  }
  std::vector<std::string> differences;
  for (const char* key : kShapeKeys) {
    const auto a = number_arg(*theirs, key);
    const auto b = number_arg(*ours, key);
    if (a && b && *a != *b) {
      differences.push_back(text(key, " ", *a, " in the checkpoint, ", *b, " in this run"));
    }
  }
  if (!differences.empty()) {
    throw UsageError(text("--resume ", path, " was written by another architecture: ", join(differences, "; ")));
  }
}

}  // namespace mae::jobs
