#include "mae/io/pickle_reader.h"

#include <ATen/ATen.h>

#include <algorithm>
#include <bit>
#include <cstring>
#include <unordered_map>
#include <unordered_set>

#include "mae/io/storage_types.h"
#include "mae/util/error.h"
#include "mae/util/strings.h"

namespace mae::io {
namespace {

static_assert(std::endian::native == std::endian::little, "the pickle reader assumes a little-endian host");

// One entry of the unpickler's stack. Values are LibTorch values; the other kinds exist only while a pickle is being
// read (class references, marks, tuples whose elements may still be class references, objects under construction).
struct Item {
  enum class Kind { value, global, mark, tuple, namespace_object, skipped_object };
  Kind kind = Kind::value;
  c10::IValue value;           // value; namespace_object: the GenericDict of its fields
  std::string name;            // global / skipped_object: "module.name"
  std::vector<Item> elements;  // tuple
  int depth = 0;               // tuple: its nesting depth (containers inside containers), counting itself
  int64_t weight = 1;          // how many Items it is, elements included: what copying it costs

  static Item of(c10::IValue v) { return Item{Kind::value, std::move(v), {}, {}}; }
};

// A torch.save file nests a few levels (a checkpoint dict, the optimizer's state, a tensor's tuples). Python reads
// deeper pickles, but a hostile or broken one nested hundreds of thousands of levels would overflow the C++ stack when
// the value is destroyed or walked: such a pickle is an error instead. Likewise a pickle that duplicates tuples
// into exponentially many items (DUP, memo gets) before it is done.
constexpr int kMaxNesting = 1000;
constexpr int64_t kMaxCopiedItems = int64_t{1} << 24;

c10::impl::GenericDict new_dict() {
  return c10::impl::GenericDict(c10::AnyType::get(), c10::AnyType::get());
}

class Unpickler {
 public:
  Unpickler(std::string_view bytes, const StorageLoader& load_storage, const std::string& source,
            std::vector<std::string>& warnings)
      : bytes_(bytes), load_storage_(load_storage), source_(source), warnings_(warnings) {}

  c10::IValue run();

 private:
  [[noreturn]] void fail(const std::string& what) const {
    throw IoError(text("'", source_, "' is corrupt: cannot read its pickle at byte ", position_, ": ", what));
  }

  template <typename T>
  T read_le() {
    need(sizeof(T));
    T value;
    std::memcpy(&value, bytes_.data() + position_, sizeof(T));
    position_ += sizeof(T);
    return value;
  }
  void need(std::size_t n) const {
    if (position_ + n > bytes_.size()) {
      fail("the data ends early");
    }
  }
  std::string read_bytes(std::size_t n) {
    need(n);
    std::string out(bytes_.substr(position_, n));
    position_ += n;
    return out;
  }
  std::string read_line() {
    const auto end = bytes_.find('\n', position_);
    if (end == std::string_view::npos) {
      fail("unterminated line");
    }
    std::string out(bytes_.substr(position_, end - position_));
    position_ = end + 1;
    return out;
  }

  Item pop() {
    if (stack_.empty()) {
      fail("stack underflow");
    }
    Item item = std::move(stack_.back());
    stack_.pop_back();
    return item;
  }
  // Everything above the topmost mark, which is removed.
  std::vector<Item> pop_to_mark() {
    for (std::size_t i = stack_.size(); i-- > 0;) {
      if (stack_[i].kind == Item::Kind::mark) {
        std::vector<Item> items(std::make_move_iterator(stack_.begin() + static_cast<std::ptrdiff_t>(i) + 1),
                                std::make_move_iterator(stack_.end()));
        stack_.resize(i);
        return items;
      }
    }
    fail("no mark on the stack");
  }
  Item& top() {
    if (stack_.empty()) {
      fail("stack underflow");
    }
    return stack_.back();
  }

