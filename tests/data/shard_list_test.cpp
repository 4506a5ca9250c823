#include "mae/data/shards/shard_list.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "mae/data/shards/shard_source.h"
#include "mae/data/shards/tar_reader.h"
#include "mae/data/shards/tar_writer.h"
#include "mae/util/error.h"
#include "mae/util/stop_signals.h"
#include "support/test_support.h"

namespace {

using mae::data::expand_braces;
using mae::data::expand_shard_spec;
using mae::data::is_shard_spec;
using mae::data::ShardSource;
using Names = std::vector<std::string>;

std::string usage_error(const std::function<void()>& action) {
  return mae::test::error_of<mae::UsageError>(action);
}
std::string io_error(const std::function<void()>& action) {
  return mae::test::error_of<mae::IoError>(action);
}

void touch(const std::filesystem::path& path) {
  std::filesystem::create_directories(path.parent_path());
  std::ofstream(path) << "x";
}

TEST(ShardList, BraceRangesKeepTheWiderBoundsPadding) {
  EXPECT_EQ(
      expand_braces("/data/train-{000000..000003}.tar"),
      (Names{"/data/train-000000.tar", "/data/train-000001.tar", "/data/train-000002.tar", "/data/train-000003.tar"}));
  EXPECT_EQ(expand_braces("s{8..11}.tar"), (Names{"s8.tar", "s9.tar", "s10.tar", "s11.tar"}));  // no padding
  EXPECT_EQ(expand_braces("s{08..10}.tar"), (Names{"s08.tar", "s09.tar", "s10.tar"}));
  EXPECT_EQ(expand_braces("s{9..011}.tar"), (Names{"s009.tar", "s010.tar", "s011.tar"}));  // the wider bound
  EXPECT_EQ(expand_braces("s{7..7}.tar"), (Names{"s7.tar"}));
  EXPECT_EQ(expand_braces("/plain/path.tar"), (Names{"/plain/path.tar"}));
  EXPECT_EQ(expand_braces("/data/train-{000000..001023}.tar").size(), 1024u);
  EXPECT_EQ(expand_braces("/data/train-{000000..001023}.tar").back(), "/data/train-001023.tar");
}

TEST(ShardList, ListsAndSeveralBracesExpandAsAProductInOrder) {
  EXPECT_EQ(expand_braces("{a,b}-{1..2}.tar"), (Names{"a-1.tar", "a-2.tar", "b-1.tar", "b-2.tar"}));
  EXPECT_EQ(expand_braces("x{a,{b,c}}y{0..1}"), (Names{"xay0", "xay1", "xby0", "xby1", "xcy0", "xcy1"}));
  EXPECT_EQ(expand_braces("s{,_v2}.tar"), (Names{"s.tar", "s_v2.tar"}));
  EXPECT_EQ(expand_braces("{train,val}/{0..1}.tar"), (Names{"train/0.tar", "train/1.tar", "val/0.tar", "val/1.tar"}));
}

TEST(ShardList, MalformedBracesAreNamed) {
  EXPECT_EQ(usage_error([] { expand_braces("s-{5..1}.tar"); }),
            "brace '{5..1}' in 's-{5..1}.tar' counts down; write the range as {1..5}");
  EXPECT_EQ(usage_error([] { expand_braces("s-{a..e}.tar"); }),
            "brace '{a..e}' in 's-{a..e}.tar' is neither a range of non-negative integers {first..last} nor a list "
            "{a,b,...}");
  EXPECT_NE(usage_error([] { expand_braces("s-{x}.tar"); }).find("brace '{x}' in 's-{x}.tar'"), std::string::npos);
  EXPECT_NE(usage_error([] { expand_braces("s-{-1..3}.tar"); }).find("non-negative"), std::string::npos);
  EXPECT_EQ(usage_error([] { expand_braces("s-{0..3.tar"); }), "'s-{0..3.tar' has a '{' without a matching '}'");
  EXPECT_EQ(usage_error([] { expand_braces("s-0..3}.tar"); }), "'s-0..3}.tar' has a '}' without a '{' before it");
  EXPECT_EQ(usage_error([] { expand_braces("{0..99999999}"); }),
            "brace '{0..99999999}' in '{0..99999999}' expands to more than 10000000 names");
  EXPECT_EQ(usage_error([] { expand_braces("{0..9999}{0..9999}"); }),
            "'{0..9999}{0..9999}' expands to more than 10000000 names");
}

TEST(ShardList, WhatCountsAsShards) {
  mae::test::TempDir dir;
  touch(dir / "shards/b.tar");
  touch(dir / "shards/a.tar");
  touch(dir / "shards/notes.md");
  touch(dir / "shards/sub/c.tar");
  touch(dir / "images/cat/1.jpg");
  touch(dir / "nested/sub/x.tar");  // not directly in the folder
  EXPECT_TRUE(is_shard_spec("pipe:curl -s http://host/train-{0..9}.tar"));
  EXPECT_TRUE(is_shard_spec("/data/train-{000000..001023}.tar"));
  EXPECT_TRUE(is_shard_spec("/data/missing.tar"));
  EXPECT_TRUE(is_shard_spec("/data/shards.txt"));
  EXPECT_TRUE(is_shard_spec((dir / "shards").string()));
  EXPECT_FALSE(is_shard_spec((dir / "images").string()));
  EXPECT_FALSE(is_shard_spec((dir / "nested").string()));
  EXPECT_FALSE(is_shard_spec((dir / "absent").string()));
  EXPECT_EQ(expand_shard_spec((dir / "shards").string()),
            (Names{(dir / "shards/a.tar").string(), (dir / "shards/b.tar").string()}));
  EXPECT_EQ(usage_error([&] { expand_shard_spec((dir / "images").string()); }),
            "--data_path '" + (dir / "images").string() + "' names no shard (no .tar file in the folder)");
  EXPECT_NE(usage_error([&] { expand_shard_spec((dir / "absent").string()); }).find("names no shards"),
            std::string::npos);
}

TEST(ShardList, PipeUrlsExpandTheirBraces) {
  EXPECT_EQ(expand_shard_spec("pipe:aws s3 cp s3://b/train-{00..02}.tar -"),
            (Names{"pipe:aws s3 cp s3://b/train-00.tar -", "pipe:aws s3 cp s3://b/train-01.tar -",
                   "pipe:aws s3 cp s3://b/train-02.tar -"}));
  EXPECT_EQ(expand_shard_spec("/d/s-{1..2}.tar"), (Names{"/d/s-1.tar", "/d/s-2.tar"}));
}

TEST(ShardList, AListFileNamesShardsRelativeToItsFolder) {
  mae::test::TempDir dir;
  std::filesystem::create_directories(dir / "lists");
  std::ofstream(dir / "lists/train.txt") << "# ImageNet train shards\n"
                                            "  a-000.tar  \n"
                                            "\n"
                                            "../other/b-001.tar\r\n"
                                            "/abs/c.tar\n"
                                            "pipe:cat {x,y}.tar | head\n"
                                            "   # indented comment\n";
  EXPECT_EQ(expand_shard_spec((dir / "lists/train.txt").string()),
            (Names{(dir / "lists/a-000.tar").string(), (dir / "lists/../other/b-001.tar").string(), "/abs/c.tar",
                   "pipe:cat {x,y}.tar | head"}));
  std::ofstream(dir / "empty.txt") << "# nothing yet\n\n";
  EXPECT_EQ(usage_error([&] { expand_shard_spec((dir / "empty.txt").string()); }),
            "--data_path '" + (dir / "empty.txt").string() + "' names no shard (the list has no entry)");
  EXPECT_EQ(usage_error([&] { expand_shard_spec((dir / "missing.txt").string()); }),
            "cannot read the shard list '" + (dir / "missing.txt").string() + "' (no such file; check --data_path)");
}

// A shard for the source tests: two members.
std::string write_shard(const std::filesystem::path& path) {
  std::ostringstream bytes;
  mae::data::TarWriter writer(bytes, path.string());
  writer.add("k1.jpg", std::string_view("one"));
  writer.add("k1.cls", std::string_view("1"));
  writer.finish();
  std::ofstream(path, std::ios::binary) << bytes.str();
  return bytes.str();
}

std::vector<std::string> member_names(const std::string& url) {
  ShardSource source(url);
  mae::data::TarReader reader(source);
  std::vector<std::string> names;
  while (auto member = reader.next()) {
    names.push_back(member->name + "=" + std::string(member->bytes.begin(), member->bytes.end()));
  }
  return names;
}

TEST(ShardSource, ReadsAFileOrACommandsOutput) {
  mae::test::TempDir dir;
  write_shard(dir / "s.tar");
  const Names expected{"k1.jpg=one", "k1.cls=1"};
  EXPECT_EQ(member_names((dir / "s.tar").string()), expected);
  EXPECT_EQ(member_names("pipe:cat " + mae::test::shell_quote((dir / "s.tar").string())), expected);
  // A shell pipeline, as in `pipe:curl -s URL | ...`.
  EXPECT_EQ(member_names("pipe:cat " + mae::test::shell_quote((dir / "s.tar").string()) + " | cat"), expected);
  EXPECT_TRUE(ShardSource("pipe:true").is_pipe());
  EXPECT_FALSE(ShardSource((dir / "s.tar").string()).is_pipe());
}

TEST(ShardSource, AMissingFileOrAFolderIsNamed) {
  mae::test::TempDir dir;
  EXPECT_EQ(io_error([&] { ShardSource((dir / "none.tar").string()); }),
            "cannot open shard '" + (dir / "none.tar").string() + "': No such file or directory (check --data_path)");
  EXPECT_EQ(io_error([&] { ShardSource(dir.path().string()); }),
            "shard '" + dir.path().string() + "' is a folder, not a tar file (check --data_path)");
  EXPECT_EQ(io_error([&] { ShardSource("pipe:  "); }), "shard 'pipe:  ' has no command after 'pipe:'");
}

// Reads a source to its end, as TarReader does.
void read_to_end(const std::string& url) {
  ShardSource source(url);
  uint8_t buffer[4096];
  while (source.read(buffer, sizeof buffer) > 0) {
  }
}

TEST(ShardSource, AFailingCommandIsNamedWithItsStatus) {
  EXPECT_EQ(io_error([] { read_to_end("pipe:false"); }),
            "shard 'pipe:false': command 'false' exited with status 1 before writing anything");
  EXPECT_EQ(io_error([] { read_to_end("pipe:exit 3"); }),
            "shard 'pipe:exit 3': command 'exit 3' exited with status 3 before writing anything");
  EXPECT_EQ(io_error([] { read_to_end("pipe:printf abc; exit 4"); }),
            "shard 'pipe:printf abc; exit 4': command 'printf abc; exit 4' exited with status 4 after writing 3 bytes");
  EXPECT_EQ(io_error([] { read_to_end("pipe:kill -9 $$"); }),
            "shard 'pipe:kill -9 $$': command 'kill -9 $$' was killed by signal 9 (Killed) before writing anything");
  EXPECT_EQ(io_error([] { read_to_end("pipe:mae_no_such_command_here 2>/dev/null"); }),
            "shard 'pipe:mae_no_such_command_here 2>/dev/null': command 'mae_no_such_command_here 2>/dev/null' exited "
            "with status 127 (command not found) before writing anything");
}

// A command that writes a whole tar and then fails: the reader reads past the end blocks to the end of the stream,
// so the failure is reported rather than hidden by a complete-looking shard.
TEST(ShardSource, AFailureAfterACompleteTarIsReported) {
  mae::test::TempDir dir;
  write_shard(dir / "s.tar");
  const std::string url = "pipe:cat " + mae::test::shell_quote((dir / "s.tar").string()) + "; exit 2";
  ShardSource source(url);
  mae::data::TarReader reader(source);
  EXPECT_TRUE(reader.next());
  EXPECT_TRUE(reader.next());
  EXPECT_EQ(io_error([&] { reader.next(); }),
            "shard '" + url + "': command 'cat " + mae::test::shell_quote((dir / "s.tar").string()) +
                "; exit 2' exited with status 2 after writing 10240 bytes (while reading the rest of the stream after "
                "the end of the archive)");
}

// A command that fails in the middle of a member (a download cut short): the error names the member too.
TEST(ShardSource, AFailureInsideAMemberNamesIt) {
  mae::test::TempDir dir;
  const std::string url = "pipe:head -c 515 " + mae::test::shell_quote((dir / "s.tar").string()) + "; exit 56";
  write_shard(dir / "s.tar");
  ShardSource source(url);
  mae::data::TarReader reader(source);
  const std::string error = io_error([&] { reader.next(); });
  EXPECT_EQ(error.substr(error.find("exited")),
            "exited with status 56 after writing 515 bytes (while reading member 'k1.jpg')");
  const std::string header_url = "pipe:head -c 1100 " + mae::test::shell_quote((dir / "s.tar").string()) + "; exit 56";
  ShardSource header_source(header_url);
  mae::data::TarReader header_reader(header_source);
  EXPECT_TRUE(header_reader.next());
  const std::string header_error = io_error([&] { header_reader.next(); });
  EXPECT_EQ(header_error.substr(header_error.find("exited")),
            "exited with status 56 after writing 1100 bytes (while reading the header at offset 1024, after member "
            "'k1.jpg')");
}

// A reader that stops early (an epoch that ends mid-shard) stops the command instead of waiting for its output.
TEST(ShardSource, StoppingEarlyStopsTheCommand) {
  const auto start = std::chrono::steady_clock::now();
  {
    ShardSource source("pipe:yes; sleep 600");
    uint8_t buffer[100];
    EXPECT_EQ(source.read(buffer, 4), 4u);
    EXPECT_EQ(std::string(buffer, buffer + 4), "y\ny\n");
  }
  {
    ShardSource source("pipe:sleep 600");  // not even started to write
  }
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(30));
}

