// A hostile or broken .pth file gives an error, never a crash: random byte flips and truncations of a real file (at
// the zip level, where CRCs catch most, and inside the pickle itself, repackaged with fresh CRCs so that the
// unpickler sees every damaged byte), containers nested 200,000 deep (inner-first and outer-first), a tuple doubled
// into 2^80 items, a list that contains itself, and declared sizes far beyond the file. Runs in about a second.
#include <caffe2/serialize/inline_container.h>
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <fstream>
#include <random>

#include "mae/io/pickle_writer.h"
#include "mae/io/pth_file.h"
#include "mae/util/error.h"
#include "mae/util/strings.h"
#include "support/test_support.h"

namespace {

// What a checkpoint holds, small: nested dicts and lists, tuples, strings, numbers, None, shared tensors.
c10::IValue sample_checkpoint() {
  auto dict = c10::impl::GenericDict(c10::AnyType::get(), c10::AnyType::get());
  const at::Tensor weight = torch::arange(12, torch::kFloat).reshape({3, 4});
  auto model = c10::impl::GenericDict(c10::AnyType::get(), c10::AnyType::get());
  model.insert("blocks.0.weight", weight);
  model.insert("blocks.0.view", weight.t());
  dict.insert("model", model);
  auto groups = c10::impl::GenericList(c10::AnyType::get());
  groups.push_back(c10::ivalue::Tuple::create({c10::IValue(0.9), c10::IValue(0.95)}));
  groups.push_back(c10::IValue(std::string("decay")));
  dict.insert("optimizer", groups);
  dict.insert("epoch", int64_t{7});
  dict.insert("scaler", c10::IValue());
  return dict;
}

// A .pth file with this data.pkl and these storages, as save_pth writes one (fresh CRCs).
void write_pth(const std::string& path, const std::string& pickle, const std::vector<c10::Storage>& storages) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  caffe2::serialize::PyTorchStreamWriter writer([&](const void* data, std::size_t size) {
    out.write(static_cast<const char*>(data), static_cast<std::streamsize>(size));
    return size;
  });
  writer.writeRecord("data.pkl", pickle.data(), pickle.size());
  writer.writeRecord("byteorder", "little", 6);
  for (std::size_t key = 0; key < storages.size(); ++key) {
    writer.writeRecord(mae::text("data/", key), storages[key].data(), storages[key].nbytes());
  }
  writer.writeEndOfFile();
}

// Loads `path` as every reader of ours does; an mae::Error is the only acceptable failure.
void expect_loads_or_fails_cleanly(const std::string& path, const std::string& what) {
  try {
    mae::io::load_pth(path);
    mae::io::load_pth(path, mae::io::PthContents::metadata_only);
  } catch (const mae::Error&) {
  } catch (const std::exception& error) {
    ADD_FAILURE() << what << ": not an mae::Error but " << error.what();
  }
}

TEST(PickleFuzz, DamagedFilesGiveErrorsNotCrashes) {
  mae::test::TempDir dir;
  const mae::io::Pickled pickled = mae::io::write_pickle(sample_checkpoint());
  const auto original = (dir / "original.pth").string();
  write_pth(original, pickled.bytes, pickled.storages);
  std::ifstream in(original, std::ios::binary);
  const std::string file((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::mt19937 random(1234);
  const auto damaged = (dir / "damaged.pth").string();
  for (int round = 0; round < 200; ++round) {
    // The whole file: flips, then a truncation.
    std::string bytes = file;
    for (int flip = 0; flip < 1 + round % 8; ++flip) {
      bytes[random() % bytes.size()] = static_cast<char>(random());
    }
    std::ofstream(damaged, std::ios::binary | std::ios::trunc) << bytes;
    expect_loads_or_fails_cleanly(damaged, mae::text("file flips, round ", round));
    std::ofstream(damaged, std::ios::binary | std::ios::trunc) << file.substr(0, random() % file.size());
    expect_loads_or_fails_cleanly(damaged, mae::text("file truncation, round ", round));
    // The pickle alone, with valid CRCs around it: flips and a truncation.
    std::string pickle = pickled.bytes;
    for (int flip = 0; flip < 1 + round % 4; ++flip) {
      pickle[random() % pickle.size()] = static_cast<char>(random());
    }
    write_pth(damaged, pickle, pickled.storages);
    expect_loads_or_fails_cleanly(damaged, mae::text("pickle flips, round ", round));
    write_pth(damaged, pickled.bytes.substr(0, random() % pickled.bytes.size()), pickled.storages);
    expect_loads_or_fails_cleanly(damaged, mae::text("pickle truncation, round ", round));
  }
}

TEST(PickleFuzz, DeepNestingSelfReferenceAndHugeSizesAreErrors) {
  mae::test::TempDir dir;
  const auto path = (dir / "hostile.pth").string();
  const auto error_of = [&](const std::string& pickle) {
    write_pth(path, pickle, {});
    return mae::test::error_of<mae::IoError>([&] { mae::io::load_pth(path); });
  };
  constexpr int kDepth = 200000;
  // [[[...]]] 200,000 deep: EMPTY_LIST x N, then APPEND x (N - 1); and the same with tuples of one.
  const std::string lists = "\x80\x02" + std::string(kDepth, ']') + std::string(kDepth - 1, 'a') + ".";
  EXPECT_NE(error_of(lists).find("nested more than 1000 levels deep"), std::string::npos);
  std::string tuples = "\x80\x02N";
  for (int i = 0; i < kDepth; ++i) {
    tuples += '\x85';  // TUPLE1
  }
  EXPECT_NE(error_of(tuples + ".").find("nested more than 1000 levels deep"), std::string::npos);
  // 999 levels are fine: the limit is not a limit on ordinary files.
  const std::string shallow = "\x80\x02" + std::string(999, ']') + std::string(998, 'a') + ".";
  write_pth(path, shallow, {});
  EXPECT_TRUE(mae::io::load_pth(path).isList());
  // The same depth built outer-first through the memo (new list, LONG_BINPUT, APPEND it to the previous one, POP,
  // LONG_BINGET it back), which the depth recorded at each insertion alone would miss.
  std::string outer_first = "\x80\x02]";
  for (uint32_t i = 1; i <= 2000; ++i) {
    const auto index = std::string(reinterpret_cast<const char*>(&i), sizeof i);
    outer_first += "]r" + index + "a0j" + index;
  }
  EXPECT_NE(error_of(outer_first + ".").find("changed after it was put into another"), std::string::npos);
  // A tuple doubled 80 times over (DUP, TUPLE2): 2^80 items from 160 bytes.
  std::string doubling = "\x80\x02N";
  for (int i = 0; i < 80; ++i) {
    doubling += "2\x86";
  }
  EXPECT_NE(error_of(doubling + ".").find("copies more than"), std::string::npos);
  // A list appended to itself: EMPTY_LIST, MEMOIZE, BINGET 0, APPEND.
  EXPECT_NE(error_of(std::string("\x80\x04]\x94h") + '\0' + "a.").find("contains itself"), std::string::npos);
  // A string that declares 2^62 bytes: BINUNICODE8.
  std::string huge = "\x80\x04\x8d";
  const uint64_t size = uint64_t{1} << 62;
  huge.append(reinterpret_cast<const char*>(&size), sizeof size);
  EXPECT_NE(error_of(huge + "abc.").find("the data ends early"), std::string::npos);
}

}  // namespace
