#include "vae/runtime/progress.h"

#include <gtest/gtest.h>

#include <sstream>

namespace vae {
namespace {

TEST(Progress, PlainLinesEveryIntervalWhenNotATerminal) {
  std::ostringstream out;
  Progress progress(out, /*terminal=*/false, "epoch 2/10", /*steps=*/7, /*interval=*/3);
  int printed = 0;
  for (int64_t done = 1; done <= 7; ++done) {
    if (progress.due(done)) {
      progress.update(done, 100 + done, 123.456, done * 10);
      ++printed;
    }
  }
  progress.finish();
  EXPECT_EQ(printed, 2);  // steps 3 and 6
  const std::string text = out.str();
  EXPECT_NE(text.find("epoch 2/10 step 3/7 (global 103)  loss 123.456"), std::string::npos) << text;
  EXPECT_EQ(text.find('\r'), std::string::npos);
}

TEST(Progress, RedrawsOneLineOnATerminal) {
  std::ostringstream out;
  Progress progress(out, /*terminal=*/true, "epoch 1/1", 4, 100);
  EXPECT_TRUE(progress.due(4));  // the last step always draws
  progress.update(4, 4, 99.5, 512);
  progress.finish();
  const std::string text = out.str();
  EXPECT_EQ(text.rfind("\repoch 1/1 [========================] 4/4  loss 99.50", 0), 0u) << text;
  EXPECT_EQ(text.find('\n'), std::string::npos);
}

}  // namespace
}  // namespace vae
