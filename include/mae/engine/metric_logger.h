#pragma once
// util/misc.py's SmoothedValue and MetricLogger: the reference's progress lines
//   Epoch: [3]  [ 20/156]  eta: 0:01:02  lr: 0.000150  loss: 0.8123 (0.8311)  time: 0.4540  data: 0.0102  max mem: 9120
// every print_freq iterations and at the last, then "<header> Total time: ..." and the averaged stats. On a terminal a
// transient "[i/N] eta" status line shows progress between those lines.
#include <c10/core/Device.h>

#include <chrono>
#include <deque>
#include <map>
#include <string>
#include <functional>
#include <vector>

namespace mae::engine {

// Sums each element across the ranks of a multi-process job, in place (Communicator::all_reduce_sum).
using SumAcrossRanks = std::function<void(std::vector<double>& values)>;

class SmoothedValue {
 public:
  // `format`: "median_global" ("{median:.4f} ({global_avg:.4f})", the default) or "value6" ("{value:.6f}", lr).
  explicit SmoothedValue(std::size_t window = 20, std::string format = "median_global");
  void update(double value, int64_t n = 1);
  double median() const;  // torch.tensor(window).median(): the lower middle value
  double average() const;
  double global_average() const;
  double value() const { return window_.empty() ? global_average() : window_.back(); }
  std::string str() const;
  // synchronize_between_processes: count and total summed over the ranks (the window stays local, as the reference).
  void synchronize(const SumAcrossRanks& sum);

 private:
  std::deque<double> window_;
  std::size_t window_size_;
  std::string format_;
  double total_ = 0.0;
  int64_t count_ = 0;
};

class MetricLogger {
 public:
  // `device`: whose peak memory ends each line, "max mem: N" on CUDA as the reference (MB of the allocator's peak),
  // "max rss: N" on the CPU (MB of the process's peak resident set).
  MetricLogger(std::string header, int64_t iterations, int64_t print_freq, c10::Device device);

  void add_meter(const std::string& name, SmoothedValue meter);  // meters print in the order they are added
  void update(const std::string& name, double value, int64_t n = 1);
  void batch_loaded();                   // the data time of the current iteration ends here
  void iteration_done(int64_t index);    // prints the line when index % print_freq == 0 or at the last iteration
  std::string progress_line(int64_t index) const;  // the line iteration_done prints after iteration `index`
  void finish() const;                   // "<header> Total time: 0:01:05 (0.4170 s / it)"
  std::string averages() const;          // "lr: 0.000150  loss: 0.8123 (0.8311)"
  double global_average(const std::string& name) const;
  // The reference's metric_logger.synchronize_between_processes(): global averages over all ranks afterwards.
  void synchronize(const SumAcrossRanks& sum);

 private:
  using Clock = std::chrono::steady_clock;
  std::string header_;
  int64_t iterations_;
  int64_t print_freq_;
  c10::Device device_;
  std::vector<std::string> order_;
  std::map<std::string, SmoothedValue> meters_;
  SmoothedValue iteration_time_{20, "avg4"};
  SmoothedValue data_time_{20, "avg4"};
  Clock::time_point start_ = Clock::now();
  Clock::time_point end_ = Clock::now();
};

// Python's str(datetime.timedelta(seconds=int(seconds))): "1:02:03", "2 days, 0:00:05".
std::string format_duration(double seconds);

}  // namespace mae::engine
