// Every fixed CSV column, and every extra column a registered variant declares, is documented in
// results/SCHEMA.md or on the variant's page, so a new column cannot ship undocumented.
#include <catch2/catch.hpp>

#include <filesystem>

#include "harness/core/variant.hpp"
#include "harness/report/columns.hpp"
#include "tests/support/test_support.hpp"

TEST_CASE("results/SCHEMA.md documents every fixed column", "[report]") {
  const std::string schema = sb::test::read_text(std::filesystem::path(SEABENCH_SOURCE_DIR) / "results/SCHEMA.md");
  for (const auto& c : sb::core_columns()) {
    INFO(c);
    CHECK(schema.find("`" + c + "`") != std::string::npos);
  }
}

TEST_CASE("every variant documents its extra columns", "[report]") {
  for (const auto* v : sb::variant_registry::instance().all()) {
    if (v->name().starts_with("test_")) continue;
    const auto extras = v->extra_columns();
    if (extras.empty()) continue;
    const auto page = std::filesystem::path(SEABENCH_SOURCE_DIR) / "docs" / "variants" / (std::string(v->name()) + ".md");
    const std::string sea_page = sb::test::read_text(std::filesystem::path(SEABENCH_SOURCE_DIR) / "docs" / "sea.md");
    const std::string text = sb::test::read_text(page) + sea_page;
    for (const auto& c : extras) {
      INFO(v->name() << ": " << c);
      CHECK(text.find(c) != std::string::npos);
    }
  }
}
