#include "vae/training/train_step.h"

#include <gtest/gtest.h>
#include <torch/optim/adamw.h>
#include <torch/torch.h>

#include <vector>

namespace vae {
namespace {

TrainConfig step_config(StepEngine engine, double weight_decay) {
  TrainConfig config;
  config.network = NetworkOptions().hidden({16}).latent_dim(3).in_channels(1).height(4).width(4);
  config.train_step = engine;
  config.lr = 0.01;
  config.weight_decay = weight_decay;
  return config;
}

// --weight-decay is AdamW's decoupled decay (Loshchilov & Hutter 2019):
// three steps of TrainStep::apply equal torch::optim::AdamW fed the same
// gradients, on the fused step (FusedAdam) and on autograd's (LibTorch
// Adam); and the decay changes the weights (without it they differ).
TEST(TrainStep, WeightDecayIsAdamWs) {
  for (StepEngine engine : {StepEngine::kFused, StepEngine::kAutograd}) {
    for (double weight_decay : {0.0, 0.5}) {
      torch::manual_seed(1);
      const TrainConfig config = step_config(engine, weight_decay);
      VAE model(config.network);
      TrainStep step(model, config);
      std::vector<torch::Tensor> reference;
      for (const auto& p : model->parameters())
        reference.push_back(p.detach().clone().requires_grad_(true));
      torch::optim::AdamW adamw(reference,
                                torch::optim::AdamWOptions(config.lr).weight_decay(weight_decay));
      for (int s = 0; s < 3; ++s) {
        const torch::Tensor x = torch::rand({8, 1, 4, 4}).bernoulli();
        step.gradient(x, 8, Shard{0, 8}, 1.0);
        const std::vector<torch::Tensor> parameters = model->parameters();
        for (size_t i = 0; i < parameters.size(); ++i)
          reference[i].mutable_grad() = parameters[i].grad().clone();
        step.apply();
        adamw.step();
      }
      const std::vector<torch::Tensor> parameters = model->parameters();
      for (size_t i = 0; i < parameters.size(); ++i) {
        EXPECT_TRUE(torch::allclose(parameters[i], reference[i], 1e-5, 1e-6))
            << "parameter " << i << ", weight decay " << weight_decay;
      }
      // AdamW with the decay turned off is not the run above (where it was on).
      if (weight_decay > 0.0) {
        torch::manual_seed(1);
        VAE plain(step_config(engine, 0.0).network);
        TrainStep plain_step(plain, step_config(engine, 0.0));
        for (int s = 0; s < 3; ++s) {
          plain_step.gradient(torch::rand({8, 1, 4, 4}).bernoulli(), 8, Shard{0, 8}, 1.0);
          plain_step.apply();
        }
        EXPECT_FALSE(torch::allclose(plain->parameters()[0], parameters[0], 1e-5, 1e-6));
      }
    }
  }
}

}  // namespace
}  // namespace vae