// Issue #27: a command that stops writing (a stalled download) froze every rank. After --pipe_timeout seconds of
// silence it is killed and the read fails like a broken shard (today's main waited for the full `sleep 600`).
TEST(ShardSource, ACommandSilentForThePipeTimeoutIsKilled) {
  const auto start = std::chrono::steady_clock::now();
  ShardSource source("pipe:printf abc; sleep 600", std::chrono::seconds(1));
  uint8_t buffer[16];
  EXPECT_EQ(source.read(buffer, sizeof buffer), 3u);
  EXPECT_EQ(io_error([&] { source.read(buffer, sizeof buffer); }),
            "shard 'pipe:printf abc; sleep 600': command 'printf abc; sleep 600' wrote nothing for 1 s after 3 bytes "
            "(--pipe_timeout 1); it was killed");
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(10));
  EXPECT_EQ(source.read(buffer, sizeof buffer), 0u);  // ended: nothing more, no second error
}

// Issue #27: a stop signal while a pipe: command is stalled. The read gives up after ShardSource::kStallLimitOnStop
// (10 s) instead of --pipe_timeout (here none), so the training step in flight can end and the position checkpoint be
// written well before the preemption deadline (300 s by default); today's main waited for the whole `sleep 600`.
TEST(ShardSource, AStopSignalCutsAStalledReadShort) {
  const mae::StopSignals stop_signals(/*deadline_seconds=*/0);
  std::raise(SIGTERM);  // only recorded: the job is stopping
  ASSERT_TRUE(mae::StopSignals::requested());
  const auto start = std::chrono::steady_clock::now();
  ShardSource source("pipe:sleep 600");
  uint8_t buffer[16];
  const std::string error = io_error([&] { source.read(buffer, sizeof buffer); });
  EXPECT_EQ(error, "shard 'pipe:sleep 600': command 'sleep 600' wrote nothing for 10 s after 0 bytes while the job was "
                   "stopping (SIGTERM); it was killed");
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(20));
}

