// libFuzzer entry point for vae::fuzz::image_input (fuzz_targets.cpp).
#include "fuzz_targets.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  vae::fuzz::image_input(data, size);
  return 0;
}