  c10::IValue to_value(const Item& item);
  // How deep `item` nests containers (0 for a number or a string), and the check before `child` goes into the
  // container `target`.
  int depth_of(const Item& item) const;
  void check_insertion(const c10::IValue& target, const Item& child);
  Item make_tuple(std::vector<Item> elements);
  // A copy of `item` (DUP, memo put and get), charged against kMaxCopiedItems.
  Item copy_of(const Item& item);
  bool is_container(const c10::IValue& value) const {
    return value.isList() || value.isGenericDict() || value.isTuple();
  }
  void set_items(Item& target, std::vector<Item>& key_values);
  void append_items(Item& target, std::vector<Item>& values);
  Item call(const Item& callable, std::vector<Item> args);
  Item rebuild_tensor(const std::vector<Item>& args);
  Item load_persistent(const Item& pid);

  std::string_view bytes_;
  std::size_t position_ = 0;
  const StorageLoader& load_storage_;
  const std::string& source_;
  std::vector<std::string>& warnings_;
  std::vector<Item> stack_;
  std::unordered_map<uint32_t, Item> memo_;
  std::unordered_map<std::string, c10::Storage> storages_;  // shared by every tensor viewing the same storage
  // Every list, dict and tuple made so far, by identity (held, so that an address is never reused), with its depth.
  // Python's pickler completes a container before it puts it into another; one that changes after that (outer
  // first, or into a cycle) would make recorded depths wrong, so it is refused (`nested_`).
  std::unordered_map<const void*, std::pair<c10::IValue, int>> containers_;
  std::unordered_set<const void*> nested_;
  int64_t copied_items_ = 0;
};

Item Unpickler::copy_of(const Item& item) {
  copied_items_ += item.weight;
  if (copied_items_ > kMaxCopiedItems) {
    fail(text("the pickle copies more than ", kMaxCopiedItems, " items (a tuple duplicated over and over)"));
  }
  return item;
}

int Unpickler::depth_of(const Item& item) const {
  if (item.kind == Item::Kind::tuple) {
    return item.depth;
  }
  const c10::IValue& value = item.value;
  if (!is_container(value)) {
    return 0;
  }
  const auto found = containers_.find(value.internalToPointer());
  return found == containers_.end() ? 1 : found->second.second;
}

void Unpickler::check_insertion(const c10::IValue& target, const Item& child) {
  const void* target_id = target.internalToPointer();
  if (child.kind == Item::Kind::value && child.value.isPtrType() && child.value.internalToPointer() == target_id) {
    fail("a container that contains itself");
  }
  if (nested_.contains(target_id)) {
    fail("a container changed after it was put into another (no torch.save file does this)");
  }
  const int depth = depth_of(child) + 1;
  if (depth > kMaxNesting) {
    fail(text("containers nested more than ", kMaxNesting, " levels deep"));
  }
  auto& [held, recorded] = containers_[target_id];
  held = target;
  recorded = std::max({recorded, depth, 1});
  if (child.kind == Item::Kind::value && is_container(child.value)) {
    nested_.insert(child.value.internalToPointer());
    containers_.try_emplace(child.value.internalToPointer(), child.value, depth - 1);
  }
}

Item Unpickler::make_tuple(std::vector<Item> elements) {
  int depth = 0;
  int64_t weight = 1;
  for (const auto& element : elements) {
    depth = std::max(depth, depth_of(element));
    weight += element.weight;
    if (element.kind == Item::Kind::value && is_container(element.value)) {
      nested_.insert(element.value.internalToPointer());
      containers_.try_emplace(element.value.internalToPointer(), element.value, depth_of(element));
    }
  }
  if (depth + 1 > kMaxNesting) {
    fail(text("containers nested more than ", kMaxNesting, " levels deep"));
  }
  return Item{Item::Kind::tuple, {}, {}, std::move(elements), depth + 1, weight};
}

c10::IValue Unpickler::to_value(const Item& item) {
  switch (item.kind) {
    case Item::Kind::value:
    case Item::Kind::namespace_object: return item.value;
    case Item::Kind::tuple: {
      std::vector<c10::IValue> elements;
      for (const auto& element : item.elements) {
        elements.push_back(to_value(element));
      }
      c10::IValue tuple = c10::ivalue::Tuple::create(std::move(elements));
      containers_[tuple.internalToPointer()] = {tuple, item.depth};
      return tuple;
    }
    case Item::Kind::global:
      // A class or function stored as data (e.g. a dtype object): keep its qualified name.
      return c10::IValue(item.name);
    case Item::Kind::skipped_object: return c10::IValue();
    case Item::Kind::mark: break;
  }
  fail("a mark was used as a value");
}

void Unpickler::set_items(Item& target, std::vector<Item>& key_values) {
  if (key_values.size() % 2 != 0) {
    fail("odd number of dict items");
  }
  if (target.kind == Item::Kind::skipped_object) {
    return;
  }
  if (!target.value.isGenericDict()) {
    fail("SETITEMS on something that is not a dict");
  }
  auto dict = target.value.toGenericDict();
  for (std::size_t i = 0; i < key_values.size(); i += 2) {
    check_insertion(target.value, key_values[i]);
    check_insertion(target.value, key_values[i + 1]);
    dict.insert_or_assign(to_value(key_values[i]), to_value(key_values[i + 1]));
  }
}

void Unpickler::append_items(Item& target, std::vector<Item>& values) {
  if (target.kind == Item::Kind::skipped_object) {
    return;
  }
  if (!target.value.isList()) {
    fail("APPENDS on something that is not a list");
  }
  auto list = target.value.toList();
  for (auto& value : values) {
    check_insertion(target.value, value);
    list.push_back(to_value(value));
  }
}

Item Unpickler::load_persistent(const Item& pid) {
  // ('storage', torch.<Type>Storage, key, location, numel)
  if (pid.kind != Item::Kind::tuple || pid.elements.size() < 5 || !pid.elements[0].value.isString() ||
      pid.elements[0].value.toStringRef() != "storage") {
    fail("unsupported persistent id (expected a torch.save storage reference)");
  }
  const Item& type = pid.elements[1];
  const std::string type_name = type.name.substr(type.name.rfind('.') + 1);
  const auto dtype = dtype_of_storage_type(type_name);
  if (type.kind != Item::Kind::global || !dtype) {
    fail(text("unsupported storage type '", type.name, "'"));
  }
  StorageRecord record{to_value(pid.elements[2]).toStringRef(), *dtype, to_value(pid.elements[4]).toInt(),
                       to_value(pid.elements[3]).toStringRef()};
  auto found = storages_.find(record.key);
  if (found == storages_.end()) {
    found = storages_.emplace(record.key, load_storage_(record)).first;
  }
  // The dtype travels with the storage reference into _rebuild_tensor_v2.
  auto storage_and_dtype =
      c10::ivalue::Tuple::create({c10::IValue(found->second), c10::IValue(static_cast<int64_t>(*dtype))});
  return Item::of(storage_and_dtype);
}

Item Unpickler::rebuild_tensor(const std::vector<Item>& args) {
  // _rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad, backward_hooks[, metadata])
  if (args.size() < 4 || !args[0].value.isTuple()) {
    fail("malformed tensor record");
  }
  const auto& storage_and_dtype = args[0].value.toTupleRef().elements();
  const c10::Storage storage = storage_and_dtype[0].toStorage();
  const auto dtype = static_cast<c10::ScalarType>(storage_and_dtype[1].toInt());
  std::vector<int64_t> size;
  std::vector<int64_t> stride;
  for (const auto& element : args[2].elements) {
    size.push_back(to_value(element).toInt());
  }
  for (const auto& element : args[3].elements) {
    stride.push_back(to_value(element).toInt());
  }
  at::Tensor tensor = at::empty({0}, at::TensorOptions().dtype(dtype));
  tensor.set_(storage, to_value(args[1]).toInt(), size, stride);
  return Item::of(tensor);
}

Item Unpickler::call(const Item& callable, std::vector<Item> args) {
  const std::string& name = callable.name;
  if (callable.kind != Item::Kind::global) {
    fail("REDUCE on something that is not a class or function");
  }
  if (name == "collections.OrderedDict" || name == "builtins.dict") {
    return Item::of(new_dict());
  }
  if (name == "torch._utils._rebuild_tensor_v2" || name == "torch._utils._rebuild_tensor") {
    return rebuild_tensor(args);
  }
  if (name == "torch._utils._rebuild_parameter" || name == "torch._utils._rebuild_parameter_with_state") {
    return args.at(0);  // nn.Parameter(data, requires_grad, hooks): we keep the data
  }
  if (name == "argparse.Namespace") {
    return Item{Item::Kind::namespace_object, new_dict(), name, {}};
  }
  warnings_.push_back(text("an object of class ", name, " was skipped (read as None)"));
  return Item{Item::Kind::skipped_object, c10::IValue(), name, {}};
}

c10::IValue Unpickler::run() {
  while (true) {
    need(1);
    const auto opcode = static_cast<unsigned char>(bytes_[position_++]);
    switch (opcode) {
      case 0x80: read_le<uint8_t>(); break;   // PROTO
      case 0x95: read_le<uint64_t>(); break;  // FRAME
      case '.': {                             // STOP
        Item result = pop();
        return to_value(result);
      }
      case '(': stack_.push_back(Item{Item::Kind::mark, {}, {}, {}}); break;
      case '}': stack_.push_back(Item::of(new_dict())); break;
      case ']': stack_.push_back(Item::of(c10::impl::GenericList(c10::AnyType::get()))); break;
      case ')': stack_.push_back(make_tuple({})); break;
      case 't': stack_.push_back(make_tuple(pop_to_mark())); break;
      case 0x85:
      case 0x86:
      case 0x87: {  // TUPLE1..3
        const std::size_t n = opcode - 0x84;
        if (stack_.size() < n) {
          fail("stack underflow");
        }
        std::vector<Item> elements(std::make_move_iterator(stack_.end() - static_cast<std::ptrdiff_t>(n)),
                                   std::make_move_iterator(stack_.end()));
        stack_.resize(stack_.size() - n);
        stack_.push_back(make_tuple(std::move(elements)));
        break;
      }
      case 'l': {  // LIST
        auto values = pop_to_mark();
        stack_.push_back(Item::of(c10::impl::GenericList(c10::AnyType::get())));
        append_items(top(), values);
        break;
      }
      case 'd': {  // DICT
        auto key_values = pop_to_mark();
        stack_.push_back(Item::of(new_dict()));
        set_items(top(), key_values);
        break;
      }
      case 'a': {  // APPEND
        std::vector<Item> value{pop()};
        append_items(top(), value);
        break;
      }
      case 'e': {  // APPENDS
        auto values = pop_to_mark();
        append_items(top(), values);
        break;
      }
      case 's': {  // SETITEM
        Item value = pop();
        Item key = pop();
        std::vector<Item> key_values{std::move(key), std::move(value)};
        set_items(top(), key_values);
        break;
      }
      case 'u': {  // SETITEMS
        auto key_values = pop_to_mark();
        set_items(top(), key_values);
        break;
      }
      case 'N': stack_.push_back(Item::of(c10::IValue())); break;
      case 0x88: stack_.push_back(Item::of(true)); break;   // NEWTRUE
      case 0x89: stack_.push_back(Item::of(false)); break;  // NEWFALSE
      case 'J': stack_.push_back(Item::of(static_cast<int64_t>(read_le<int32_t>()))); break;
      case 'K': stack_.push_back(Item::of(static_cast<int64_t>(read_le<uint8_t>()))); break;
      case 'M': stack_.push_back(Item::of(static_cast<int64_t>(read_le<uint16_t>()))); break;
      case 0x8a: {  // LONG1: little-endian two's complement
        const auto n = read_le<uint8_t>();
        if (n > 8) {
          fail("integer wider than 64 bits");
        }
        const std::string digits = read_bytes(n);
        uint64_t value = 0;
        for (std::size_t i = 0; i < n; ++i) {
          value |= static_cast<uint64_t>(static_cast<unsigned char>(digits[i])) << (8 * i);
        }
        if (n > 0 && n < 8 && (static_cast<unsigned char>(digits[n - 1]) & 0x80)) {
          value |= ~uint64_t{0} << (8 * n);  // sign-extend
        }
        stack_.push_back(Item::of(static_cast<int64_t>(value)));
        break;
      }
      case 'G': {  // BINFLOAT: big-endian double
        auto raw = read_le<uint64_t>();
        raw = __builtin_bswap64(raw);
        double value;
        std::memcpy(&value, &raw, sizeof value);
        stack_.push_back(Item::of(value));
        break;
      }
      case 'X': stack_.push_back(Item::of(read_bytes(read_le<uint32_t>()))); break;   // BINUNICODE
      case 0x8c: stack_.push_back(Item::of(read_bytes(read_le<uint8_t>()))); break;   // SHORT_BINUNICODE
      case 0x8d: stack_.push_back(Item::of(read_bytes(read_le<uint64_t>()))); break;  // BINUNICODE8
      case 'U': stack_.push_back(Item::of(read_bytes(read_le<uint8_t>()))); break;    // SHORT_BINSTRING
      case 'T': stack_.push_back(Item::of(read_bytes(read_le<uint32_t>()))); break;   // BINSTRING
      case 'B': stack_.push_back(Item::of(read_bytes(read_le<uint32_t>()))); break;   // BINBYTES
      case 'C': stack_.push_back(Item::of(read_bytes(read_le<uint8_t>()))); break;    // SHORT_BINBYTES
      case 'c': {                                                                     // GLOBAL module\nname\n
        std::string module = read_line();
        std::string name = read_line();
        stack_.push_back(Item{Item::Kind::global, {}, module + "." + name, {}});
        break;
      }
      case 0x93: {  // STACK_GLOBAL
        Item name = pop();
        Item module = pop();
        stack_.push_back(
            Item{Item::Kind::global, {}, to_value(module).toStringRef() + "." + to_value(name).toStringRef(), {}});
        break;
      }
      case 'R': {  // REDUCE
        Item args = pop();
        Item callable = pop();
        stack_.push_back(call(callable, std::move(args.elements)));
        break;
      }
      case 0x81: {  // NEWOBJ: cls.__new__(cls, *args)
        Item args = pop();
        Item cls = pop();
        stack_.push_back(call(cls, std::move(args.elements)));
        break;
      }
      case 'b': {  // BUILD: set the object's state
        Item state = pop();
        Item& object = top();
        if (object.kind == Item::Kind::namespace_object && state.value.isGenericDict()) {
          auto fields = object.value.toGenericDict();
          check_insertion(object.value, state);
          for (const auto& entry : state.value.toGenericDict()) {
            fields.insert_or_assign(entry.key(), entry.value());
          }
        } else if (object.kind == Item::Kind::value && (object.value.isTensor() || object.value.isGenericDict())) {
          // Python attributes of a tensor, or of a state dict (its `_metadata` of module versions): nothing we keep.
        } else if (object.kind != Item::Kind::skipped_object) {
          fail("BUILD on an object that cannot take state");
        }
        break;
      }
      case 'Q': stack_.push_back(load_persistent(pop())); break;             // BINPERSID
      case 'q': memo_[read_le<uint8_t>()] = copy_of(top()); break;                    // BINPUT
      case 'r': memo_[read_le<uint32_t>()] = copy_of(top()); break;                   // LONG_BINPUT
      case 0x94: memo_[static_cast<uint32_t>(memo_.size())] = copy_of(top()); break;  // MEMOIZE
      case 'h':
      case 'j': {  // BINGET / LONG_BINGET
        const uint32_t index = opcode == 'h' ? read_le<uint8_t>() : read_le<uint32_t>();
        const auto found = memo_.find(index);
        if (found == memo_.end()) {
          fail(text("memo entry ", index, " is missing"));
        }
        stack_.push_back(copy_of(found->second));
        break;
      }
      case '0': pop(); break;                    // POP
      case '1': pop_to_mark(); break;            // POP_MARK
      case '2': stack_.push_back(copy_of(top())); break;  // DUP
      default: fail(text("unsupported pickle opcode 0x", std::hex, static_cast<int>(opcode)));
    }
  }
}

}  // namespace

c10::IValue read_pickle(std::string_view bytes, const StorageLoader& load_storage, const std::string& source,
                        std::vector<std::string>& warnings) {
  return Unpickler(bytes, load_storage, source, warnings).run();
}

}  // namespace mae::io
