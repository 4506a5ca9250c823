#include "mae/data/augment/pipelines.h"

#include <ATen/ATen.h>

#include "mae/data/augment/pillow_ops.h"
#include "mae/data/augment/rand_augment.h"
#include "mae/data/augment/random_erasing.h"
#include "mae/data/augment/transforms.h"

#include <algorithm>
#include <array>
#include <memory>

namespace mae::data {

at::Tensor SampleTransform::operator()(const EncodedImage& image, Rng& rng) const {
  at::Tensor sample = at::empty({shape[0], shape[1], shape[2]}, at::TensorOptions().dtype(at::kFloat));
  fill(image, rng, sample);
  return sample;
}

SampleTransform pretrain_transform(int input_size, int in_chans) {
  return {{in_chans, input_size, input_size}, [input_size](const EncodedImage& file, Rng& rng, const at::Tensor& out) {
    const CropBox box = sample_random_resized_crop(file.rows(), file.cols(), rng, {0.2, 1.0});
    cv::Mat image = resized_crop(file, box, input_size);
    if (rng.bernoulli(0.5)) {
      image = horizontal_flip(image);
    }
    write_model_input(image, out);
  }};
}

SampleTransform linprobe_train_transform(int input_size, int in_chans) {
  return {{in_chans, input_size, input_size}, [input_size](const EncodedImage& file, Rng& rng, const at::Tensor& out) {
    const CropBox box = sample_random_resized_crop_tf(file.rows(), file.cols(), rng);
    cv::Mat image = resized_crop(file, box, input_size);
    if (rng.bernoulli(0.5)) {
      image = horizontal_flip(image);
    }
    write_model_input(image, out);
  }};
}

namespace {

// torchvision ColorJitter(x, x, x, 0) on PIL: brightness, contrast and saturation in a random order, each with a
// factor from U(max(0, 1 - x), 1 + x).
cv::Mat color_jitter(const cv::Mat& image, double strength, Rng& rng) {
  std::array<int, 4> order{0, 1, 2, 3};  // torch.randperm(4); 3 is the hue, which is off
  for (int i = 3; i > 0; --i) {
    std::swap(order[i], order[rng.randint(0, i + 1)]);
  }
  cv::Mat out = image;
  for (const int op : order) {
    if (op == 3) {
      continue;
    }
    const double factor = rng.uniform(std::max(0.0, 1.0 - strength), 1.0 + strength);
    out = op == 0 ? pil::brightness(out, factor) : op == 1 ? pil::contrast(out, factor) : pil::color(out, factor);
  }
  return out;
}

}  // namespace

SampleTransform finetune_train_transform(const FinetuneAugmentation& augmentation) {
  std::shared_ptr<const RandAugment> rand_augment;
  if (!augmentation.aa.empty()) {
    rand_augment = std::make_shared<RandAugment>(augmentation.aa);
  }
  RandomErasingOptions erasing;
  erasing.probability = augmentation.reprob;
  erasing.mode = parse_erasing_mode(augmentation.remode);
  erasing.max_count = augmentation.recount;
  const int size = augmentation.input_size;
  const auto fill = [augmentation, rand_augment, erasing](const EncodedImage& file, Rng& rng, const at::Tensor& out) {
    const CropBox box = sample_random_resized_crop(file.rows(), file.cols(), rng);
    cv::Mat image = resized_crop(file, box, augmentation.input_size);
    if (rng.bernoulli(0.5)) {
      image = horizontal_flip(image);
    }
    if (rand_augment) {
      image = (*rand_augment)(image, rng);
    } else if (augmentation.color_jitter) {
      image = color_jitter(image, *augmentation.color_jitter, rng);
    }
    write_model_input(image, out);
    if (augmentation.reprob > 0.0) {
      at::Tensor erased = out;  // the same storage: erased in place
      random_erase(erased, erasing, rng);
    }
  };
  return {{augmentation.in_chans, size, size}, fill};
}

SampleTransform eval_transform(int input_size, int in_chans) {
  const double crop_pct = input_size <= 224 ? 224.0 / 256.0 : 1.0;
  const int resize_to = static_cast<int>(input_size / crop_pct);
  return {{in_chans, input_size, input_size},
          [input_size, resize_to](const EncodedImage& file, Rng&, const at::Tensor& out) {
            write_model_input(center_crop(resize_shorter_side(file.decode(), resize_to), input_size), out);
          }};
}

}  // namespace mae::data
