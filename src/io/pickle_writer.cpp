#include "mae/io/pickle_writer.h"

#include <ATen/ATen.h>

#include <cstring>
#include <limits>
#include <unordered_map>

#include "mae/io/storage_types.h"
#include "mae/util/error.h"
#include "mae/util/strings.h"

namespace mae::io {
namespace {

class Pickler {
 public:
  Pickled finish(const c10::IValue& value) {
    out_.bytes += "\x80\x02";  // PROTO 2, as torch.save
    write(value);
    out_.bytes += '.';  // STOP
    return std::move(out_);
  }

 private:
  template <typename T>
  void put_le(T value) {
    char raw[sizeof(T)];
    std::memcpy(raw, &value, sizeof(T));
    out_.bytes.append(raw, sizeof(T));
  }
  void put_global(const char* module, const char* name) { out_.bytes += text('c', module, '\n', name, '\n'); }
  void put_string(const std::string& text) {
    out_.bytes += 'X';  // BINUNICODE
    put_le(static_cast<uint32_t>(text.size()));
    out_.bytes += text;
  }
  void put_int(int64_t value) {
    if (value >= std::numeric_limits<int32_t>::min() && value <= std::numeric_limits<int32_t>::max()) {
      out_.bytes += 'J';  // BININT
      put_le(static_cast<int32_t>(value));
    } else {
      out_.bytes += "\x8a\x08";  // LONG1, 8 bytes
      put_le(value);
    }
  }
  void put_ints_tuple(c10::IntArrayRef values) {
    out_.bytes += '(';
    for (int64_t v : values) {
      put_int(v);
    }
    out_.bytes += 't';
  }

  void write(const c10::IValue& value);
  void write_tensor(const at::Tensor& tensor);

  Pickled out_;
  std::unordered_map<const void*, std::size_t> storage_keys_;
};

void Pickler::write(const c10::IValue& value) {
  if (value.isNone()) {
    out_.bytes += 'N';
  } else if (value.isBool()) {
    out_.bytes += value.toBool() ? '\x88' : '\x89';
  } else if (value.isInt()) {
    put_int(value.toInt());
  } else if (value.isDouble()) {
    out_.bytes += 'G';  // BINFLOAT, big-endian
    uint64_t raw;
    const double d = value.toDouble();
    std::memcpy(&raw, &d, sizeof raw);
    put_le(__builtin_bswap64(raw));
  } else if (value.isString()) {
    put_string(value.toStringRef());
  } else if (value.isTensor()) {
    write_tensor(value.toTensor());
  } else if (value.isGenericDict()) {
    out_.bytes += "}(";  // EMPTY_DICT MARK
    for (const auto& entry : value.toGenericDict()) {
      write(entry.key());
      write(entry.value());
    }
    out_.bytes += 'u';  // SETITEMS
  } else if (value.isList()) {
    out_.bytes += "](";  // EMPTY_LIST MARK
    for (const c10::IValue& element : value.toListRef()) {
      write(element);
    }
    out_.bytes += 'e';  // APPENDS
  } else if (value.isTuple()) {
    out_.bytes += '(';
    for (const c10::IValue& element : value.toTupleRef().elements()) {
      write(element);
    }
    out_.bytes += 't';
  } else {
    throw IoError(text("a value of type ", value.tagKind(), " cannot be written to a .pth file"));
  }
}

void Pickler::write_tensor(const at::Tensor& original) {
  // torch._utils._rebuild_tensor_v2(storage, offset, size, stride, requires_grad, OrderedDict())
  const at::Tensor tensor = original.device().is_cpu() ? original.detach() : original.detach().cpu();
  const c10::Storage& storage = tensor.storage();
  auto [found, added] = storage_keys_.try_emplace(storage.data(), out_.storages.size());
  if (added) {
    out_.storages.push_back(storage);
  }
  const std::string type_name = storage_type_name(tensor.scalar_type());
  put_global("torch._utils", "_rebuild_tensor_v2");
  out_.bytes += '(';
  // Persistent id ('storage', torch.<Type>Storage, key, location, numel) -> record data/<key>.
  out_.bytes += '(';
  put_string("storage");
  put_global("torch", type_name.c_str());
  put_string(std::to_string(found->second));
  put_string("cpu");
  put_int(static_cast<int64_t>(storage.nbytes() / tensor.element_size()));
  out_.bytes += "tQ";  // TUPLE BINPERSID
  put_int(tensor.storage_offset());
  put_ints_tuple(tensor.sizes());
  put_ints_tuple(tensor.strides());
  out_.bytes += '\x89';  // requires_grad=False: files hold data; training state is rebuilt by its owner
  put_global("collections", "OrderedDict");
  out_.bytes += ")R";  // EMPTY_TUPLE REDUCE: no backward hooks
  out_.bytes += "tR";  // TUPLE REDUCE
}

}  // namespace

Pickled write_pickle(const c10::IValue& value) {
  return Pickler().finish(value);
}

}  // namespace mae::io
