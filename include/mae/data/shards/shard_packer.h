#pragma once
// The packer behind mae_shard: an image folder in, WebDataset tar shards and a JSON index out, written the way
// webdataset's ShardWriter writes them.
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "mae/data/image/image_header.h"

namespace mae::data {

struct PackOptions {
  std::string input;   // an image folder: with train/ and/or val/ inside, or itself class folders or plain images
  std::string output;  // created when missing; must not lie inside `input`
  // A shard closes at whichever limit it reaches first, checked before each sample as webdataset's
  // ShardWriter(maxsize, maxcount) does: when the tar bytes written so far (headers, data and padding of its members,
  // not the end-of-archive blocks) are at least shard_size_mb MiB (2^20 bytes), or it holds samples_per_shard samples
  // (0: no count limit). So a shard exceeds the size by less than one sample. Must be > 0.
  double shard_size_mb = 1000;
  int64_t samples_per_shard = 0;
  // Re-encoding, to shrink ImageNet-sized data. resize > 0: an image whose shorter side is longer than `resize` is
  // scaled (PIL's antialiased bicubic, as torchvision's Resize(resize): the longer side becomes
  // int(resize * long / short)); smaller images keep their size (no upscaling). jpeg_quality in 1..100: every image is
  // stored as a JPEG of that quality (OpenCV imencode, 4:2:0). With resize > 0 and jpeg_quality 0, resized images are
  // stored as JPEG quality 95 and the others keep their bytes. Without re-encoding, an image's bytes are stored as
  // they are, except formats that shards do not carry (.ppm .bmp .pgm .tif .tiff): those are stored as PNG of their
  // decoded RGB pixels, lossless, so they give the same pixels.
  int resize = 0;
  int jpeg_quality = 0;
  int threads = 2;  // workers that read, decode and re-encode; the output order does not depend on it
  // An image that cannot be read or decoded (and an entry the folder scan cannot read) is an IoError naming it;
  // otherwise it is skipped, counted and named in a warning.
  bool strict_data = false;
  // An image whose header declares more pixels is refused before decoding, as one that cannot be decoded
  // (image_header.h); 0: no limit.
  int64_t max_image_pixels = kPilPixelLimit;
};

struct PackedShard {
  std::string name;  // the file name inside the split's folder, e.g. "train-000003.tar"
  int64_t samples = 0;
  uint64_t bytes = 0;  // the size of the file
};

struct PackedSplit {
  std::string name;    // "train", "val", or "" when the input had neither (then the shards lie in `output` itself)
  std::string prefix;  // of the shard names: the split's name, or "shard"
  std::string folder;  // where its shards and index.json are
  std::vector<std::string> classes;  // in label order; empty for unlabelled images
  std::vector<PackedShard> shards;
  int64_t samples = 0;
  uint64_t bytes = 0;                // of all its shards
  std::vector<std::string> skipped;  // why each skipped image was skipped (the message names it), in folder order
  double seconds = 0;
};

struct PackSummary {
  std::vector<PackedSplit> splits;
};

struct PackProgress {
  std::string split;  // the split's shard prefix: "train", "val" or "shard"
  int64_t done = 0;   // images handled (packed or skipped)
  int64_t total = 0;  // images in the split
  int64_t skipped = 0;
  int64_t shards = 0;  // shards begun
  uint64_t bytes = 0;  // tar bytes written
  double elapsed_seconds = 0;
  double eta_seconds = -1;  // -1 until a rate is known
};

// "train: 1200/4500 images, 3 shards, 41.2 MiB, 350 img/s, eta 0:00:09" (", 2 skipped" after the images when any).
std::string describe(const PackProgress& progress);

// Packs `options.input` as follows.
// - Layout: when the input holds train/ and/or val/, each of them is packed into <output>/<split>/ with shards
//   <split>-000000.tar, <split>-000001.tar, ... (other folders beside them are ignored); otherwise the input itself is
//   packed into <output>/ with shards shard-000000.tar, .... A folder with subfolders is read as
//   ImageFolder::with_classes (labels in its class order), one without as unlabelled images (ImageFolder's order too).
// - Samples, in folder order: `<key>.cls` (the label as decimal text, only when labelled) then `<key>.<ext>` (the
// image;
//   ext its own extension lower-cased, "png" or "jpg" when re-encoded), the members sorted by extension as
//   ShardWriter writes them. The key is the image's position in the folder's list, zero-padded to 9 digits
//   ("000000123"); a skipped image leaves a gap in the keys.
// - Every image is decoded (EncodedImage::from_bytes, the training decode) before it is packed.
// - <folder>/index.json, written after the split's last shard: {"format": "mae-cpp shards 1", "classes": [...],
//   "shards": [{"name": "train-000000.tar", "samples": N}, ...], "samples": total}.
// - Every file is written under `<name>.tmp.<pid>`, flushed to disk (fsync) and renamed when complete, so an
//   interrupted run leaves no partial file under a final name; a failing run removes its temporary file.
// - Output is deterministic: the same input and options give byte-identical files, whatever `threads`.
// - Nothing is overwritten: a split folder that already holds an index.json or a <prefix>-*.tar is a UsageError
//   (checked for all splits before anything is written).
// `progress` is called from the calling thread about once a second per split and once at its end.
// Throws UsageError for bad options, a missing input, an output inside the input, existing shards; IoError for an
// output that cannot be written, and under strict_data for an unreadable image; IoError also when no image of a
// split could be packed.
PackSummary pack_shards(const PackOptions& options, const std::function<void(const PackProgress&)>& progress = {});

}  // namespace mae::data
