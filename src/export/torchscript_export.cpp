#include "vae/export/torchscript_export.h"

#include <torch/torch.h>

#include <fstream>
#include <sstream>

#include "hierarchy_script.h"
#include "script_layers.h"
#include "vae/data/batcher.h"
#include "vae/runtime/atomic_file.h"
#include "vae/runtime/error.h"

namespace vae {
namespace {

// A double as TorchScript source that reads back as the same double.
std::string exact_text(double v) {
  char text[40];
  std::snprintf(text, sizeof(text), "%.17g", v);
  return text;
}

void register_common_attributes(torch::jit::Module& module, const NetworkOptions& options) {
  // The width of the code the modules take and give: every layer's.
  module.register_attribute("latent_dim", c10::IntType::get(), options.code_dim());
  module.register_attribute("layer_dims", c10::ListType::ofInts(),
                            c10::List<int64_t>(options.layer_dims()));
  module.register_attribute(
      "image_shape", c10::ListType::ofInts(),
      c10::List<int64_t>({options.in_channels(), options.height(), options.width()}));
  module.register_attribute("vae_version", c10::StringType::get(), std::string(VAE_VERSION));
  module.register_attribute("export_version", c10::IntType::get(), kExportVersion);
}

void save_module(const torch::jit::Module& module, const std::string& path) {
  std::ostringstream bytes;
  module.save(bytes);
  write_file_atomically(path, bytes.str());
}

}  // namespace

torch::jit::Module export_encoder(const VAE& model) {
  const NetworkOptions& o = model->options();
  const PosteriorFamily& family = *o.posterior();
  torch::jit::Module module("VaeEncoder");
  const PosteriorFamily::Script posterior =
      model->hierarchy().is_empty()
          ? family.script(o, model->posterior_parameters())
          : PosteriorFamily::Script{
                hierarchy_encoder_script(module, *model->hierarchy()).methods, {}, {}};
  register_common_attributes(module, o);
  module.register_attribute("posterior", c10::StringType::get(), std::string(family.name()));
  const std::string body = script_layers(module, model->encoder->body(), "layer");
  const auto [head_w, head_b] = register_layer(module, *model->encoder->head(), "head");
  const std::string pixels = std::to_string(o.input_size());
  const std::string shape = int_list({-1, o.in_channels(), o.height(), o.width()});
  for (const auto& [name, tensor] : posterior.parameters)
    module.register_parameter(name, tensor, false);
  module.define(R"(
    def encode_stats(self, x):
        assert x.dim() >= 2 and x.numel() == x.size(0) * )" +
                pixels + R"(, "the encoder expects N images of )" +
                int_list({o.in_channels(), o.height(), o.width()}) + R"( pixels"
        if not x.is_floating_point():
            x = x.float() / 255.0
        h = x.float().reshape()" +
                shape + R"()
)" + body + R"(        return torch.linear(h, )" +
                head_w + ", " + head_b + ")\n" + posterior.methods);
  return module;
}

torch::jit::Module export_decoder(const VAE& model) {
  const NetworkOptions& o = model->options();
  torch::jit::Module module("VaeDecoder");
  register_common_attributes(module, o);
  module.register_attribute("likelihood", c10::StringType::get(), to_string(o.likelihood()));
  module.register_attribute("prior", c10::StringType::get(), to_string(o.prior()));
  const std::string body = script_layers(module, model->decoder->body(), "layer");
  for (const auto& [name, tensor] :
       o.prior()->script_tensors(const_cast<VAE&>(model)->prior_context()))
    module.register_parameter(name, tensor, false);
  // A hierarchy decodes its bottom layer, and generate() draws the top
  // layer from the prior (whose statements read self.latent_dim: here
  // self.top_dim), then the layers below it.
  const bool hierarchy = !model->hierarchy().is_empty();
  std::string prior = o.prior()->script_sample(o), methods, bottom, descend;
  if (hierarchy) {
    module.register_attribute("top_dim", c10::IntType::get(), o.layer_dims().back());
    for (size_t at = prior.find("self.latent_dim"); at != std::string::npos;
         at = prior.find("self.latent_dim", at))
      prior.replace(at, 15, "self.top_dim");
    methods = hierarchy_decoder_script(module, *model->hierarchy());
    bottom = ".narrow(1, 0, " + std::to_string(o.latent_dim()) + ")";
    descend = "        z = self.descend(z)\n";
  }
  // output(z): the decoder's unconstrained output (Bernoulli: logits), which
  // a likelihood reads; forward(z) turns it into the mean image. With an
  // autoregressive part, the likelihood reads conditioned(x, output(z)) and
  // forward(z) is the mean-field image, pixel by pixel (mean(h): one
  // pixel's mean).
  // The family's mean, times its scale where it has one (binomial: N / 255).
  const double scale = o.likelihood()->mean_scale(model->decoder->params());
  const std::string script_mean =
      o.likelihood()->script_mean() +
      (scale == 1.0 ? std::string() : "        h = h * " + exact_text(scale) + "\n");
  std::string mean_image = R"(
    def forward(self, z):
        h = self.output(z)
)" + script_mean + "        return h\n";
  if (const PixelContext& context = model->decoder->context(); !context.is_empty()) {
    module.register_parameter("context_weight", context->masked_weight().detach().clone(), false);
    if (context->hidden() > 0) {
      module.register_parameter("context_gate_weight",
                                context->masked_gate_weight().detach().clone(), false);
      module.register_parameter("context_out_weight", context->out_weight().detach().clone(),
                                false);
    }
    if (context->gates_read_z()) {
      module.register_parameter("context_logit_weight", context->logit_weight().detach().clone(),
                                false);
    }
    if (context->features() > 0) {
      module.register_parameter("context_feature_weight",
                                context->masked_feature_weight().detach().clone(), false);
      module.register_parameter("context_feature_gate_weight",
                                context->masked_feature_gate_weight().detach().clone(), false);
    }
    mean_image = R"(
    def mean(self, h):
)" + script_mean +
                 "        return h\n" + context->script();
  }
  module.define(R"(
    def output(self, z):
        assert z.dim() == 2 and z.size(1) == self.latent_dim, "the decoder expects codes [N, latent_dim]"
        h = z.float())" +
                bottom + "\n" + body + R"(        return h
)" + mean_image +
                R"(
    def generate(self, n: int, seed: int):
        torch.manual_seed(seed)
)" + prior + descend +
                R"(        return self.forward(z)
)" + methods);
  return module;
}

