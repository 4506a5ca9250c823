#include <gtest/gtest.h>

#include <torch/torch.h>

#include <fstream>

#include "mae/io/safetensors.h"
#include "mae/util/error.h"
#include "support/test_support.h"

namespace {

using mae::test::python;
using mae::test::run_command;
using mae::test::shell_quote;

TEST(Safetensors, RoundTripAndPythonReadsOurs) {
  mae::test::TempDir dir;
  const auto path = (dir / "model.safetensors").string();
  const mae::io::NamedTensors tensors{{"blocks.0.attn.qkv.weight", torch::randn({6, 2})},
                                      {"pos_embed", torch::randn({1, 5, 2}).to(torch::kBFloat16)},
                                      {"head.bias", torch::arange(3)},
                                      {"view", torch::randn({4, 3}).t()}};
  mae::io::save_safetensors(path, tensors, {{"format", "pt"}});
  const auto back = mae::io::load_safetensors(path);
  ASSERT_EQ(back.tensors.size(), tensors.size());
  for (std::size_t i = 0; i < tensors.size(); ++i) {
    EXPECT_EQ(back.tensors[i].first, tensors[i].first);
    EXPECT_TRUE(torch::equal(back.tensors[i].second, tensors[i].second)) << tensors[i].first;
  }
  EXPECT_EQ(back.metadata.at("format"), "pt");

  const std::string check = R"PY(
import sys, torch
from safetensors.torch import load_file
d = load_file(sys.argv[1])
assert d['pos_embed'].dtype == torch.bfloat16 and d['head.bias'].tolist() == [0, 1, 2]
assert d['view'].shape == (3, 4)
print('safetensors read')
)PY";
  const auto result = run_command(python() + " -c " + shell_quote(check) + " " + shell_quote(path));
  EXPECT_EQ(result.exit_code, 0) << result.output;
}

TEST(Safetensors, ReadsFilesWrittenByPython) {
  mae::test::TempDir dir;
  const auto path = (dir / "hf.safetensors").string();
  const std::string write = R"PY(
import sys, torch
from safetensors.torch import save_file
save_file({'a': torch.arange(6, dtype=torch.float32).reshape(2, 3), 'b': torch.tensor([True, False])}, sys.argv[1])
)PY";
  ASSERT_EQ(run_command(python() + " -c " + shell_quote(write) + " " + shell_quote(path)).exit_code, 0);
  const auto loaded = mae::io::load_safetensors(path);
  ASSERT_EQ(loaded.tensors.size(), 2u);
  EXPECT_TRUE(torch::equal(loaded.tensors[0].second, torch::arange(6, torch::kFloat32).reshape({2, 3})));
  EXPECT_TRUE(torch::equal(loaded.tensors[1].second, torch::tensor({true, false})));
}

TEST(Safetensors, TruncatedFileIsNamed) {
  mae::test::TempDir dir;
  const auto path = dir / "cut.safetensors";
  mae::io::save_safetensors(path.string(), {{"w", torch::randn({64, 64})}});
  std::filesystem::resize_file(path, std::filesystem::file_size(path) - 100);
  try {
    mae::io::load_safetensors(path.string());
    FAIL();
  } catch (const mae::IoError& error) {
    EXPECT_NE(std::string(error.what()).find("cut.safetensors': tensor 'w' lies outside the file"), std::string::npos)
        << error.what();
  }
}

// A hostile or broken header is an error naming the file, checked against the file's length before anything is
// allocated (a 2^40 x 2^40 tensor would otherwise be asked of the allocator).
TEST(Safetensors, ImpossibleShapesAreRejectedBeforeAllocating) {
  mae::test::TempDir dir;
  const auto write = [&](const std::string& name, const std::string& header) {
    const auto path = (dir / name).string();
    std::ofstream out(path, std::ios::binary);
    const uint64_t size = header.size();
    out.write(reinterpret_cast<const char*>(&size), sizeof size);
    out << header << std::string(16, '\0');
    return path;
  };
  const auto negative = write("negative.safetensors", R"({"w":{"dtype":"F32","shape":[-4],"data_offsets":[0,16]}})");
  const std::string negative_error = mae::test::error_of<mae::IoError>([&] { mae::io::load_safetensors(negative); });
  EXPECT_NE(negative_error.find("negative.safetensors"), std::string::npos) << negative_error;
  EXPECT_NE(negative_error.find("negative dimension"), std::string::npos) << negative_error;
  const auto huge = write("huge.safetensors",
                          R"({"w":{"dtype":"F32","shape":[1099511627776,1099511627776],"data_offsets":[0,16]}})");
  const std::string huge_error = mae::test::error_of<mae::IoError>([&] { mae::io::load_safetensors(huge); });
  EXPECT_NE(huge_error.find("lies outside the file or has the wrong size"), std::string::npos) << huge_error;
  const auto backwards = write("backwards.safetensors", R"({"w":{"dtype":"F32","shape":[4],"data_offsets":[16,0]}})");
  EXPECT_THROW(mae::io::load_safetensors(backwards), mae::IoError);
}
}  // namespace
