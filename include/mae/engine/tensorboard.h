#pragma once
// TensorBoard event files as torch.utils.tensorboard.SummaryWriter writes them for the reference's --log_dir: a
// TFRecord stream of Event protos (first the file version "brain.Event:2", then one simple_value scalar per
// add_scalar) in <log_dir>/events.out.tfevents.<unix time>.<host>.<pid>.0. Each event is flushed as it is written,
// so a crash loses none of them.
#include <cstdint>
#include <fstream>
#include <string>
#include <string_view>

namespace mae::engine {

class TensorBoardWriter {
 public:
  // Creates log_dir if needed; IoError naming the path when the file cannot be written.
  explicit TensorBoardWriter(const std::string& log_dir);
  void add_scalar(const std::string& tag, double value, int64_t step);
  const std::string& path() const { return path_; }

 private:
  void write_event(const std::string& event);

  std::string path_;
  std::ofstream file_;
};

// CRC-32C (Castagnoli), the checksum of TFRecord framing.
uint32_t crc32c(std::string_view bytes);

}  // namespace mae::engine
