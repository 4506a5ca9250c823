#include "mae/data/shards/tar_samples.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <opencv2/core.hpp>
#include <sstream>

#include "mae/data/image/image_io.h"
#include "mae/data/shards/shard_source.h"
#include "mae/data/shards/tar_writer.h"
#include "mae/util/error.h"
#include "support/test_support.h"

namespace {

using mae::data::MemorySource;
using mae::data::split_member_name;
using mae::data::TarSample;
using mae::data::TarSampleOptions;
using mae::data::TarSampleReader;
using Members = std::vector<std::pair<std::string, std::string>>;

std::string tar_of(const Members& members) {
  std::ostringstream out;
  mae::data::TarWriter writer(out, "<test>");
  for (const auto& [name, bytes] : members) {
    writer.add(name, bytes);
  }
  writer.finish();
  return out.str();
}

// "key: extension, image bytes, label" per sample, and what the reader skipped.
struct Read {
  std::vector<std::string> samples;
  std::size_t skipped = 0;
  std::string first_skip;
};

Read read_samples(const Members& members, TarSampleOptions options) {
  MemorySource source(tar_of(members), "mem.tar");
  TarSampleReader reader(source, options);
  Read read;
  while (auto sample = reader.next()) {
    EXPECT_EQ(sample->shard, "mem.tar");
    read.samples.push_back(sample->key + ": " + sample->image_extension + ", " +
                           std::string(sample->image.begin(), sample->image.end()) + ", " +
                           (sample->label ? std::to_string(*sample->label) : std::string("no label")));
  }
  read.skipped = reader.skipped();
  read.first_skip = reader.first_skip();
  return read;
}

TEST(TarSamples, KeysAndExtensionsAsWebdatasetSplitsThem) {
  const auto split = [](const std::string& name) {
    const auto parts = split_member_name(name);
    return parts ? parts->key + " | " + parts->extension : std::string("none");
  };
  EXPECT_EQ(split("n01/img_17.JPEG"), "n01/img_17 | JPEG");
  EXPECT_EQ(split("a.b/c.d.seg.png"), "a.b/c | d.seg.png");  // the first dot of the base name
  EXPECT_EQ(split("key.cls"), "key | cls");
  EXPECT_EQ(split("key."), "key | ");
  EXPECT_EQ(split("README"), "none");
  EXPECT_EQ(split("dir.v2/README"), "none");
  EXPECT_EQ(split(".hidden"), "none");
  EXPECT_EQ(split("dir/.hidden.jpg"), "none");
}

TEST(TarSamples, ConsecutiveMembersWithAKeyFormASample) {
  const Read read = read_samples({{"n01/a.jpg", "A"},
                                  {"n01/a.cls", "3\n"},
                                  {"n01/b.PNG", "B"},
                                  {"n01/b.txt", "a caption"},
                                  {"README", "no key: ignored, and no break in the group"},
                                  {"n01/b.Cls", " 7 "},
                                  {"c.webp", "C"},
                                  {"d.jpeg", "D"},
                                  {"d.cls", "+12"},
                                  {"e.jpg", "E1"},
                                  {"e.jpg", "E2"},  // the extension again: a new sample with the same key
                                  {"f.jpg", "F"},
                                  {"g.jpg", "G"},
                                  {"f.cls", "5"}},  // not next to f.jpg: a sample of its own, without an image
                                 {});
  EXPECT_EQ(read.samples, (std::vector<std::string>{"n01/a: jpg, A, 3", "n01/b: png, B, 7", "c: webp, C, no label",
                                                    "d: jpeg, D, 12", "e: jpg, E1, no label", "e: jpg, E2, no label",
                                                    "f: jpg, F, no label", "g: jpg, G, no label"}));
  EXPECT_EQ(read.skipped, 1u);
  EXPECT_EQ(read.first_skip, "shard 'mem.tar': sample 'f' has no image (.jpg .jpeg .png .webp), only f.cls");
}

// Issue #27: a .cls outside [0, nb_classes) reached the loss as an index (on a GPU a device-side assert that kills the
// job). With num_classes it is a bad sample, named with its shard, member and value.
TEST(TarSamples, ALabelOutsideTheClassesIsABadSampleNamingItsValue) {
  const Members members{{"a.jpg", "A"}, {"a.cls", "3"}, {"b.jpg", "B"}, {"b.cls", "10"}, {"c.jpg", "C"}, {"c.cls", "-1"}};
  const TarSampleOptions options{.strict = false, .require_label = true, .num_classes = 10};
  const Read read = read_samples(members, options);
  EXPECT_EQ(read.samples, (std::vector<std::string>{"a: jpg, A, 3"}));
  EXPECT_EQ(read.skipped, 2u);
  EXPECT_EQ(read.first_skip, "shard 'mem.tar': member 'b.cls' holds class 10, not one of [0, 10) (--nb_classes 10)");
  MemorySource source(tar_of(members), "mem.tar");
  TarSampleReader strict(source, {.strict = true, .require_label = true, .num_classes = 10});
  EXPECT_TRUE(strict.next());
  EXPECT_EQ(mae::test::error_of<mae::IoError>([&] { strict.next(); }),
            "shard 'mem.tar': member 'b.cls' holds class 10, not one of [0, 10) (--nb_classes 10)");
}

TEST(TarSamples, BadSamplesAreSkippedAndCountedOrStopTheReading) {
  const Members members{{"a.json", "{}"},    {"a.txt", "no image"}, {"b.jpg", "B"},  {"b.cls", "3x"},
                        {"c.jpg", "C"},      {"c.png", "C2"},       {"d.jpg", "D"},  {"d.cls", "99999999999999999999"},
                        {"e.jpg", "E"},      {"e.cls", ""},         {"ok.jpg", "K"}, {"ok.cls", "-1"},
                        {"nolabel.jpg", "N"}};
  const Read lenient = read_samples(members, {});
  EXPECT_EQ(lenient.samples, (std::vector<std::string>{"ok: jpg, K, -1", "nolabel: jpg, N, no label"}));
  EXPECT_EQ(lenient.skipped, 5u);
  EXPECT_EQ(lenient.first_skip, "shard 'mem.tar': sample 'a' has no image (.jpg .jpeg .png .webp), only a.json, a.txt");

  const Read labelled = read_samples(members, {.strict = false, .require_label = true});
  EXPECT_EQ(labelled.samples, (std::vector<std::string>{"ok: jpg, K, -1"}));
  EXPECT_EQ(labelled.skipped, 6u);

  // Strict: the first bad sample is an error, naming the shard and the key or member.
  const auto strict_error = [&](std::size_t from, TarSampleOptions options = {.strict = true}) {
    return mae::test::error_of<mae::IoError>(
        [&] { read_samples(Members(members.begin() + static_cast<std::ptrdiff_t>(from), members.end()), options); });
  };
  EXPECT_EQ(strict_error(0), "shard 'mem.tar': sample 'a' has no image (.jpg .jpeg .png .webp), only a.json, a.txt");
  EXPECT_EQ(strict_error(2), "shard 'mem.tar': member 'b.cls' is not an integer class index: '3x'");
  EXPECT_EQ(strict_error(4), "shard 'mem.tar': sample 'c' has two images, 'c.jpg' and 'c.png'");
  EXPECT_EQ(strict_error(6),
            "shard 'mem.tar': member 'd.cls' is not an integer class index: '99999999999999999999'");  // overflow
  EXPECT_EQ(strict_error(8), "shard 'mem.tar': member 'e.cls' is not an integer class index: ''");
  EXPECT_EQ(strict_error(10, {.strict = true, .require_label = true}),
            "shard 'mem.tar': sample 'nolabel' has no label (a .cls member)");
}

TEST(TarSamples, ATruncatedShardStopsTheReadingEvenWhenLenient) {
  const std::string tar = tar_of({{"a.jpg", std::string(700, 'a')}, {"b.jpg", std::string(900, 'b')}});
  MemorySource source(tar.substr(0, 2048 + 100), "cut.tar");
  TarSampleReader reader(source, {});
  EXPECT_EQ(mae::test::error_of<mae::IoError>([&] {
              while (reader.next()) {
              }
            }),
            "shard 'cut.tar' is truncated in member 'b.jpg': 100 of 900 bytes");
}

// The same bytes from a shard and from a file decode to the same pixels (JPEG decoded on request, PNG with a colour
// profile, grey and alpha PNGs decoded whole by OpenCV).
TEST(TarSamples, AnImageFromAShardDecodesAsTheFile) {
  mae::test::TempDir dir;
  const auto fixtures = mae::test::source_dir() / "tests/fixtures/data";
  const std::vector<std::string> files{"chelsea_420.jpg", "chelsea_grey.jpg", "chelsea_97x75.png", "chelsea_grey.png",
                                       "chelsea_rgba.png"};
  {
    mae::data::TarWriter writer((dir / "s.tar").string());
    for (std::size_t i = 0; i < files.size(); ++i) {
      const std::string key = "img" + std::to_string(i) + files[i].substr(files[i].rfind('.'));
      writer.add(key, mae::test::read_file(fixtures / files[i]));
      writer.add("img" + std::to_string(i) + ".cls", std::to_string(i));
    }
    writer.finish();
  }
  mae::data::ShardSource source((dir / "s.tar").string());
  TarSampleReader reader(source, {.strict = true, .require_label = true});
  for (std::size_t i = 0; i < files.size(); ++i) {
    auto sample = reader.next();
    ASSERT_TRUE(sample) << files[i];
    EXPECT_EQ(sample->label, static_cast<int64_t>(i));
    const auto from_shard = mae::data::EncodedImage::from_bytes(std::move(sample->image), sample->key);
    const auto from_file = mae::data::EncodedImage::open((fixtures / files[i]).string());
    EXPECT_EQ(from_shard.name(), "img" + std::to_string(i));
    const cv::Mat a = from_shard.decode();
    const cv::Mat b = from_file.decode();
    ASSERT_EQ(a.size(), b.size()) << files[i];
    ASSERT_EQ(a.type(), CV_8UC3) << files[i];
    ASSERT_EQ(b.type(), CV_8UC3) << files[i];
    EXPECT_EQ(cv::norm(a, b, cv::NORM_INF), 0.0) << files[i];
    const cv::Rect region(5, 7, 30, 20);
    EXPECT_EQ(cv::norm(from_shard.decode(region), from_file.decode(region), cv::NORM_INF), 0.0) << files[i];
  }
  EXPECT_FALSE(reader.next());
  EXPECT_EQ(mae::test::error_of<mae::IoError>([] { mae::data::EncodedImage::from_bytes({}, "s.tar:k.jpg"); }),
            "cannot decode image 's.tar:k.jpg': the file is empty");
  EXPECT_NE(mae::test::error_of<mae::IoError>([] {
              mae::data::EncodedImage::from_bytes({'n', 'o', 't'}, "s.tar:k.png");
            }).find("s.tar:k.png"),
            std::string::npos);
}

}  // namespace
