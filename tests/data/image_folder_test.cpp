#include <gtest/gtest.h>

#include <unistd.h>

#include <filesystem>
#include <fstream>

#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "mae/data/folder/image_folder.h"
#include "mae/data/image/image_io.h"
#include "mae/util/error.h"
#include "support/test_support.h"

namespace {

using mae::data::ImageFolder;

void touch(const std::filesystem::path& path) {
  std::filesystem::create_directories(path.parent_path());
  std::ofstream(path) << "x";
}

std::string usage_error(const std::function<void()>& action) { return mae::test::error_of<mae::UsageError>(action); }

TEST(ImageFolder, TorchvisionOrderAndLabels) {
  mae::test::TempDir dir;
  const auto root = dir / "train";
  for (const char* name : {"b_cat/z.JPG", "b_cat/a.png", "b_cat/sub/c.jpeg", "a_dog/1.webp", "a_dog/notes.txt",
                           "c_fox/deep/er/x.bmp"}) {
    touch(root / name);
  }
  std::filesystem::create_directories(root / "c_fox");
  const auto folder = ImageFolder::with_classes(root.string());
  EXPECT_EQ(folder.classes(), (std::vector<std::string>{"a_dog", "b_cat", "c_fox"}));
  std::vector<std::pair<std::string, int64_t>> listed;
  for (const auto& sample : folder.samples()) {
    listed.emplace_back(std::filesystem::relative(sample.path, root).string(), sample.label);
  }
  EXPECT_EQ(listed, (std::vector<std::pair<std::string, int64_t>>{{"a_dog/1.webp", 0},
                                                                   {"b_cat/a.png", 1},
                                                                   {"b_cat/z.JPG", 1},
                                                                   {"b_cat/sub/c.jpeg", 1},
                                                                   {"c_fox/deep/er/x.bmp", 2}}));
}

TEST(ImageFolder, PretrainingTakesAPlainTreeOrTrain) {
  mae::test::TempDir dir;
  touch(dir / "plain/x.png");
  touch(dir / "plain/more/y.jpg");
  EXPECT_EQ(mae::data::training_images((dir / "plain").string(), false).size(), 2u);
  touch(dir / "split/train/k/1.png");
  touch(dir / "split/other.png");  // not under train/: ignored when train/ exists
  EXPECT_EQ(mae::data::training_images((dir / "split").string(), false).size(), 1u);
}

TEST(ImageFolder, BadInputIsNamed) {
  mae::test::TempDir dir;
  EXPECT_EQ(usage_error([&] { mae::data::training_images((dir / "none").string(), true); }),
            "training folder '" + (dir / "none/train").string() +
                "' does not exist (expected --data_path with train/ and val/ class folders inside)");
  std::filesystem::create_directories(dir / "empty");
  EXPECT_NE(usage_error([&] { ImageFolder::without_labels((dir / "empty").string()); }).find("holds no image"),
            std::string::npos);
  touch(dir / "d/train/cat/1.png");
  touch(dir / "d/train/dog/1.png");
  std::filesystem::create_directories(dir / "d/train/empty_class");
  EXPECT_NE(usage_error([&] { mae::data::training_images((dir / "d").string(), true); })
                .find("class folder 'empty_class' holds no image"),
            std::string::npos);
  std::filesystem::remove(dir / "d/train/empty_class");
  const auto train = mae::data::training_images((dir / "d").string(), true);
  touch(dir / "d/val/cat/2.png");
  EXPECT_NE(usage_error([&] { mae::data::validation_images((dir / "d").string(), train); }).find("(missing 'dog')"),
            std::string::npos);
  touch(dir / "d/val/dog/2.png");
  EXPECT_EQ(mae::data::validation_images((dir / "d").string(), train).size(), 2u);
}

// A zero-byte file is named as empty, not with OpenCV's assertion text.
TEST(ImageRead, AnEmptyFileIsNamed) {
  mae::test::TempDir dir;
  std::ofstream(dir / "empty.jpg").flush();
  EXPECT_EQ(mae::test::error_of<mae::IoError>([&] { mae::data::read_rgb_image((dir / "empty.jpg").string()); }),
            "cannot decode image '" + (dir / "empty.jpg").string() + "': the file is empty");
}

// A PNG with an sRGB colour profile that libpng flags ("iCCP: known incorrect sRGB profile", common in ImageNet)
// decodes without libpng's warning on stderr, and to the same pixels as the file without the profile.
TEST(ImageRead, ColourProfileWarningsStayOutOfTheLog) {
  const auto path = (mae::test::source_dir() / "tests/fixtures/data/chelsea_97x75.png").string();
  ASSERT_NE(mae::test::read_file(path).find("iCCP"), std::string::npos) << "the fixture has no colour profile";
  testing::internal::CaptureStderr();
  const cv::Mat pixels = mae::data::read_rgb_image(path);
  const std::string printed = testing::internal::GetCapturedStderr();
  EXPECT_EQ(printed, "");
  // The same pixels as Pillow's decode of the file (which ignores the profile too).
  const cv::Mat reference = cv::imread(path, cv::IMREAD_COLOR);
  cv::Mat reference_rgb;
  cv::cvtColor(reference, reference_rgb, cv::COLOR_BGR2RGB);
  EXPECT_EQ(cv::norm(pixels, reference_rgb, cv::NORM_INF), 0.0);
}

// A folder without permission and a symlink that points back up the tree are skipped and named, as os.walk skips
// them; --strict_data makes them an error naming the path.
TEST(ImageFolder, UnreadableFoldersAndSymlinkLoopsAreSkippedAndNamed) {
  mae::test::TempDir dir;
  touch(dir / "data/a/1.png");
  touch(dir / "data/b/2.png");
  std::filesystem::create_directory_symlink(dir / "data", dir / "data/a/loop");
  std::filesystem::create_directory_symlink(dir / "nowhere", dir / "data/a/dangling");
  const ImageFolder folder = ImageFolder::without_labels((dir / "data").string());
  EXPECT_EQ(folder.size(), 2u);
  ASSERT_EQ(folder.unreadable().size(), 2u);
  EXPECT_NE(folder.unreadable()[0].find("dangling"), std::string::npos) << folder.unreadable()[0];
  EXPECT_NE(folder.unreadable()[1].find((dir / "data/a/loop").string() + " (a symlink back to"), std::string::npos)
      << folder.unreadable()[1];
  EXPECT_NO_THROW(mae::data::report_unreadable(folder, /*strict_data=*/false));
  const std::string strict =
      mae::test::error_of<mae::IoError>([&] { mae::data::report_unreadable(folder, /*strict_data=*/true); });
  EXPECT_NE(strict.find("cannot read " + (dir / "data/a/").string()), std::string::npos) << strict;

  // Permissions bind only a user other than root; as root the folder stays readable and nothing is skipped.
  touch(dir / "locked/ok.png");
  touch(dir / "locked/c/3.png");
  std::filesystem::permissions(dir / "locked/c", std::filesystem::perms::none);
  const ImageFolder locked = ImageFolder::without_labels((dir / "locked").string());
  std::filesystem::permissions(dir / "locked/c", std::filesystem::perms::owner_all);
  if (::geteuid() != 0) {
    ASSERT_EQ(locked.unreadable().size(), 1u);
    EXPECT_NE(locked.unreadable()[0].find("Permission denied"), std::string::npos) << locked.unreadable()[0];
  }
}

}  // namespace
