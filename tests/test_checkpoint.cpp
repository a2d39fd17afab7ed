#include "host/checkpoint.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <fstream>
#include <functional>
#include <iterator>
#include <thread>

#include <nlohmann/json.hpp>

#include "tests/test_support.h"

namespace pq {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
namespace fs = std::filesystem;

std::string read_text(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void write_text(const fs::path& path, const std::string& text) { std::ofstream(path, std::ios::binary) << text; }

std::vector<std::string> file_names_in(const fs::path& dir) {
  std::vector<std::string> names;
  for (const auto& entry : fs::directory_iterator(dir)) names.push_back(entry.path().filename().string());
  std::sort(names.begin(), names.end());
  return names;
}

Tensor filled(DType dtype, Shape shape, int seed) {
  Tensor t = Tensor::zeros(dtype, std::move(shape));
  for (size_t i = 0; i < t.nbytes(); ++i) t.raw_data()[i] = static_cast<std::byte>((i + static_cast<size_t>(seed) * 13) & 0x7F);
  return t;
}

// Five 64-byte tensors: with a 150-byte limit they fill shards of 2, 2 and 1.
NamedTensors five_tensors() {
  NamedTensors tensors;
  for (int i = 0; i < 5; ++i) tensors.emplace_back("layers." + std::to_string(i) + ".weight", filled(DType::F32, {4, 4}, i));
  return tensors;
}

std::string format_error_of(const std::function<void()>& action) {
  try {
    action();
  } catch (const FormatError& error) {
    return error.what();
  }
  ADD_FAILURE() << "expected a pq::FormatError";
  return {};
}

std::string index_text(const std::map<std::string, std::string>& weight_map) {
  nlohmann::json index;
  index["metadata"]["total_size"] = 0;
  index["weight_map"] = weight_map;
  return index.dump(2);
}

// ---------------------------------------------------------------- saving and loading

TEST(Checkpoint, SavesOneFileWhenEverythingFits) {
  test::TempDir dir;
  const NamedTensors tensors = five_tensors();
  save_checkpoint(dir.path(), tensors, {{"format", "pt"}}, 1 << 20);
  EXPECT_THAT(file_names_in(dir.path()), ElementsAre("model.safetensors"));

  const Checkpoint checkpoint = Checkpoint::open(dir.path());
  EXPECT_TRUE(checkpoint.index_path().empty());
  EXPECT_EQ(checkpoint.files(), std::vector<fs::path>{dir / "model.safetensors"});
  EXPECT_THAT(checkpoint.names(), ElementsAre("layers.0.weight", "layers.1.weight", "layers.2.weight",
                                              "layers.3.weight", "layers.4.weight"));
  for (const auto& [name, tensor] : tensors) EXPECT_TRUE(test::same_bits(checkpoint.load(name), tensor)) << name;
  EXPECT_EQ(checkpoint.metadata().at("format"), "pt");
  // The file itself opens as a checkpoint too.
  EXPECT_TRUE(Checkpoint::open(dir / "model.safetensors").contains("layers.3.weight"));
}

TEST(Checkpoint, ShardsRoundTripWithAnIndexLikeTransformers) {
  test::TempDir dir;
  const NamedTensors tensors = five_tensors();
  save_checkpoint(dir.path(), tensors, {{"format", "pt"}}, 150);
  EXPECT_THAT(file_names_in(dir.path()),
              ElementsAre("model-00001-of-00003.safetensors", "model-00002-of-00003.safetensors",
                          "model-00003-of-00003.safetensors", "model.safetensors.index.json"));

  const std::string index = read_text(dir / "model.safetensors.index.json");
  EXPECT_EQ(index,
            "{\n"
            "  \"metadata\": {\n"
            "    \"total_size\": 320\n"
            "  },\n"
            "  \"weight_map\": {\n"
            "    \"layers.0.weight\": \"model-00001-of-00003.safetensors\",\n"
            "    \"layers.1.weight\": \"model-00001-of-00003.safetensors\",\n"
            "    \"layers.2.weight\": \"model-00002-of-00003.safetensors\",\n"
            "    \"layers.3.weight\": \"model-00002-of-00003.safetensors\",\n"
            "    \"layers.4.weight\": \"model-00003-of-00003.safetensors\"\n"
            "  }\n"
            "}\n");
  for (const char* shard : {"model-00001-of-00003.safetensors", "model-00003-of-00003.safetensors"}) {
    EXPECT_EQ(SafetensorsFile::open(dir / shard).metadata().at("format"), "pt") << shard;
  }

  for (const fs::path& path : {dir.path(), dir / "model.safetensors.index.json"}) {
    const Checkpoint checkpoint = Checkpoint::open(path);
    EXPECT_EQ(checkpoint.index_path(), dir / "model.safetensors.index.json");
    EXPECT_EQ(checkpoint.files().size(), 3u);
    EXPECT_EQ(checkpoint.names().size(), 5u);
    for (const auto& [name, tensor] : tensors) {
      EXPECT_TRUE(checkpoint.contains(name));
      EXPECT_EQ(checkpoint.info(name).shape, tensor.shape());
      EXPECT_TRUE(test::same_bits(checkpoint.load(name), tensor)) << name;
    }
    EXPECT_EQ(checkpoint.metadata(), (std::map<std::string, std::string>{{"format", "pt"}}));
    EXPECT_FALSE(checkpoint.contains("lm_head.weight"));
    EXPECT_THROW(checkpoint.load("lm_head.weight"), std::out_of_range);
  }
}

TEST(Checkpoint, ATensorLargerThanTheLimitGetsAShardOfItsOwn) {
  test::TempDir dir;
  const NamedTensors tensors{{"small", filled(DType::U8, {10}, 1)},
                             {"big", filled(DType::U8, {1000}, 2)},
                             {"tail", filled(DType::U8, {10}, 3)}};
  save_checkpoint(dir.path(), tensors, {}, 100);
  const auto index = nlohmann::json::parse(read_text(dir / "model.safetensors.index.json"));
  EXPECT_EQ(index["metadata"]["total_size"], 1020);
  EXPECT_EQ(index["weight_map"]["small"], "model-00001-of-00003.safetensors");
  EXPECT_EQ(index["weight_map"]["big"], "model-00002-of-00003.safetensors");
  EXPECT_EQ(index["weight_map"]["tail"], "model-00003-of-00003.safetensors");
}

TEST(Checkpoint, OpensShardsOnlyWhenTheirTensorsAreNeeded) {
  test::TempDir dir;
  save_checkpoint(dir.path(), five_tensors(), {}, 150);
  const Checkpoint checkpoint = Checkpoint::open(dir.path());
  write_text(dir / "model-00003-of-00003.safetensors", "corrupt");  // after open: not read yet
  EXPECT_EQ(checkpoint.names().size(), 5u);
  EXPECT_NO_THROW(checkpoint.load("layers.0.weight"));
  EXPECT_THAT(format_error_of([&] { checkpoint.load("layers.4.weight"); }),
              HasSubstr("model-00003-of-00003.safetensors: file is 7 bytes"));
}

TEST(Checkpoint, ResavingRemovesFilesOfTheEarlierSave) {
  test::TempDir dir;
  write_text(dir / "config.json", "{}");
  save_checkpoint(dir.path(), five_tensors(), {}, 150);  // 3 shards
  save_checkpoint(dir.path(), five_tensors(), {}, 200);  // 2 shards
  EXPECT_THAT(file_names_in(dir.path()),
              ElementsAre("config.json", "model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors",
                          "model.safetensors.index.json"));
  save_checkpoint(dir.path(), five_tensors(), {}, 1 << 20);  // one file
  EXPECT_THAT(file_names_in(dir.path()), ElementsAre("config.json", "model.safetensors"));
  save_checkpoint(dir.path(), five_tensors(), {}, 150);  // back to shards
  EXPECT_THAT(file_names_in(dir.path()),
              ElementsAre("config.json", "model-00001-of-00003.safetensors", "model-00002-of-00003.safetensors",
                          "model-00003-of-00003.safetensors", "model.safetensors.index.json"));
  EXPECT_EQ(Checkpoint::open(dir.path()).files().size(), 3u);
}

TEST(Checkpoint, SavesNoTensorsAsAnEmptyFile) {
  test::TempDir dir;
  save_checkpoint(dir / "new" / "model", {}, {}, 100);
  const Checkpoint checkpoint = Checkpoint::open(dir / "new" / "model");
  EXPECT_TRUE(checkpoint.names().empty());
  EXPECT_TRUE(checkpoint.metadata().empty());
}

TEST(Checkpoint, RejectsDuplicateNamesBeforeWritingAnything) {
  test::TempDir dir;
  const NamedTensors tensors{{"w", filled(DType::F32, {8}, 0)}, {"v", filled(DType::F32, {8}, 1)},
                             {"w", filled(DType::F32, {8}, 2)}};
  EXPECT_THROW(save_checkpoint(dir.path(), tensors, {}, 40), std::invalid_argument);
  EXPECT_TRUE(file_names_in(dir.path()).empty());
}

TEST(Checkpoint, MergesShardMetadataFirstShardWinning) {
  test::TempDir dir;
  save_safetensors(dir / "a.safetensors", {{"x", filled(DType::U8, {1}, 0)}}, {{"shared", "first"}, {"only_a", "1"}});
  save_safetensors(dir / "b.safetensors", {{"y", filled(DType::U8, {1}, 0)}}, {{"shared", "second"}, {"only_b", "2"}});
  write_text(dir / "model.safetensors.index.json", index_text({{"x", "a.safetensors"}, {"y", "b.safetensors"}}));
  const Checkpoint checkpoint = Checkpoint::open(dir.path());
  EXPECT_EQ(checkpoint.metadata(),
            (std::map<std::string, std::string>{{"shared", "first"}, {"only_a", "1"}, {"only_b", "2"}}));
}

TEST(Checkpoint, IsUsableFromSeveralThreads) {
  test::TempDir dir;
  const NamedTensors tensors = five_tensors();
  save_checkpoint(dir.path(), tensors, {}, 64);
  const Checkpoint checkpoint = Checkpoint::open(dir.path());
  std::vector<std::thread> threads;
  std::atomic<int> matches{0};
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&] {
      for (const auto& [name, tensor] : tensors) matches += checkpoint.load(name).equal(tensor);
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(matches, 40);
}

// ---------------------------------------------------------------- malformed checkpoints

class MalformedCheckpoint : public ::testing::Test {
 protected:
  void SetUp() override {
    save_safetensors(dir_ / "model-00001-of-00002.safetensors",
                     {{"fc.weight", filled(DType::F32, {2}, 0)}, {"fc.bias", filled(DType::F32, {2}, 1)}});
    save_safetensors(dir_ / "model-00002-of-00002.safetensors", {{"head.weight", filled(DType::F32, {2}, 2)}});
  }
  fs::path index_path() const { return dir_ / "model.safetensors.index.json"; }
  void write_index(const std::map<std::string, std::string>& weight_map) { write_text(index_path(), index_text(weight_map)); }
  std::string error_opening_and_verifying() {
    const std::string message = format_error_of([&] { Checkpoint::open(dir_.path()).verify(); });
    EXPECT_THAT(message, HasSubstr("model.safetensors.index.json"));
    return message;
  }

  static constexpr const char* kShard1 = "model-00001-of-00002.safetensors";
  static constexpr const char* kShard2 = "model-00002-of-00002.safetensors";
  test::TempDir dir_;
};

TEST_F(MalformedCheckpoint, TheWellFormedCaseLoads) {
  write_index({{"fc.weight", kShard1}, {"fc.bias", kShard1}, {"head.weight", kShard2}});
  const Checkpoint checkpoint = Checkpoint::open(dir_.path());
  EXPECT_NO_THROW(checkpoint.verify());
  EXPECT_THAT(checkpoint.names(), ElementsAre("fc.bias", "fc.weight", "head.weight"));
}

TEST_F(MalformedCheckpoint, IndexNamesAShardThatDoesNotExist) {
  write_index({{"fc.weight", kShard1}, {"fc.bias", kShard1}, {"head.weight", "model-00003-of-00002.safetensors"}});
  EXPECT_THAT(format_error_of([&] { Checkpoint::open(dir_.path()); }),
              HasSubstr("model.safetensors.index.json: tensor 'head.weight': the index maps it to shard "
                        "'model-00003-of-00002.safetensors', which does not exist"));
}

TEST_F(MalformedCheckpoint, IndexEntryMissingFromItsShard) {
  write_index({{"fc.weight", kShard1}, {"fc.bias", kShard1}, {"fc.scale", kShard1}, {"head.weight", kShard2}});
  const Checkpoint checkpoint = Checkpoint::open(dir_.path());
  EXPECT_THAT(format_error_of([&] { checkpoint.load("fc.weight"); }),
              HasSubstr("tensor 'fc.scale': the index maps it to shard 'model-00001-of-00002.safetensors', "
                        "which has no such tensor"));
}

TEST_F(MalformedCheckpoint, TensorPresentInTwoShards) {
  save_safetensors(dir_ / kShard2, {{"head.weight", filled(DType::F32, {2}, 2)}, {"fc.bias", filled(DType::F32, {2}, 3)}});
  write_index({{"fc.weight", kShard1}, {"fc.bias", kShard1}, {"head.weight", kShard2}});
  const Checkpoint checkpoint = Checkpoint::open(dir_.path());
  EXPECT_NO_THROW(checkpoint.load("fc.bias"));  // only shard 1 is open: not seen yet
  EXPECT_THAT(error_opening_and_verifying(),
              HasSubstr("tensor 'fc.bias': present in two shards: the index maps it to "
                        "'model-00001-of-00002.safetensors' but shard 'model-00002-of-00002.safetensors' holds it too"));
}

TEST_F(MalformedCheckpoint, ShardTensorNotListedInTheIndex) {
  write_index({{"fc.weight", kShard1}, {"head.weight", kShard2}});
  EXPECT_THAT(error_opening_and_verifying(),
              HasSubstr("tensor 'fc.bias': shard 'model-00001-of-00002.safetensors' holds this tensor but the index "
                        "does not list it"));
}

TEST_F(MalformedCheckpoint, IndexNotJsonOrWithoutAWeightMap) {
  write_text(index_path(), "{\"weight_map\": ");
  EXPECT_THAT(error_opening_and_verifying(), HasSubstr("model.safetensors.index.json: malformed JSON"));
  write_text(index_path(), R"({"metadata": {"total_size": 0}})");
  EXPECT_THAT(error_opening_and_verifying(), HasSubstr("model.safetensors.index.json: weight_map: missing"));
  write_text(index_path(), R"({"weight_map": {"fc.weight": 1}})");
  EXPECT_THAT(error_opening_and_verifying(), HasSubstr(R"(model.safetensors.index.json: weight_map["fc.weight"]: expected a shard file name)"));
  write_text(index_path(), R"({"weight_map": []})");
  EXPECT_THAT(error_opening_and_verifying(), HasSubstr("model.safetensors.index.json: weight_map: expected a JSON object, got []"));
  write_text(index_path(), R"({"metadata": {"total_size": "12"}, "weight_map": {}})");
  EXPECT_THAT(error_opening_and_verifying(), HasSubstr("metadata.total_size: expected an integer, got \"12\""));
}

// An index naming no tensor once crashed (SIGSEGV) the first lookup, which reported the
// missing name against the first shard of an empty shard list.
TEST_F(MalformedCheckpoint, IndexWithAnEmptyWeightMap) {
  write_text(index_path(), R"({"metadata": {"total_size": 0}, "weight_map": {}})");
  EXPECT_THAT(error_opening_and_verifying(), HasSubstr("model.safetensors.index.json: weight_map: empty: the index names no tensor"));
}

// Found by fuzz_index: a shard name longer than the file system allows made the existence check
// throw std::filesystem::filesystem_error instead of refusing the index.
TEST_F(MalformedCheckpoint, IndexNamingAShardTheFileSystemCannotName) {
  write_index({{"fc.weight", std::string(300, 'Z') + ".safetensors"}});
  EXPECT_THAT(error_opening_and_verifying(), HasSubstr("cannot be looked up (File name too long)"));
}

TEST_F(MalformedCheckpoint, IndexPointingOutsideItsDirectory) {
  write_index({{"fc.weight", "../model-00001-of-00002.safetensors"}});
  EXPECT_THAT(error_opening_and_verifying(), HasSubstr(R"(weight_map["fc.weight"]: shard '../model-00001-of-00002.safetensors' )"
                                                       "is not a relative path inside the checkpoint directory"));
  write_index({{"fc.weight", "/etc/passwd"}});
  EXPECT_THAT(error_opening_and_verifying(), HasSubstr("is not a relative path"));
}

TEST_F(MalformedCheckpoint, DirectoryWithoutACheckpoint) {
  test::TempDir empty;
  EXPECT_THAT(format_error_of([&] { Checkpoint::open(empty.path()); }),
              HasSubstr("holds neither model.safetensors nor model.safetensors.index.json"));
}

}  // namespace
}  // namespace pq
