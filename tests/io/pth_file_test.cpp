#include "mae/io/pth_file.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <fstream>

#include "mae/io/atomic_file.h"
#include "mae/util/error.h"
#include "support/test_support.h"

namespace {

using mae::test::python;
using mae::test::run_command;
using mae::test::shell_quote;

c10::impl::GenericDict any_dict() {
  return c10::impl::GenericDict(c10::AnyType::get(), c10::AnyType::get());
}

void run_python(const std::string& code, const std::filesystem::path& path) {
  const auto result = run_command(python() + " -c " + shell_quote(code) + " " + shell_quote(path.string()));
  ASSERT_EQ(result.exit_code, 0) << result.output;
}

TEST(PthFile, OfficialTrainingCheckpointWithNamespaceArgs) {
  // What util/misc.save_model writes: model, optimizer (int keys, param groups), epoch, scaler, argparse.Namespace.
  mae::test::TempDir dir;
  const auto path = dir / "checkpoint-19.pth";
  run_python(R"PY(
import argparse, collections, sys, torch
model = torch.nn.Linear(3, 2)
opt = torch.optim.AdamW(model.parameters(), lr=1e-3, betas=(0.9, 0.95))
model(torch.ones(4, 3)).sum().backward(); opt.step()
args = argparse.Namespace(batch_size=64, blr=1.5e-4, lr=None, norm_pix_loss=True, model='mae_vit_large_patch16',
                          big=2**40, neg=-5, cutmix_minmax=None, input_size=224)
torch.save({'model': model.state_dict(), 'optimizer': opt.state_dict(), 'epoch': 19,
            'scaler': {'scale': 65536.0, 'growth_factor': 2.0, '_growth_tracker': 3}, 'args': args}, sys.argv[1])
)PY",
             path);

  const auto checkpoint = mae::io::load_pth(path.string()).toGenericDict();
  EXPECT_EQ(checkpoint.at("epoch").toInt(), 19);
  const auto args = checkpoint.at("args").toGenericDict();
  EXPECT_EQ(args.at("batch_size").toInt(), 64);
  EXPECT_DOUBLE_EQ(args.at("blr").toDouble(), 1.5e-4);
  EXPECT_TRUE(args.at("lr").isNone());
  EXPECT_TRUE(args.at("norm_pix_loss").toBool());
  EXPECT_EQ(args.at("model").toStringRef(), "mae_vit_large_patch16");
  EXPECT_EQ(args.at("big").toInt(), int64_t{1} << 40);
  EXPECT_EQ(args.at("neg").toInt(), -5);
  EXPECT_EQ(checkpoint.at("scaler").toGenericDict().at("_growth_tracker").toInt(), 3);
  EXPECT_EQ(checkpoint.at("model").toGenericDict().at("weight").toTensor().sizes(), (std::vector<int64_t>{2, 3}));
  const auto optimizer = checkpoint.at("optimizer").toGenericDict();
  const auto state0 = optimizer.at("state").toGenericDict().at(int64_t{0}).toGenericDict();
  EXPECT_EQ(state0.at("exp_avg").toTensor().sizes(), (std::vector<int64_t>{2, 3}));
  const auto group = optimizer.at("param_groups").toListRef()[0].toGenericDict();
  EXPECT_DOUBLE_EQ(group.at("betas").toTupleRef().elements()[1].toDouble(), 0.95);
  EXPECT_EQ(group.at("params").toListRef().size(), 2u);
}

TEST(PthFile, UnknownObjectsAreSkippedNotFatal) {
  mae::test::TempDir dir;
  const auto path = dir / "odd.pth";
  run_python(R"PY(
import sys, torch, datetime
torch.save({'when': datetime.date(2021, 11, 11), 'w': torch.ones(2)}, sys.argv[1])
)PY",
             path);
  const auto checkpoint = mae::io::load_pth(path.string()).toGenericDict();
  EXPECT_TRUE(checkpoint.at("when").isNone());
  EXPECT_TRUE(torch::equal(checkpoint.at("w").toTensor(), torch::ones({2})));
}

