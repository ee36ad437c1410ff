#include "vae/run/metrics.h"

#include <gtest/gtest.h>

#include <cmath>

namespace vae {
namespace {

EpochMetrics sample_metrics() {
  EpochMetrics m;
  m.epoch = 3;
  m.step = 1407;
  m.beta = 0.5;
  m.train_loss = 110.25;
  m.train_neg_elbo = 111.5;
  m.train_recon = 90.0;
  m.train_kl = 21.5;
  m.test_neg_elbo = 109.75;
  m.test_recon = 88.0;
  m.test_kl = 21.75;
  m.active_units = 2;
  m.mutual_info = 4.5;
  m.seconds = 1.25;
  m.eval_seconds = 0.5;
  m.images_per_s = 48000;
  m.world_size = 2;
  m.allreduce_ms = 0.375;
  m.kl_per_dim = {10.0, 11.75, 0.001};
  m.mean_variance = {0.9, 0.8, 0.0001};
  return m;
}

TEST(Metrics, JsonRoundTrip) {
  const EpochMetrics m = sample_metrics();
  EXPECT_EQ(to_json(epoch_metrics_from_json(to_json(m))), to_json(m));
  EpochMetrics no_mi = m;
  no_mi.mutual_info = std::nan("");
  EXPECT_TRUE(to_json(no_mi)["mutual_info"].is_null());
  EXPECT_TRUE(std::isnan(epoch_metrics_from_json(to_json(no_mi)).mutual_info));
  // An epoch whose test set was not scored (--eval-every): null test
  // numbers and tested: false, read back as NaN and false; a scored one
  // writes no flag (older checkpoints have none).
  EXPECT_FALSE(to_json(m).contains("tested"));
  EXPECT_TRUE(epoch_metrics_from_json(to_json(m)).tested);
  EpochMetrics unscored = m;
  unscored.tested = false;
  unscored.test_neg_elbo = unscored.test_recon = unscored.test_kl = std::nan("");
  unscored.kl_per_dim.clear();
  unscored.mean_variance.clear();
  const nlohmann::json j = to_json(unscored);
  EXPECT_TRUE(j["test_neg_elbo"].is_null());
  EXPECT_EQ(j["tested"], false);
  const EpochMetrics back = epoch_metrics_from_json(j);
  EXPECT_FALSE(back.tested);
  EXPECT_TRUE(std::isnan(back.test_neg_elbo));
  EXPECT_TRUE(std::isnan(back.test_kl));
}

// --iwae-from-epoch: the validation -L_k of the epochs that trained it, in
// the checkpoint's history, a metrics.csv column ("nan" before the switch)
// and the progress line.
TEST(Metrics, ValidationBoundOfIwaeEpochs) {
  EpochMetrics elbo = sample_metrics(), iwae = sample_metrics();
  elbo.epoch = 1;
  elbo.valid_neg_elbo = 112.5;
  iwae.epoch = 2;
  iwae.valid_neg_elbo = 111.0;
  iwae.valid_neg_iwae = 108.25;
  iwae.valid_iw_samples = 5;
  EXPECT_FALSE(to_json(elbo).contains("valid_neg_iwae"));
  const EpochMetrics back = epoch_metrics_from_json(to_json(iwae));
  EXPECT_EQ(back.valid_neg_iwae, 108.25);
  EXPECT_EQ(back.valid_iw_samples, 5);
  EXPECT_TRUE(std::isnan(epoch_metrics_from_json(to_json(elbo)).valid_neg_iwae));
  const std::string csv = metrics_csv({elbo, iwae});
  const std::string header = csv.substr(0, csv.find('\n'));
  EXPECT_EQ(header.substr(header.size() - 30), ",valid_neg_elbo,valid_neg_iwae");
  EXPECT_NE(csv.find(",112.5,nan\n"), std::string::npos) << csv;
  EXPECT_NE(csv.find(",111,108.25\n"), std::string::npos) << csv;
  EXPECT_EQ(metrics_csv({elbo}).find("iwae"), std::string::npos);
  EXPECT_NE(epoch_summary(iwae, 3, {}).find("valid -ELBO 111.00  valid -L_5 108.25"),
            std::string::npos)
      << epoch_summary(iwae, 3, {});
}

TEST(Metrics, CsvFilesHaveOneRowPerEpochAndDimension) {
  const std::string csv = metrics_csv({sample_metrics()});
  EXPECT_EQ(csv,
            "epoch,step,beta,train_loss,train_neg_elbo,train_recon,train_kl,test_neg_elbo,"
            "test_recon,test_kl,active_units,mutual_info,seconds,eval_seconds,images_per_s,world_"
            "size,allreduce_ms\n"
            "3,1407,0.5,110.25,111.5,90,21.5,109.75,88,21.75,2,4.5,1.25,0.5,48000,2,0.375\n");
  EXPECT_EQ(kl_per_dim_csv({sample_metrics()}, 0.01),
            "epoch,dim,kl,mean_variance,active\n"
            "3,0,10,0.9,1\n"
            "3,1,11.75,0.8,1\n"
            "3,2,0.001,0.0001,0\n");
}

// Flows and learned priors: one Monte Carlo KL, a spread per unit.
TEST(Metrics, RunsWithoutAKlPerUnitStillListEveryUnit) {
  EpochMetrics m = sample_metrics();
  m.kl_per_dim = {21.75};
  EXPECT_EQ(kl_per_dim_csv({m}, 0.01),
            "epoch,dim,kl,mean_variance,active\n"
            "3,0,,0.9,1\n3,1,,0.8,1\n3,2,,0.0001,0\n");
}

TEST(Metrics, HierarchiesReportEachLayer) {
  const EpochMetrics m = sample_metrics();  // 3 units: 2 active, then 1 inactive
  EXPECT_EQ(kl_per_dim_csv({m}, 0.01, {2, 1}),
            "epoch,dim,layer,kl,mean_variance,active\n"
            "3,0,1,10,0.9,1\n3,1,1,11.75,0.8,1\n3,2,2,0.001,0.0001,0\n");
  // One layer: no layer column.
  EXPECT_EQ(kl_per_dim_csv({m}, 0.01, {3}), kl_per_dim_csv({m}, 0.01));
  const std::vector<LayerActivity> layers = layer_activity(m, {2, 1}, 0.01);
  ASSERT_EQ(layers.size(), 2u);
  EXPECT_EQ(layers[0].active, 2);
  EXPECT_EQ(layers[0].units, 2);
  EXPECT_DOUBLE_EQ(layers[0].kl, 21.75);
  EXPECT_EQ(layers[1].active, 0);
  EXPECT_NE(epoch_summary(m, 3, layers).find("active 2/2 0/1 (KL 21.75 0.00)"), std::string::npos);
  EXPECT_NE(epoch_summary(m, 3).find("active 2/3  "), std::string::npos);
}

TEST(Metrics, CategoricalRunsAddTauAndMutualInformationAndCountActiveByKl) {
  EpochMetrics m = sample_metrics();
  m.temperature = 0.625;
  m.mean_variance.clear();  // categorical variables: active by their KL
  m.mi_per_dim = {1.5, 2.25, 0.0005};
  const std::string csv = metrics_csv({m});
  EXPECT_NE(csv.find("allreduce_ms,tau\n"), std::string::npos) << csv;
  EXPECT_NE(csv.find(",0.375,0.625\n"), std::string::npos) << csv;
  EXPECT_EQ(kl_per_dim_csv({m}, 0.01),
            "epoch,dim,kl,mean_variance,active,mutual_info\n"
            "3,0,10,,1,1.5\n"
            "3,1,11.75,,1,2.25\n"
            "3,2,0.001,,0,0.0005\n");
  const EpochMetrics back = epoch_metrics_from_json(to_json(m));
  EXPECT_EQ(back.temperature, 0.625);
  EXPECT_EQ(back.mi_per_dim, m.mi_per_dim);
  // Without a temperature: no key, NaN back.
  EXPECT_FALSE(to_json(sample_metrics()).contains("temperature"));
  EXPECT_TRUE(std::isnan(epoch_metrics_from_json(to_json(sample_metrics())).temperature));
  EXPECT_NE(epoch_summary(m, 3).find("tau 0.625"), std::string::npos);
}

}  // namespace
}  // namespace vae
