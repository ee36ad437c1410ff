#include "vae/export/torchscript_export.h"

#include <gtest/gtest.h>
#include <torch/script.h>
#include <torch/torch.h>

#include <algorithm>
#include <tuple>
#include <utility>
#include <vector>

#include "test_support.h"
#include "vae/runtime/error.h"

namespace vae {
namespace {

// A small model of each architecture trained for a few Adam steps, so the
// parameters are no longer their initial values.
VAE trained_model(ArchitectureRef arch) {
  torch::manual_seed(0);
  VAE model(NetworkOptions().arch(arch).hidden({32}).channels({4, 8}).latent_dim(5));
  torch::optim::Adam optimizer(model->parameters(), torch::optim::AdamOptions(1e-2));
  const torch::Tensor x = torch::rand({32, 1, 28, 28});
  for (int step = 0; step < 5; ++step) {
    const ElboTerms terms = model->elbo(x);
    optimizer.zero_grad();
    terms.loss.backward();
    optimizer.step();
  }
  model->eval();
  return model;
}

double max_diff(const torch::Tensor& a, const torch::Tensor& b) {
  return (a - b).abs().max().item<double>();
}

class Export : public ::testing::TestWithParam<ArchitectureRef> {};

TEST_P(Export, ReloadedFilesGiveTheInProcessOutputs) {
  testing::ScratchDir dir;
  VAE model = trained_model(GetParam());
  torch::manual_seed(1);
  const torch::Tensor images = torch::randint(0, 256, {17, 28, 28}).to(torch::kUInt8);
  const ExportedFiles files = export_model(model, {{"binarize", "none"}}, {}, images, dir.path());

  torch::jit::Module encoder = torch::jit::load(files.encoder);
  torch::jit::Module decoder = torch::jit::load(files.decoder);
  EXPECT_EQ(encoder.attr("latent_dim").toInt(), 5);
  EXPECT_EQ(decoder.attr("latent_dim").toInt(), 5);
  EXPECT_EQ(encoder.attr("image_shape").toIntVector(), (std::vector<int64_t>{1, 28, 28}));

  torch::NoGradGuard no_grad;
  for (int64_t batch : {1, 17}) {
    const torch::Tensor x = images.narrow(0, 0, batch).to(torch::kFloat32).div(255.0).unsqueeze(1);
    const testing::MuLogvar q = testing::encode_gaussian(model, x);
    // Float [N, 1, 28, 28], flat [N, 784] and uint8 inputs all give the same posterior.
    for (const torch::Tensor& input :
         {x, x.view({batch, 784}), images.narrow(0, 0, batch).unsqueeze(1)}) {
      const auto out = encoder.forward({input}).toTuple();
      EXPECT_LE(max_diff(out->elements()[0].toTensor(), q.mu), 1e-5) << "batch " << batch;
      EXPECT_LE(max_diff(out->elements()[1].toTensor(), q.logvar), 1e-5) << "batch " << batch;
    }
    const torch::Tensor decoded = decoder.forward({q.mu}).toTensor();
    EXPECT_EQ(decoded.sizes(), (torch::IntArrayRef{batch, 1, 28, 28}));
    EXPECT_LE(max_diff(decoded, model->generate(q.mu)), 1e-5) << "batch " << batch;

    const torch::Tensor draws = encoder.get_method("sample")({x, 1000}).toTensor();
    EXPECT_EQ(draws.sizes(), (torch::IntArrayRef{batch, 1000, 5}));
    // Their mean and standard deviation are the posterior's (4 standard errors).
    const torch::Tensor sigma = torch::exp(0.5 * q.logvar);
    EXPECT_TRUE(
        (draws.mean(1) - q.mu).abs().le(4.0 * sigma / std::sqrt(1000.0)).all().item<bool>());
  }
  const torch::Tensor a = decoder.get_method("generate")({6, 11}).toTensor();
  EXPECT_EQ(a.sizes(), (torch::IntArrayRef{6, 1, 28, 28}));
  EXPECT_TRUE(torch::equal(a, decoder.get_method("generate")({6, 11}).toTensor()));
  EXPECT_FALSE(torch::equal(a, decoder.get_method("generate")({6, 12}).toTensor()));
}

INSTANTIATE_TEST_SUITE_P(BothArchitectures, Export,
                         ::testing::Values(parse_architecture("mlp"), parse_architecture("conv")),
                         [](const auto& info) { return to_string(info.param); });

// Every posterior family: the exported encoder's outputs, draws from given
// noise with log q, log_prob where there is one, and summary() equal the
// in-process model's.
class FamilyExport : public ::testing::TestWithParam<const char*> {};

TEST_P(FamilyExport, ReloadedEncoderGivesTheInProcessPosterior) {
  testing::ScratchDir dir;
  torch::manual_seed(0);
  NetworkOptions o = NetworkOptions().hidden({24}).latent_dim(3).flow_steps(3).iaf_hidden(8);
  o.posterior(parse_posterior(GetParam()));
  if (o.posterior()->relaxed()) {
    o.prior(parse_prior("uniform-categorical")).categorical_vars(2).categories(3).latent_dim(6);
  }
  VAE model(o);
  // Random parameters well away from the initial ones (IAF's gates, planar maps).
  {
    torch::NoGradGuard no_grad;
    for (auto& p : model->parameters())
      p.add_(torch::randn_like(p) * 0.1);
  }
  model->eval();
  const torch::Tensor images = torch::randint(0, 256, {7, 28, 28}).to(torch::kUInt8);
  const ExportedFiles files = export_model(model, {}, {}, images, dir.path());
  torch::jit::Module encoder = torch::jit::load(files.encoder);
  EXPECT_EQ(encoder.attr("posterior").toStringRef(), GetParam());

  torch::NoGradGuard no_grad;
  const torch::Tensor x = images.to(torch::kFloat32).div(255.0).unsqueeze(1);
  const std::unique_ptr<Posterior> q = model->encode(x);
  const std::vector<torch::Tensor> outputs = q->outputs();
  const auto tuple = encoder.forward({x}).toTuple();
  ASSERT_EQ(tuple->elements().size(), outputs.size());
  for (size_t i = 0; i < outputs.size(); ++i)
    EXPECT_LE(max_diff(tuple->elements()[i].toTensor(), outputs[i]), 1e-6);

  const torch::Tensor eps = torch::randn({7, 4, model->noise_size()});
  const PosteriorDraw draw = q->expand(4)->rsample_with_log_prob(eps);
  const auto scripted = encoder.get_method("rsample_with_log_prob")({x, eps}).toTuple();
  EXPECT_LE(max_diff(scripted->elements()[0].toTensor(), draw.z), 1e-5);
  EXPECT_LE(max_diff(scripted->elements()[1].toTensor(), draw.log_q), 1e-4);
  // log_prob at the draws gives their log q back; a flow inverts float32
  // draws, whose rounding its Jacobian amplifies.
  const double inverse_tolerance =
      model->posterior_family().closed_form_kl(model->prior()) || o.posterior()->relaxed() ? 1e-4
                                                                                           : 1e-3;
  EXPECT_LE(max_diff(encoder.get_method("log_prob")({x, draw.z}).toTensor(), draw.log_q),
            inverse_tolerance);
  EXPECT_LE(max_diff(q->expand(4)->log_prob(draw.z), draw.log_q), inverse_tolerance);
  EXPECT_EQ(encoder.get_method("sample")({x, 5}).toTensor().sizes(),
            (torch::IntArrayRef{7, 5, o.latent_dim()}));

  // summary() is what `vae encode` writes: the family's columns, from the
  // same noise where they are estimated.
  torch::manual_seed(9);
  const auto native = o.posterior()->columns(*q, o, 20);
  torch::manual_seed(9);
  const auto summary = encoder.get_method("summary")({x, 20}).toGenericDict();
  ASSERT_EQ(summary.size(), native.size());
  size_t i = 0;
  for (const auto& entry : summary) {
    EXPECT_EQ(entry.key().toStringRef(), native[i].first);
    EXPECT_LE(max_diff(entry.value().toTensor(), native[i].second), 1e-5) << native[i].first;
    ++i;
  }
  EXPECT_EQ(native[0].second.sizes(), (torch::IntArrayRef{7, o.latent_dim()}));
}

INSTANTIATE_TEST_SUITE_P(EveryPosterior, FamilyExport,
                         ::testing::Values("diagonal-gaussian", "planar", "iaf", "categorical"),
                         [](const auto& info) {
                           std::string name = info.param;
                           name.erase(std::remove(name.begin(), name.end(), '-'), name.end());
                           return name;
                         });

// A learned prior is exported as the Gaussian mixture it is once trained:
// the VampPrior's components are the posteriors of its pseudo-inputs.
TEST(ExportFiles, LearnedPriorsExportTheirMixture) {
  for (const char* name : {"mog", "vamp"}) {
    testing::ScratchDir dir;
    torch::manual_seed(3);
    VAE model(NetworkOptions()
                  .prior(parse_prior(name))
                  .prior_components(3)
                  .pseudo_inputs(4)
                  .hidden({16})
                  .latent_dim(2));
    model->eval();
    const ExportedFiles files =
        export_model(model, {}, {}, torch::zeros({2, 28, 28}, torch::kUInt8), dir.path());
    torch::jit::Module decoder = torch::jit::load(files.decoder);
    torch::NoGradGuard no_grad;
    torch::Tensor means;
    if (std::string(name) == "mog") {
      means = model->named_parameters()["prior.means"];
    } else {
      means =
          model->encode(torch::clamp(model->named_parameters()["prior.pseudo_inputs"], 0.0, 1.0))
              ->outputs()[0];
    }
    EXPECT_LE(max_diff(decoder.attr("prior_means").toTensor(), means), 1e-6) << name;
    const torch::Tensor a = decoder.get_method("generate")({5, 1}).toTensor();
    EXPECT_EQ(a.sizes(), (torch::IntArrayRef{5, 1, 28, 28})) << name;
    EXPECT_TRUE(torch::equal(a, decoder.get_method("generate")({5, 1}).toTensor())) << name;
  }
}

// An autoregressive decoder: conditioned(x, output(z)) gives the
// likelihood's input (output(z) + context(x) when the offsets read x alone),
// forward(z) the in-process mean-field image.
TEST(ExportFiles, AutoregressiveDecoderExportsItsContext) {
  for (const auto& [hidden, read_z, features] : std::vector<std::tuple<int64_t, bool, int64_t>>{
           {0, false, 0}, {3, false, 0}, {3, true, 0}, {3, false, 2}, {3, true, 2}}) {
    SCOPED_TRACE("hidden " + std::to_string(hidden) + (read_z ? ", gates read z" : "") +
                 ", features " + std::to_string(features));
    testing::ScratchDir dir;
    torch::manual_seed(4);
    VAE model(NetworkOptions()
                  .hidden({16})
                  .latent_dim(3)
                  .autoregressive_kernel(5)
                  .autoregressive_hidden(hidden)
                  .autoregressive_gates_read_z(read_z)
                  .autoregressive_features(features)
                  .autoregressive_feature_kernel(3));
    {
      torch::NoGradGuard no_grad;
      for (auto& p : model->decoder->context()->named_parameters())
        p.value().normal_(0.0, 1.0);
    }
    model->eval();
    const ExportedFiles files =
        export_model(model, {}, {}, torch::zeros({2, 28, 28}, torch::kUInt8), dir.path());
    torch::jit::Module decoder = torch::jit::load(files.decoder);
    torch::NoGradGuard no_grad;
    const torch::Tensor z = torch::randn({4, 3});
    const torch::Tensor x = torch::rand({4, 1, 28, 28}).round();
    const torch::Tensor output = model->decode(z);
    const torch::Tensor conditioned = model->decoder->conditioned(x, output);
    const torch::Tensor h = decoder.get_method("output")({z}).toTensor();
    EXPECT_LE(max_diff(decoder.get_method("conditioned")({x, h}).toTensor(), conditioned), 1e-5);
    // One image's terms for several codes, as a Python evaluation loop reads them.
    EXPECT_LE(max_diff(decoder.get_method("conditioned")({x.narrow(0, 0, 1), h}).toTensor(),
                       model->decoder->conditioned(x.narrow(0, 0, 1).expand_as(x), output)),
              1e-5);
    EXPECT_EQ(decoder.find_method("context").has_value(), !read_z);
    if (!read_z) {
      EXPECT_LE(max_diff(h + decoder.get_method("context")({x}).toTensor(), conditioned), 1e-5);
    }
    EXPECT_LE(max_diff(decoder.forward({z}).toTensor(), model->generate(z)), 1e-5);
    const auto metadata = nlohmann::json::parse(testing::read_bytes(files.metadata));
    EXPECT_EQ(metadata["architecture"]["autoregressive_kernel"], 5);
    EXPECT_EQ(metadata["architecture"].value("autoregressive_hidden", 0), hidden);
    EXPECT_EQ(metadata["architecture"].value("autoregressive_gates_read_z", false), read_z);
    EXPECT_EQ(metadata["architecture"].value("autoregressive_features", 0), features);
    EXPECT_EQ(metadata["architecture"].contains("autoregressive_feature_kernel"), features > 0);
    EXPECT_EQ(metadata["decoder"].contains("context"), !read_z);
    EXPECT_TRUE(metadata["decoder"].contains("conditioned"));
  }
}

TEST(ExportFiles, ReferenceAndMetadataDescribeTheModel) {
  testing::ScratchDir dir;
  VAE model = trained_model(parse_architecture("mlp"));
  const ExportedFiles files = export_model(model, {{"binarize", "dynamic"}}, {},
                                           torch::zeros({3, 28, 28}, torch::kUInt8), dir.path());
  torch::jit::Module reference = torch::jit::load(files.reference);
  EXPECT_EQ(reference.attr("mu").toTensor().sizes(), (torch::IntArrayRef{3, 5}));
  EXPECT_EQ(reference.attr("decoded").toTensor().sizes(), (torch::IntArrayRef{3, 1, 28, 28}));
  const auto metadata = nlohmann::json::parse(testing::read_bytes(files.metadata));
  EXPECT_EQ(metadata["architecture"]["latent_dim"], 5);
  EXPECT_EQ(metadata["input"]["binarize"], "dynamic");
}

TEST(ExportFiles, LoaderRejectsWhatIsNotAnExport) {
  testing::ScratchDir dir;
  EXPECT_NE(testing::error_of([&] {
              load_exported(dir.file("none.pt"), "encoder");
            }).find("no such file"),
            std::string::npos);
  testing::write_bytes(dir.file("text.pt"), "hello");
  EXPECT_NE(testing::error_of([&] {
              load_exported(dir.file("text.pt"), "encoder");
            }).find("is not a TorchScript file"),
            std::string::npos);
  VAE model = trained_model(parse_architecture("mlp"));
  const ExportedFiles files =
      export_model(model, {}, {}, torch::zeros({1, 28, 28}, torch::kUInt8), dir.path());
  // A decoder is not an encoder: it has no sample method.
  EXPECT_NE(testing::error_of([&] {
              load_exported(files.decoder, "encoder");
            }).find("is not an encoder exported by vae export (no sample method)"),
            std::string::npos);
  EXPECT_NO_THROW(load_exported(files.encoder, "encoder"));
}

}  // namespace
}  // namespace vae