TEST(PthFile, RoundTripKeepsValuesDtypesAndSharedStorage) {
  mae::test::TempDir dir;
  const auto base = torch::randn({4, 5});
  auto value = any_dict();
  value.insert("float", base);
  value.insert("row_view", base[2]);  // shares base's storage
  value.insert("bf16", torch::randn({3}).to(torch::kBFloat16));
  value.insert("half", torch::randn({3}).to(torch::kHalf));
  value.insert("long", torch::arange(-3, 3));
  value.insert("bool", torch::tensor({true, false}));
  value.insert("big", int64_t{1} << 50);
  value.insert("neg", int64_t{-123456});
  value.insert("pi", 3.14159);
  value.insert("none", c10::IValue());
  value.insert("flag", true);
  value.insert("name", std::string("mae_vit_base_patch16"));
  value.insert("pair", c10::ivalue::Tuple::create({c10::IValue(1), c10::IValue(0.5)}));
  c10::impl::GenericList list(c10::AnyType::get());
  list.push_back(c10::IValue(2));
  list.push_back(c10::IValue(std::string("x")));
  value.insert("list", list);
  auto int_keys = any_dict();
  int_keys.insert(int64_t{7}, torch::zeros({1}));
  value.insert("int_keys", int_keys);
  const auto path = (dir / "roundtrip.pth").string();
  mae::io::save_pth(path, value);

  const auto back = mae::io::load_pth(path).toGenericDict();
  EXPECT_TRUE(torch::equal(back.at("float").toTensor(), base));
  EXPECT_TRUE(torch::equal(back.at("row_view").toTensor(), base[2]));
  EXPECT_EQ(back.at("row_view").toTensor().storage().data(), back.at("float").toTensor().storage().data());
  EXPECT_TRUE(torch::equal(back.at("bf16").toTensor(), value.at("bf16").toTensor()));
  EXPECT_EQ(back.at("half").toTensor().scalar_type(), torch::kHalf);
  EXPECT_TRUE(torch::equal(back.at("long").toTensor(), torch::arange(-3, 3)));
  EXPECT_TRUE(torch::equal(back.at("bool").toTensor(), torch::tensor({true, false})));
  EXPECT_EQ(back.at("big").toInt(), int64_t{1} << 50);
  EXPECT_EQ(back.at("neg").toInt(), -123456);
  EXPECT_DOUBLE_EQ(back.at("pi").toDouble(), 3.14159);
  EXPECT_TRUE(back.at("none").isNone());
  EXPECT_TRUE(back.at("flag").toBool());
  EXPECT_EQ(back.at("name").toStringRef(), "mae_vit_base_patch16");
  EXPECT_DOUBLE_EQ(back.at("pair").toTupleRef().elements()[1].toDouble(), 0.5);
  EXPECT_EQ(back.at("list").toListRef()[1].toStringRef(), "x");
  EXPECT_EQ(back.at("int_keys").toGenericDict().at(int64_t{7}).toTensor().numel(), 1);

  // And Python reads the same file under weights_only, storage sharing included.
  run_python(R"PY(
import sys, torch
d = torch.load(sys.argv[1], weights_only=True)
assert d['row_view'].untyped_storage().data_ptr() == d['float'].untyped_storage().data_ptr()
assert torch.equal(d['row_view'], d['float'][2]) and d['bf16'].dtype == torch.bfloat16
assert d['big'] == 2**50 and d['neg'] == -123456 and d['pair'] == (1, 0.5) and d['list'] == [2, 'x']
assert d['none'] is None and d['flag'] is True and 7 in d['int_keys']
)PY",
             path);
}

TEST(PthFile, SaveLeavesNoTemporaryFileAndReplacesAtomically) {
  mae::test::TempDir dir;
  const auto path = (dir / "checkpoint-last.pth").string();
  auto first = any_dict();
  first.insert("epoch", 1);
  mae::io::save_pth(path, first);
  auto second = any_dict();
  second.insert("epoch", 2);
  mae::io::save_pth(path, second);
  EXPECT_EQ(mae::io::load_pth(path).toGenericDict().at("epoch").toInt(), 2);
  int files = 0;
  for ([[maybe_unused]] const auto& entry : std::filesystem::directory_iterator(dir.path())) {
    ++files;
  }
  EXPECT_EQ(files, 1);
}

