#pragma once
// JPEG decoding with libjpeg-turbo, straight to RGB and only as far as a crop needs. PIL decodes with the same
// library and settings (islow DCT, fancy upsampling), so the pixels are PIL's.
#include <opencv2/core/mat.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace mae::data {

// The size of a JPEG this decoder turns into RGB (grey, YCbCr or RGB components); nullopt for anything else (not a
// JPEG, CMYK or YCCK, a header libjpeg rejects), which the caller decodes by other means.
std::optional<cv::Size> jpeg_rgb_size(const std::vector<uint8_t>& bytes);

// The pixels of `region` (inside the image) as 8-bit RGB, equal to that region of the whole decoded image. Rows
// below the region are not decoded, rows above it only entropy-decoded, and columns outside it skipped from the iMCU
// boundary before it (libjpeg's crop): a 0.2-1.0 RandomResizedCrop box costs about two thirds of a whole decode. A
// file that ends early is an error, as in PIL ("image file is truncated"); other corrupt-data warnings are decoded
// through, as PIL does. The result is a view into the decoded rows (which include the margins). Throws IoError
// naming `name`.
cv::Mat decode_jpeg_region(const std::vector<uint8_t>& bytes, const cv::Rect& region, const std::string& name);

}  // namespace mae::data
