// libFuzzer entry point for vae::fuzz::checkpoint (fuzz_targets.cpp).
#include "fuzz_targets.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  vae::fuzz::checkpoint(data, size);
  return 0;
}