// A worker process that reads from a pipe: command which never writes, until it is killed.
int read_forever(const std::vector<std::string>& args) {
  ShardSource source("pipe:" + args.at(0));
  uint8_t buffer[16];
  source.read(buffer, sizeof buffer);
  return 0;
}
const mae::test::WorkerRegistration read_forever_worker("read_forever", read_forever);

// Whether a process whose whole command line is `command` runs (the worker's and the shells' lines only contain it).
bool process_runs(const std::string& command) {
  return mae::test::run_command("pgrep -f " + mae::test::shell_quote("^" + command + "$")).exit_code == 0;
}

// Issue #27: a job killed with -9 left its pipe commands running (`sleep`, `curl`): they now die with it, the whole
// pipeline, not only the shell.
TEST(ShardSource, TheCommandDiesWithTheProcessThatReadsIt) {
  const std::string marker = "sleep 6" + std::to_string(::getpid() % 1000) + ".25";
  const int worker = mae::test::start_worker("read_forever", {"true | " + marker + " | cat"});
  const auto started = std::chrono::steady_clock::now();
  while (!process_runs(marker) && std::chrono::steady_clock::now() - started < std::chrono::seconds(20)) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ASSERT_TRUE(process_runs(marker)) << "the worker did not start its command";  // the pipeline runs: kill its reader
  ::kill(worker, SIGKILL);
  mae::test::wait_worker(worker, 10);
  const auto killed = std::chrono::steady_clock::now();
  while (process_runs(marker) && std::chrono::steady_clock::now() - killed < std::chrono::seconds(10)) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  const bool orphaned = process_runs(marker);
  if (orphaned) {
    mae::test::run_command("pkill -f " + mae::test::shell_quote("^" + marker + "$"));
  }
  EXPECT_FALSE(orphaned) << "'" << marker << "' outlived the process that read its output";
}

}  // namespace