TEST(PthFile, ErrorsNameTheFile) {
  mae::test::TempDir dir;
  const std::string missing =
      mae::test::error_of<mae::IoError>([&] { mae::io::load_pth((dir / "missing.pth").string()); });
  EXPECT_NE(missing.find("missing.pth' does not exist"), std::string::npos) << missing;
  std::ofstream(dir / "text.pth") << "not a zip file";
  try {
    mae::io::load_pth((dir / "text.pth").string());
    FAIL();
  } catch (const mae::IoError& error) {
    EXPECT_NE(std::string(error.what()).find("text.pth' is not a readable torch.save file"), std::string::npos) << error.what();
  }
  EXPECT_THROW(mae::io::save_pth((dir / "no/such/folder/x.pth").string(), any_dict()), mae::IoError);
}

// A full disk during a save: an error naming the file and the disk, no temporary file left to keep the disk full,
// the previous file intact, and no std::terminate from the zip writer's destructor. On a 3 MB tmpfs.
TEST(PthFile, AFullDiskIsAnErrorThatLeavesThePreviousFileIntact) {
  mae::test::TempDir dir;
  const auto mount_point = dir / "tiny";
  std::filesystem::create_directories(mount_point);
  if (::system(("mount -t tmpfs -o size=3m tmpfs " + shell_quote(mount_point.string()) + " 2>/dev/null").c_str()) !=
      0) {
    GTEST_SKIP() << "cannot mount a tmpfs here (needs root and a kernel that allows it)";
  }
  const auto path = (mount_point / "checkpoint-last.pth").string();
  auto small = any_dict();
  small.insert("weights", torch::ones({1000}));
  mae::io::save_pth(path, small);
  auto large = any_dict();
  large.insert("weights", torch::ones({2 << 20}));  // 8 MiB, more than the disk holds
  const std::string error = mae::test::error_of<mae::IoError>([&] { mae::io::save_pth(path, large); });
  EXPECT_NE(error.find("cannot write '" + path + "'"), std::string::npos) << error;
  EXPECT_NE(error.find("the disk is full"), std::string::npos) << error;
  EXPECT_TRUE(torch::equal(mae::io::load_pth(path).toGenericDict().at("weights").toTensor(), torch::ones({1000})));
  int files = 0;
  for ([[maybe_unused]] const auto& entry : std::filesystem::directory_iterator(mount_point)) {
    ++files;
  }
  EXPECT_EQ(files, 1) << "the temporary file was left on the full disk";
  EXPECT_EQ(::system(("umount " + shell_quote(mount_point.string())).c_str()), 0);
}

// What a kill -9 leaves: temporary files of processes that no longer run are removed, a running process's are not.
TEST(AtomicFile, StaleTemporariesOfDeadProcessesAreRemoved) {
  mae::test::TempDir dir;
  pid_t dead = 4000000;  // above the usual pid range; stepped down until no process has it
  while (::kill(dead, 0) == 0 || errno == EPERM) {
    --dead;
  }
  const auto stale = dir / ("checkpoint-3.pth.tmp." + std::to_string(dead));
  const auto own = dir / ("checkpoint-4.pth.tmp." + std::to_string(::getpid()));
  const auto unrelated = dir / "checkpoint-3.pth";
  for (const auto& file : {stale, own, unrelated}) {
    std::ofstream(file) << std::string(1000, 'x');
  }
  const auto removed = mae::io::remove_stale_temporaries(dir.path().string());
  EXPECT_EQ(removed.count, 1);
  EXPECT_EQ(removed.bytes, 1000u);
  EXPECT_FALSE(std::filesystem::exists(stale));
  EXPECT_TRUE(std::filesystem::exists(own));
  EXPECT_TRUE(std::filesystem::exists(unrelated));
}
}  // namespace
