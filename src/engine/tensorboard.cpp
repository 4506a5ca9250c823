#include "mae/engine/tensorboard.h"

#include <unistd.h>

#include <array>
#include <bit>
#include <chrono>
#include <cstring>
#include <filesystem>

#include "mae/util/error.h"
#include "mae/util/strings.h"

namespace mae::engine {
namespace {

// Protocol-buffer wire format, just what an Event with a scalar Summary needs.
void put_varint(std::string& out, uint64_t value) {
  while (value >= 0x80) {
    out.push_back(static_cast<char>((value & 0x7f) | 0x80));
    value >>= 7;
  }
  out.push_back(static_cast<char>(value));
}

template <typename T>
void put_little_endian(std::string& out, T value) {
  static_assert(std::endian::native == std::endian::little, "event files are little-endian");
  char bytes[sizeof(T)];
  std::memcpy(bytes, &value, sizeof(T));
  out.append(bytes, sizeof(T));
}

// Field key: (field number << 3) | wire type (0 varint, 1 64-bit, 2 length-delimited, 5 32-bit).
void put_key(std::string& out, uint32_t field, uint32_t wire_type) { put_varint(out, (field << 3) | wire_type); }

void put_bytes(std::string& out, uint32_t field, std::string_view bytes) {
  put_key(out, field, 2);
  put_varint(out, bytes.size());
  out.append(bytes);
}

double unix_time() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

// Event { double wall_time = 1; int64 step = 2; oneof { string file_version = 3; Summary summary = 5; } }
std::string event_header(int64_t step) {
  std::string event;
  put_key(event, 1, 1);
  put_little_endian(event, unix_time());
  put_key(event, 2, 0);
  put_varint(event, static_cast<uint64_t>(step));
  return event;
}

// TFRecord's masked checksum: rotated and offset so that CRCs of data containing CRCs stay well distributed.
uint32_t masked_crc(std::string_view bytes) {
  const uint32_t crc = crc32c(bytes);
  return ((crc >> 15) | (crc << 17)) + 0xa282ead8U;
}

std::string host_name() {
  std::array<char, 256> name{};
  return ::gethostname(name.data(), name.size() - 1) == 0 ? std::string(name.data()) : std::string("localhost");
}

}  // namespace

uint32_t crc32c(std::string_view bytes) {
  static const std::array<uint32_t, 256> table = [] {
    std::array<uint32_t, 256> entries{};
    for (uint32_t i = 0; i < 256; ++i) {
      uint32_t crc = i;
      for (int bit = 0; bit < 8; ++bit) {
        crc = (crc & 1) ? (crc >> 1) ^ 0x82f63b78U : crc >> 1;  // the Castagnoli polynomial, reflected
      }
      entries[i] = crc;
    }
    return entries;
  }();
  uint32_t crc = 0xffffffffU;
  for (const char byte : bytes) {
    crc = table[(crc ^ static_cast<uint8_t>(byte)) & 0xff] ^ (crc >> 8);
  }
  return crc ^ 0xffffffffU;
}

TensorBoardWriter::TensorBoardWriter(const std::string& log_dir) {
  std::error_code error;
  std::filesystem::create_directories(log_dir, error);
  if (error) {
    throw IoError(text("--log_dir ", log_dir, ": cannot create the folder (", error.message(), ")"));
  }
  path_ = (std::filesystem::path(log_dir) / text("events.out.tfevents.", static_cast<int64_t>(unix_time()), ".",
                                                 host_name(), ".", ::getpid(), ".0"))
              .string();
  file_.open(path_, std::ios::binary | std::ios::app);
  if (!file_) {
    throw IoError(text("--log_dir: cannot write the TensorBoard event file ", path_));
  }
  std::string event = event_header(0);
  put_bytes(event, 3, "brain.Event:2");
  write_event(event);
}

void TensorBoardWriter::add_scalar(const std::string& tag, double value, int64_t step) {
  // Summary { repeated Value value = 1; }  Value { string tag = 1; float simple_value = 2; }
  std::string summary_value;
  put_bytes(summary_value, 1, tag);
  put_key(summary_value, 2, 5);
  put_little_endian(summary_value, static_cast<float>(value));
  std::string summary;
  put_bytes(summary, 1, summary_value);
  std::string event = event_header(step);
  put_bytes(event, 5, summary);
  write_event(event);
}

void TensorBoardWriter::write_event(const std::string& event) {
  // TFRecord: uint64 length, uint32 masked CRC of the length, the data, uint32 masked CRC of the data.
  std::string record;
  put_little_endian(record, static_cast<uint64_t>(event.size()));
  put_little_endian(record, masked_crc(record));
  record += event;
  put_little_endian(record, masked_crc(event));
  file_.write(record.data(), static_cast<std::streamsize>(record.size()));
  file_.flush();
  if (!file_) {
    throw IoError(text("writing the TensorBoard event file ", path_, " failed (disk full?)"));
  }
}

}  // namespace mae::engine