ExportedFiles export_model(const VAE& model, const nlohmann::json& run_config,
                           const std::vector<EpochMetrics>& history,
                           const torch::Tensor& reference_images, const std::string& out_dir) {
  create_directories(out_dir);
  ExportedFiles files{out_dir + "/encoder.pt", out_dir + "/decoder.pt", out_dir + "/model.json",
                      out_dir + "/reference.pt"};
  torch::jit::Module encoder = export_encoder(model);
  torch::jit::Module decoder = export_decoder(model);
  save_module(encoder, files.encoder);
  save_module(decoder, files.decoder);

  // Reference outputs of the in-process model, for other programs to match.
  {
    torch::NoGradGuard no_grad;
    VAE& m = const_cast<VAE&>(model);
    const bool was_training = m->is_training();
    m->eval();
    // clone(): a view would save the whole storage it points into.
    const torch::Tensor x_uint8 = reference_images.to(torch::kCPU, torch::kUInt8).clone();
    const torch::Tensor x = to_model_input(x_uint8, torch::kCPU);
    const torch::Device device = m->parameters().front().device();
    const std::unique_ptr<Posterior> q = m->encode(x.to(device));
    const torch::Tensor z = q->mean().to(torch::kCPU);
    const torch::Tensor decoded = m->generate(q->mean()).to(torch::kCPU);
    // Three draws per image from fixed noise, and log q at them: the
    // exported rsample_with_log_prob(x, eps) must give the same.
    const torch::Tensor eps = torch::randn({x.size(0), 3, m->noise_size()},
                                           at::detail::createCPUGenerator(kReferenceSeed));
    const PosteriorDraw draw = q->expand(3)->rsample_with_log_prob(eps.to(device));
    m->train(was_training);
    torch::jit::Module reference("VaeReference");
    reference.register_buffer("x", x);
    reference.register_buffer("x_uint8", x_uint8);
    const std::vector<std::string> names = m->posterior_family().output_names();
    const std::vector<torch::Tensor> outputs = q->outputs();
    for (size_t i = 0; i < names.size(); ++i)
      reference.register_buffer(names[i], outputs.at(i).to(torch::kCPU));
    reference.register_buffer("z", z);
    reference.register_buffer("decoded", decoded);
    reference.register_buffer("eps", eps);
    reference.register_buffer("draw_z", draw.z.to(torch::kCPU));
    reference.register_buffer("draw_log_q", draw.log_q.to(torch::kCPU));
    if (!m->hierarchy().is_empty()) {
      reference.register_buffer("draw_log_conditional_prior",
                                m->hierarchy()->log_conditional_prior(draw.z).to(torch::kCPU));
    }
    save_module(reference, files.reference);
  }

  const NetworkOptions& o = model->options();
  nlohmann::json encoder_doc = {{"file", "encoder.pt"}};
  {
    torch::jit::Module scratch("Scratch");  // the docs only
    const auto docs = model->hierarchy().is_empty()
                          ? o.posterior()->script(o, model->posterior_parameters()).docs
                          : hierarchy_encoder_script(scratch, *model->hierarchy()).docs;
    for (const auto& [method, text] : docs)
      encoder_doc[method] = text;
  }
  nlohmann::json metadata = {
      {"format", "vae-export"},
      {"export_version", kExportVersion},
      {"vae_version", VAE_VERSION},
      {"architecture",
       {{"arch", to_string(o.arch())},
        {"hidden", o.hidden()},
        {"channels", o.channels()},
        {"latent_dim", o.code_dim()},

        {"posterior", to_string(o.posterior())},
        {"prior", to_string(o.prior())},
        {"likelihood", to_string(o.likelihood())}}},
      {"input",
       {{"shape", {o.in_channels(), o.height(), o.width()}},
        {"dtype", "float32 in [0, 1], or uint8 0..255 (divided by 255 inside)"},
        {"layout", "light digit on a dark background, as in MNIST"},
        {"binarize", run_config.is_object() ? run_config.value("binarize", "none") : "none"}}},
      {"encoder", encoder_doc},
      {"decoder",
       {{"file", "decoder.pt"},
        {"forward", o.latent_layers() > 1
                        ? "z [N, D] (every layer's code; the bottom layer is decoded) -> pixel "
                          "means [N, C, H, W] in [0, 1]"
                        : "z [N, D] -> pixel means [N, C, H, W] in [0, 1]"},
        {"generate", "generate(n, seed) -> [n, C, H, W] decoded prior samples"}}},
      {"training", run_config}};
  if (!model->decoder->context().is_empty()) {
    metadata["architecture"]["autoregressive_kernel"] = o.autoregressive_kernel();
    if (o.autoregressive_hidden() > 0)
      metadata["architecture"]["autoregressive_hidden"] = o.autoregressive_hidden();
    if (o.autoregressive_gates_read_z())
      metadata["architecture"]["autoregressive_gates_read_z"] = true;
    if (o.autoregressive_features() > 0) {
      metadata["architecture"]["autoregressive_features"] = o.autoregressive_features();
      metadata["architecture"]["autoregressive_feature_kernel"] = o.autoregressive_feature_kernel();
    }
    nlohmann::json& decoder = metadata["decoder"];
    decoder["forward"] =
        "z [N, D] -> the mean-field image [N, C, H, W] in [0, 1] (pixel by pixel, each "
        "pixel's mean fed forward)";
    decoder["output"] = "z [N, D] -> the decoder output of the codes [N, C, H, W]";
    decoder["conditioned"] =
        "conditioned(x, output(z)) -> what the likelihood of images x [N, C, H, W] reads, "
        "[N, C, H, W]";
    if (!o.autoregressive_gates_read_z()) {
      decoder["context"] =
          "x [N, C, H, W] -> the autoregressive offsets [N, C, H, W]; conditioned(x, h) is h + "
          "context(x)";
    }
  }
  if (o.latent_layers() > 1) {
    nlohmann::json& architecture = metadata["architecture"];
    architecture["latent_layers"] = o.latent_layers();
    architecture["latent_dims"] = o.layer_dims();
    architecture["layer_hidden"] = o.layer_hidden();
    architecture["inference"] = to_string(o.inference());
    metadata["decoder"]["descend"] =
        "descend(top [n, d_L]) -> [n, D]: the layers below the top one drawn from p(z_l|z_{l+1})";
    metadata["decoder"]["log_conditional_prior"] =
        "log_conditional_prior(z [..., D]) -> [...]: sum of log p(z_l|z_{l+1}) below the top "
        "layer; log p(z) adds the prior of the top layer (architecture.prior)";
  }
  if (!history.empty()) {
    nlohmann::json last = to_json(history.back());
    last.erase("kl_per_dim");
    last.erase("mean_variance");
    metadata["metrics"] = last;
  }
  write_file_atomically(files.metadata, metadata.dump(2) + "\n");
  return files;
}

torch::jit::Module load_exported(const std::string& path, const std::string& kind) {
  torch::jit::Module module;
  try {
    module = torch::jit::load(path, torch::kCPU);
  } catch (const c10::Error& e) {
    std::ifstream probe(path);
    if (!probe) throw Error("cannot read " + kind + " " + path + ": no such file");
    throw Error(path + " is not a TorchScript file (" + first_line(e.what_without_backtrace()) +
                ")");
  }
  const std::string what = (kind == "encoder" ? "an " : "a ") + kind + " exported by vae export";
  const std::vector<std::string> methods = kind == "encoder"
                                               ? std::vector<std::string>{"forward", "sample"}
                                               : std::vector<std::string>{"forward", "generate"};
  for (const std::string& method : methods) {
    if (!module.find_method(method)) {
      throw Error(path + " is not " + what + " (no " + method + " method)");
    }
  }
  if (!module.hasattr("latent_dim") || !module.hasattr("image_shape")) {
    throw Error(path + " is not " + what + " (no latent_dim attribute)");
  }
  module.eval();
  return module;
}

}  // namespace vae
