#include "mae/data/pipelines.h"

#include "mae/data/transforms.h"

namespace mae::data {

SampleTransform pretrain_transform(int input_size) {
  return [input_size](const cv::Mat& rgb, Rng& rng) {
    const CropBox box = sample_random_resized_crop(rgb.rows, rgb.cols, rng, {0.2, 1.0});
    cv::Mat image = resized_crop(rgb, box, input_size);
    if (rng.bernoulli(0.5)) {
      image = horizontal_flip(image);
    }
    return to_normalized_tensor(image);
  };
}

SampleTransform linprobe_train_transform(int input_size) {
  return [input_size](const cv::Mat& rgb, Rng& rng) {
    const CropBox box = sample_random_resized_crop_tf(rgb.rows, rgb.cols, rng);
    cv::Mat image = resized_crop(rgb, box, input_size);
    if (rng.bernoulli(0.5)) {
      image = horizontal_flip(image);
    }
    return to_normalized_tensor(image);
  };
}

SampleTransform eval_transform(int input_size) {
  const double crop_pct = input_size <= 224 ? 224.0 / 256.0 : 1.0;
  const int resize_to = static_cast<int>(input_size / crop_pct);
  return [input_size, resize_to](const cv::Mat& rgb, Rng&) {
    return to_normalized_tensor(center_crop(resize_shorter_side(rgb, resize_to), input_size));
  };
}

}  // namespace mae::data
