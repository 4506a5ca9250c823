#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "mae/data/shards/shard_source.h"
#include "mae/data/shards/tar_reader.h"
#include "mae/data/shards/tar_writer.h"
#include "mae/util/error.h"
#include "support/test_support.h"

namespace {

using mae::data::MemorySource;
using mae::data::TarMember;
using mae::data::TarReader;
using mae::data::TarWriter;

using Members = std::vector<std::pair<std::string, std::string>>;  // name, bytes

std::string tar_of(const Members& members) {
  std::ostringstream out;
  TarWriter writer(out, "<test>");
  for (const auto& [name, bytes] : members) {
    writer.add(name, bytes);
  }
  writer.finish();
  return out.str();
}

Members read_all(TarReader& reader) {
  Members members;
  while (auto member = reader.next()) {
    members.emplace_back(member->name, std::string(member->bytes.begin(), member->bytes.end()));
  }
  return members;
}

Members read_all(const std::string& tar, const std::string& name = "x.tar") {
  MemorySource source(tar, name);
  TarReader reader(source);
  return read_all(reader);
}

Members read_file(const std::filesystem::path& path) {
  mae::data::ShardSource source(path.string());
  TarReader reader(source);
  return read_all(reader);
}

// "name (size bytes, hash)" per member: what the tests compare, readable when they fail (data is binary).
std::vector<std::string> summary(const Members& members) {
  std::vector<std::string> lines;
  for (const auto& [name, bytes] : members) {
    lines.push_back(name + " (" + std::to_string(bytes.size()) + " bytes, " +
                    std::to_string(std::hash<std::string>{}(bytes)) + ")");
  }
  return lines;
}

std::string io_error(const std::function<void()>& action) {
  return mae::test::error_of<mae::IoError>(action);
}

// Bytes 0..255 repeated: data with zeros and every byte value, of any length.
std::string binary(std::size_t size, int seed) {
  std::string bytes(size, '\0');
  for (std::size_t i = 0; i < size; ++i) {
    bytes[i] = static_cast<char>((i * 7 + static_cast<std::size_t>(seed)) % 256);
  }
  return bytes;
}

// A header's checksum recomputed after a test edits its fields, so that only the edit is wrong.
void fix_checksum(std::string& tar, std::size_t header_at) {
  std::fill(tar.begin() + header_at + 148, tar.begin() + header_at + 156, ' ');
  unsigned sum = 0;
  for (std::size_t i = 0; i < 512; ++i) {
    sum += static_cast<unsigned char>(tar[header_at + i]);
  }
  std::snprintf(tar.data() + header_at + 148, 7, "%06o", sum);
}

const std::string kLongName = std::string(60, 'd') + "/" + std::string(70, 'e') + "/key.jpg";  // 139 bytes

Members sample_members() {
  return {{"n01/abc.jpg", binary(5678, 1)},
          {"n01/abc.cls", "3\n"},
          {"empty.txt", ""},
          {"block.bin", binary(512, 2)},
          {"block_and_one.bin", binary(513, 3)},
          {std::string(100, 'x'), "exactly the width of the name field"},
          {kLongName, binary(1000, 4)}};
}

TEST(TarWriter, RoundTripsThroughTheReader) {
  const Members members = sample_members();
  const std::string tar = tar_of(members);
  EXPECT_EQ(summary(read_all(tar)), summary(members));
  EXPECT_EQ(tar.size() % 10240, 0u);    // whole records, as tar writes them
  EXPECT_TRUE(tar_of(members) == tar);  // deterministic
}

TEST(TarWriter, HeadersAreUstarWithFixedMetadata) {
  const std::string tar = tar_of({{"a/b.jpg", "12345"}});
  ASSERT_GE(tar.size(), 1024u);
  EXPECT_EQ(tar.substr(0, 8), std::string("a/b.jpg\0", 8));
  EXPECT_EQ(tar.substr(100, 8), std::string("0000644\0", 8));  // mode
  EXPECT_EQ(tar.substr(108, 16), std::string("0000000\0"
                                             "0000000\0",
                                             16));                   // uid, gid
  EXPECT_EQ(tar.substr(124, 12), std::string("00000000005\0", 12));  // size
  EXPECT_EQ(tar.substr(136, 12), std::string("00000000000\0", 12));  // mtime
  EXPECT_EQ(tar[156], '0');
  EXPECT_EQ(tar.substr(257, 8), std::string("ustar\0"
                                            "00",
                                            8));
  EXPECT_EQ(tar.substr(265, 500 - 265), std::string(500 - 265, '\0'));  // uname, gname, devices, prefix
  EXPECT_EQ(tar.substr(512, 5), "12345");
  EXPECT_EQ(tar.substr(517, 512 - 5), std::string(512 - 5, '\0'));
  // The checksum as tar writes it: 6 octal digits, NUL, space.
  EXPECT_EQ(tar[154], '\0');
  EXPECT_EQ(tar[155], ' ');
}

TEST(TarWriter, LongNamesGoInAPaxHeader) {
  const std::string tar = tar_of({{kLongName, "x"}});
  EXPECT_EQ(tar.substr(0, 15), std::string("././@PaxHeader\0", 15));
  EXPECT_EQ(tar[156], 'x');
  const std::string record = "149 path=" + kLongName + "\n";  // the length counts its own digits
  ASSERT_EQ(record.size(), 149u);
  EXPECT_EQ(tar.substr(512, record.size()), record);
  EXPECT_EQ(tar[1024 + 156], '0');
  EXPECT_EQ(tar.substr(1024, 100), kLongName.substr(0, 100));
}

TEST(TarWriter, RejectsWhatATarCannotHold) {
  std::ostringstream out;
  TarWriter writer(out, "out.tar");
  EXPECT_NE(mae::test::error_of([&] { writer.add("", "x"); }).find("non-empty"), std::string::npos);
  EXPECT_NE(mae::test::error_of([&] { writer.add(std::string("a\0b", 3), "x"); }).find("NUL"), std::string::npos);
  writer.finish();
  EXPECT_EQ(mae::test::error_of([&] { writer.add("late.txt", "x"); }),
            "tar file 'out.tar': member 'late.txt' added after finish()");
  EXPECT_EQ(writer.members(), 0u);
  EXPECT_EQ(writer.bytes_written(), 10240u);
}

TEST(TarWriter, WritesAFile) {
  mae::test::TempDir dir;
  const auto path = dir / "shard.tar";
  {
    TarWriter writer(path.string());
    writer.add("k.jpg", "jpeg bytes");
    writer.finish();
    EXPECT_EQ(writer.bytes_written(), std::filesystem::file_size(path));
  }
  EXPECT_EQ(read_file(path), (Members{{"k.jpg", "jpeg bytes"}}));
  EXPECT_EQ(io_error([&] { TarWriter((dir / "no/such/folder/x.tar").string()); }),
            "cannot create tar file '" + (dir / "no/such/folder/x.tar").string() + "'");
}

// Python's tarfile (which WebDataset's writers use) reads our shards with the metadata we promise.
TEST(TarWriter, PythonTarfileReadsIt) {
  mae::test::TempDir dir;
  const auto path = dir / "ours.tar";
  const Members members = sample_members();
  std::ofstream(path, std::ios::binary) << tar_of(members);
  const auto result = mae::test::run_command(
      mae::test::shell_quote(mae::test::python()) + " -c " +
      mae::test::shell_quote("import json, sys, tarfile\n"
                             "with tarfile.open(sys.argv[1]) as t:\n"
                             "    print(json.dumps([[m.name, m.size, m.mode, m.mtime, m.uid, m.gid, m.uname, m.gname,\n"
                             "                       m.isreg(), list(t.extractfile(m).read())] for m in t]))\n") +
      " " + mae::test::shell_quote(path.string()));
  ASSERT_EQ(result.exit_code, 0) << result.output;
  const auto listed = nlohmann::json::parse(result.output);
  ASSERT_EQ(listed.size(), members.size()) << result.output;
  for (std::size_t i = 0; i < members.size(); ++i) {
    EXPECT_EQ(listed[i][0], members[i].first);
    EXPECT_EQ(listed[i][1], members[i].second.size());
    EXPECT_EQ(listed[i][2], 0644);
    EXPECT_EQ(listed[i][3], 0);
    EXPECT_EQ(listed[i][4], 0);
    EXPECT_EQ(listed[i][5], 0);
    EXPECT_EQ(listed[i][6], "");
    EXPECT_EQ(listed[i][7], "");
    EXPECT_EQ(listed[i][8], true);
    const std::vector<uint8_t> bytes(members[i].second.begin(), members[i].second.end());
    EXPECT_EQ(listed[i][9].get<std::vector<uint8_t>>(), bytes) << members[i].first;
  }
}

// What Python's tarfile writes in each of its formats: GNU long names ('L'), pax path records and a global header
// ('g'), a ustar name split into prefix and name; folders and links are skipped.
TEST(TarReader, ReadsPythonTarfileFormats) {
  mae::test::TempDir dir;
  const std::string script =
      "import io, sys, tarfile\n"
      "folder = sys.argv[1]\n"
      "long = 'd' * 60 + '/' + 'e' * 70 + '/key.jpg'\n"
      "members = [('short.jpg', b'abc'), (long, bytes(range(256)) * 5), ('empty.cls', b'')]\n"
      "for fmt, name in ((tarfile.GNU_FORMAT, 'gnu'), (tarfile.PAX_FORMAT, 'pax'), (tarfile.USTAR_FORMAT, 'ustar')):\n"
      "    extra = {'pax_headers': {'comment': 'global'}} if name == 'pax' else {}\n"
      "    with tarfile.open(folder + '/' + name + '.tar', 'w', format=fmt, **extra) as t:\n"
      "        d = tarfile.TarInfo('a_folder'); d.type = tarfile.DIRTYPE; t.addfile(d)\n"
      "        for n, data in members:\n"
      "            info = tarfile.TarInfo(n); info.size = len(data); t.addfile(info, io.BytesIO(data))\n"
      "        s = tarfile.TarInfo('link.jpg'); s.type = tarfile.SYMTYPE; s.linkname = 'short.jpg'; t.addfile(s)\n"
      "        if name != 'ustar':\n"
      "            t.addfile(tarfile.TarInfo('caf\\u00e9.cls'), io.BytesIO(b''))\n";
  const auto result =
      mae::test::run_command(mae::test::shell_quote(mae::test::python()) + " -c " + mae::test::shell_quote(script) +
                             " " + mae::test::shell_quote(dir.path().string()));
  ASSERT_EQ(result.exit_code, 0) << result.output;
  std::string all_bytes;
  for (int i = 0; i < 5; ++i) {
    for (int b = 0; b < 256; ++b) {
      all_bytes += static_cast<char>(b);
    }
  }
  const Members expected{{"short.jpg", "abc"}, {kLongName, all_bytes}, {"empty.cls", ""}};
  EXPECT_EQ(summary(read_file(dir / "ustar.tar")), summary(expected));
  Members with_unicode = expected;
  with_unicode.emplace_back("caf\xc3\xa9.cls", "");
  EXPECT_EQ(summary(read_file(dir / "gnu.tar")), summary(with_unicode));
  EXPECT_EQ(summary(read_file(dir / "pax.tar")), summary(with_unicode));
}

// GNU tar reads our shards, and we read GNU tar's three formats (its long names, its ustar prefix, its pax headers).
TEST(TarReader, InteroperatesWithGnuTar) {
  if (std::system("tar --version > /dev/null 2>&1") != 0) {
    GTEST_SKIP() << "no tar on this machine";
  }
  mae::test::TempDir dir;
  const Members members = sample_members();
  std::ofstream(dir / "ours.tar", std::ios::binary) << tar_of(members);
  std::filesystem::create_directories(dir / "out");
  const auto extract = mae::test::run_command("tar -xf " + mae::test::shell_quote((dir / "ours.tar").string()) +
                                              " -C " + mae::test::shell_quote((dir / "out").string()));
  ASSERT_EQ(extract.exit_code, 0) << extract.output;
  for (const auto& [name, bytes] : members) {
    EXPECT_EQ(mae::test::read_file(dir / "out" / name), bytes) << name;
  }
  // Members in the order of the command line; GNU tar's formats keep the long name in an 'L' record, the ustar
  // prefix field and a pax 'x' header.
  for (const std::string format : {"gnu", "ustar", "pax"}) {
    const auto packed =
        mae::test::run_command("cd " + mae::test::shell_quote((dir / "out").string()) + " && tar --format=" + format +
                               " --sort=name -cf ../" + format + ".tar n01 " + kLongName.substr(0, 60));
    ASSERT_EQ(packed.exit_code, 0) << packed.output;
    EXPECT_EQ(summary(read_file(dir / (format + ".tar"))),
              summary({{"n01/abc.cls", "3\n"}, {"n01/abc.jpg", members[0].second}, {kLongName, members[6].second}}))
        << format;
  }
}

TEST(TarReader, EndsAtTheEndOfTheStreamOnABlockBoundary) {
  const std::string tar = tar_of({{"a.jpg", "1"}, {"b.jpg", "2"}});
  EXPECT_EQ(read_all(tar.substr(0, 2048)), (Members{{"a.jpg", "1"}, {"b.jpg", "2"}}));  // no end blocks
  // After the end blocks the rest of the stream is read (a pipe's command runs to its end) and ignored.
  MemorySource source(tar + std::string(3000, 'j'), "x.tar");
  TarReader reader(source);
  EXPECT_EQ(read_all(reader).size(), 2u);
  EXPECT_EQ(reader.offset(), tar.size() + 3000);
  EXPECT_FALSE(reader.next());
}

TEST(TarReader, ATruncatedStreamNamesTheMember) {
  const std::string tar = tar_of(sample_members());
  EXPECT_EQ(io_error([&] { read_all(tar.substr(0, 512 + 1234)); }),
            "shard 'x.tar' is truncated in member 'n01/abc.jpg': 1234 of 5678 bytes");
  EXPECT_EQ(io_error([&] { read_all(tar.substr(0, 512 + 5678)); }),
            "shard 'x.tar' is truncated in member 'n01/abc.jpg': its 5678 bytes are there, but not the padding to the "
            "next 512-byte block");
  const std::size_t second_header = 512 + 5632 + 512;
  EXPECT_EQ(io_error([&] { read_all(tar.substr(0, second_header + 100)); }),
            "shard 'x.tar' is truncated in the header at offset 6656 (after member 'n01/abc.jpg'): 100 of 512 bytes");
  // Inside a pax header, the long name is not known yet.
  const std::string long_only = tar_of({{kLongName, "x"}});
  EXPECT_EQ(io_error([&] { read_all(long_only.substr(0, 600)); }),
            "shard 'x.tar' is truncated in member '(pax header)': 88 of 149 bytes");
  EXPECT_EQ(io_error([&] { read_all(""); }), "shard 'x.tar' is empty (not a tar file)");
}

TEST(TarReader, ACorruptHeaderNamesItsOffsetAndThePreviousMember) {
  std::string tar = tar_of({{"a.jpg", "1"}, {"b.jpg", "2"}});
  tar[1024 + 3] ^= 0x20;  // a bit of b.jpg's name
  const std::string error = io_error([&] { read_all(tar); });
  EXPECT_EQ(error.substr(0, error.find(':')),
            "shard 'x.tar' has a corrupt tar header at offset 1024 (after member 'a.jpg')");
  EXPECT_NE(error.find("the shard is damaged or not a tar file"), std::string::npos) << error;
  const std::string not_tar = io_error([&] { read_all(std::string(2048, 'z')); });
  EXPECT_EQ(not_tar.substr(0, not_tar.find(':')),
            "shard 'x.tar' has a corrupt tar header at offset 0 (its first header)");
}

TEST(TarReader, SizesInBase256AndDamagedSizes) {
  std::string tar = tar_of({{"a.bin", binary(1000, 5)}});
  // GNU's base-256 form of the same size, 1000 = 0x03e8.
  std::fill(tar.begin() + 124, tar.begin() + 136, '\0');
  tar[124] = static_cast<char>(0x80);
  tar[134] = 0x03;
  tar[135] = static_cast<char>(0xe8);
  fix_checksum(tar, 0);
  EXPECT_EQ(summary(read_all(tar)), summary({{"a.bin", binary(1000, 5)}}));
  // A size far beyond the stream is a truncation, read in pieces: no terabyte is allocated.
  tar[130] = 0x01;
  fix_checksum(tar, 0);
  EXPECT_EQ(io_error([&] { read_all(tar); }),
            "shard 'x.tar' is truncated in member 'a.bin': 9728 of 1099511628776 bytes");
  std::memcpy(tar.data() + 124, "0000000z000\0", 12);
  fix_checksum(tar, 0);
  EXPECT_EQ(io_error([&] { read_all(tar); }),
            "shard 'x.tar' has a bad size field in the header of member 'a.bin' at offset 0; the shard is damaged");
}

TEST(TarReader, AMalformedPaxHeaderIsNamed) {
  std::string tar = tar_of({{kLongName, "x"}});
  tar[512] = '9';  // "948 path=...": longer than the header's data
  EXPECT_EQ(io_error([&] { read_all(tar); }),
            "shard 'x.tar' has a malformed pax extended header at offset 0 (record at byte 0)");
}

}  // namespace
