// Kernel tiers (runtime/kernel_tiers.h): the list syntax of device specs, the tier sets a
// device's certification runs, and devices opened with named tiers on the devices present.
#include <gtest/gtest.h>

#include <functional>
#include <stdexcept>
#include <string>

#include "runtime/conformance.h"
#include "runtime/device.h"
#include "runtime/kernel_tiers.h"
#include "tests/test_support.h"

namespace pq::rt {
namespace {

using test::error_of;

KernelTiers tiers(bool int64, bool ksplit, bool subgroup, bool dot) { return KernelTiers{int64, ksplit, subgroup, dot}; }

TEST(KernelTiers, ListsRoundTrip) {
  EXPECT_EQ(tier_list(KernelTiers{}), "baseline");
  EXPECT_EQ(tier_list(tiers(true, false, true, true)), "int64,subgroup,dot");
  EXPECT_EQ(parse_tier_list("baseline", "x"), KernelTiers{});
  EXPECT_EQ(parse_tier_list("dot,int64", "x"), tiers(true, false, false, true));
  EXPECT_EQ(parse_tier_list("ksplit", "x"), tiers(false, true, false, false));
  KernelTiers texel;
  texel.texel = true;
  EXPECT_EQ(parse_tier_list("texel", "x"), texel);
  texel.int64 = texel.dot = true;
  EXPECT_EQ(tier_list(texel), "int64,texel,dot");
}

TEST(KernelTiers, BadListsNameTheSpecAndTheTier) {
  const std::string unknown = error_of([] { parse_tier_list("int64,fp16", "vulkan:0/int64,fp16"); });
  EXPECT_NE(unknown.find("vulkan:0/int64,fp16"), std::string::npos) << unknown;
  EXPECT_NE(unknown.find("'fp16'"), std::string::npos) << unknown;
  EXPECT_NE(error_of([] { parse_tier_list("", "vulkan:0/"); }).find("empty kernel tier"), std::string::npos);
  EXPECT_NE(error_of([] { parse_tier_list("int64,", "vulkan:0/int64,"); }).find("empty kernel tier"), std::string::npos);
  EXPECT_NE(error_of([] { parse_tier_list("ksplit,subgroup", "v"); }).find("name one"), std::string::npos);
}

TEST(KernelTiers, UnsupportedTierIsRefusedNamingTheDevice) {
  const std::string e = error_of([] { checked_tiers(tiers(false, false, false, true), tiers(true, true, false, false), "vulkan:3"); });
  EXPECT_NE(e.find("vulkan:3"), std::string::npos) << e;
  EXPECT_NE(e.find("'dot'"), std::string::npos) << e;
  EXPECT_NE(e.find("int64,ksplit"), std::string::npos) << e;
}

std::vector<std::string> names(const std::vector<KernelTiers>& sets) {
  std::vector<std::string> list;
  for (const auto& s : sets) list.push_back(tier_list(s));
  return list;
}

TEST(KernelTiers, CertificationCoversBaselineAndEveryTierWithEachSplit) {
  EXPECT_EQ(names(other_tier_sets(tiers(true, true, true, true), tiers(true, false, false, false))),
            (std::vector<std::string>{"baseline", "int64,subgroup,dot", "int64,ksplit,dot"}));
  // A GPU default (fixed subgroup size, dot accelerated) is one of them; a device without splits gets baseline and everything.
  EXPECT_EQ(names(other_tier_sets(tiers(true, true, true, true), tiers(true, false, true, true))),
            (std::vector<std::string>{"baseline", "int64,ksplit,dot"}));
  EXPECT_EQ(names(other_tier_sets(tiers(true, false, false, true), tiers(true, false, false, false))),
            (std::vector<std::string>{"baseline", "int64,dot"}));
  // lavapipe: int64 and texel chosen, all five supported.
  KernelTiers all = tiers(true, true, true, true), lavapipe = tiers(true, false, false, false);
  all.texel = lavapipe.texel = true;
  EXPECT_EQ(names(other_tier_sets(all, lavapipe)),
            (std::vector<std::string>{"baseline", "int64,texel,subgroup,dot", "int64,texel,ksplit,dot"}));
  // Nothing optional: nothing besides the default.
  EXPECT_TRUE(other_tier_sets(KernelTiers{}, KernelTiers{}).empty());
}

TEST(KernelTiers, DevicesOpenWithNamedTiers) {
  for (const auto& id : available_device_ids(false)) {
    SCOPED_TRACE(id);
    const Device device = Device::open(id);
    EXPECT_FALSE(device.info().tiers_named);
    const Device baseline = Device::open(id + "/baseline");
    EXPECT_EQ(baseline.info().id(), id + "/baseline");
    EXPECT_EQ(baseline.info().tiers, KernelTiers{});
    for (const auto& profile : tier_profile_ids(device.info())) {
      const Device d = Device::open(profile);
      EXPECT_EQ(d.info().id(), profile);
      EXPECT_TRUE(d.info().tiers_named);
    }
    // A tier the device lacks is refused naming the device (OpenCL devices have none).
    if (!device.info().supported_tiers.dot) {
      const std::string e = error_of([&] { Device::open(id + "/dot"); });
      EXPECT_NE(e.find(id), std::string::npos) << e;
      EXPECT_NE(e.find("'dot'"), std::string::npos) << e;
    }
  }
}

}  // namespace
}  // namespace pq::rt
