// Toolchain proof (c): torch.save files move both ways between mae-cpp (src/io) and Python torch.
// LibTorch's own torch::pickle_save cannot serve here: its dicts carry torch.jit._pickle.restore_type_tag, which
// torch.load(weights_only=True) refuses, and torch::pickle_load fails on the OrderedDict that torch.save writes for
// every state dict. Both were tried; see docs/interop.md.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "mae/io/pth_file.h"
#include "support/test_support.h"

namespace {

using mae::test::python;
using mae::test::run_command;
using mae::test::shell_quote;

TEST(PickleInterop, DictWrittenFromCppLoadsInPythonWithWeightsOnly) {
  mae::test::TempDir dir;
  c10::impl::GenericDict model(c10::StringType::get(), c10::TensorType::get());
  model.insert("blocks.0.attn.qkv.weight", torch::arange(12, torch::kFloat32).reshape({3, 4}));
  model.insert("cls_token", torch::full({1, 1, 4}, 0.5, torch::kFloat64));
  model.insert("pos_embed", torch::arange(6, torch::kFloat32).reshape({2, 3}).t());  // non-contiguous view
  c10::impl::GenericDict checkpoint(c10::StringType::get(), c10::AnyType::get());
  checkpoint.insert("model", model);
  checkpoint.insert("epoch", 7);
  const auto path = dir / "checkpoint.pth";
  mae::io::save_pth(path.string(), checkpoint);

  const std::string check = R"PY(
import sys, torch
d = torch.load(sys.argv[1], weights_only=True)
m = d['model']
assert d['epoch'] == 7, d['epoch']
assert list(m) == ['blocks.0.attn.qkv.weight', 'cls_token', 'pos_embed'], list(m)
assert torch.equal(m['blocks.0.attn.qkv.weight'], torch.arange(12, dtype=torch.float32).reshape(3, 4))
assert m['cls_token'].dtype == torch.float64 and torch.equal(m['cls_token'], torch.full((1, 1, 4), 0.5, dtype=torch.float64))
assert torch.equal(m['pos_embed'], torch.arange(6, dtype=torch.float32).reshape(2, 3).t())
print('python read it')
)PY";
  const auto result = run_command(python() + " -c " + shell_quote(check) + " " + shell_quote(path.string()));
  EXPECT_EQ(result.exit_code, 0) << result.output;
  EXPECT_NE(result.output.find("python read it"), std::string::npos) << result.output;
}

TEST(PickleInterop, StateDictSavedByPythonLoadsInCpp) {
  mae::test::TempDir dir;
  const auto path = dir / "official.pth";
  const std::string save = R"PY(
import sys, torch, collections
sd = collections.OrderedDict()
sd['patch_embed.proj.weight'] = torch.arange(24, dtype=torch.float32).reshape(2, 3, 2, 2)
sd['norm.bias'] = torch.linspace(-1, 1, 5)
sd['head.weight'] = torch.arange(6, dtype=torch.float32).reshape(3, 2).t()  # saved as a strided view
torch.save({'model': sd, 'epoch': 799}, sys.argv[1])
)PY";
  const auto result = run_command(python() + " -c " + shell_quote(save) + " " + shell_quote(path.string()));
  ASSERT_EQ(result.exit_code, 0) << result.output;

  const auto checkpoint = mae::io::load_pth(path.string()).toGenericDict();
  EXPECT_EQ(checkpoint.at("epoch").toInt(), 799);
  const auto model = checkpoint.at("model").toGenericDict();
  std::vector<std::string> keys;
  for (const auto& entry : model) {
    keys.push_back(entry.key().toStringRef());
  }
  EXPECT_EQ(keys, (std::vector<std::string>{"patch_embed.proj.weight", "norm.bias", "head.weight"}));
  EXPECT_TRUE(torch::equal(model.at("patch_embed.proj.weight").toTensor(),
                           torch::arange(24, torch::kFloat32).reshape({2, 3, 2, 2})));
  EXPECT_TRUE(torch::equal(model.at("norm.bias").toTensor(), torch::linspace(-1, 1, 5)));
  EXPECT_TRUE(torch::equal(model.at("head.weight").toTensor(), torch::arange(6, torch::kFloat32).reshape({3, 2}).t()));
}

}  // namespace
