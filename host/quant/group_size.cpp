#include "host/quant/group_size.h"

namespace pq {

std::optional<int> default_group_size(int64_t in_features) {
  if (in_features <= 128) return std::nullopt;
  for (int candidate : {128, 96, 64, 32}) {
    if (in_features % candidate == 0) return candidate;
  }
  return std::nullopt;
}

}  // namespace pq
