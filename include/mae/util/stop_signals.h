#pragma once
// Preemption. Clusters stop a job with SIGTERM (SLURM at the time limit or on preemption, torchrun's agent,
// Kubernetes) or with the signal the user asked for (sbatch --signal=USR1@120), and kill it shortly after. While a
// StopSignals object lives, the first SIGTERM or SIGUSR1 only records that a stop was asked for: the training loop
// reads it between steps, stops at an update boundary and writes a resumable checkpoint (jobs/preemption.h). A second
// signal, or `deadline_seconds` after the first without the job having ended, ends the process at once with exit
// code 128 + the first signal's number, as if the signal had killed it. That corrupts nothing: files appear under
// their final names only when complete, and the next run removes the temporary file of a write cut short.
#include <csignal>

namespace mae {

class StopSignals {
 public:
  // Installs the handlers; deadline_seconds 0: no deadline.
  explicit StopSignals(unsigned deadline_seconds);
  // Restores the previous handlers, cancels a pending deadline and forgets the request.
  ~StopSignals();
  StopSignals(const StopSignals&) = delete;
  StopSignals& operator=(const StopSignals&) = delete;

  // Whether a stop signal has arrived (safe to call from any thread).
  static bool requested() noexcept;
  // The signal that asked, "SIGTERM" or "SIGUSR1"; "" when none has.
  static const char* signal_name() noexcept;

 private:
  struct sigaction previous_term_{};
  struct sigaction previous_usr1_{};
  struct sigaction previous_alarm_{};
};

}  // namespace mae
