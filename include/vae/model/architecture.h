// The networks' architecture: what the encoder puts before its fully
// connected trunk and what the decoder puts after its trunk. One interface,
// one file per architecture under src/model/, one table of them
// (architecture_table.cpp).
#pragma once

#include <torch/nn/modules/container/sequential.h>

#include <cstdint>
#include <string>

#include "vae/runtime/name_table.h"

namespace vae {

struct NetworkOptions;

class NetworkArchitecture {
 public:
  virtual ~NetworkArchitecture() = default;
  virtual const char* name() const = 0;
  virtual std::string help() const = 0;

  // Throws vae::Error with one line when `options` do not fit it.
  virtual void validate(const NetworkOptions& /*options*/) const {}
  // True when the encoder takes images [N, C, H, W] (flat input is reshaped).
  virtual bool image_input() const { return false; }
  // Appends the encoder's layers before the trunk (which starts with a
  // Flatten); returns the features per image they leave.
  virtual int64_t add_encoder_front(const NetworkOptions& options,
                                    torch::nn::Sequential& body) const = 0;
  // Appends the decoder's layers after the trunk, from [N, features] to the
  // output [N, C, H, W].
  virtual void add_decoder_back(const NetworkOptions& options, torch::nn::Sequential& body,
                                int64_t features) const = 0;
};

// A configuration refers to a registered architecture by pointer.
using ArchitectureRef = const NetworkArchitecture*;

// The registered architectures, in the order --help lists them.
const PartTable<NetworkArchitecture>& architectures();
ArchitectureRef parse_architecture(const std::string& name);
std::string to_string(ArchitectureRef arch);

}  // namespace vae
