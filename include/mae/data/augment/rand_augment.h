#pragma once
// timm 0.3.2's RandAugment ("rand-m9-mstd0.5-inc1" for fine-tuning): the op table, magnitudes and sampling of
// rand_augment_transform, applied with the Pillow-exact operations of pillow_ops.h.
#include <opencv2/core/mat.hpp>

#include <string>

#include "mae/data/augment/pillow_ops.h"
#include "mae/data/augment/rng.h"

namespace mae::data {

class RandAugment {
 public:
  // Parses timm's "rand-m<magnitude>[-n<ops>][-mstd<std>][-inc1]" (the increasing-op set; -inc1 is required, as the
  // reference's default has it). `fill` is the mean pixel, (124, 116, 104) for ImageNet. Throws UsageError otherwise.
  RandAugment(const std::string& config, const Rgb& fill = {124, 116, 104});

  // num_ops operations drawn uniformly with replacement from the 15, each applied with probability 0.5 at magnitude
  // N(m, mstd) clipped to [0, 10], with a random sign for the signed ones.
  cv::Mat operator()(const cv::Mat& image, Rng& rng) const;

  double magnitude() const { return magnitude_; }
  int num_ops() const { return num_ops_; }
  double magnitude_std() const { return magnitude_std_; }

 private:
  double magnitude_ = 9.0;
  int num_ops_ = 2;
  double magnitude_std_ = 0.0;
  Rgb fill_;
};

}  // namespace mae::data
