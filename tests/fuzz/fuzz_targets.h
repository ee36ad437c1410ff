// One function per fuzzed parser (see fuzz_targets.cpp).
#pragma once

#include <cstddef>
#include <cstdint>

namespace vae::fuzz {

void idx_reader(const uint8_t* data, size_t size);
void image_input(const uint8_t* data, size_t size);
void config(const uint8_t* data, size_t size);
void checkpoint(const uint8_t* data, size_t size);

}  // namespace vae::fuzz
