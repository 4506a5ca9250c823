#include "mae/data/shards/shard_loader.h"

#include <ATen/ATen.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <memory>
#include <numeric>
#include <nlohmann/json.hpp>

#include "mae/data/image/image_io.h"
#include "mae/data/augment/rng.h"
#include "mae/data/shards/shard_source.h"
#include "mae/data/shards/tar_samples.h"
#include "mae/util/error.h"
#include "mae/util/log.h"
#include "mae/util/strings.h"

namespace mae::data {
namespace fs = std::filesystem;
namespace {

// A ShardLoader evaluates (every sample of the rank's shards once, in order; loader_options.h) when it keeps the last
// partial batch.
bool evaluation(const LoaderOptions& options) { return !options.drop_last; }

// Random streams of the loader besides the samples' own (Rng(seed, epoch, sample)): distinct from any sample index.
constexpr uint64_t kShardOrderStream = uint64_t{1} << 62;
constexpr uint64_t kShuffleBufferStream = (uint64_t{1} << 62) + (uint64_t{1} << 40);
// The id of a sample whose key is not a number: its worker slot in the high bits, its position in the slot's epoch
// stream in the low ones (above any index an image folder can have).
constexpr int kSampleBits = 40;

// A key that is a number: mae_shard's keys are the image's position in its folder's ImageFolder list, so the sample
// draws its random transform from the stream the folder loader uses for that image.
std::optional<uint64_t> folder_index_in(const std::string& key) {
  if (key.empty() || key.size() > 18 || !std::all_of(key.begin(), key.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return std::nullopt;
  }
  return std::stoull(key);
}

// The shards of one (rank, worker) slot in turn, started again from the first when the last ends, through a
// shuffle buffer; unreadable samples and shards are skipped (recorded in the ledger) or, with strict_data, thrown.
// A shard read to its end is checked against index.json's count of it (`indexed`, empty without an index).
class SampleStream {
 public:
  // `once`: the shards are read once, in order, and the stream then ends (evaluation); otherwise it never ends.
  SampleStream(std::vector<std::string> shards, const LoaderOptions& options, Rng rng, SkipLedger& ledger,
               const std::map<std::string, int64_t>& indexed, bool once)
      : shards_(std::move(shards)), options_(options), rng_(rng), ledger_(ledger), indexed_(indexed), once_(once) {}

  std::optional<TarSample> next() {
    const auto capacity = static_cast<std::size_t>(once_ ? 1 : std::max<int64_t>(options_.shuffle_buffer, 1));
    while (!ended_ && buffer_.size() < capacity) {
      if (auto sample = read_one()) {
        buffer_.push_back(std::move(*sample));
      } else {
        ended_ = true;
      }
    }
    if (buffer_.empty()) {
      return std::nullopt;
    }
    const auto pick = static_cast<std::size_t>(rng_.randint(0, static_cast<int64_t>(buffer_.size())));
    std::swap(buffer_[pick], buffer_.back());
    TarSample sample = std::move(buffer_.back());
    buffer_.pop_back();
    return sample;
  }

 private:
  std::optional<TarSample> read_one() {
    int64_t shards_without_sample = 0;
    while (true) {
      if (!reader_) {
        if (once_ && next_shard_ == shards_.size()) {
          return std::nullopt;
        }
        if (shards_without_sample > static_cast<int64_t>(shards_.size())) {
          throw IoError(text("none of the ", shards_.size(), " shard(s) of a loader worker holds a readable sample (",
                             join(shards_, ", ", 3), ")"));
        }
        open(shards_[next_shard_++ % shards_.size()]);
        ++shards_without_sample;
        if (!reader_) {
          continue;
        }
      }
      try {
        auto sample = reader_->next();
        record_skips();
        check_indexed_count();
        if (sample) {
          return std::move(*sample);
        }
        check_indexed_count(/*shard_ended=*/true);
      } catch (const IoError& error) {  // a truncated or corrupt shard, a failing pipe: the rest of it is lost
        if (options_.strict_data) {
          throw;
        }
        record_skips();
        ledger_.record(reader_->shard(), text(error.what(), "; the rest of the shard is lost"));
      }
      reader_.reset();
      source_.reset();
    }
  }

  void open(const std::string& shard) {
    recorded_in_shard_ = 0;
    const auto indexed = indexed_.find(fs::path(shard).filename().string());  // once a shard, not once a sample
    indexed_in_shard_ = indexed == indexed_.end() ? std::nullopt : std::optional<int64_t>(indexed->second);
    try {
      source_ = std::make_unique<ShardSource>(shard, options_.pipe_timeout);
      reader_ = std::make_unique<TarSampleReader>(
          *source_, TarSampleOptions{options_.strict_data, options_.require_labels, options_.num_classes});
    } catch (const IoError& error) {  // a missing shard, a command that cannot start
      if (options_.strict_data) {
        throw;
      }
      ledger_.record(shard, error.what());
      source_.reset();
      reader_.reset();
    }
  }

  // The samples the reader skipped since the last call, into the ledger.
  void record_skips() {
    const auto& skips = reader_->skips();
    for (; recorded_in_shard_ < skips.size(); ++recorded_in_shard_) {
      ledger_.record(text(reader_->shard(), ":", skips[recorded_in_shard_].key), skips[recorded_in_shard_].reason);
    }
  }

  // index.json's count of the shard against the samples met in it: more than indexed as soon as it happens, fewer
  // once the shard has ended. Training only warns (an epoch is a number of samples, whatever the shards hold);
  // evaluation stops at more, which it would leave out unseen, and warns at fewer, whose batches come out partial.
  void check_indexed_count(bool shard_ended = false) {
    if (!indexed_in_shard_) {
      return;
    }
    const auto met = static_cast<int64_t>(reader_->samples());
    if (met > *indexed_in_shard_) {
      const std::string message = text("shard '", reader_->shard(), "' holds more samples than the ",
                                       *indexed_in_shard_, " its index.json gives it");
      if (evaluation(options_)) {
        throw UsageError(text(message, ": an evaluation counted from the index would leave samples out; pack the ",
                              "shards again (mae_shard) or fix index.json"));
      }
      ledger_.warn_once(reader_->shard(), text(message, "; the epoch still covers the index's number of samples"));
    } else if (shard_ended && met < *indexed_in_shard_) {
      ledger_.warn_once(reader_->shard(), text("shard '", reader_->shard(), "' holds ", met, " samples, not the ",
                                               *indexed_in_shard_, " its index.json gives it",
                                               evaluation(options_) ? "; the evaluation counts the samples it reads"
                                                                   : "; the epoch still covers the index's number"));
    }
  }

  std::vector<std::string> shards_;
  const LoaderOptions& options_;
  Rng rng_;
  SkipLedger& ledger_;
  const std::map<std::string, int64_t>& indexed_;
  std::size_t next_shard_ = 0;
  std::unique_ptr<ShardSource> source_;
  std::unique_ptr<TarSampleReader> reader_;
  std::size_t recorded_in_shard_ = 0;
  std::optional<int64_t> indexed_in_shard_;  // index.json's count of the open shard, when it has one
  std::vector<TarSample> buffer_;
  bool once_;
  bool ended_ = false;
};

}  // namespace

std::optional<ShardIndex> find_shard_index(const std::vector<std::string>& shards) {
  if (shards.empty() || shards.front().starts_with("pipe:")) {
    return std::nullopt;
  }
  const fs::path path = fs::path(shards.front()).parent_path() / "index.json";
  if (!fs::is_regular_file(path)) {
    return std::nullopt;
  }
  ShardIndex index;
  index.path = path.string();
  try {
    std::ifstream in(path);
    const auto json = nlohmann::json::parse(in);
    index.classes = json.value("classes", std::vector<std::string>{});
    for (const auto& shard : json.at("shards")) {
      index.samples[shard.at("name").get<std::string>()] = shard.at("samples").get<int64_t>();
    }
  } catch (const nlohmann::json::exception& error) {
    throw UsageError(text("shard index '", index.path, "' is malformed: ", error.what()));
  }
  for (const auto& shard : shards) {
    const auto found = index.samples.find(fs::path(shard).filename().string());
    if (found == index.samples.end()) {
      throw UsageError(text("shard '", shard, "' is not in the index '", index.path, "' beside it: give ",
                            "--samples_per_epoch, or pack the shards again (mae_shard)"));
    }
    index.total += found->second;
  }
  return index;
}

ShardLoader::ShardLoader(std::vector<std::string> shards, SampleTransform transform, LoaderOptions options,
                         std::optional<ShardIndex> index)
    : shards_(std::move(shards)), transform_(std::move(transform)), options_(options) {
  if (evaluation(options_)) {
    plan_evaluation(index ? std::move(index) : find_shard_index(shards_));
    return;
  }
  const int slots = options_.world_size * workers();
  if (static_cast<int64_t>(shards_.size()) < slots) {
    throw UsageError(text(shards_.size(), " shard(s) for ", options_.world_size, " rank(s) x ", workers(),
                          " loader worker(s) = ", slots, " readers: each shard is read by one of them, so there must ",
                          "be at least as many shards; lower --num_workers or pack smaller shards"));
  }
  samples_per_epoch_ = options_.samples_per_epoch;
  if (samples_per_epoch_ == 0) {  // else the index is not read: it may be stale, or another packer's
    if (!index) {
      index = find_shard_index(shards_);
    }
    if (!index) {
      throw UsageError(text("the length of an epoch of the shards '", shards_.front(), "'... is unknown: they have ",
                            "no index.json beside them (mae_shard writes one); give --samples_per_epoch"));
    }
    samples_per_epoch_ = index->total;
    indexed_samples_ = index->samples;
  }
  if (batches_per_epoch() == 0) {
    throw UsageError(text("an epoch of ", samples_per_epoch_, " samples over ", options_.world_size, " rank(s) holds ",
                          "no full batch of ", options_.batch_size));
  }
}

void ShardLoader::plan_evaluation(std::optional<ShardIndex> index) {
  if (!index) {
    throw UsageError(text("evaluating from the shards '", shards_.front(), "'... needs their index.json (mae_shard ",
                          "writes one): each sample is read once, in batches counted from it"));
  }
  samples_per_epoch_ = index->total;
  indexed_samples_ = index->samples;
  // Each worker's shards give ceil(samples / batch) batches, the last one partial; the batches are numbered
  // round-robin over the workers that still have one.
  std::vector<int64_t> counts;
  for (int worker = 0; worker < workers(); ++worker) {
    int64_t samples = 0;
    for (const auto& shard : shards_of(0, options_.rank, worker)) {
      samples += index->samples.at(fs::path(shard).filename().string());
    }
    counts.push_back((samples + options_.batch_size - 1) / options_.batch_size);
  }
  evaluation_batches_.assign(static_cast<std::size_t>(workers()), {});
  const int64_t total = std::accumulate(counts.begin(), counts.end(), int64_t{0});
  for (int64_t round = 0; evaluation_batch_count_ < total; ++round) {
    for (std::size_t worker = 0; worker < counts.size(); ++worker) {
      if (round < counts[worker]) {
        evaluation_batches_[worker].push_back(evaluation_batch_count_++);
      }
    }
  }
}

ShardLoader::~ShardLoader() { batches_.stop(); }

int64_t ShardLoader::batches_per_epoch() const {
  const int64_t all = evaluation(options_) ? evaluation_batch_count_
                                          : samples_per_epoch_ / options_.world_size / options_.batch_size;
  return options_.max_batches > 0 ? std::min(all, options_.max_batches) : all;
}

std::vector<std::string> ShardLoader::shards_of(int64_t epoch, int rank, int worker) const {
  std::vector<std::size_t> order(shards_.size());
  for (std::size_t i = 0; i < order.size(); ++i) {
    order[i] = i;
  }
  // Training: Fisher-Yates from the (seed, epoch) stream, the same order on every rank; evaluation: as listed.
  Rng rng(options_.seed, static_cast<uint64_t>(epoch), kShardOrderStream);
  for (std::size_t i = evaluation(options_) ? 0 : order.size(); i > 1; --i) {
    std::swap(order[i - 1], order[static_cast<std::size_t>(rng.randint(0, static_cast<int64_t>(i)))]);
  }
  const auto world = static_cast<std::size_t>(options_.world_size);
  const auto worker_count = static_cast<std::size_t>(workers());
  std::vector<std::string> mine;
  if (evaluation(options_)) {  // shard i is rank i % world's, and that rank's j-th shard its worker j % workers'
    for (std::size_t i = static_cast<std::size_t>(rank); i < order.size(); i += world) {
      if ((i / world) % worker_count == static_cast<std::size_t>(worker)) {
        mine.push_back(shards_[order[i]]);
      }
    }
    return mine;
  }
  // Training: every slot `rank * workers + worker` takes every slots-th shard of the epoch's order.
  const std::size_t slots = world * worker_count;
  const std::size_t slot = static_cast<std::size_t>(rank) * worker_count + static_cast<std::size_t>(worker);
  for (std::size_t i = slot; i < order.size(); i += slots) {
    mine.push_back(shards_[order[i]]);
  }
  return mine;
}

void ShardLoader::start_epoch(int64_t epoch, int64_t first_batch) {
  batches_.stop();
  if (first_batch < 0 || first_batch > batches_per_epoch()) {
    throw Error(text("an epoch of ", batches_per_epoch(), " batches cannot start at batch ", first_batch));
  }
  ledger_.start_epoch(epoch);
  batches_.start(workers(), first_batch,
                 [this, epoch, first_batch](int worker) { worker_loop(worker, epoch, first_batch); });
}

std::vector<int64_t> ShardLoader::batches_of(int worker) const {
  std::vector<int64_t> indices;
  if (evaluation(options_)) {
    for (const int64_t index : evaluation_batches_[static_cast<std::size_t>(worker)]) {
      if (index < batches_per_epoch()) {
        indices.push_back(index);
      }
    }
    return indices;
  }
  for (int64_t index = worker; index < batches_per_epoch(); index += workers()) {
    indices.push_back(index);
  }
  return indices;
}

void ShardLoader::worker_loop(int worker, int64_t epoch, int64_t first_batch) {
  const uint64_t slot = static_cast<uint64_t>(options_.rank) * static_cast<uint64_t>(workers()) + worker;
  const std::vector<int64_t> indices = batches_of(worker);
  std::size_t at = 0;  // the batch being made
  try {
    SampleStream stream(shards_of(epoch, options_.rank, worker), options_,
                        Rng(options_.seed, static_cast<uint64_t>(epoch), kShuffleBufferStream + slot), ledger_,
                        indexed_samples_, /*once=*/evaluation(options_));
    uint64_t position = 0;  // of the next sample in this slot's stream
    const auto [channels, height, width] = transform_.shape;
    for (; at < indices.size(); ++at) {
      const int64_t index = indices[at];
      if (!batches_.wait_turn(index)) {
        return;
      }
      if (index < first_batch) {  // a resumed epoch: the stream goes past these samples without decoding them
        for (int64_t i = 0; i < options_.batch_size; ++i) {
          stream.next();
          ++position;
        }
        continue;
      }
      Batch batch{at::empty({options_.batch_size, channels, height, width}, at::kFloat),
                  at::empty({options_.batch_size}, at::kLong), {}};
      batch.names.reserve(static_cast<std::size_t>(options_.batch_size));
      auto* labels = batch.labels.data_ptr<int64_t>();
      int64_t i = 0;
      while (i < options_.batch_size) {
        const std::optional<TarSample> next = stream.next();
        if (!next) {  // evaluation: this worker's shards are read
          break;
        }
        const TarSample& sample = *next;
        const uint64_t id = folder_index_in(sample.key).value_or((slot << kSampleBits) + position);
        ++position;
        try {
          const EncodedImage image = EncodedImage::from_bytes(
              sample.image, text(sample.shard, ": ", sample.key, ".", sample.image_extension),
              options_.max_image_pixels);
          Rng rng(options_.seed, static_cast<uint64_t>(epoch), id);
          transform_.fill(image, rng, batch.images[i]);
        } catch (const IoError& error) {
          if (options_.strict_data) {
            throw;
          }
          ledger_.record(text(sample.shard, ":", sample.key), error.what());  // the next sample takes its place
          continue;
        }
        labels[i++] = sample.label.value_or(0);
        batch.names.push_back(text(sample.shard, ":", sample.key));
      }
      if (i < options_.batch_size) {
        batch.images = batch.images.narrow(0, 0, i);
        batch.labels = batch.labels.narrow(0, 0, i);
      }
      batches_.put(index, std::move(batch));
    }
  } catch (...) {
    while (at < indices.size() && indices[at] < first_batch) {  // the loop waits for a batch of the resumed epoch
      ++at;
    }
    if (at < indices.size()) {
      batches_.put(indices[at], std::nullopt, std::current_exception());
    }
  }
}

std::optional<Batch> ShardLoader::next() {
  if (batches_.next_index() >= batches_per_epoch()) {
    return std::nullopt;
  }
  return batches_.take();
}

}  // namespace mae::data
