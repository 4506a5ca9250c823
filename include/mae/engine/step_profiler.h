#pragma once
// --profile_steps A:B --profile_dir DIR: LibTorch's Kineto profiler records training steps A..B-1 (CPU ops, and CUDA
// kernels on a GPU) into a Chrome/Perfetto trace that TensorBoard's profile plugin or Perfetto opens, then logs the
// top ops by self time, as torch.profiler's key_averages().table() would. A run without the flag pays one integer
// compare per step: the checks that decide whether anything happens are inline here, the work is in the .cpp, and the
// torch profiler headers stay there (behind a pimpl) so that this header is light.
#include <c10/core/Device.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace mae::engine {

// Training steps [first, end) to record.
struct ProfileWindow {
  int64_t first = 0;
  int64_t end = 0;
};

// "A:B" (two non-negative integers, A < B) -> {A, B}, a half-open range like a Python slice: "5:8" records steps 5, 6
// and 7. Throws mae::UsageError naming --profile_steps and the text otherwise.
ProfileWindow parse_profile_window(const std::string& text);

// One op name's share of a recording.
struct OpTime {
  std::string name;
  int64_t calls = 0;
  double self_ms = 0;
  double total_ms = 0;
};

// One recorded op: its thread and host interval (CPU ops), or a device kernel (device = true; kernels do not nest).
struct OpInterval {
  std::string name;
  uint64_t thread = 0;
  uint64_t start_ns = 0;
  uint64_t end_ns = 0;
  bool device = false;
};

// Self time per op name, as torch.profiler's key_averages' "Self CPU": an op's duration minus that of the ops it
// directly encloses on its thread (nesting by interval containment, per thread). Device kernels never enclose anything,
// so their self time is their duration. Host ops and device kernels are summarized separately: call with one kind
// (with both, a name that occurs as either adds up in one row). Sorted by self time, largest first, then by name.
std::vector<OpTime> self_times(std::vector<OpInterval> intervals);

// A fixed-width text table (name, calls, self ms, self %, total ms) of the first `rows` entries under `title`; the
// percent is of the sum of all entries' self time, shown or not.
std::string format_op_table(const std::vector<OpTime>& ops, std::size_t rows, const std::string& title);

// Records one window of training steps. The caller counts steps from 0 and brackets each with step_begins/step_ends.
class StepProfiler {
 public:
  StepProfiler();  // disarmed: step_begins/step_ends do nothing
  // Records `window` into `trace_path` (its parent folders are created now, so that a path that cannot be written
  // fails before training rather than at the window's end; the name should end in .pt.trace.json so that TensorBoard's
  // profile plugin finds it), profiling CUDA kernels too when `device` is CUDA. Throws mae::UsageError for an empty
  // window, mae::IoError for a folder that cannot be created.
  StepProfiler(ProfileWindow window, std::string trace_path, c10::Device device);
  // A run that ends inside the window stops the recording and writes what it has (never throws; logs a warning on
  // failure).
  ~StepProfiler();
  StepProfiler(const StepProfiler&) = delete;
  StepProfiler& operator=(const StepProfiler&) = delete;

  // At the first step inside the window (window.first, or a later one when a resumed run starts inside it): prepare
  // and enable the Kineto profiler. Every recorded step is marked by a record_function scope "ProfilerStep#<step>",
  // as Python's torch.profiler does, which lasts until step_ends.
  void step_begins(int64_t step) {
    if (step >= window_.first && step < window_.end) {  // a disarmed profiler's window {0, 0} holds no step
      begin_step(step);
    }
  }
  // At window.end - 1 (or later): on CUDA, synchronize the device first so that the kernels are in; disable, save the
  // trace, log its path and the top-15 tables (host ops by self time; device kernels when there are any). A trace that
  // cannot be written (a full disk) is a warning, not the end of the training run.
  void step_ends(int64_t step) {
    if (recording_ != nullptr) {
      end_step(step);
    }
  }

  bool armed() const { return window_.end > window_.first; }
  bool recording() const { return recording_ != nullptr; }
  const std::string& trace_path() const { return trace_path_; }  // "" when disarmed

 private:
  struct Recording;  // the open step scope: torch's profiler types, kept out of this header

  void begin_step(int64_t step);
  void end_step(int64_t step);
  void stop();  // disables the profiler, saves the trace and logs the tables; throws on failure

  ProfileWindow window_;
  std::string trace_path_;
  c10::Device device_{c10::kCPU};
  std::unique_ptr<Recording> recording_;  // non-null exactly while Kineto records
  bool done_ = false;                     // the window was recorded: a profiler records once
};

}  // namespace mae::engine
