#include "vae/runtime/name_table.h"

#include <gtest/gtest.h>

namespace vae {
namespace {

enum class Colour { kRed, kGreen, kBlue };

TEST(NameTable, ParsesPrintsAndListsTheNames) {
  const NameTable<Colour> table(
      "--colour", {{Colour::kRed, "red"}, {Colour::kGreen, "green"}, {Colour::kBlue, "blue"}});
  EXPECT_EQ(table.parse("green"), Colour::kGreen);
  EXPECT_EQ(table.name(Colour::kBlue), "blue");
  EXPECT_EQ(table.choices(), "red | green | blue");
  try {
    table.parse("mauve");
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()), "--colour must be red, green or blue, not 'mauve'");
  }
}

TEST(NameTable, ListsOneAndTwoNames) {
  EXPECT_EQ(or_list({"a"}), "a");
  EXPECT_EQ(or_list({"a", "b"}), "a or b");
  EXPECT_EQ(bar_list({"a", "b"}), "a | b");
}

}  // namespace
}  // namespace vae
