#include "vae/views/model_views.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "test_support.h"
#include "vae/run/checkpoint.h"
#include "vae/runtime/error.h"

namespace vae {
namespace {

// A checkpoint of a small MLP with 3 latent dimensions whose recorded test KL
// ranks them 1, 2, 0; dimension 0 is inactive.
class ModelViews : public ::testing::Test {
 protected:
  void SetUp() override {
    torch::manual_seed(0);
    TrainConfig config;
    config.network.latent_dim(3).hidden({16});
    VAE model(config.network);
    torch::optim::Adam optimizer(model->parameters());
    TrainingState state;
    state.config = to_json(config);
    EpochMetrics m;
    m.kl_per_dim = {0.001, 4.0, 2.0};
    m.mean_variance = {0.0001, 1.0, 0.5};
    state.history.push_back(m);
    path_ = dir_.file("checkpoint.pt");
    save_checkpoint(path_, model, optimizer, state, torch::kCPU);
    trained_ = load_trained_model(path_, nlohmann::json::object(), "cpu");
    grid_.scale = 1;
    grid_.padding = 0;
  }
  testing::ScratchDir dir_;
  std::string path_;
  TrainedModel trained_;
  GridOptions grid_;
};

TEST_F(ModelViews, SamplesAreDeterministicPerSeed) {
  grid_.columns = 5;
  const cv::Mat a = sample_view(trained_, 10, 1.0, SampleMode::kMean, 3, grid_);
  EXPECT_EQ(a.rows, 2 * 28);
  EXPECT_EQ(a.cols, 5 * 28);
  EXPECT_EQ(cv::countNonZero(a != sample_view(trained_, 10, 1.0, SampleMode::kMean, 3, grid_)), 0);
  EXPECT_GT(cv::countNonZero(a != sample_view(trained_, 10, 1.0, SampleMode::kMean, 4, grid_)), 0);
  // Drawn Bernoulli pixels are black or white.
  const cv::Mat drawn = sample_view(trained_, 10, 1.0, SampleMode::kSample, 3, grid_);
  EXPECT_EQ(cv::countNonZero((drawn != 0) & (drawn != 255)), 0);
  EXPECT_THROW(sample_view(trained_, 0, 1.0, SampleMode::kMean, 3, grid_), Error);
  EXPECT_THROW(parse_sample_mode("median"), Error);
}

TEST_F(ModelViews, ReconstructionsPairRowsWithTheirOriginals) {
  const torch::Tensor images = torch::randint(0, 256, {3, 28, 28}).to(torch::kUInt8);
  grid_.columns = 2;
  const cv::Mat view = reconstruction_view(trained_, images, grid_);
  ASSERT_EQ(view.rows, 4 * 28);  // originals 0-1, their reconstructions, original 2, its own
  ASSERT_EQ(view.cols, 2 * 28);
  for (int y = 0; y < 28; ++y) {
    for (int x = 0; x < 28; ++x) {
      ASSERT_EQ(view.at<uint8_t>(y, 28 + x), images[1][y][x].item<uint8_t>());
      ASSERT_EQ(view.at<uint8_t>(56 + y, x), images[2][y][x].item<uint8_t>());
    }
  }
  EXPECT_EQ(cv::countNonZero(view(cv::Rect(28, 56, 28, 56))), 0);  // no fourth image
}

TEST_F(ModelViews, InterpolationIsFramedByItsEndpoints) {
  const torch::Tensor a = torch::full({28, 28}, 255, torch::kUInt8),
                      b = torch::zeros({28, 28}, torch::kUInt8);
  const cv::Mat view = interpolation_view(trained_, a, b, 6, true, grid_);
  EXPECT_EQ(view.cols, 8 * 28);
  EXPECT_EQ(view.rows, 28);
  EXPECT_EQ(cv::countNonZero(view(cv::Rect(0, 0, 28, 28)) != 255), 0);
  EXPECT_EQ(cv::countNonZero(view(cv::Rect(7 * 28, 0, 28, 28))), 0);
}

TEST_F(ModelViews, TraversalHasARowPerDimensionWithLabels) {
  grid_.label_width = 100;
  const cv::Mat view =
      traversal_view(trained_, torch::zeros({28, 28}, torch::kUInt8), 5, 3.0, grid_);
  EXPECT_EQ(view.rows, 3 * 28);
  EXPECT_EQ(view.cols, 100 + 5 * 28);
  // Labels are drawn in the margin of every row.
  for (int row = 0; row < 3; ++row) {
    EXPECT_GT(cv::countNonZero(view(cv::Rect(0, row * 28, 100, 28)) > 200), 0) << row;
  }
}

TEST_F(ModelViews, ManifoldIsAnNByNGrid) {
  const cv::Mat view = manifold_view(trained_, 4, grid_);
  EXPECT_EQ(view.rows, 4 * 28);
  EXPECT_EQ(view.cols, 4 * 28);
}

TEST_F(ModelViews, CheckpointOfAnotherArchitectureIsRefused) {
  const std::string what = testing::error_of([&] {
    load_trained_model(path_, {{"latent-dim", 5}, {"arch", "mlp"}}, "cpu");
  });
  EXPECT_NE(what.find("holds a model with latent-dim 3, not 5 as --latent-dim says"),
            std::string::npos)
      << what;
  EXPECT_NE(testing::error_of([&] {
              load_trained_model(path_, {{"arch", "conv"}}, "cpu");
            }).find("arch \"mlp\", not \"conv\""),
            std::string::npos);
  EXPECT_NO_THROW(load_trained_model(path_, {{"latent-dim", 3}, {"hidden", {16}}}, "cpu"));
  testing::write_bytes(dir_.file("bad.pt"), "not a checkpoint");
  EXPECT_NE(testing::error_of([&] {
              load_trained_model(dir_.file("bad.pt"), {}, "cpu");
            }).find("truncated or corrupt"),
            std::string::npos);
}

TEST_F(ModelViews, TrainingSnapshotStacksSamplesAboveReconstructions) {
  const torch::Tensor z = torch::zeros({16, 3});
  const torch::Tensor x = torch::rand({4, 1, 28, 28});
  const cv::Mat view = training_snapshot(trained_.model, z, x, grid_);
  // 2 rows of 8 samples, a gap, then 2 rows of 4 (originals, reconstructions).
  EXPECT_EQ(view.cols, 8 * 28);
  EXPECT_EQ(view.rows, 2 * 28 + 0 + 2 * 28);
  EXPECT_TRUE(trained_.model->is_training() == false);
}

}  // namespace
}  // namespace vae
