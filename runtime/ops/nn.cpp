// Placeholder: the nn op family is being written.
#include "runtime/ops/op_families.h"

namespace pq::rt {

void add_nn_ops(std::vector<OpDef>&) {}

}  // namespace pq::rt
