#pragma once
// WebDataset's samples: the consecutive members of a shard that share a key, e.g. n01440764/img_17.jpg and
// n01440764/img_17.cls, read as one image and its label.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "mae/data/shards/tar_reader.h"

namespace mae::data {

// A member name split as webdataset's base_plus_ext does: the key is the path up to the first dot of the base name,
// the extension the rest after that dot (`a/b.c.jpg` → `a/b` and `c.jpg`). nullopt when the base name holds no dot
// or starts with one: such members belong to no sample and are ignored.
struct KeyAndExtension {
  std::string key;
  std::string extension;  // as written; grouping compares it lower-cased
};
std::optional<KeyAndExtension> split_member_name(const std::string& name);

struct TarSample {
  std::string key;
  std::string image_extension;   // jpg, jpeg, png or webp, lower-cased
  std::vector<uint8_t> image;    // the encoded image, as a file would hold it (EncodedImage::from_bytes)
  std::optional<int64_t> label;  // from the `.cls` member, when there is one
  std::string shard;
};

struct TarSampleOptions {
  // A bad sample stops the reading with an IoError; otherwise it is skipped and counted (skipped(), first_skip()).
  bool strict = false;
  // A sample without a `.cls` member is bad (classification); pre-training needs no label.
  bool require_label = false;
  // A `.cls` outside [0, num_classes) is bad (classification's --nb_classes): on a GPU it would be a device-side assert
  // in the loss that kills the job. 0: any integer.
  int64_t num_classes = 0;
};

// A sample a TarSampleReader skipped, and why (the reason names the shard and the key or member).
struct SkippedSample {
  std::string key;
  std::string reason;
};

// Groups a shard's members into samples as webdataset's group_by_keys does: consecutive members with the same key
// form a sample, and a member whose extension (lower-cased) the sample already has starts a new one. In a sample:
// the image is the member with extension jpg, jpeg, png or webp; the label the `.cls` member, a decimal integer
// (surrounding whitespace allowed); other members are ignored. A sample is bad when it has no image or more than
// one, a `.cls` that is not an integer or (with num_classes) not a class number, or (with require_label) no `.cls`;
// the error or skip reason names the shard and the key or member, and the value of a bad `.cls`. Errors of the tar stream itself (truncation, a corrupt header) always throw, as TarReader
// does: the rest of that shard cannot be read.
class TarSampleReader {
 public:
  // Reads from `source`, which must outlive the reader.
  TarSampleReader(ByteSource& source, TarSampleOptions options);

  // The next good sample, or nullopt at the end of the shard.
  std::optional<TarSample> next();

  const std::string& shard() const { return reader_.shard(); }
  std::size_t skipped() const { return skips_.size(); }
  // Why the first skipped sample was skipped ("" when none was).
  std::string first_skip() const { return skips_.empty() ? std::string() : skips_.front().reason; }
  // Every sample skipped so far, in shard order.
  const std::vector<SkippedSample>& skips() const { return skips_; }
  // Samples met so far, good and skipped.
  std::size_t samples() const { return samples_; }

 private:
  // The members of the next sample (empty at the end of the shard) with its key.
  std::vector<std::pair<std::string, TarMember>> next_group(std::string& key);

  TarReader reader_;
  TarSampleOptions options_;
  std::optional<TarMember> pending_;  // read, but the first member of the next sample
  std::vector<SkippedSample> skips_;
  std::size_t samples_ = 0;
};

}  // namespace mae::data
