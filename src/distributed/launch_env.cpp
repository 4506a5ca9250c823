#include "mae/distributed/launch_env.h"

#include <algorithm>
#include <cstdlib>
#include <regex>

#include "mae/util/error.h"
#include "mae/util/strings.h"

namespace mae::distributed {
namespace {

int integer_variable(const EnvironmentLookup& environment, const std::string& name, std::optional<int> fallback = {}) {
  const auto value = environment(name);
  if (!value) {
    if (fallback) {
      return *fallback;
    }
    throw UsageError(text("the environment variable ", name, " is not set"));
  }
  try {
    std::size_t used = 0;
    const int number = std::stoi(*value, &used);
    if (used == value->size()) {
      return number;
    }
  } catch (const std::exception&) {
  }
  throw UsageError(text("the environment variable ", name, " = '", *value, "' is not an integer"));
}

// A count (ranks on a node): a malformed or non-positive value is named.
int positive_variable(const EnvironmentLookup& environment, const std::string& name, int fallback) {
  const int number = integer_variable(environment, name, fallback);
  if (number < 1) {
    throw UsageError(text("the environment variable ", name, " = ", number, " is not a positive count"));
  }
  return number;
}

// MASTER_ADDR / MASTER_PORT when set.
void read_master(LaunchEnv& env, const EnvironmentLookup& environment) {
  if (const auto address = environment("MASTER_ADDR")) {
    env.master_addr = *address;
  }
  env.master_port = integer_variable(environment, "MASTER_PORT", env.master_port);
}

// tcp://host:port
void read_dist_url(LaunchEnv& env, const std::string& url) {
  static const std::regex pattern(R"(tcp://([^:/]+):([0-9]+)/?)");
  std::smatch match;
  if (!std::regex_match(url, match, pattern)) {
    throw UsageError(text("--dist_url '", url, "': expected env:// or tcp://HOST:PORT"));
  }
  env.master_addr = match[1];
  env.master_port = std::stoi(match[2]);
}

// SLURM_TASKS_PER_NODE's count for node `node`: "2(x3),1" is 2, 2, 2, 1. A malformed list is named.
int slurm_tasks_on_node(const std::string& tasks_per_node, int node) {
  static const std::regex entry(R"(([0-9]+)(\(x([0-9]+)\))?)");
  int first_node = 0;
  std::size_t start = 0;
  while (start <= tasks_per_node.size()) {
    const std::size_t end = std::min(tasks_per_node.find(',', start), tasks_per_node.size());
    std::smatch match;
    const std::string item = tasks_per_node.substr(start, end - start);
    if (!std::regex_match(item, match, entry) || std::stoi(match[1]) < 1) {
      break;
    }
    first_node += match[3].matched ? std::stoi(match[3]) : 1;
    if (node < first_node) {
      return std::stoi(match[1]);
    }
    start = end + 1;
  }
  throw UsageError(text("the environment variable SLURM_TASKS_PER_NODE = '", tasks_per_node,
                        "' gives no task count for node ", node));
}

// The node count when the launcher does not say: every node runs local_world_size ranks.
int nodes_of(const LaunchEnv& env) {
  return (env.world_size + env.local_world_size - 1) / env.local_world_size;
}

}  // namespace

std::string describe_place(const LaunchEnv& env) {
  std::string place = text("rank ", env.rank, " of ", env.world_size, ", node ", env.node_rank, " of ", env.node_count,
                           ", local rank ", env.local_rank, " of ", env.local_world_size);
  if (env.under_torchrun && env.max_restarts > 0) {
    place += text(", restart ", env.restart_count, " of at most ", env.max_restarts);
  }
  return place;
}

EnvironmentLookup process_environment() {
  return [](const std::string& name) -> std::optional<std::string> {
    const char* value = std::getenv(name.c_str());
    return value ? std::optional<std::string>(value) : std::nullopt;
  };
}

std::string first_slurm_host(const std::string& node_list) {
  static const std::regex bracketed(R"(([^,\[]+)\[([0-9]+)[^\]]*\].*)");
  std::smatch match;
  if (std::regex_match(node_list, match, bracketed)) {
    return match[1].str() + match[2].str();  // the first number of the range keeps its leading zeros
  }
  return node_list.substr(0, node_list.find(','));
}

LaunchEnv detect_launch_env(const LaunchSettings& settings, const EnvironmentLookup& environment) {
  LaunchEnv env;
  if (settings.dist_on_itp) {
    env.launcher = "Open MPI";
    env.rank = integer_variable(environment, "OMPI_COMM_WORLD_RANK");
    env.world_size = integer_variable(environment, "OMPI_COMM_WORLD_SIZE");
    env.local_rank = integer_variable(environment, "OMPI_COMM_WORLD_LOCAL_RANK");
    env.local_world_size = positive_variable(environment, "OMPI_COMM_WORLD_LOCAL_SIZE", 1);
    env.node_rank = env.rank / env.local_world_size;  // Open MPI fills the nodes in turn by default (--map-by slot)
    env.node_count = nodes_of(env);
    read_master(env, environment);
  } else if (environment("RANK") && environment("WORLD_SIZE")) {
    env.under_torchrun = environment("TORCHELASTIC_RUN_ID").has_value();
    env.launcher = env.under_torchrun ? "torchrun" : "environment (RANK, WORLD_SIZE)";
    env.rank = integer_variable(environment, "RANK");
    env.world_size = integer_variable(environment, "WORLD_SIZE");
    env.local_rank = integer_variable(environment, "LOCAL_RANK", 0);
    env.local_world_size = positive_variable(environment, "LOCAL_WORLD_SIZE", 1);
    env.node_rank = integer_variable(environment, "GROUP_RANK", env.rank / env.local_world_size);
    env.node_count = integer_variable(environment, "GROUP_WORLD_SIZE", nodes_of(env));
    read_master(env, environment);
    env.agent_hosts_store = environment("TORCHELASTIC_USE_AGENT_STORE").value_or("") == "True";
    env.restart_count = integer_variable(environment, "TORCHELASTIC_RESTART_COUNT", 0);
    env.max_restarts = integer_variable(environment, "TORCHELASTIC_MAX_RESTARTS", 0);
  } else if (environment("SLURM_PROCID")) {
    env.launcher = "SLURM";
    env.rank = integer_variable(environment, "SLURM_PROCID");
    env.world_size = integer_variable(environment, "SLURM_NTASKS", settings.world_size);
    env.local_rank = integer_variable(environment, "SLURM_LOCALID", 0);
    env.node_rank = integer_variable(environment, "SLURM_NODEID", 0);
    // --ntasks-per-node sets SLURM_NTASKS_PER_NODE, the same on every node; srun always sets SLURM_TASKS_PER_NODE,
    // each node's count in node order ("4(x2)", "4,3"). device_binding reads it to refuse a shared --device cuda:N.
    if (const auto per_node = environment("SLURM_NTASKS_PER_NODE")) {
      env.local_world_size = std::max(1, std::atoi(per_node->c_str()));  // "8", or as some releases write, "8(x2)"
    } else if (const auto tasks = environment("SLURM_TASKS_PER_NODE")) {
      env.local_world_size = slurm_tasks_on_node(*tasks, env.node_rank);
    }
    env.node_count = integer_variable(environment, "SLURM_NNODES", nodes_of(env));
    if (const auto nodes = environment("SLURM_JOB_NODELIST")) {
      env.master_addr = first_slurm_host(*nodes);
    }
    read_master(env, environment);
  } else {
    if (settings.world_size != 1) {
      throw UsageError(text("--world_size ", settings.world_size, " but no launcher started this process (no RANK/"
                            "WORLD_SIZE, SLURM_PROCID or --dist_on_itp): start it with torchrun or srun, see "
                            "docs/distributed.md"));
    }
    return env;  // single process, as the reference when no launcher variable is set
  }
  if (settings.dist_url.starts_with("tcp://")) {
    read_dist_url(env, settings.dist_url);
  } else if (settings.dist_url != "env://") {
    throw UsageError(text("--dist_url '", settings.dist_url, "': expected env:// or tcp://HOST:PORT"));
  }
  if (env.world_size < 1 || env.rank < 0 || env.rank >= env.world_size) {
    throw UsageError(text(env.launcher, ": rank ", env.rank, " is outside a world of ", env.world_size, " processes"));
  }
  if (settings.world_size != 1 && settings.world_size != env.world_size) {
    throw UsageError(text("--world_size ", settings.world_size, " disagrees with the ", env.world_size,
                          " processes the launcher (", env.launcher, ") started"));
  }
  return env;
}

}  // namespace mae::distributed
