#include "vae/run/config.h"

#include <gtest/gtest.h>

#include "test_support.h"
#include "vae/runtime/error.h"

namespace vae {
namespace {

using testing::error_of;

using nlohmann::json;

TEST(Config, PresetsLoadAndFlagsOverrideThem) {
  TrainConfig config;
  apply_preset_file(config, find_preset("conv"));
  EXPECT_EQ(config.network.arch(), parse_architecture("conv"));
  EXPECT_EQ(config.network.channels(), (std::vector<int64_t>{32, 64}));
  apply_settings(config, json{{"latent-dim", 2}, {"hidden", {128}}, {"lr", 3e-4}}, "flags");
  EXPECT_EQ(config.network.latent_dim(), 2);
  EXPECT_EQ(config.network.hidden(), (std::vector<int64_t>{128}));
  EXPECT_DOUBLE_EQ(config.lr, 3e-4);
  EXPECT_EQ(config.network.arch(), parse_architecture("conv"));  // untouched by the flags
  EXPECT_NO_THROW(validate(config));

  TrainConfig mlp;
  apply_preset_file(mlp, find_preset("mlp"));
  EXPECT_EQ(to_json(mlp), to_json(TrainConfig{}));  // the mlp preset is the defaults
}

TEST(Config, JsonRoundTripKeepsEverySetting) {
  TrainConfig config;
  apply_settings(config,
                 json{{"kl-schedule", "cyclical"},
                      {"kl-cycles", 3},
                      {"free-bits", 0.25},
                      {"binarize", "dynamic"},
                      {"likelihood", "gaussian"},
                      {"learn-sigma", true},
                      {"hidden", {512, 256}},
                      {"seed", 42},
                      {"device", "cpu"}},
                 "test");
  const json saved = to_json(config);
  TrainConfig restored;
  apply_settings(restored, saved, "saved");
  EXPECT_EQ(to_json(restored), saved);
  EXPECT_EQ(restored.kl.type, KlScheduleType::kCyclical);
  EXPECT_EQ(restored.binarize, Binarize::kDynamic);
  EXPECT_TRUE(restored.network.learn_sigma());
  // Every table entry appears in the JSON.
  for (const SettingInfo& s : settings())
    EXPECT_TRUE(saved.contains(s.key)) << s.key;
  EXPECT_EQ(saved["batch-size"], 128);

  // --batch-size auto is saved as "auto" and read back; an integer turns it off.
  TrainConfig adaptive;
  apply_settings(adaptive, json{{"batch-size", "auto"}, {"batch-max", 512}}, "test");
  EXPECT_TRUE(adaptive.batch_auto);
  const json auto_saved = to_json(adaptive);
  EXPECT_EQ(auto_saved["batch-size"], "auto");
  TrainConfig auto_restored;
  apply_settings(auto_restored, auto_saved, "saved");
  EXPECT_TRUE(auto_restored.batch_auto);
  EXPECT_EQ(auto_restored.batch_max, 512);
  apply_settings(auto_restored, json{{"batch-size", 64}}, "flags");
  EXPECT_FALSE(auto_restored.batch_auto);
  EXPECT_EQ(auto_restored.batch_size, 64);
}

TEST(Config, RejectsUnknownKeysAndWrongTypes) {
  TrainConfig config;
  EXPECT_NE(error_of([&] {
              apply_settings(config, json{{"latent-dimz", 3}}, "x.json");
            }).find("x.json: unknown setting 'latent-dimz'"),
            std::string::npos);
  EXPECT_NE(error_of([&] {
              apply_settings(config, json{{"epochs", "ten"}}, "x.json");
            }).find("setting 'epochs' must be an integer"),
            std::string::npos);
  EXPECT_NE(error_of([&] {
              apply_settings(config, json{{"arch", "rnn"}}, "x.json");
            }).find("--arch must be mlp or conv"),
            std::string::npos);
  EXPECT_NE(error_of([&] { apply_settings(config, json::array(), "x.json"); }).find("JSON object"),
            std::string::npos);
}

TEST(Config, ValidationNamesTheBadFlag) {
  // Names are parsed into typed values as they are applied; numbers are
  // checked by validate().
  const auto message = [](const json& settings) {
    TrainConfig config;
    return error_of([&] {
      apply_settings(config, settings, "flags");
      validate(config);
    });
  };
  EXPECT_EQ(message(json{{"batch-size", -1}}), "--batch-size must be at least 1, not -1");
  EXPECT_EQ(message(json{{"batch-size", "big"}}),
            "flags: setting 'batch-size' must be an integer or \"auto\", not \"big\"");
  EXPECT_EQ(message(json{{"batch-size", "auto"}, {"batch-min", 512}, {"batch-max", 256}}),
            "--batch-min (512) must not exceed --batch-max (256)");
  EXPECT_EQ(message(json{{"batch-min", 0}}), "--batch-min must be at least 1");
  EXPECT_EQ(message(json{{"norm-test-theta", 0.0}}), "--norm-test-theta must be > 0");
  EXPECT_NE(message(json{{"batch-size", "auto"}, {"free-bits", 0.5}}).find("--free-bits"),
            std::string::npos);
  EXPECT_EQ(message(json{{"epochs", 0}}), "--epochs must be at least 1, not 0");
  EXPECT_NE(message(json{{"lr", -0.1}}).find("--lr"), std::string::npos);
  EXPECT_NE(message(json{{"device", "tpu"}}).find("--device must be auto, cpu or cuda"),
            std::string::npos);
  EXPECT_NE(message(json{{"latent-dim", 0}}).find("--latent-dim"), std::string::npos);
  EXPECT_NE(message(json{{"kl-schedule", "linear"}}).find("--kl-warmup-steps"), std::string::npos);
  EXPECT_EQ(message(json{{"lr-schedule", "step"}}),
            "--lr-schedule must be constant, cosine, exponential or burda, not 'step'");
  EXPECT_EQ(message(json{{"lr-schedule", "cosine"}, {"lr-min", 0.1}}),
            "--lr-min must be between 0 and --lr (0.001)");
  EXPECT_EQ(message(json{{"eval-every", 0}}), "--eval-every must be at least 1");
  EXPECT_EQ(message(json{{"weight-decay", -0.1}}),
            "--weight-decay must be >= 0 (0 = off), with --lr times it below 1");
  EXPECT_EQ(message(json{{"weight-decay", 1000}}),
            "--weight-decay must be >= 0 (0 = off), with --lr times it below 1");
  EXPECT_EQ(message(json{{"patience", 3}}),
            "--patience needs a validation set: give --valid-size N");
  EXPECT_EQ(message(json{{"time-budget", "2d"}}),
            "--time-budget must be a duration such as 90m, 2h or 7200s, not '2d'");
  EXPECT_EQ(message(json::object()), "");
}

TEST(Config, DurationsInSecondsMinutesOrHours) {
  EXPECT_DOUBLE_EQ(parse_duration("2h", "--t"), 7200.0);
  EXPECT_DOUBLE_EQ(parse_duration("1.5h", "--t"), 5400.0);
  EXPECT_DOUBLE_EQ(parse_duration("90m", "--t"), 5400.0);
  EXPECT_DOUBLE_EQ(parse_duration("7200s", "--t"), 7200.0);
  EXPECT_DOUBLE_EQ(parse_duration("30", "--t"), 30.0);
  for (const char* bad : {"", "h", "-1h", "0", "2 h", "nan", "inf", "1e999"}) {
    EXPECT_EQ(error_of([&] { parse_duration(bad, "--t"); }),
              std::string("--t must be a duration such as 90m, 2h or 7200s, not '") + bad + "'")
        << bad;
  }
}

TEST(Config, CategoricalPosteriorTakesItsPriorAndLatentWidth) {
  TrainConfig config;
  apply_settings(config, json{{"posterior", "categorical"}, {"categorical-vars", 4}}, "flags");
  EXPECT_EQ(to_string(config.network.prior()), "uniform-categorical");
  EXPECT_EQ(config.network.latent_dim(), 40);  // 4 variables x 10 categories
  EXPECT_NO_THROW(validate(config));
  apply_settings(config, json{{"categories", 3}}, "more flags");
  EXPECT_EQ(config.network.latent_dim(), 12);
  // Back to a Gaussian family: its prior comes back too.
  apply_settings(config, json{{"posterior", "iaf"}}, "flags");
  EXPECT_EQ(to_string(config.network.prior()), "standard-normal");
  // The temperature schedule round-trips through the JSON.
  TrainConfig annealed;
  apply_settings(annealed, json{{"posterior", "categorical"}, {"tau-anneal-rate", 1e-4}}, "f");
  TrainConfig restored;
  apply_settings(restored, to_json(annealed), "saved");
  EXPECT_DOUBLE_EQ(restored.tau.rate, 1e-4);
  EXPECT_EQ(to_json(restored), to_json(annealed));
}

TEST(Config, LatentLayersTakeTheirBottomWidthAndRoundTrip) {
  TrainConfig config;
  apply_settings(config,
                 json{{"latent-layers", 2},
                      {"latent-dims", {100, 50}},
                      {"layer-hidden", {100, 100}},
                      {"inference", "ladder"}},
                 "flags");
  EXPECT_EQ(config.network.latent_dim(), 100);
  EXPECT_EQ(config.network.code_dim(), 150);
  EXPECT_EQ(config.network.top_layer().latent_dim(), 50);
  EXPECT_EQ(config.network.inference(), Inference::kLadder);
  EXPECT_NO_THROW(validate(config));
  TrainConfig restored;
  apply_settings(restored, to_json(config), "saved");
  EXPECT_EQ(to_json(restored), to_json(config));
  // Free bits work on a hierarchy's per-coordinate KL terms.
  apply_settings(config, json{{"free-bits", 0.1}}, "flags");
  EXPECT_NO_THROW(validate(config));
  const auto message = [](const json& settings) {
    TrainConfig bad;
    return error_of([&] {
      apply_settings(bad, settings, "flags");
      validate(bad);
    });
  };
  EXPECT_EQ(message({{"latent-layers", 3}, {"latent-dims", {10, 5}}}),
            "--latent-dims has 2 sizes; --latent-layers 3 needs one per layer");
  EXPECT_EQ(message({{"latent-layers", 2}}),
            "--latent-dims has 0 sizes; --latent-layers 2 needs one per layer");
  EXPECT_EQ(message({{"latent-layers", 2}, {"latent-dims", {10, 0}}}),
            "--latent-dims sizes must be positive");
  EXPECT_EQ(message({{"latent-layers", 2}, {"latent-dims", {10, 5}}, {"latent-dim", 7}}),
            "--latent-dim 7 contradicts the bottom layer's --latent-dims 10");
  EXPECT_EQ(message({{"latent-layers", 2}, {"latent-dims", {10, 5}}, {"layer-hidden", {0}}}),
            "--layer-hidden sizes must be positive");
  EXPECT_EQ(message({{"latent-layers", 0}}), "--latent-layers must be 1 to 16, not 0");
  // A learned prior serves the top layer, without free bits (its KL has no
  // per-coordinate closed form).
  for (const char* prior : {"mog", "vamp"}) {
    TrainConfig learned;
    apply_settings(learned, json{{"latent-layers", 2}, {"latent-dims", {10, 5}}, {"prior", prior}},
                   "flags");
    EXPECT_NO_THROW(validate(learned)) << prior;
    EXPECT_EQ(
        message(
            {{"latent-layers", 2}, {"latent-dims", {10, 5}}, {"prior", prior}, {"free-bits", 0.1}}),
        std::string("--free-bits needs the KL per dimension, which the top latent layer "
                    "has no closed form for with --prior ") +
            prior);
  }
  EXPECT_EQ(
      message({{"latent-layers", 2}, {"latent-dims", {10, 5}}, {"prior", "uniform-categorical"}}),
      "--latent-layers > 1 needs a prior over Gaussian codes for its top layer, not --prior "
      "uniform-categorical");
}

TEST(Config, CategoricalBadInputGetsOneLine) {
  const auto message = [](const json& settings) {
    TrainConfig config;
    return error_of([&] {
      apply_settings(config, settings, "flags");
      validate(config);
    });
  };
  const json cat = {{"posterior", "categorical"}};
  EXPECT_EQ(message({{"posterior", "categorical"}, {"categories", 1}}),
            "--categories must be at least 2, not 1");
  EXPECT_EQ(message({{"posterior", "categorical"}, {"categorical-vars", 0}}),
            "--categorical-vars must be at least 1, not 0");
  // A product that would overflow is refused, not computed.
  EXPECT_EQ(message({{"posterior", "categorical"},
                     {"categorical-vars", int64_t{1} << 40},
                     {"categories", int64_t{1} << 40}}),
            "--categorical-vars x --categories must be at most 1048576");
  EXPECT_EQ(message({{"posterior", "categorical"}, {"tau-start", 0.4}}),
            "--tau-min (0.500000) must not exceed --tau-start (0.400000)");
  EXPECT_EQ(message({{"posterior", "categorical"}, {"tau-min", 0.0}}),
            "--tau-min must be a positive number");
  EXPECT_EQ(message({{"posterior", "categorical"}, {"tau-anneal-rate", -1.0}}),
            "--tau-anneal-rate must be a finite number >= 0");
  EXPECT_EQ(message({{"gumbel-hard", true}}),
            "--gumbel-hard needs --posterior categorical, not diagonal-gaussian");
  EXPECT_EQ(message({{"posterior", "categorical"}, {"latent-dim", 20}}),
            "--posterior categorical has a code of 300 dimensions (--categorical-vars x "
            "--categories), not --latent-dim 20");
  EXPECT_EQ(message({{"posterior", "categorical"}, {"prior", "standard-normal"}}),
            "--posterior categorical cannot be used with --prior standard-normal (its prior: "
            "uniform-categorical)");
  EXPECT_EQ(message({{"prior", "uniform-categorical"}}),
            "--posterior diagonal-gaussian cannot be used with --prior uniform-categorical (its "
            "prior: standard-normal)");
  EXPECT_EQ(message({{"posterior", "categorical"}, {"objective", "iwae"}}),
            "--objective iwae needs log q at each draw, which the relaxed draws of --posterior "
            "categorical do not have: train it by the ELBO");
  EXPECT_EQ(message({{"posterior", "categorical"}, {"gumbel-hard", true}}), "");
  EXPECT_EQ(message(cat), "");
}

TEST(Config, PresetErrorsAreClear) {
  testing::ScratchDir dir;
  EXPECT_NE(error_of([] { find_preset("no-such-preset"); }).find("unknown model preset"),
            std::string::npos);
  testing::write_bytes(dir.file("broken.json"), "{\"arch\": ");
  TrainConfig config;
  EXPECT_NE(
      error_of([&] { apply_preset_file(config, dir.file("broken.json")); }).find("invalid JSON"),
      std::string::npos);
  testing::write_bytes(dir.file("small.json"), "{\"latent-dim\": 2}");
  apply_preset_file(config, find_preset(dir.file("small.json")));
  EXPECT_EQ(config.network.latent_dim(), 2);
}

TEST(Config, RunDirectoryDefaultsToThePresetName) {
  TrainConfig config;
  EXPECT_EQ(run_directory(config), "runs/mlp");
  config.model = "models/conv.json";
  EXPECT_EQ(run_directory(config), "runs/conv");
  config.out = "elsewhere/x";
  EXPECT_EQ(run_directory(config), "elsewhere/x");
}

}  // namespace
}  // namespace vae
