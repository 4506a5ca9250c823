#include "mae/data/shards/shard_packer.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <optional>
#include <thread>
#include <utility>

#include "mae/data/folder/image_folder.h"
#include "mae/data/image/image_io.h"
#include "mae/data/augment/resample.h"
#include "mae/data/shards/tar_writer.h"
#include "mae/util/atomic_write.h"
#include "mae/util/error.h"
#include "mae/util/log.h"
#include "mae/util/strings.h"

namespace mae::data {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

constexpr const char* kFormat = "mae-cpp shards 1";
constexpr std::size_t kWarnedSkips = 20;  // skipped images named one by one; the rest are counted

std::string lower(std::string value) {
  std::transform(value.begin(), value.end(), value.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return value;
}

// The extensions that TarSampleReader takes as an image.
bool shard_format(const std::string& extension) {
  static constexpr std::array<const char*, 4> kFormats{"jpg", "jpeg", "png", "webp"};
  return std::find(kFormats.begin(), kFormats.end(), extension) != kFormats.end();
}

std::vector<uint8_t> read_bytes(const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  if (!file) {
    throw IoError(text("cannot read image '", path, "': ", std::strerror(errno)));
  }
  std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
  if (file.bad()) {
    throw IoError(text("cannot read image '", path, "'"));
  }
  return bytes;
}

std::vector<uint8_t> encode(const cv::Mat& rgb, const std::string& extension, const std::vector<int>& parameters,
                            const std::string& path) {
  cv::Mat bgr;
  cv::cvtColor(rgb, bgr, cv::COLOR_RGB2BGR);
  std::vector<uint8_t> bytes;
  if (!cv::imencode(extension, bgr, bytes, parameters)) {
    throw IoError(text("cannot encode image '", path, "' as ", extension));
  }
  return bytes;
}

// One image made ready for its shard by a worker: its bytes and extension, or why it cannot be packed.
struct Prepared {
  bool ok = false;
  std::vector<uint8_t> bytes;
  std::string extension;
  std::string error;  // names the image
};

Prepared prepare(const std::string& path, const PackOptions& options) {
  Prepared prepared;
  try {
    std::vector<uint8_t> bytes = read_bytes(path);
    const std::string extension = lower(fs::path(path).extension().string().substr(1));
    cv::Mat rgb = EncodedImage::from_bytes(bytes, path, options.max_image_pixels).decode();
    const bool shrink = options.resize > 0 && std::min(rgb.rows, rgb.cols) > options.resize;
    if (shrink) {
      // torchvision's Resize(resize) on a PIL image (data/augment/transforms.cpp resize_shorter_side).
      const int short_side = std::min(rgb.rows, rgb.cols);
      const int long_side = std::max(rgb.rows, rgb.cols);
      const int new_long = static_cast<int>(static_cast<int64_t>(options.resize) * long_side / short_side);
      rgb = rgb.rows <= rgb.cols ? resize_bicubic(rgb, new_long, options.resize)
                                 : resize_bicubic(rgb, options.resize, new_long);
    }
    const int quality = options.jpeg_quality > 0 ? options.jpeg_quality : shrink ? 95 : 0;
    if (quality > 0) {
      prepared.bytes = encode(rgb, ".jpg", {cv::IMWRITE_JPEG_QUALITY, quality}, path);
      prepared.extension = "jpg";
    } else if (!shard_format(extension)) {
      prepared.bytes = encode(rgb, ".png", {}, path);
      prepared.extension = "png";
    } else {
      prepared.bytes = std::move(bytes);
      prepared.extension = extension;
    }
    prepared.ok = true;
  } catch (const Error& error) {
    prepared.error = error.what();
  } catch (const std::exception& error) {  // OpenCV's, bad_alloc
    prepared.error = text("cannot pack image '", path, "': ", error.what());
  }
  return prepared;
}

// Prepares the images of a list on `threads` workers and hands them out in list order, at most `window` ahead of
// the consumer.
class OrderedPool {
 public:
  OrderedPool(const std::vector<Sample>& samples, const PackOptions& options)
      : samples_(samples), options_(options), window_(std::max<std::size_t>(16, 4 * options.threads)), slots_(window_) {
    for (int i = 0; i < options.threads; ++i) {
      workers_.emplace_back([this] { work(); });
    }
  }
  ~OrderedPool() {
    {
      std::lock_guard lock(mutex_);
      stop_ = true;
    }
    space_.notify_all();
    for (auto& worker : workers_) {
      worker.join();
    }
  }
  OrderedPool(const OrderedPool&) = delete;
  OrderedPool& operator=(const OrderedPool&) = delete;

  // The prepared image `index`; indices must be taken in order 0, 1, 2, ...
  Prepared take(std::size_t index) {
    std::unique_lock lock(mutex_);
    auto& slot = slots_[index % window_];
    ready_.wait(lock, [&] { return slot.has_value(); });
    Prepared prepared = std::move(*slot);
    slot.reset();
    taken_ = index + 1;
    lock.unlock();
    space_.notify_all();
    return prepared;
  }

 private:
  void work() {
    for (;;) {
      std::size_t index = 0;
      {
        std::unique_lock lock(mutex_);
        space_.wait(lock, [&] { return stop_ || claimed_ >= samples_.size() || claimed_ < taken_ + window_; });
        if (stop_ || claimed_ >= samples_.size()) {
          return;
        }
        index = claimed_++;
      }
      Prepared prepared = prepare(samples_[index].path, options_);
      {
        std::lock_guard lock(mutex_);
        slots_[index % window_] = std::move(prepared);
      }
      ready_.notify_all();
    }
  }

  const std::vector<Sample>& samples_;
  const PackOptions& options_;
  const std::size_t window_;
  std::vector<std::optional<Prepared>> slots_;
  std::mutex mutex_;
  std::condition_variable ready_;  // a slot was filled
  std::condition_variable space_;  // the consumer took one, or stop
  std::size_t claimed_ = 0;        // the next index a worker takes
  std::size_t taken_ = 0;          // the next index the consumer takes
  bool stop_ = false;
  std::vector<std::thread> workers_;
};

// A file under its temporary name, removed unless it was published.
class TemporaryFile {
 public:
  explicit TemporaryFile(fs::path path) : path_(std::move(path)), temporary_(temporary_name(path_.string())) {
    file_.open(temporary_, std::ios::binary | std::ios::trunc);
    if (!file_) {
      throw IoError(text("cannot create '", temporary_.string(), "': ", std::strerror(errno),
                         " (check that --output_dir is writable)"));
    }
  }
  ~TemporaryFile() {
    if (!published_) {
      file_.close();
      std::error_code ignored;
      fs::remove(temporary_, ignored);
    }
  }
  TemporaryFile(const TemporaryFile&) = delete;
  TemporaryFile& operator=(const TemporaryFile&) = delete;

  std::ofstream& stream() { return file_; }
  const fs::path& path() const { return path_; }

  // Closes the file, flushes it to disk and renames it to its final name.
  void publish() {
    file_.close();
    if (!file_) {
      throw IoError(text("cannot write '", temporary_.string(), "' (disk full?)"));
    }
    rename_durably(temporary_.string(), path_.string());
    published_ = true;
  }

 private:
  fs::path path_;
  fs::path temporary_;
  std::ofstream file_;
  bool published_ = false;
};

// The shards of one split, opened as samples arrive and closed at ShardWriter's limits.
class ShardSequence {
 public:
  ShardSequence(fs::path folder, std::string prefix, const PackOptions& options)
      : folder_(std::move(folder)),
        prefix_(std::move(prefix)),
        max_bytes_(options.shard_size_mb * 1024.0 * 1024.0),
        max_samples_(options.samples_per_shard) {}

  void add(const std::string& key, std::optional<int64_t> label, const Prepared& image) {
    if (writer_ && (static_cast<double>(writer_->bytes_written()) >= max_bytes_ ||
                    (max_samples_ > 0 && shards_.back().samples >= max_samples_))) {
      close();
    }
    if (!writer_) {
      open();
    }
    if (label) {
      writer_->add(key + ".cls", std::to_string(*label));
    }
    writer_->add(key + "." + image.extension, image.bytes);
    shards_.back().samples += 1;
  }

  void close() {
    if (!writer_) {
      return;
    }
    writer_->finish();
    shards_.back().bytes = writer_->bytes_written();
    closed_bytes_ += writer_->bytes_written();
    file_->publish();
    writer_.reset();
    file_.reset();
  }

  const std::vector<PackedShard>& shards() const { return shards_; }
  // The tar bytes written so far, closed shards whole.
  uint64_t bytes() const { return closed_bytes_ + (writer_ ? writer_->bytes_written() : 0); }

 private:
  void open() {
    PackedShard shard;
    char number[32];
    std::snprintf(number, sizeof number, "%06zu", shards_.size());
    shard.name = text(prefix_, "-", number, ".tar");
    file_ = std::make_unique<TemporaryFile>(folder_ / shard.name);
    writer_ = std::make_unique<TarWriter>(file_->stream(), temporary_name((folder_ / shard.name).string()));
    shards_.push_back(shard);
  }
  fs::path folder_;
  std::string prefix_;
  double max_bytes_;
  int64_t max_samples_;
  std::vector<PackedShard> shards_;
  std::unique_ptr<TemporaryFile> file_;
  std::unique_ptr<TarWriter> writer_;
  uint64_t closed_bytes_ = 0;
};

std::string key_of(std::size_t index) {
  char key[32];
  std::snprintf(key, sizeof key, "%09zu", index);
  return key;
}

void write_index(const PackedSplit& split) {
  nlohmann::ordered_json shards = nlohmann::ordered_json::array();
  for (const auto& shard : split.shards) {
    shards.push_back({{"name", shard.name}, {"samples", shard.samples}});
  }
  nlohmann::ordered_json index;
  index["format"] = kFormat;
  index["classes"] = split.classes;
  index["shards"] = std::move(shards);
  index["samples"] = split.samples;
  TemporaryFile file(fs::path(split.folder) / "index.json");
  file.stream() << index.dump(2) << "\n";
  file.publish();
  sync_to_disk(split.folder, true);  // the renames of the shards and the index
}

struct SplitPlan {
  std::string name;
  std::string prefix;
  fs::path source;
  fs::path folder;
  std::optional<ImageFolder> images;
  bool labelled = false;
};

// Whether `inner` is `outer` or lies below it (both absolute and normal).
bool inside(const fs::path& inner, const fs::path& outer) {
  const auto end_outer = std::mismatch(outer.begin(), outer.end(), inner.begin(), inner.end()).first;
  return end_outer == outer.end();
}

void check_options(const PackOptions& options) {
  if (options.input.empty() || options.output.empty()) {
    throw UsageError("mae_shard needs an input folder (--data_path) and an output folder (--output_dir)");
  }
  if (!(options.shard_size_mb > 0)) {
    throw UsageError(text("--shard_size_mb must be > 0 (MiB of tar data per shard), got ", options.shard_size_mb));
  }
  if (options.samples_per_shard < 0) {
    throw UsageError(text("--samples_per_shard must be >= 0 (0: no count limit), got ", options.samples_per_shard));
  }
  if (options.resize < 0) {
    throw UsageError(text("--resize must be >= 0 (0: keep the size), got ", options.resize));
  }
  if (options.jpeg_quality < 0 || options.jpeg_quality > 100) {
    throw UsageError(text("--jpeg_quality must be in 0..100 (0: keep the bytes), got ", options.jpeg_quality));
  }
  if (options.threads < 1) {
    throw UsageError(text("--threads must be >= 1, got ", options.threads));
  }
}

std::vector<SplitPlan> plan(const PackOptions& options) {
  const fs::path input(options.input);
  if (!fs::is_directory(input)) {
    throw UsageError(text("input folder '", options.input, "' ",
                          fs::exists(input) ? "is not a folder" : "does not exist", " (check --data_path)"));
  }
  const fs::path output(options.output);
  if (inside(fs::weakly_canonical(fs::absolute(output)), fs::canonical(input))) {
    throw UsageError(text("output folder '", options.output, "' lies inside the input folder '", options.input,
                          "': choose an --output_dir outside it"));
  }
  std::vector<SplitPlan> splits;
  for (const char* name : {"train", "val"}) {
    if (fs::is_directory(input / name)) {
      splits.push_back({name, name, input / name, output / name, std::nullopt, false});
    }
  }
  if (splits.empty()) {
    splits.push_back({"", "shard", input, output, std::nullopt, false});
  }
  for (auto& split : splits) {
    if (!fs::is_directory(split.folder)) {
      continue;
    }
    for (const auto& entry : fs::directory_iterator(split.folder)) {
      const std::string file = entry.path().filename().string();
      if (file == "index.json" || (file.starts_with(split.prefix + "-") && file.ends_with(".tar"))) {
        throw UsageError(text("output folder '", split.folder.string(), "' already holds shards ('", file,
                              "'): choose another --output_dir, or remove them to pack again"));
      }
    }
  }
  for (auto& split : splits) {
    split.images = ImageFolder::with_classes_if_any(split.source.string());
    split.labelled = !split.images->classes().empty();
  }
  if (splits.size() == 2 && splits[0].labelled && splits[1].labelled &&
      splits[0].images->classes() != splits[1].images->classes()) {
    log::warn(text("'", splits[1].source.string(), "' has other classes than '", splits[0].source.string(),
                   "': their labels differ; each split's index.json lists its own classes"));
  }
  return splits;
}

std::string clock_time(double seconds) {
  const auto total = static_cast<int64_t>(seconds + 0.5);
  char buffer[48];
  std::snprintf(buffer, sizeof buffer, "%lld:%02lld:%02lld", static_cast<long long>(total / 3600),
                static_cast<long long>(total / 60 % 60), static_cast<long long>(total % 60));
  return buffer;
}

PackedSplit pack_split(SplitPlan& split, const PackOptions& options,
                       const std::function<void(const PackProgress&)>& progress) {
  const ImageFolder& folder = *split.images;
  report_unreadable(folder, options.strict_data);
  PackedSplit packed;
  packed.name = split.name;
  packed.prefix = split.prefix;
  packed.folder = split.folder.string();
  if (split.labelled) {
    packed.classes = folder.classes();
  }
  std::error_code error;
  fs::create_directories(split.folder, error);
  if (error || !fs::is_directory(split.folder)) {
    throw IoError(text("cannot create output folder '", split.folder.string(), "'",
                       error ? ": " + error.message() : std::string{}, " (check --output_dir)"));
  }

  const auto& samples = folder.samples();
  const auto start = Clock::now();
  auto last_report = start;
  const auto report = [&](std::size_t done, const ShardSequence& shards) {
    if (!progress) {
      return;
    }
    PackProgress state;
    state.split = split.prefix;
    state.done = static_cast<int64_t>(done);
    state.total = static_cast<int64_t>(samples.size());
    state.skipped = static_cast<int64_t>(packed.skipped.size());
    state.shards = static_cast<int64_t>(shards.shards().size());
    state.bytes = shards.bytes();
    state.elapsed_seconds = std::chrono::duration<double>(Clock::now() - start).count();
    if (done > 0 && state.elapsed_seconds > 0) {
      state.eta_seconds =
          static_cast<double>(samples.size() - done) * state.elapsed_seconds / static_cast<double>(done);
    }
    progress(state);
  };

  ShardSequence shards(split.folder, split.prefix, options);
  {
    OrderedPool pool(samples, options);
    for (std::size_t i = 0; i < samples.size(); ++i) {
      const Prepared image = pool.take(i);
      if (image.ok) {
        shards.add(key_of(i), split.labelled ? std::optional<int64_t>(samples[i].label) : std::nullopt, image);
        packed.samples += 1;
      } else if (options.strict_data) {
        throw IoError(text(image.error, " (--strict_data)"));
      } else {
        if (packed.skipped.size() < kWarnedSkips) {
          log::warn(text("skipping an image: ", image.error));
        }
        packed.skipped.push_back(image.error);
      }
      const auto now = Clock::now();
      if (now - last_report >= std::chrono::seconds(1)) {
        last_report = now;
        report(i + 1, shards);
      }
    }
  }
  if (packed.samples == 0) {
    throw IoError(text("no image under '", folder.root(), "' could be packed (", packed.skipped.size(),
                       " could not be decoded; the first: ", packed.skipped.empty() ? "" : packed.skipped.front(),
                       ")"));
  }
  shards.close();
  packed.shards = shards.shards();
  packed.bytes = shards.bytes();
  write_index(packed);
  packed.seconds = std::chrono::duration<double>(Clock::now() - start).count();
  report(samples.size(), shards);
  if (!packed.skipped.empty()) {
    log::warn(text(packed.skipped.size(), " image", packed.skipped.size() == 1 ? "" : "s", " under '", folder.root(),
                   "' could not be decoded and ", packed.skipped.size() == 1 ? "was" : "were",
                   " skipped, the first: ", packed.skipped.front(), " (--strict_data makes this an error)"));
  }
  return packed;
}

}  // namespace

std::string describe(const PackProgress& progress) {
  const double rate = progress.elapsed_seconds > 0 ? static_cast<double>(progress.done) / progress.elapsed_seconds : 0;
  return text(progress.split, ": ", progress.done, "/", progress.total, " images",
              progress.skipped > 0 ? text(", ", progress.skipped, " skipped") : std::string{}, ", ", progress.shards,
              progress.shards == 1 ? " shard, " : " shards, ",
              fixed(static_cast<double>(progress.bytes) / (1024.0 * 1024.0), 1), " MiB, ", fixed(rate, 0),
              " img/s, eta ", progress.eta_seconds >= 0 ? clock_time(progress.eta_seconds) : std::string("?"));
}

PackSummary pack_shards(const PackOptions& options, const std::function<void(const PackProgress&)>& progress) {
  check_options(options);
  try {
    std::vector<SplitPlan> splits = plan(options);
    PackSummary summary;
    for (auto& split : splits) {
      summary.splits.push_back(pack_split(split, options, progress));
    }
    return summary;
  } catch (const fs::filesystem_error& error) {  // a folder that cannot be listed or created
    throw IoError(text("cannot pack '", options.input, "' into '", options.output, "': ", error.what()));
  }
}

}  // namespace mae::data
