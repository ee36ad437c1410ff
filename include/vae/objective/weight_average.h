// Polyak averaging of the weights as an exponential moving average (EMA):
// after every optimisation step t,
//   a_t = d a_{t-1} + (1 - d) theta_t,    a_0 = theta_0,
// (Polyak & Juditsky 1992; the exponential form of Kingma & Ba 2015, sec.
// 7.2). Starting from theta_0 instead of 0 leaves no bias to correct. The
// averages are evaluated, checkpointed and served in place of the trained
// weights; the trained weights go on being optimised.
#pragma once

#include <torch/nn/module.h>
#include <torch/serialize/archive.h>

#include <string>
#include <vector>

namespace vae {

class WeightAverage {
 public:
  // Averages `module`'s parameters (not its buffers) with decay d in (0, 1).
  WeightAverage(torch::nn::Module& module, double decay);

  double decay() const { return decay_; }
  // a <- d a + (1 - d) theta: call after each optimizer step.
  void update();

  // While one lives, the module's parameters hold the averages (copied in
  // place, so that every reference to the parameter tensors sees them); the
  // trained values come back when it ends.
  class Applied {
   public:
    explicit Applied(WeightAverage& average);
    ~Applied();
    Applied(const Applied&) = delete;
    Applied& operator=(const Applied&) = delete;

   private:
    WeightAverage& average_;
    std::vector<torch::Tensor> trained_;
  };

  // The averages by parameter name. load() throws vae::Error when a name is
  // missing or a shape differs (`source` names the file).
  void save(torch::serialize::OutputArchive& archive) const;
  void load(torch::serialize::InputArchive& archive, const std::string& source);

 private:
  std::vector<std::string> names_;
  std::vector<torch::Tensor> parameters_;  // the module's own tensors
  std::vector<torch::Tensor> averages_;    // same shapes, devices, dtypes
  double decay_;
};

// Puts the averages saved by WeightAverage::save into `module`'s
// parameters (serving the averaged model). Throws vae::Error as load().
void load_averaged_parameters(torch::nn::Module& module, torch::serialize::InputArchive& archive,
                              const std::string& source);

}  // namespace vae
