#include "mae/distributed/process_group.h"

#include <cstdlib>
#include <sstream>

#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>

#include "mae/util/error.h"
#include "mae/util/strings.h"

namespace mae::distributed {

std::string failure_reason(const std::exception& error) {
  const auto* torch_error = dynamic_cast<const c10::Error*>(&error);
  const std::string message = torch_error != nullptr ? torch_error->what_without_backtrace() : error.what();
  return message.substr(0, message.find('\n'));
}

c10::intrusive_ptr<c10d::Store> make_tcp_store(const TcpStoreOptions& options) {
  c10d::TCPStoreOptions store_options;
  store_options.port = static_cast<std::uint16_t>(options.port);
  store_options.isServer = options.is_server;
  store_options.numWorkers = options.world_size;
  store_options.waitWorkers = false;  // a rank waits for the others in its first collective, not here
  store_options.timeout = options.timeout;
  try {
    return c10::make_intrusive<c10d::TCPStore>(options.host, store_options);
  } catch (const std::exception& error) {
    throw Error(text("cannot ", options.is_server ? "host" : "reach", " the rendezvous store at ", options.host, ":",
                    options.port, ": ", failure_reason(error)));
  }
}

c10::intrusive_ptr<c10d::Backend> make_cpu_backend(const c10::intrusive_ptr<c10d::Store>& store, int rank,
                                                   int world_size, const std::string& hostname,
                                                   std::chrono::milliseconds timeout) {
  auto options = c10d::ProcessGroupGloo::Options::create();
  options->timeout = timeout;
  const char* interfaces = std::getenv("GLOO_SOCKET_IFNAME");
  if (!hostname.empty()) {
    options->devices.push_back(c10d::ProcessGroupGloo::createDeviceForHostname(hostname));
  } else if (interfaces != nullptr && *interfaces != '\0') {
    // As torch.distributed's Gloo binding: one device per interface of the comma-separated list.
    std::stringstream list(interfaces);
    for (std::string interface; std::getline(list, interface, ',');) {
      options->devices.push_back(c10d::ProcessGroupGloo::createDeviceForInterface(interface));
    }
  } else {
    options->devices.push_back(c10d::ProcessGroupGloo::createDefaultDevice());
  }
  return c10::make_intrusive<c10d::ProcessGroupGloo>(store, rank, world_size, options);
}

}  // namespace mae::distributed
