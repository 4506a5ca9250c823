#include "mae/engine/metric_logger.h"

#include <unistd.h>

#include <algorithm>
#include <limits>
#include <cstdio>
#include <stdexcept>

#include "mae/engine/peak_memory.h"
#include "mae/util/log.h"
#include "mae/util/strings.h"

namespace mae::engine {
SmoothedValue::SmoothedValue(std::size_t window, std::string format) : window_size_(window), format_(std::move(format)) {}

void SmoothedValue::update(double value, int64_t n) {
  window_.push_back(value);
  if (window_.size() > window_size_) {
    window_.pop_front();
  }
  count_ += n;
  total_ += value * static_cast<double>(n);
}

double SmoothedValue::median() const {
  if (window_.empty()) {  // a meter no batch updated (every image of a shard unreadable): nothing to report
    return std::numeric_limits<double>::quiet_NaN();
  }
  std::vector<double> sorted(window_.begin(), window_.end());
  std::sort(sorted.begin(), sorted.end());
  return sorted[(sorted.size() - 1) / 2];
}

double SmoothedValue::average() const {
  double sum = 0.0;
  for (double v : window_) {
    sum += v;
  }
  return sum / static_cast<double>(window_.size());
}

double SmoothedValue::global_average() const { return total_ / static_cast<double>(count_); }

void SmoothedValue::synchronize(const SumAcrossRanks& sum) {
  std::vector<double> count_and_total{static_cast<double>(count_), total_};
  sum(count_and_total);
  count_ = static_cast<int64_t>(count_and_total[0]);
  total_ = count_and_total[1];
}

std::string SmoothedValue::str() const {
  if (format_ == "value6") {
    return fixed(value(), 6);
  }
  if (format_ == "avg4") {
    return fixed(average(), 4);
  }
  return text(fixed(median(), 4), " (", fixed(global_average(), 4), ")");
}

std::string format_duration(double seconds) {
  auto total = static_cast<int64_t>(seconds);
  const int64_t days = total / 86400;
  total %= 86400;
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, "%lld:%02lld:%02lld", static_cast<long long>(total / 3600),
                static_cast<long long>(total % 3600 / 60), static_cast<long long>(total % 60));
  return days > 0 ? text(days, days == 1 ? " day, " : " days, ", buffer) : std::string(buffer);
}

MetricLogger::MetricLogger(std::string header, int64_t iterations, int64_t print_freq, c10::Device device)
    : header_(std::move(header)), iterations_(iterations), print_freq_(print_freq), device_(device) {}

void MetricLogger::add_meter(const std::string& name, SmoothedValue meter) {
  if (!meters_.contains(name)) {
    order_.push_back(name);
  }
  meters_.insert_or_assign(name, std::move(meter));
}

void MetricLogger::update(const std::string& name, double value, int64_t n) {
  if (!meters_.contains(name)) {
    add_meter(name, SmoothedValue());
  }
  meters_.at(name).update(value, n);
}

void MetricLogger::batch_loaded() {
  data_time_.update(std::chrono::duration<double>(Clock::now() - end_).count());
}

std::string MetricLogger::averages() const {
  std::string out;
  for (const auto& name : order_) {
    out += (out.empty() ? "" : "  ") + name + ": " + meters_.at(name).str();
  }
  return out;
}

void MetricLogger::synchronize(const SumAcrossRanks& sum) {
  for (const auto& name : order_) {
    meters_.at(name).synchronize(sum);
  }
}

double MetricLogger::global_average(const std::string& name) const {
  const auto found = meters_.find(name);
  if (found == meters_.end()) {
    throw std::out_of_range("no meter " + name);
  }
  return found->second.global_average();
}

std::string MetricLogger::progress_line(int64_t index) const {
  const std::size_t width = std::to_string(iterations_).size();
  char position[64];
  std::snprintf(position, sizeof position, "[%*lld/%lld]", static_cast<int>(width), static_cast<long long>(index),
                static_cast<long long>(iterations_));
  const double eta = iteration_time_.global_average() * static_cast<double>(iterations_ - index);
  const PeakMemory memory = peak_memory(device_);
  return text(header_, "  ", position, "  eta: ", format_duration(eta), "  ", averages(), "  time: ",
              iteration_time_.str(), "  data: ", data_time_.str(), "  ", memory.label, ": ",
              fixed(static_cast<double>(memory.bytes) / (1 << 20), 0));
}

void MetricLogger::iteration_done(int64_t index) {
  iteration_time_.update(std::chrono::duration<double>(Clock::now() - end_).count());
  // On a terminal, a transient status line between the logged ones; "\r\033[K" clears it again.
  static const bool terminal = ::isatty(STDERR_FILENO) == 1;
  if (index % print_freq_ == 0 || index == iterations_ - 1) {
    if (terminal) {
      std::fputs("\r\033[K", stderr);
    }
    log::info(progress_line(index));
  } else if (terminal) {
    const double eta = iteration_time_.global_average() * static_cast<double>(iterations_ - index);
    std::fprintf(stderr, "\r\033[K%s  [%lld/%lld]  eta: %s", header_.c_str(), static_cast<long long>(index),
                 static_cast<long long>(iterations_), format_duration(eta).c_str());
    std::fflush(stderr);
  }
  end_ = Clock::now();
}

void MetricLogger::finish() const {
  const double total = std::chrono::duration<double>(Clock::now() - start_).count();
  log::info(text(header_, " Total time: ", format_duration(total), " (",
                 fixed(total / static_cast<double>(std::max<int64_t>(iterations_, 1)), 4), " s / it)"));
}

}  // namespace mae::engine
