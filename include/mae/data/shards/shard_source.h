#pragma once
// Where a shard's bytes come from: a file, or the standard output of a command (WebDataset's `pipe:COMMAND` URLs,
// e.g. `pipe:aws s3 cp s3://bucket/train-000001.tar -`), read once from start to end.
#include <sys/types.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>

namespace mae::data {

// A stream of bytes read sequentially: what TarReader reads a tar from.
class ByteSource {
 public:
  virtual ~ByteSource() = default;
  // Up to `size` bytes into `buffer`; returns how many, 0 only at the end of the stream (a short count is no sign of
  // the end: pipes deliver what they have). Throws IoError naming the source when it cannot be read.
  virtual std::size_t read(uint8_t* buffer, std::size_t size) = 0;
  // What errors call the stream: the shard's URL.
  virtual const std::string& name() const = 0;
};

// Bytes held in memory (tests, a shard fetched whole by other means).
class MemorySource final : public ByteSource {
 public:
  MemorySource(std::string bytes, std::string name) : bytes_(std::move(bytes)), name_(std::move(name)) {}
  std::size_t read(uint8_t* buffer, std::size_t size) override;
  const std::string& name() const override { return name_; }

 private:
  std::string bytes_;
  std::string name_;
  std::size_t position_ = 0;
};

// A shard URL opened for reading:
// - `pipe:COMMAND`: COMMAND runs under /bin/sh -c in a process group of its own, and its standard output is the
//   stream (its standard error goes to ours). When the stream ends, the command's exit is checked: a non-zero status
//   or a signal is an IoError naming the command and the status, so a failed download is never mistaken for a short
//   shard. A command that writes nothing for `stall_limit` (--pipe_timeout; zero: no limit) is killed with its
//   process group and the read is an IoError, so a stalled download is a failed shard rather than a frozen job; after
//   a stop signal (util/stop_signals.h) the limit shrinks to kStallLimitOnStop, so the training step in flight can
//   end and the position checkpoint be written before the preemption deadline. The command dies with this process,
//   however it ends (kill -9 too): its shell gets SIGTERM when the thread that started it exits and passes it to the
//   whole process group, so no `curl` or `sleep` is left behind.
// - anything else: a file path.
// The destructor of a source not read to its end (a reader that stopped early) stops its command (SIGTERM to the
// process group) and reaps it without an error. Not copyable; one thread reads it at a time.
class ShardSource final : public ByteSource {
 public:
  inline static constexpr std::chrono::seconds kStallLimitOnStop{10};

  // Throws IoError naming the shard when the file cannot be opened or the command cannot be started.
  explicit ShardSource(std::string url, std::chrono::seconds stall_limit = std::chrono::seconds::zero());
  ~ShardSource() override;
  ShardSource(const ShardSource&) = delete;
  ShardSource& operator=(const ShardSource&) = delete;

  std::size_t read(uint8_t* buffer, std::size_t size) override;
  const std::string& name() const override { return url_; }
  bool is_pipe() const { return !command_.empty(); }

 private:
  // Waits for the command after the end of its output; throws IoError when it failed.
  void finish_command();
  // Waits until the pipe has bytes; kills the command and throws IoError once it has been silent too long.
  void wait_for_bytes();

  std::string url_;
  std::string command_;  // of a pipe: URL
  int fd_ = -1;          // -1 once the stream has ended
  pid_t pid_ = -1;       // the command while it has not been waited for
  uint64_t bytes_read_ = 0;
  std::chrono::seconds stall_limit_;
};

// Whether `url` is a `pipe:COMMAND` URL.
bool is_pipe_url(const std::string& url);

}  // namespace mae::data
