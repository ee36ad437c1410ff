// The inverse autoregressive flow's steps (model/iaf_posterior.cpp) on many
// codes at once without autograd: the inner loop of the importance-sampled
// evaluation, which draws k codes per image and sends each through every
// step. Through LibTorch a step is two products and a dozen passes over
// [R, D] or [R, H] (flip, bias, context, relu, narrow, sigmoid, the update,
// log-sigmoid, the sum). Here each thread takes blocks of rows and runs all
// steps on a block while it is in that core's cache: the products on the
// calling thread (gemm_out), the rest one loop per product (fast_math's
// sigmoid and log1p).
//
// Per step, on z [R, D] (the step's input order):
//   hidden = relu(z W_in^T + b_in + c)      [R, H], c the row's image's context
//   [m, s] = hidden W_out^T + b_out          [R, 2D]
//   z = sigmoid(s) z + (1 - sigmoid(s)) m,  log_det += sum_d log sigmoid(s_d)
// A step that reads the latents in reverse order is passed with its weights
// permuted (the caller's business): the pass never flips.
#pragma once

#include <torch/types.h>

#include <vector>

namespace vae {

struct IafStepTensors {
  torch::Tensor in_weight;   // [H, D], masked
  torch::Tensor in_bias;     // [H]
  torch::Tensor context;     // [images, H]: h W_c^T per image
  torch::Tensor out_weight;  // [2D, H], masked: the rows of m, then those of s
  torch::Tensor out_bias;    // [2D]
};

// Whether iaf_flow_pass() takes these codes: float32 on the CPU, with
// autograd off (a training step needs the op-by-op graph).
bool iaf_flow_pass_covers(const torch::Tensor& z);

// z [..., D] (R rows, R a multiple of the contexts' images: rows i * R /
// images .. are image i's) through the steps in order -> z_K [..., D];
// *log_det = sum over steps and d of log sigmoid(s_d), [...]. The numbers
// are the LibTorch formula's up to float rounding
// (tests/model/test_iaf_flow_pass.cpp). Throws vae::Error for shapes that do
// not fit.
torch::Tensor iaf_flow_pass(const torch::Tensor& z, const std::vector<IafStepTensors>& steps,
                            torch::Tensor* log_det);

}  // namespace vae
