#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "mae/data/image_folder.h"
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

}  // namespace
