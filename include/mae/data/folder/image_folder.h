#pragma once
// torchvision.datasets.ImageFolder's file list, and a plain image tree for pre-training.
#include <cstdint>
#include <string>
#include <vector>

namespace mae::data {

struct Sample {
  std::string path;
  int64_t label = 0;
};

class ImageFolder {
 public:
  // Class folders sorted by name, label = position; inside a class every image of the tree below it, in the order of
  // sorted(os.walk(...)) with sorted file names; extensions .jpg .jpeg .png .ppm .bmp .pgm .tif .tiff .webp in any
  // case. Throws UsageError naming the folder when it is missing, has no class folders, or a class has no image.
  static ImageFolder with_classes(const std::string& root);

  // Every image below `root` (class folders or not), label 0: pre-training needs no labels. Throws UsageError when
  // the folder is missing or holds no image.
  static ImageFolder without_labels(const std::string& root);

  // with_classes when `root` holds a folder (class folders), else without_labels (plain images): what mae_shard packs
  // and mae_extract reads.
  static ImageFolder with_classes_if_any(const std::string& root);

  // At most `count` of the samples, evenly spaced through the list (sample i * size / count), in order: a bounded
  // subset in which every class keeps about its share, with no random draw.
  ImageFolder evenly_spaced(std::size_t count) const;

  const std::vector<Sample>& samples() const { return samples_; }
  const std::vector<std::string>& classes() const { return classes_; }
  std::size_t size() const { return samples_.size(); }
  const std::string& root() const { return root_; }
  // What the scan could not read and skipped, as os.walk does (a folder without permission, a dangling or looping
  // symlink), each as "path (reason)".
  const std::vector<std::string>& unreadable() const { return unreadable_; }

 private:
  std::string root_;
  std::vector<std::string> classes_;
  std::vector<Sample> samples_;
  std::vector<std::string> unreadable_;
};

// --data_path layout: <data_path>/train and <data_path>/val; val must have the train classes (fine-tuning, linear
// probing). Pre-training reads <data_path>/train when it exists, else <data_path> itself.
// The scan's unreadable entries: an IoError naming the first with --strict_data, else one warning naming the first
// and the count.
void report_unreadable(const ImageFolder& folder, bool strict_data);

ImageFolder training_images(const std::string& data_path, bool labelled);
ImageFolder validation_images(const std::string& data_path, const ImageFolder& train);

}  // namespace mae::data
