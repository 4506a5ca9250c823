#pragma once
// Each job's image pipeline, as the reference builds it (main_pretrain.py, main_finetune.py build_transform,
// main_linprobe.py): image file + the sample's Rng -> normalised [in_chans, size, size] tensor (in_chans 1: the
// augmented RGB image's PIL luminance, see to_model_input). The training pipelines decode only their crop's pixels.
#include <ATen/core/Tensor.h>

#include <array>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "mae/data/image/image_io.h"
#include "mae/data/augment/rng.h"

namespace mae::data {

// A job's per-sample pipeline: the shape of the sample it makes, [in_chans, size, size], and `fill`, which writes the
// sample of `image` into `out`, a contiguous float tensor of that shape (the loader passes its batch's slot, so the
// pixels are written once).
struct SampleTransform {
  std::array<int64_t, 3> shape{};
  std::function<void(const EncodedImage& image, Rng& rng, const at::Tensor& out)> fill;

  // The sample in a tensor of its own.
  at::Tensor operator()(const EncodedImage& image, Rng& rng) const;
};

// The fine-tuning augmentation settings (main_finetune.py's flags of the same names).
struct FinetuneAugmentation {
  int input_size = 224;
  std::string aa = "rand-m9-mstd0.5-inc1";  // "" for none
  std::optional<double> color_jitter;        // used only without aa, as timm does
  double reprob = 0.25;
  std::string remode = "pixel";
  int recount = 1;
  int in_chans = 3;
};

// RandomResizedCrop(size, scale=(0.2, 1.0), bicubic) + RandomHorizontalFlip + ToTensor + Normalize.
SampleTransform pretrain_transform(int input_size, int in_chans = 3);

// util/crop.py RandomResizedCrop(size, bicubic) + RandomHorizontalFlip + ToTensor + Normalize.
SampleTransform linprobe_train_transform(int input_size, int in_chans = 3);

// timm create_transform(is_training=True) as main_finetune.py calls it: RandomResizedCrop(size, (0.08, 1), bicubic)
// + RandomHorizontalFlip + RandAugment (or ColorJitter(x, x, x) without aa) + ToTensor + Normalize + RandomErasing.
SampleTransform finetune_train_transform(const FinetuneAugmentation& augmentation);

// Resize(int(size / crop_pct), bicubic) + CenterCrop(size) + ToTensor + Normalize, crop_pct = 224/256 up to 224
// pixels and 1 above (linear probing's Resize(256) + CenterCrop(224) is the 224 case).
SampleTransform eval_transform(int input_size, int in_chans = 3);

}  // namespace mae::data
