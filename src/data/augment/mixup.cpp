#include "mae/data/augment/mixup.h"

#include <ATen/ATen.h>

#include <algorithm>
#include <cmath>

#include "mae/util/error.h"
#include "mae/util/strings.h"

namespace mae::data {

at::Tensor smoothed_one_hot(const at::Tensor& labels, int64_t num_classes, double smoothing) {
  const double off = smoothing / static_cast<double>(num_classes);
  const double on = 1.0 - smoothing + off;
  return at::full({labels.size(0), num_classes}, off, at::TensorOptions().dtype(at::kFloat).device(labels.device()))
      .scatter_(1, labels.to(at::kLong).view({-1, 1}), on);
}

Mixup::Mixup(MixupOptions options) : options_(std::move(options)) {
  if (options_.cutmix_minmax) {
    options_.cutmix_alpha = 1.0;  // as timm: a min/max ratio enables cutmix
  }
  if (options_.mode != "batch" && options_.mode != "pair" && options_.mode != "elem") {
    throw UsageError(text("unknown mixup mode '", options_.mode, "' (batch, pair or elem)"));
  }
}

bool Mixup::active() const { return options_.mixup_alpha > 0.0 || options_.cutmix_alpha > 0.0; }

std::pair<double, bool> Mixup::draw(Rng& rng) const {
  if (rng.uniform(0.0, 1.0) >= options_.prob) {
    return {1.0, false};
  }
  const bool both = options_.mixup_alpha > 0.0 && options_.cutmix_alpha > 0.0;
  const bool cut = both ? rng.uniform(0.0, 1.0) < options_.switch_prob : options_.mixup_alpha <= 0.0;
  const double alpha = cut ? options_.cutmix_alpha : options_.mixup_alpha;
  return {rng.beta(alpha, alpha), cut};
}

Mixup::Box Mixup::cut_box(int64_t height, int64_t width, double lambda, Rng& rng) const {
  Box box;
  if (options_.cutmix_minmax) {  // rand_bbox_minmax
    const auto [low, high] = *options_.cutmix_minmax;
    const int64_t cut_h = rng.randint(static_cast<int64_t>(height * low), static_cast<int64_t>(height * high));
    const int64_t cut_w = rng.randint(static_cast<int64_t>(width * low), static_cast<int64_t>(width * high));
    box.top = rng.randint(0, height - cut_h);
    box.left = rng.randint(0, width - cut_w);
    box.bottom = box.top + cut_h;
    box.right = box.left + cut_w;
  } else {  // rand_bbox: a box of side ratio sqrt(1 - lambda) around a uniform centre, clipped to the image
    const double ratio = std::sqrt(1.0 - lambda);
    const auto cut_h = static_cast<int64_t>(height * ratio);
    const auto cut_w = static_cast<int64_t>(width * ratio);
    const int64_t cy = rng.randint(0, height);
    const int64_t cx = rng.randint(0, width);
    box.top = std::clamp<int64_t>(cy - cut_h / 2, 0, height);
    box.bottom = std::clamp<int64_t>(cy + cut_h / 2, 0, height);
    box.left = std::clamp<int64_t>(cx - cut_w / 2, 0, width);
    box.right = std::clamp<int64_t>(cx + cut_w / 2, 0, width);
  }
  // correct_lam: the weight is the share of the image that stayed.
  box.lambda = 1.0 - static_cast<double>((box.bottom - box.top) * (box.right - box.left)) /
                         static_cast<double>(height * width);
  return box;
}

at::Tensor Mixup::Box::of(const at::Tensor& image) const {
  return image.slice(-2, top, bottom).slice(-1, left, right);
}

Mixed Mixup::apply(at::Tensor& images, const at::Tensor& labels, Rng& rng) const {
  const int64_t batch = images.size(0);
  if (batch % 2 != 0) {
    throw UsageError(text("mixup/cutmix needs an even batch size, got ", batch));
  }
  std::vector<float> lambdas(static_cast<std::size_t>(batch), 1.0F);
  if (options_.mode == "batch") {
    auto [lambda, use_cut] = draw(rng);
    if (lambda != 1.0) {
      const at::Tensor flipped = images.flip(0);
      if (use_cut) {
        const Box box = cut_box(images.size(-2), images.size(-1), lambda, rng);
        box.of(images).copy_(box.of(flipped));
        lambda = box.lambda;
      } else {
        images.mul_(lambda).add_(flipped.mul(1.0 - lambda));
      }
    }
    std::fill(lambdas.begin(), lambdas.end(), static_cast<float>(lambda));
  } else {
    const at::Tensor original = images.clone();
    const int64_t pairs = options_.mode == "pair" ? batch / 2 : batch;
    for (int64_t i = 0; i < pairs; ++i) {
      const int64_t j = batch - i - 1;
      auto [lambda, use_cut] = draw(rng);
      if (lambda != 1.0) {
        if (use_cut) {
          const Box box = cut_box(images.size(-2), images.size(-1), lambda, rng);
          box.of(images[i]).copy_(box.of(original[j]));
          if (options_.mode == "pair") {  // the partner gets the same box from i
            box.of(images[j]).copy_(box.of(original[i]));
          }
          lambda = box.lambda;
        } else {
          images[i].copy_(original[i] * lambda + original[j] * (1.0 - lambda));
          if (options_.mode == "pair") {
            images[j].copy_(original[j] * lambda + original[i] * (1.0 - lambda));
          }
        }
      }
      lambdas[static_cast<std::size_t>(i)] = static_cast<float>(lambda);
      if (options_.mode == "pair") {
        lambdas[static_cast<std::size_t>(j)] = static_cast<float>(lambda);
      }
    }
  }
  const at::Tensor lambda = at::tensor(lambdas, at::TensorOptions().dtype(at::kFloat)).to(labels.device());
  const at::Tensor own = smoothed_one_hot(labels, options_.num_classes, options_.label_smoothing);
  const at::Tensor partner = smoothed_one_hot(labels.flip(0), options_.num_classes, options_.label_smoothing);
  const at::Tensor weight = lambda.unsqueeze(1);
  return {own * weight + partner * (1.0 - weight), lambda};
}

}  // namespace mae::data
