// mae_shard: an image folder packed into WebDataset tar shards with a JSON index, for mae_pretrain --data_path on
// cluster filesystems and object stores (docs/data.md, "Shards").
#include <iostream>

#include "cli/run_app.h"
#include "mae/config/tool_configs.h"
#include "mae/data/shards/shard_packer.h"
#include "mae/util/log.h"
#include "mae/util/strings.h"

int main(int argc, char** argv) {
  mae::config::ShardConfig config;
  return mae::apps::run_app(
      {"mae_shard", "Pack an image folder into WebDataset tar shards with an index.json",
       "Example: mae_shard --data_path data/demo --output_dir data/demo_shards --samples_per_shard 500\n"
       "More: docs/data.md (Shards)\n"},
      config, argc, argv, [&] {
        mae::data::PackOptions options;
        options.input = config.data_path;
        options.output = config.output_dir;
        options.shard_size_mb = config.shard_size_mb;
        options.samples_per_shard = config.samples_per_shard;
        options.resize = config.resize;
        options.jpeg_quality = config.jpeg_quality;
        options.threads = config.num_workers;
        options.strict_data = config.strict_data;
        options.max_image_pixels = config.max_image_pixels;
        const auto summary = mae::data::pack_shards(
            options, [](const mae::data::PackProgress& progress) { mae::log::info(mae::data::describe(progress)); });
        for (const auto& split : summary.splits) {
          std::cout << mae::text(split.folder, ": ", split.shards.size(), " shards, ", split.samples, " samples, ",
                                 mae::fixed(static_cast<double>(split.bytes) / (1 << 20), 1), " MiB, ",
                                 split.skipped.size(), " skipped, ", mae::fixed(split.seconds, 1), " s (",
                                 mae::fixed(static_cast<double>(split.samples) / std::max(split.seconds, 1e-9), 0),
                                 " images/s)")
                    << '\n';
        }
      });
}
