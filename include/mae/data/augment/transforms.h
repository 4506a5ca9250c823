#pragma once
// The reference's image transforms (torchvision / timm / util/crop.py), on 8-bit RGB cv::Mat images until the final
// conversion to a normalised float tensor. Each random transform takes the sample's Rng.
#include <ATen/core/Tensor.h>
#include <opencv2/core/mat.hpp>

#include <array>
#include <cstdint>

#include "mae/data/image/image_io.h"
#include "mae/data/augment/rng.h"

namespace mae::data {

inline constexpr std::array<float, 3> kImagenetMean{0.485F, 0.456F, 0.406F};
inline constexpr std::array<float, 3> kImagenetStd{0.229F, 0.224F, 0.225F};
// For 1-channel (--in_chans 1) input: the averages of ImageNet's three channel statistics.
inline constexpr std::array<float, 3> kGrayMean{0.449F, 0.449F, 0.449F};
inline constexpr std::array<float, 3> kGrayStd{0.226F, 0.226F, 0.226F};

struct CropBox {
  int top = 0;
  int left = 0;
  int height = 0;
  int width = 0;
};

// torchvision RandomResizedCrop.get_params: 10 tries of area ~ U(scale) x area and log-uniform aspect ratio, then the
// centre crop clamped to the ratio range.
CropBox sample_random_resized_crop(int height, int width, Rng& rng, std::array<double, 2> scale = {0.08, 1.0},
                                   std::array<double, 2> ratio = {3.0 / 4.0, 4.0 / 3.0});

// util/crop.py (linear probing): one try, and the box is clamped to the image instead of retried.
CropBox sample_random_resized_crop_tf(int height, int width, Rng& rng, std::array<double, 2> scale = {0.08, 1.0},
                                      std::array<double, 2> ratio = {3.0 / 4.0, 4.0 / 3.0});

// F.resized_crop: the box, resized to size x size with PIL's antialiased bicubic. Only the box is decoded.
cv::Mat resized_crop(const EncodedImage& image, const CropBox& box, int size);

// Resize(size): the shorter side becomes `size`, the longer int(size * long / short); bicubic.
cv::Mat resize_shorter_side(const cv::Mat& image, int size);

// CenterCrop(size): top = int(round((h - size) / 2)), left likewise. The result shares the image's pixels.
cv::Mat center_crop(const cv::Mat& image, int size);

cv::Mat horizontal_flip(const cv::Mat& image);

// ToTensor + Normalize: [C, H, W] float32, (pixel / 255 - mean) / std. write_normalized writes into `out`, a
// contiguous float tensor of that shape (a batch's slot); to_normalized_tensor allocates it.
void write_normalized(const cv::Mat& image, const at::Tensor& out, const std::array<float, 3>& mean = kImagenetMean,
                      const std::array<float, 3>& std = kImagenetStd);
at::Tensor to_normalized_tensor(const cv::Mat& image, const std::array<float, 3>& mean = kImagenetMean,
                                const std::array<float, 3>& std = kImagenetStd);

// PIL's luma of one RGB pixel (Convert.c rgb2l): L = (19595 R + 38470 G + 7471 B + 0x8000) >> 16, ITU-R 601-2.
inline uint8_t pil_luma(const uint8_t* rgb) {
  return static_cast<uint8_t>((rgb[0] * 19595U + rgb[1] * 38470U + rgb[2] * 7471U + 0x8000U) >> 16);
}

// PIL's convert('L'): pil_luma of every pixel, bit-exact.
cv::Mat to_grayscale(const cv::Mat& rgb);

// The last step of every pipeline: RGB normalised with the ImageNet statistics ([3, H, W]) or, for in_chans 1, the
// image's PIL luminance normalised with kGrayMean/kGrayStd ([1, H, W]). Augmentations run on RGB before it, so
// RandAugment's colour operations keep their meaning. write_model_input takes in_chans from `out`'s first dimension.
void write_model_input(const cv::Mat& rgb, const at::Tensor& out);
at::Tensor to_model_input(const cv::Mat& rgb, int in_chans);

}  // namespace mae::data
