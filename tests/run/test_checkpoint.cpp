#include "vae/run/checkpoint.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "test_support.h"
#include "vae/run/config.h"
#include "vae/runtime/atomic_file.h"
#include "vae/runtime/error.h"

namespace vae {
namespace {

using testing::error_of;

struct Fixture {
  TrainConfig config;
  VAE model{nullptr};
  std::unique_ptr<torch::optim::Adam> optimizer;

  explicit Fixture(int64_t latent = 3) {
    config.network.latent_dim(latent).hidden({16});
    model = VAE(config.network);
    optimizer =
        std::make_unique<torch::optim::Adam>(model->parameters(), torch::optim::AdamOptions(1e-3));
  }
  void step() {
    const ElboTerms terms = model->elbo(torch::rand({4, 1, 28, 28}));
    optimizer->zero_grad();
    terms.loss.backward();
    optimizer->step();
  }
};

TEST(Checkpoint, RoundTripRestoresModelOptimizerStateAndRng) {
  testing::ScratchDir dir;
  torch::manual_seed(0);
  Fixture a;
  a.step();
  a.step();
  TrainingState state;
  state.config = to_json(a.config);
  state.epoch = 2;
  state.step = 17;
  state.history.resize(2);
  state.history[1].test_neg_elbo = 101.5;
  save_checkpoint(dir.file("c.pt"), a.model, *a.optimizer, state, torch::kCPU);
  const torch::Tensor next_random = torch::rand({3});

  torch::manual_seed(99);
  Fixture b;
  const Checkpoint checkpoint(dir.file("c.pt"));
  EXPECT_EQ(checkpoint.state().epoch, 2);
  EXPECT_EQ(checkpoint.state().step, 17);
  ASSERT_EQ(checkpoint.state().history.size(), 2u);
  EXPECT_EQ(checkpoint.state().history[1].test_neg_elbo, 101.5);
  EXPECT_EQ(checkpoint.state().config, state.config);
  checkpoint.load_model(b.model);
  checkpoint.load_optimizer(*b.optimizer);
  checkpoint.restore_rng(torch::kCPU);
  EXPECT_TRUE(torch::equal(torch::rand({3}), next_random));

  const auto pa = a.model->parameters(), pb = b.model->parameters();
  for (size_t i = 0; i < pa.size(); ++i)
    EXPECT_TRUE(torch::equal(pa[i], pb[i]));
  // With equal Adam moments, the same step gives the same parameters.
  torch::manual_seed(5);
  a.step();
  torch::manual_seed(5);
  b.step();
  for (size_t i = 0; i < pa.size(); ++i)
    EXPECT_TRUE(torch::equal(pa[i], pb[i]));

  const VAE rebuilt = load_model_from_checkpoint(checkpoint, torch::kCPU);
  EXPECT_EQ(rebuilt->options().latent_dim(), 3);
}

// A run with --ema-decay trains one set of weights and serves another: the
// checkpoint keeps both, resume takes the trained ones (and the average),
// everything else the average.
TEST(Checkpoint, WeightAverageIsKeptAndServed) {
  testing::ScratchDir dir;
  torch::manual_seed(0);
  Fixture a;
  a.config.ema_decay = 0.5;
  WeightAverage average(*a.model, a.config.ema_decay);
  a.step();
  average.update();
  TrainingState state;
  state.config = to_json(a.config);
  save_checkpoint(dir.file("c.pt"), a.model, *a.optimizer, state, torch::kCPU, &average);
  save_checkpoint(dir.file("plain.pt"), a.model, *a.optimizer, state, torch::kCPU);

  const Checkpoint checkpoint(dir.file("c.pt"));
  Fixture probe;
  ASSERT_TRUE(checkpoint.load_average_into(probe.model));
  EXPECT_FALSE(Checkpoint(dir.file("plain.pt")).load_average_into(probe.model));
  Fixture trained;
  checkpoint.load_model(trained.model);
  Fixture resumed;
  WeightAverage resumed_average(*resumed.model, 0.5);
  checkpoint.load_average(resumed_average);
  const VAE served = load_model_from_checkpoint(checkpoint, torch::kCPU);
  bool differ = false;
  {
    WeightAverage::Applied applied(average);
    WeightAverage::Applied applied_resumed(resumed_average);
    for (size_t i = 0; i < a.model->parameters().size(); ++i) {
      EXPECT_TRUE(torch::equal(served->parameters()[i], a.model->parameters()[i]));
      EXPECT_TRUE(torch::equal(resumed.model->parameters()[i], a.model->parameters()[i]));
      differ = differ || !torch::equal(served->parameters()[i], trained.model->parameters()[i]);
    }
  }
  for (size_t i = 0; i < a.model->parameters().size(); ++i)
    EXPECT_TRUE(torch::equal(trained.model->parameters()[i], a.model->parameters()[i]));
  EXPECT_TRUE(differ) << "one Adam step moved no parameter";
  // A run that keeps an average cannot resume from a file without one.
  Fixture plain;
  WeightAverage missing(*plain.model, 0.5);
  EXPECT_NE(error_of([&] {
              Checkpoint(dir.file("plain.pt")).load_average(missing);
            }).find("holds no weight average"),
            std::string::npos);
}

TEST(Checkpoint, TruncatedCorruptAndForeignFilesGiveOneClearError) {
  testing::ScratchDir dir;
  Fixture a;
  TrainingState state;
  state.config = to_json(a.config);
  save_checkpoint(dir.file("c.pt"), a.model, *a.optimizer, state, torch::kCPU);
  const std::string bytes = testing::read_bytes(dir.file("c.pt"));

  testing::write_bytes(dir.file("cut.pt"), bytes.substr(0, bytes.size() / 2));
  std::string what = error_of([&] { Checkpoint c(dir.file("cut.pt")); });
  EXPECT_NE(what.find("checkpoint " + dir.file("cut.pt") + " is truncated or corrupt"),
            std::string::npos)
      << what;
  EXPECT_EQ(what.find('\n'), std::string::npos);

  testing::write_bytes(dir.file("noise.pt"), std::string(1000, 'x'));
  EXPECT_NE(error_of([&] { Checkpoint c(dir.file("noise.pt")); }).find("truncated or corrupt"),
            std::string::npos);

  EXPECT_NE(error_of([&] { Checkpoint c(dir.file("absent.pt")); }).find("no such file"),
            std::string::npos);

  // A valid LibTorch archive that is not a vae checkpoint.
  torch::save(torch::ones({2}), dir.file("tensor.pt"));
  EXPECT_NE(error_of([&] { Checkpoint c(dir.file("tensor.pt")); }).find("not a vae checkpoint"),
            std::string::npos);
}

TEST(Checkpoint, ModelOfAnotherArchitectureIsRejected) {
  testing::ScratchDir dir;
  Fixture a(3);
  TrainingState state;
  state.config = to_json(a.config);
  save_checkpoint(dir.file("c.pt"), a.model, *a.optimizer, state, torch::kCPU);
  const Checkpoint checkpoint(dir.file("c.pt"));

  Fixture wider(5);  // same names, other shapes
  EXPECT_NE(error_of([&] { checkpoint.load_model(wider.model); }).find("has shape"),
            std::string::npos);
  VAE conv(NetworkOptions().arch(parse_architecture("conv")).latent_dim(3));  // other names
  EXPECT_NE(error_of([&] { checkpoint.load_model(conv); }).find("does not fit the model"),
            std::string::npos);
}

TEST(Checkpoint, FromBytesReadsWhatTheFileHolds) {
  testing::ScratchDir dir;
  torch::manual_seed(2);
  VAE model(NetworkOptions().latent_dim(3).hidden({8}));
  torch::optim::Adam adam(model->parameters());
  TrainingState state;
  state.epoch = 4;
  state.step = 40;
  TrainConfig config;
  config.network = model->options();
  state.config = to_json(config);
  save_checkpoint(dir.file("c.pt"), model, adam, state, torch::kCPU);
  const Checkpoint loaded =
      Checkpoint::from_bytes(read_file(dir.file("c.pt")), "sent by rank 0", torch::kCPU);
  EXPECT_EQ(loaded.state().epoch, 4);
  EXPECT_EQ(loaded.state().step, 40);
  VAE copy(NetworkOptions().latent_dim(3).hidden({8}));
  loaded.load_model(copy);
  EXPECT_TRUE(copy->parameters()[0].equal(model->parameters()[0]));
  const std::string bytes = read_file(dir.file("c.pt"));
  EXPECT_NE(testing::error_of([&] {
              Checkpoint::from_bytes(bytes.substr(0, bytes.size() / 2), "sent by rank 0");
            }).find("checkpoint sent by rank 0 is truncated or corrupt"),
            std::string::npos);
}
TEST(Checkpoint, DamagedFilesAreRefusedOnTheirChecksumBeforeLibTorchReadsThem) {
  // Found by fuzzing: LibTorch 1.13's reader crashes (SEGV, not every time)
  // on this damaged file; the checksum refuses it before any parse.
  const std::string path =
      std::string(VAE_SOURCE_DIR) + "/tests/fuzz/corpus/checkpoint/regression_type_parser_segv.pt";
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(error_of([&] { Checkpoint{path}; }),
              "checkpoint " + path +
                  " is truncated or corrupt, or not a vae checkpoint (no vae checksum at its end)");
  }
  // One flipped byte inside a good checkpoint: the checksum no longer fits.
  testing::ScratchDir dir;
  torch::manual_seed(2);
  VAE model(NetworkOptions().latent_dim(3).hidden({8}));
  torch::optim::Adam adam(model->parameters());
  TrainingState state;
  TrainConfig config;
  config.network = model->options();
  state.config = to_json(config);
  save_checkpoint(dir.file("c.pt"), model, adam, state, torch::kCPU);
  std::string bytes = read_file(dir.file("c.pt"));
  EXPECT_EQ(bytes.substr(bytes.size() - 16, 8), "vaecrc32");
  bytes[bytes.size() / 2] ^= 0x01;
  EXPECT_EQ(error_of([&] { Checkpoint::from_bytes(bytes, "flipped.pt"); }),
            "checkpoint flipped.pt is truncated or corrupt (checksum mismatch)");
}

}  // namespace
}  // namespace vae
