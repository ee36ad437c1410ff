// vae train: the settings (preset < flags, or the checkpoint's on --resume)
// and, for data-parallel runs, the process group and rank 0's settings.
#include <algorithm>
#include <cstdlib>
#include <functional>
#include <memory>

#include "command_line.h"
#include "commands.h"
#include "vae/runtime/distributed.h"
#include "vae/runtime/runtime.h"
#include "vae/training/trainer.h"

namespace vae::cli {
namespace {

// Settings a rank may hold for itself in data-parallel training (its own
// data copy, threads, device); every other setting comes from rank 0.
const std::vector<std::string> kRankLocalKeys = {"data-dir", "threads", "device", "log-interval"};

// The run's config, resolved by rank 0 (preset, flags, or the checkpoint on
// --resume) and sent to every rank, so that all train the same run; a rank
// whose own flags disagree stops with a message. Rank 0's failure reaches
// the others as its message.
TrainConfig shared_config(Communicator& comm, const std::function<TrainConfig()>& resolve,
                          const json& given) {
  std::string message;
  if (comm.rank() == 0) {
    try {
      message = "ok" + to_json(resolve()).dump();
    } catch (const Error& e) {
      comm.broadcast_string("error" + std::string(e.what()));
      throw;
    }
  }
  message = comm.broadcast_string(message);
  if (message.rfind("error", 0) == 0) {
    throw Error("rank 0 stopped: " + message.substr(5));
  }
  const json shared = json::parse(message.substr(2));
  TrainConfig config;
  apply_settings(config, shared, "rank 0");
  json local = json::object();
  for (const auto& [key, value] : given.items()) {
    if (std::find(kRankLocalKeys.begin(), kRankLocalKeys.end(), key) != kRankLocalKeys.end()) {
      local[key] = value;
    } else if (key != "model" && key != "out" && shared.contains(key) && shared[key] != value) {
      throw Error("rank " + std::to_string(comm.rank()) + " was given --" + key + " " +
                  value.dump() + ", rank 0 trains with " + shared[key].dump() +
                  ": start every rank with the same flags");
    }
  }
  apply_settings(config, local, "command line");
  return config;
}

void add_train_options(cxxopts::Options& options) {
  add_setting_flags(options);
  options.add_options("run")("resume", "continue the run in --out from its checkpoint")(
      "overwrite", "replace a run already in --out")("h,help", "show this help");
  options.add_options("distributed")("rank",
                                     "this process's rank, 0 .. world size - 1 [$RANK, else 0]",
                                     cxxopts::value<int64_t>())(
      "world-size", "processes training together [$WORLD_SIZE, else 1]", cxxopts::value<int64_t>())(
      "master-addr", "address of rank 0, which hosts the rendezvous [$MASTER_ADDR, else 127.0.0.1]",
      cxxopts::value<std::string>())("master-port",
                                     "rendezvous port on rank 0 [$MASTER_PORT, else 29500]",
                                     cxxopts::value<int64_t>())(
      "dist-timeout",
      "seconds to wait for the other ranks, at the rendezvous and in every collective [300]",
      cxxopts::value<double>());
}

// The environment's RANK, WORLD_SIZE, ... with the flags on top.
DistributedOptions distributed_options(const cxxopts::ParseResult& result) {
  try {
    DistributedOptions dist = distributed_options_from_environment();
    if (result.count("rank")) dist.rank = result["rank"].as<int64_t>();
    if (result.count("world-size")) {
      dist.world_size = result["world-size"].as<int64_t>();
      if (std::getenv("LOCAL_WORLD_SIZE") == nullptr) dist.local_world_size = dist.world_size;
    }
    if (result.count("master-addr")) dist.master_addr = result["master-addr"].as<std::string>();
    if (result.count("master-port")) dist.master_port = result["master-port"].as<int64_t>();
    if (result.count("dist-timeout")) dist.timeout_s = result["dist-timeout"].as<double>();
    if (std::getenv("LOCAL_RANK") == nullptr) {
      dist.local_rank = dist.rank % std::max<int64_t>(1, dist.local_world_size);
    }
    dist.validate();
    return dist;
  } catch (const Error& e) {
    throw UsageError(e.what());
  }
}

}  // namespace

int train_command(int argc, char** argv) {
  cxxopts::Options options("vae train",
                           "Train a variational autoencoder on MNIST-format IDX data.\n"
                           "Settings apply on top of the --model preset (models/NAME.json).");
  add_train_options(options);
  const auto result = parse_command(options, argc, argv, {"settings", "run", "distributed"});
  if (!result) return 0;
  const json given = given_settings(*result);
  TrainOptions train_options;
  train_options.resume = result->count("resume") > 0;
  train_options.overwrite = result->count("overwrite") > 0;
  if (train_options.resume && train_options.overwrite) {
    throw UsageError("--resume and --overwrite exclude each other");
  }
  const DistributedOptions dist = distributed_options(*result);
  // Before waiting for peers (the trainer refuses it too, e.g. from a preset).
  if (dist.enabled() && given.contains("batch-size") && given["batch-size"] == "auto") {
    throw UsageError(
        "--batch-size auto trains in one process; give data-parallel runs a fixed --batch-size");
  }
  const auto resolve = [&]() {
    if (!train_options.resume) return preset_with(given);
    TrainConfig fresh;
    apply_settings(fresh, given, "command line");
    TrainConfig config = resume_config(run_directory(fresh), given);
    validate(config);
    return config;
  };
  if (!dist.enabled()) {
    TrainConfig config;
    try {
      config = resolve();
    } catch (const Error& e) {
      throw UsageError(e.what());
    }
    train(config, train_options);
    return 0;
  }
  // Data parallel: join the group first, then take rank 0's config.
  const std::string device_flag =
      given.contains("device") ? given["device"].get<std::string>() : "auto";
  std::unique_ptr<Communicator> comm = Communicator::connect(dist, select_device(device_flag));
  train_options.comm = comm.get();
  train_options.local_processes = dist.local_world_size;
  train_options.local_rank = dist.local_rank;
  train(shared_config(*comm, resolve, given), train_options);
  // Nobody leaves before everybody is done (rank 0 hosts the store).
  comm->barrier();
  return 0;
}

}  // namespace vae::cli
