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

// --batch-size auto's step: the gradient left in .grad is the sum of the
// parts' gradients, each part computed as a shard (the same noise as the
// calls made one by one), and the norm test equals norm_test() of the parts'
// mean gradients; on both step engines and on the IWAE objective.
TEST(TrainStep, NormTestStepSumsItsPartsAndTestsTheirSpread) {
  for (StepEngine engine : {StepEngine::kFused, StepEngine::kAutograd}) {
    for (Objective objective : {Objective::kElbo, Objective::kIwae}) {
      TrainConfig config = step_config(engine, 0.0);
      config.objective = objective;
      torch::manual_seed(3);
      VAE model(config.network);
      TrainStep step(model, config);
      const torch::Tensor x = torch::rand({10, 1, 4, 4}).bernoulli();  // parts of 3, 3, 2, 2
      const int64_t parts = 4;

      torch::manual_seed(11);
      NormTest test;
      const StepTerms terms = step.gradient_with_norm_test(x, parts, 0.7, test);
      std::vector<torch::Tensor> summed;
      for (const auto& p : model->parameters())
        summed.push_back(p.grad().clone());

      torch::manual_seed(11);
      std::vector<torch::Tensor> sums(summed.size()), part_means;
      double loss = 0.0;
      for (int64_t m = 0; m < parts; ++m) {
        const Shard shard = shard_of(10, m, parts);
        loss += step.gradient(x.narrow(0, shard.begin, shard.count), 10, shard, 0.7)
                    .loss.item<double>();
        std::vector<torch::Tensor> flat;
        const std::vector<torch::Tensor> parameters = model->parameters();
        for (size_t i = 0; i < parameters.size(); ++i) {
          const torch::Tensor g = parameters[i].grad().clone();
          sums[i] = m == 0 ? g : sums[i] + g;
          flat.push_back(g.reshape({-1}).to(torch::kFloat64) * (10.0 / shard.count));
        }
        part_means.push_back(torch::cat(flat));
      }
      for (size_t i = 0; i < sums.size(); ++i)
        EXPECT_TRUE(torch::allclose(summed[i], sums[i], 1e-5, 1e-7)) << "parameter " << i;
      EXPECT_NEAR(terms.loss.item<double>(), loss, 1e-5 * std::abs(loss));
      const NormTest expected = norm_test(part_means);
      EXPECT_GT(expected.noise, 0.0);
      EXPECT_NEAR(test.noise, expected.noise, 1e-4 * expected.noise);
      EXPECT_NEAR(test.signal, expected.signal, 1e-4 * (expected.signal + expected.noise));
    }
  }
}

}  // namespace
}  // namespace vae
