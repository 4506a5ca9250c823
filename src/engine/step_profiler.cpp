#include "mae/engine/step_profiler.h"

#include <ATen/record_function.h>
#include <torch/csrc/autograd/profiler_kineto.h>
#include <torch/csrc/profiler/api.h>
#include <torch/cuda.h>

#include <algorithm>
#include <charconv>
#include <exception>
#include <filesystem>
#include <optional>
#include <set>
#include <sstream>
#include <unordered_map>
#include <utility>

#include "mae/util/error.h"
#include "mae/util/log.h"
#include "mae/util/strings.h"

namespace mae::engine {
namespace {

namespace kineto = torch::autograd::profiler;
using torch::profiler::impl::ActivityType;
using torch::profiler::impl::ProfilerConfig;
using torch::profiler::impl::ProfilerState;

constexpr std::size_t kTableRows = 15;
constexpr std::size_t kMaxNameWidth = 60;  // longer names (templated CUDA kernels) are cut so the table stays readable

// libkineto::ActivityType::GPU_USER_ANNOTATION (kineto/ActivityType.h, the same value since its first release): a
// record_function range mirrored on the GPU's timeline. It spans kernels rather than being one, so it is no kernel
// time; the header itself is not included because not every LibTorch package ships it.
constexpr uint8_t kGpuUserAnnotation = 2;

// A non-negative decimal integer and nothing else (no sign, no blanks), or nullopt.
std::optional<int64_t> step_number(std::string_view digits) {
  int64_t value = 0;
  const char* end = digits.data() + digits.size();
  const auto [stop, error] = std::from_chars(digits.data(), end, value);
  if (digits.empty() || digits.front() == '-' || error != std::errc() || stop != end) {
    return std::nullopt;
  }
  return value;
}

uint64_t duration_ns(const OpInterval& op) {
  return op.end_ns > op.start_ns ? op.end_ns - op.start_ns : 0;
}

double milliseconds(uint64_t ns) {
  return static_cast<double>(ns) / 1e6;
}

std::string cut(const std::string& name) {
  return name.size() <= kMaxNameWidth ? name : name.substr(0, kMaxNameWidth - 3) + "...";
}

std::string pad_right(const std::string& text, std::size_t width) {
  return text.size() >= width ? text : text + std::string(width - text.size(), ' ');
}

std::string pad_left(const std::string& text, std::size_t width) {
  return text.size() >= width ? text : std::string(width - text.size(), ' ') + text;
}

// The profiler's events as intervals, in two kinds. Each step's "ProfilerStep#<n>" becomes "ProfilerStep*", as
// torch.profiler's tables show it, so that the steps add up in one row instead of taking one row each.
struct RecordedOps {
  std::vector<OpInterval> host;
  std::vector<OpInterval> kernels;
};

RecordedOps recorded_ops(const kineto::ProfilerResult& result) {
  RecordedOps ops;
  for (const kineto::KinetoEvent& event : result.events()) {
    if (event.isHiddenEvent()) {
      continue;
    }
    const bool device = event.deviceType() != c10::DeviceType::CPU;
    if (device && event.activityType() == kGpuUserAnnotation) {
      continue;
    }
    std::string name = event.name();
    if (name.rfind("ProfilerStep#", 0) == 0) {
      name = "ProfilerStep*";
    }
    (device ? ops.kernels : ops.host)
        .push_back({std::move(name), event.startThreadId(), event.startNs(), event.endNs(), device});
  }
  return ops;
}

}  // namespace

ProfileWindow parse_profile_window(const std::string& text) {
  const auto colon = text.find(':');
  if (colon != std::string::npos) {
    const auto first = step_number(std::string_view(text).substr(0, colon));
    const auto end = step_number(std::string_view(text).substr(colon + 1));
    if (first && end && *first < *end) {
      return {*first, *end};
    }
  }
  throw UsageError(mae::text("--profile_steps '", text,
                             "': expected A:B, two step numbers with A < B, a half-open range as in a Python slice "
                             "(5:8 records steps 5, 6 and 7; steps count from 0)"));
}

std::vector<OpTime> self_times(std::vector<OpInterval> intervals) {
  // Per thread, by start time, an enclosing op before the ops it encloses (the longer one first when two start
  // together). Walking that order with the chain of ops that enclose the current one (a stack) finds each op's direct
  // parent: the innermost open op that still contains it. Kernels go last and take no part in the nesting.
  std::stable_sort(intervals.begin(), intervals.end(), [](const OpInterval& a, const OpInterval& b) {
    if (a.device != b.device) {
      return b.device;
    }
    if (a.thread != b.thread) {
      return a.thread < b.thread;
    }
    if (a.start_ns != b.start_ns) {
      return a.start_ns < b.start_ns;
    }
    return duration_ns(a) > duration_ns(b);
  });
  std::vector<uint64_t> children_ns(intervals.size(), 0);
  std::vector<std::size_t> enclosing;
  for (std::size_t i = 0; i < intervals.size(); ++i) {
    const OpInterval& op = intervals[i];
    if (op.device) {
      continue;
    }
    const uint64_t end = op.start_ns + duration_ns(op);
    while (!enclosing.empty()) {
      const OpInterval& open = intervals[enclosing.back()];
      if (open.thread == op.thread && end <= open.start_ns + duration_ns(open)) {
        break;  // the sort already put open's start at or before op's
      }
      enclosing.pop_back();
    }
    if (!enclosing.empty()) {
      children_ns[enclosing.back()] += duration_ns(op);
    }
    enclosing.push_back(i);
  }

  // Summed in integer nanoseconds, converted once: the same intervals give the same figures in any order.
  struct Sums {
    int64_t calls = 0;
    uint64_t self_ns = 0;
    uint64_t total_ns = 0;
  };
  std::vector<std::string> names;
  std::unordered_map<std::string, Sums> sums;
  for (std::size_t i = 0; i < intervals.size(); ++i) {
    const uint64_t total = duration_ns(intervals[i]);
    // Children that overlap each other (which a single thread's ops cannot, but clocks can skew) may outgrow their
    // parent; its self time is then 0 rather than a negative figure.
    const uint64_t self = total > children_ns[i] ? total - children_ns[i] : 0;
    auto [entry, added] = sums.try_emplace(intervals[i].name);
    if (added) {
      names.push_back(intervals[i].name);
    }
    entry->second.calls += 1;
    entry->second.self_ns += self;
    entry->second.total_ns += total;
  }
  std::vector<OpTime> ops;
  ops.reserve(names.size());
  for (const std::string& name : names) {
    const Sums& sum = sums.at(name);
    ops.push_back({name, sum.calls, milliseconds(sum.self_ns), milliseconds(sum.total_ns)});
  }
  std::sort(ops.begin(), ops.end(), [](const OpTime& a, const OpTime& b) {
    return a.self_ms != b.self_ms ? a.self_ms > b.self_ms : a.name < b.name;
  });
  return ops;
}

std::string format_op_table(const std::vector<OpTime>& ops, std::size_t rows, const std::string& title) {
  double all_self_ms = 0;
  for (const OpTime& op : ops) {
    all_self_ms += op.self_ms;
  }
  const std::size_t shown = std::min(rows, ops.size());
  std::size_t name_width = 4;  // "Name"
  for (std::size_t i = 0; i < shown; ++i) {
    name_width = std::max(name_width, cut(ops[i].name).size());
  }
  constexpr std::size_t kCalls = 8;
  constexpr std::size_t kMs = 12;
  constexpr std::size_t kPercent = 9;
  const auto line = [&](const std::string& name, const std::string& calls, const std::string& self_ms,
                        const std::string& percent, const std::string& total_ms) {
    return mae::text(pad_right(name, name_width), "  ", pad_left(calls, kCalls), "  ", pad_left(self_ms, kMs), "  ",
                     pad_left(percent, kPercent), "  ", pad_left(total_ms, kMs), "\n");
  };
  const std::string rule = line(std::string(name_width, '-'), std::string(kCalls, '-'), std::string(kMs, '-'),
                                std::string(kPercent, '-'), std::string(kMs, '-'));
  std::ostringstream out;
  out << title << "\n" << rule << line("Name", "Calls", "Self ms", "Self %", "Total ms") << rule;
  for (std::size_t i = 0; i < shown; ++i) {
    const OpTime& op = ops[i];
    const double percent = all_self_ms > 0 ? 100.0 * op.self_ms / all_self_ms : 0.0;
    out << line(cut(op.name), std::to_string(op.calls), fixed(op.self_ms, 3), fixed(percent, 2) + "%",
                fixed(op.total_ms, 3));
  }
  out << rule << "Self time in all: " << fixed(all_self_ms, 3) << " ms (" << ops.size() << " op names, " << shown
      << " shown)";
  return out.str();
}

// What lives only while Kineto records.
struct StepProfiler::Recording {
  int64_t first_step = 0;
  int64_t last_step = 0;
  // The current step's "ProfilerStep#<n>" scope. RecordFunction can be neither copied nor moved, hence the optional,
  // constructed in place. It takes the profiler's callbacks when constructed, so it is made after enableProfiler.
  std::optional<at::RecordFunction> step_scope;
};

StepProfiler::StepProfiler() = default;  // here, where Recording is complete, as unique_ptr's deleter needs

StepProfiler::StepProfiler(ProfileWindow window, std::string trace_path, c10::Device device)
    : window_(window), trace_path_(std::move(trace_path)), device_(device) {
  if (window_.first < 0 || window_.end <= window_.first) {
    throw UsageError(mae::text("--profile_steps ", window_.first, ":", window_.end,
                               ": the window records no step (expected A:B with 0 <= A < B)"));
  }
  if (trace_path_.empty()) {
    throw UsageError("--profile_dir: the profiler was given no trace file name");
  }
  const std::filesystem::path folder = std::filesystem::path(trace_path_).parent_path();
  if (!folder.empty()) {
    std::error_code error;
    std::filesystem::create_directories(folder, error);
    if (error) {
      throw IoError(mae::text("--profile_dir ", folder.string(), ": cannot create the folder (", error.message(), ")"));
    }
  }
}

StepProfiler::~StepProfiler() {
  if (recording_ == nullptr) {
    return;
  }
  try {
    const int64_t last = recording_->last_step;
    log::info(mae::text("profiler: the run ended inside --profile_steps ", window_.first, ":", window_.end,
                        ", after step ", last, "; writing what was recorded"));
    stop();
  } catch (const std::exception& error) {
    try {
      log::warn(mae::text("profiler: the trace '", trace_path_, "' could not be written: ", error.what()));
    } catch (...) {  // a destructor that may run during unwinding must not throw
    }
  } catch (...) {
  }
}

void StepProfiler::begin_step(int64_t step) {
  if (done_) {
    return;
  }
  if (recording_ == nullptr) {
    // KINETO is what Python's torch.profiler uses whenever Kineto is built in; CUDA adds the kernels (via CUPTI).
    const ProfilerConfig config(ProfilerState::KINETO);
    std::set<ActivityType> activities{ActivityType::CPU};
    if (device_.is_cuda()) {
      activities.insert(ActivityType::CUDA);
    }
    done_ = true;  // a profiler that fails to start is not retried at every later step of the window
    try {
      kineto::prepareProfiler(config, activities);
      kineto::enableProfiler(config, activities);
    } catch (const c10::Error& error) {
      throw Error(mae::text("--profile_steps: the Kineto profiler could not start: ", error.what_without_backtrace()));
    }
    done_ = false;
    recording_ = std::make_unique<Recording>();
    recording_->first_step = step;
  }
  Recording& recording = *recording_;
  recording.step_scope.reset();  // a step_begins without its step_ends: the earlier step's scope ends here
  recording.step_scope.emplace(at::RecordScope::USER_SCOPE);
  if (recording.step_scope->isActive()) {
    recording.step_scope->before(mae::text("ProfilerStep#", step));
  }
  recording.last_step = step;
}

void StepProfiler::end_step(int64_t step) {
  if (step >= window_.end - 1) {
    try {
      stop();
    } catch (const std::exception& error) {  // a trace is not worth the training run: say so and go on
      log::warn(mae::text("profiler: the trace '", trace_path_, "' could not be written: ", error.what()));
    }
    return;
  }
  recording_->step_scope.reset();
}

void StepProfiler::stop() {
  const std::unique_ptr<Recording> recording = std::move(recording_);  // recording() is false from here on, come what may
  done_ = true;
  std::unique_ptr<kineto::ProfilerResult> result;
  try {
    if (device_.is_cuda()) {
      torch::cuda::synchronize(device_.index());  // kernels still queued would be missing from the trace
    }
  } catch (...) {
    recording->step_scope.reset();
    kineto::disableProfiler();  // a profiler left on would slow every later op
    throw;
  }
  recording->step_scope.reset();
  result = kineto::disableProfiler();
  if (result == nullptr) {
    throw Error("profiler: Kineto returned no result");
  }
  const RecordedOps ops = recorded_ops(*result);

  // A stale trace of an earlier run must not pass for this one's, since Kineto reports a failed write only in its log.
  std::error_code error;
  std::filesystem::remove(trace_path_, error);
  result->save(trace_path_);
  const auto size = std::filesystem::file_size(trace_path_, error);
  if (error || size == 0) {
    throw IoError(mae::text("--profile_dir: the trace '", trace_path_, "' was not written",
                            error ? " (" + error.message() + ")" : std::string()));
  }

  const std::string steps = recording->first_step == recording->last_step
                                ? mae::text("step ", recording->first_step)
                                : mae::text("steps ", recording->first_step, "..", recording->last_step);
  log::info(mae::text("profiler: ", steps, " written to ", trace_path_,
                      " (open it in TensorBoard's profile plugin or at https://ui.perfetto.dev)"));
  log::info(format_op_table(self_times(ops.host), kTableRows, mae::text("host ops by self time, ", steps)));
  if (!ops.kernels.empty()) {
    log::info(format_op_table(self_times(ops.kernels), kTableRows, mae::text("device kernels by time, ", steps)));
  }
}

}  // namespace mae::engine
