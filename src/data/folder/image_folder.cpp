#include "mae/data/folder/image_folder.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <filesystem>

#include "mae/util/error.h"
#include "mae/util/log.h"
#include "mae/util/strings.h"

namespace mae::data {
namespace {

namespace fs = std::filesystem;

bool is_image(const fs::path& path) {
  static constexpr std::array<const char*, 9> kExtensions{".jpg", ".jpeg", ".png", ".ppm", ".bmp",
                                                          ".pgm", ".tif",  ".tiff", ".webp"};
  std::string extension = path.extension().string();
  std::transform(extension.begin(), extension.end(), extension.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return std::find(kExtensions.begin(), kExtensions.end(), extension) != kExtensions.end();
}

// os.walk(folder, followlinks=True), which torchvision uses: every image below `folder`, following symlinked folders.
// What cannot be read (a folder without permission, a dangling or looping symlink) is skipped, as os.walk does, and
// named in `unreadable`; `ancestors` (canonical paths) stops a symlink that points back up the tree.
void walk(const fs::path& folder, std::vector<fs::path>& ancestors,
          std::vector<std::pair<std::string, std::string>>& found, std::vector<std::string>& unreadable) {
  std::error_code error;
  const fs::path real = fs::canonical(folder, error);
  if (error) {
    unreadable.push_back(text(folder.string(), " (", error.message(), ")"));
    return;
  }
  if (std::find(ancestors.begin(), ancestors.end(), real) != ancestors.end()) {
    unreadable.push_back(text(folder.string(), " (a symlink back to ", real.string(), ", which contains it)"));
    return;
  }
  fs::directory_iterator entries(folder, error);
  if (error) {
    unreadable.push_back(text(folder.string(), " (", error.message(), ")"));
    return;
  }
  ancestors.push_back(real);
  for (; entries != fs::directory_iterator(); entries.increment(error)) {
    const fs::path path = entries->path();
    // The type readdir reported, as os.walk's scandir: no stat() per file on a cluster filesystem. Only a symlink
    // is followed, and one whose target cannot be reached is reported.
    std::error_code status_error;
    fs::file_type type = entries->symlink_status(status_error).type();
    if (!status_error && type == fs::file_type::symlink) {
      type = fs::status(path, status_error).type();
      if (!status_error && type == fs::file_type::not_found) {
        status_error = std::make_error_code(std::errc::no_such_file_or_directory);
      }
    }
    if (status_error) {
      unreadable.push_back(text(path.string(), " (", status_error.message(), ")"));
    } else if (type == fs::file_type::directory) {
      walk(path, ancestors, found, unreadable);
    } else if (type == fs::file_type::regular && is_image(path)) {
      found.emplace_back(path.parent_path().string(), path.filename().string());
    }
  }
  if (error) {
    unreadable.push_back(text(folder.string(), " (listing stopped: ", error.message(), ")"));
  }
  ancestors.pop_back();
}

// sorted(os.walk(folder)) with sorted file names: by containing folder, then by name.
std::vector<std::string> images_below(const fs::path& folder, std::vector<std::string>& unreadable) {
  std::vector<std::pair<std::string, std::string>> found;
  std::vector<fs::path> ancestors;
  walk(folder, ancestors, found, unreadable);
  std::sort(found.begin(), found.end());
  std::vector<std::string> paths;
  for (const auto& [parent, name] : found) {
    paths.push_back((fs::path(parent) / name).string());
  }
  return paths;
}

void require_folder(const fs::path& folder) {
  if (!fs::is_directory(folder)) {
    throw UsageError(text("data folder '", folder.string(), "' ",
                          fs::exists(folder) ? "is not a folder" : "does not exist", " (check --data_path)"));
  }
}

}  // namespace

ImageFolder ImageFolder::with_classes(const std::string& root) {
  require_folder(root);
  ImageFolder folder;
  folder.root_ = root;
  for (const auto& entry : fs::directory_iterator(root)) {
    if (entry.is_directory()) {
      folder.classes_.push_back(entry.path().filename().string());
    }
  }
  std::sort(folder.classes_.begin(), folder.classes_.end());
  if (folder.classes_.empty()) {
    throw UsageError(text("data folder '", root, "' has no class folders (expected ", root, "/<class>/<image>)"));
  }
  std::vector<std::string> empty;
  for (std::size_t label = 0; label < folder.classes_.size(); ++label) {
    const auto images = images_below(fs::path(root) / folder.classes_[label], folder.unreadable_);
    if (images.empty()) {
      empty.push_back(folder.classes_[label]);
    }
    for (const auto& path : images) {
      folder.samples_.push_back({path, static_cast<int64_t>(label)});
    }
  }
  if (!empty.empty()) {
    throw UsageError(text("data folder '", root, "': class folder '", empty.front(), "' holds no image",
                          empty.size() > 1 ? text(" (and ", empty.size() - 1, " more)") : std::string{}));
  }
  return folder;
}

ImageFolder ImageFolder::without_labels(const std::string& root) {
  require_folder(root);
  ImageFolder folder;
  folder.root_ = root;
  for (const auto& path : images_below(root, folder.unreadable_)) {
    folder.samples_.push_back({path, 0});
  }
  if (folder.samples_.empty()) {
    throw UsageError(text("data folder '", root, "' holds no image (.jpg .jpeg .png .ppm .bmp .pgm .tif .tiff .webp)"));
  }
  return folder;
}

void report_unreadable(const ImageFolder& folder, bool strict_data) {
  const auto& unreadable = folder.unreadable();
  if (unreadable.empty()) {
    return;
  }
  if (strict_data) {
    throw IoError(text("cannot read ", unreadable.front(), " under '", folder.root(), "' (--strict_data)"));
  }
  log::warn(text(unreadable.size(), " entr", unreadable.size() == 1 ? "y" : "ies", " under '", folder.root(),
                 "' could not be read and were skipped, the first: ", unreadable.front(),
                 " (--strict_data makes this an error)"));
}

ImageFolder ImageFolder::with_classes_if_any(const std::string& root) {
  if (fs::is_directory(root)) {
    for (const auto& entry : fs::directory_iterator(root)) {
      if (entry.is_directory()) {
        return with_classes(root);
      }
    }
  }
  return without_labels(root);
}

ImageFolder ImageFolder::evenly_spaced(std::size_t count) const {
  if (count >= samples_.size()) {
    return *this;
  }
  ImageFolder subset = *this;
  subset.samples_.clear();
  for (std::size_t i = 0; i < count; ++i) {
    subset.samples_.push_back(samples_[i * samples_.size() / count]);
  }
  return subset;
}

ImageFolder training_images(const std::string& data_path, bool labelled) {
  const fs::path train = fs::path(data_path) / "train";
  if (labelled) {
    if (!fs::is_directory(train)) {
      throw UsageError(text("training folder '", train.string(), "' does not exist (expected --data_path with train/ "
                                                                 "and val/ class folders inside)"));
    }
    return ImageFolder::with_classes(train.string());
  }
  return ImageFolder::without_labels(fs::is_directory(train) ? train.string() : data_path);
}

ImageFolder validation_images(const std::string& data_path, const ImageFolder& train) {
  const fs::path val = fs::path(data_path) / "val";
  if (!fs::is_directory(val)) {
    throw UsageError(text("validation folder '", val.string(), "' does not exist (expected --data_path with train/ "
                                                               "and val/ class folders inside)"));
  }
  ImageFolder folder = ImageFolder::with_classes(val.string());
  if (folder.classes() != train.classes()) {
    std::vector<std::string> missing;
    for (const auto& name : train.classes()) {
      if (std::find(folder.classes().begin(), folder.classes().end(), name) == folder.classes().end()) {
        missing.push_back(name);
      }
    }
    throw UsageError(text("validation folder '", val.string(), "' has other classes than '", train.root(), "'",
                          missing.empty() ? std::string(" (extra classes)")
                                          : text(" (missing '", missing.front(), "'",
                                                 missing.size() > 1 ? text(" and ", missing.size() - 1, " more") : "",
                                                 ")")));
  }
  return folder;
}

}  // namespace mae::data
