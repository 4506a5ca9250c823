// Toolchain proof (a): LibTorch's c10d TCPStore hosts and serves keys on loopback from C++.
#include <gtest/gtest.h>

#include <torch/csrc/distributed/c10d/TCPStore.hpp>

#include "mae/distributed/process_group.h"

namespace {

std::string as_string(const std::vector<uint8_t>& bytes) {
  return {bytes.begin(), bytes.end()};
}

TEST(TcpStore, ServerAndClientExchangeKeysOnLoopback) {
  mae::distributed::TcpStoreOptions server_options;
  server_options.port = 0;  // let the OS pick a free port
  server_options.is_server = true;
  server_options.world_size = 2;
  auto server = mae::distributed::make_tcp_store(server_options);
  const int port = dynamic_cast<c10d::TCPStore&>(*server).getPort();
  ASSERT_GT(port, 0);

  mae::distributed::TcpStoreOptions client_options;
  client_options.port = port;
  client_options.world_size = 2;
  auto client = mae::distributed::make_tcp_store(client_options);

  client->set("from_client", std::vector<uint8_t>{'h', 'i'});
  EXPECT_EQ(as_string(server->get("from_client")), "hi");
  server->set("from_server", std::vector<uint8_t>{'o', 'k'});
  EXPECT_EQ(as_string(client->get("from_server")), "ok");
  EXPECT_EQ(client->add("counter", 3), 3);
  EXPECT_EQ(server->add("counter", 4), 7);
}

TEST(TcpStore, UnreachableStoreFailsWithItsAddress) {
  mae::distributed::TcpStoreOptions options;
  options.port = 1;  // privileged and unused: nothing listens there
  options.timeout = std::chrono::milliseconds(500);
  try {
    mae::distributed::make_tcp_store(options);
    FAIL() << "connecting to a port without a store must fail";
  } catch (const std::exception& error) {
    EXPECT_NE(std::string(error.what()).find("127.0.0.1:1"), std::string::npos) << error.what();
  }
}

}  // namespace
