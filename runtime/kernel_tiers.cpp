#include "runtime/kernel_tiers.h"

#include <array>
#include <sstream>
#include <stdexcept>
#include <utility>

#include "runtime/device_info.h"

namespace pq::rt {
namespace {

using TierField = bool KernelTiers::*;
constexpr std::array<std::pair<const char*, TierField>, 5> kTiers{{
    {"int64", &KernelTiers::int64},
    {"texel", &KernelTiers::texel},
    {"ksplit", &KernelTiers::ksplit},
    {"subgroup", &KernelTiers::subgroup},
    {"dot", &KernelTiers::dot},
}};

std::string known_tiers() {
  std::string names = "baseline";
  for (const auto& [name, field] : kTiers) names += std::string(", ") + name;
  return names;
}

}  // namespace

std::string tier_list(const KernelTiers& tiers) {
  std::string list;
  for (const auto& [name, field] : kTiers) {
    if (tiers.*field) list += (list.empty() ? "" : ",") + std::string(name);
  }
  return list.empty() ? "baseline" : list;
}

KernelTiers parse_tier_list(const std::string& list, const std::string& spec) {
  KernelTiers tiers;
  if (list == "baseline") return tiers;
  std::stringstream s(list);
  for (std::string item; std::getline(s, item, ',');) {
    bool known = false;
    for (const auto& [name, field] : kTiers) {
      if (item == name) tiers.*field = known = true;
    }
    if (!known) {
      throw std::invalid_argument("device '" + spec + "': unknown kernel tier '" + item + "' (known: " + known_tiers() + ")");
    }
  }
  if (list.empty() || list.back() == ',') throw std::invalid_argument("device '" + spec + "': empty kernel tier in '" + list + "'");
  if (tiers.ksplit && tiers.subgroup) {
    throw std::invalid_argument("device '" + spec + "': tiers ksplit and subgroup are two ways of one split; name one");
  }
  return tiers;
}

KernelTiers checked_tiers(const KernelTiers& requested, const KernelTiers& supported, const std::string& device) {
  for (const auto& [name, field] : kTiers) {
    if (requested.*field && !(supported.*field)) {
      throw std::invalid_argument("device '" + device + "' does not support kernel tier '" + name + "' (it supports: " +
                                  tier_list(supported) + ")");
    }
  }
  return requested;
}

std::vector<KernelTiers> other_tier_sets(const KernelTiers& supported, const KernelTiers& chosen) {
  std::vector<KernelTiers> sets{KernelTiers{}};
  for (const TierField split : {&KernelTiers::subgroup, &KernelTiers::ksplit}) {
    if (!(supported.*split)) continue;
    KernelTiers all = supported;
    all.subgroup = all.ksplit = false;
    all.*split = true;
    sets.push_back(all);
  }
  if (!supported.subgroup && !supported.ksplit) sets.push_back(supported);
  std::vector<KernelTiers> unique;
  for (const KernelTiers& set : sets) {
    bool seen = set == chosen;
    for (const KernelTiers& u : unique) seen = seen || u == set;
    if (!seen) unique.push_back(set);
  }
  return unique;
}

void name_tiers(DeviceInfo& info, const KernelTiers& tiers) {
  info.tiers = checked_tiers(tiers, info.supported_tiers, info.id());
  info.tiers_named = true;
}

}  // namespace pq::rt
