#include "cli/inspect_command.h"

#include <algorithm>
#include <iomanip>
#include <map>
#include <sstream>

#include "cli/format.h"
#include "host/checkpoint.h"
#include "host/json_fields.h"
#include "host/models/architecture.h"
#include "host/quanto_qmap.h"
#include "host/quanto_state_dict.h"

namespace pq::cli {
namespace {

namespace fs = std::filesystem;

fs::path qmap_path_for(const fs::path& path) {
  const fs::path dir = fs::is_directory(path) ? path : path.parent_path();
  return dir / kQuantoQmapFileName;
}

// The module a state-dict key belongs to in the qmap (longest module name that prefixes it).
const std::string* owning_module(const std::string& key, const QuantizationMap& qmap) {
  const std::string* best = nullptr;
  for (const auto& [module, q] : qmap) {
    if (key.size() > module.size() && key.starts_with(module) && key[module.size()] == '.' &&
        (!best || module.size() > best->size())) {
      best = &module;
    }
  }
  return best;
}

struct Totals {
  uint64_t file_bytes = 0;
  uint64_t float_bytes = 0;
  std::map<std::string, int> modules_by_qtype;
};

}  // namespace

void run_inspect(const fs::path& path, std::ostream& out) {
  const Checkpoint checkpoint = Checkpoint::open(path);
  checkpoint.verify();
  QuantizationMap qmap;
  if (fs::exists(qmap_path_for(path))) qmap = read_qmap(qmap_path_for(path));
  const WeightRecords records = weight_records_from_metadata(checkpoint.metadata(), path.string());

  out << path.string() << ": " << checkpoint.files().size() << " safetensors file(s), " << checkpoint.names().size()
      << " tensors" << (qmap.empty() ? "" : ", quanto_qmap.json with " + std::to_string(qmap.size()) + " modules") << "\n";
  if (const fs::path config = path / "config.json"; fs::is_directory(path) && fs::exists(config)) {
    const std::string line = models::describe_architecture(read_json_file(config.string()), config.string());
    if (!line.empty()) out << line << "\n";
  }
  out << "\n";
  size_t width = 6;
  for (const auto& name : checkpoint.names()) width = std::max(width, name.size());
  out << std::left << std::setw(static_cast<int>(width) + 2) << "tensor" << std::setw(18) << "dtype" << std::setw(20)
      << "shape" << std::right << std::setw(14) << "bytes" << "  qtype\n";

  Totals totals;
  for (const auto& name : checkpoint.names()) {
    const TensorInfo& info = checkpoint.info(name);
    const uint64_t bytes = info.end - info.begin;
    totals.file_bytes += bytes;
    const std::string* module = owning_module(name, qmap);
    std::string qtype;
    if (module && qmap.at(*module).weights && name.starts_with(*module + ".weight.")) {
      qtype = std::string(qtype_name(*qmap.at(*module).weights));
    } else if (!module || !(name == *module + ".input_scale" || name == *module + ".output_scale")) {
      totals.float_bytes += bytes;  // present in the float model as is
    }
    out << std::left << std::setw(static_cast<int>(width) + 2) << name << std::setw(18) << dtype_name(info.dtype)
        << std::setw(20) << shape_to_string(info.shape) << std::right << std::setw(14) << with_thousands(bytes) << "  "
        << qtype << "\n";
  }
  for (const auto& [module, q] : qmap) {
    if (!q.weights) continue;
    const std::string scale = module + ".weight._scale";
    if (!checkpoint.contains(scale)) throw FormatError(path.string() + ": module '" + module + "' is in quanto_qmap.json but '" + scale + "' is missing");
    const auto numel = static_cast<uint64_t>(quantized_weight_numel(checkpoint, module));
    totals.float_bytes += numel * dtype_size(checkpoint.info(scale).dtype);
    ++totals.modules_by_qtype[std::string(qtype_name(*q.weights))];
  }

  out << "\n";
  if (!totals.modules_by_qtype.empty()) {
    out << "quantized modules:";
    for (const auto& [name, count] : totals.modules_by_qtype) out << " " << count << " × " << name;
    out << "\n";
  }
  for (const auto& [module, r] : records) {
    out << "  " << module << ": " << qtype_name(r.qtype) << " " << shape_to_string(r.shape) << " group size "
        << (r.group_size ? std::to_string(*r.group_size) : "per-row") << (r.optimizer.empty() ? "" : ", " + r.optimizer) << "\n";
  }
  std::ostringstream ratio;
  ratio << std::fixed << std::setprecision(2)
        << (totals.file_bytes ? static_cast<double>(totals.float_bytes) / static_cast<double>(totals.file_bytes) : 1.0);
  out << "total: " << with_thousands(totals.file_bytes) << " bytes in tensors; float model: "
      << with_thousands(totals.float_bytes) << " bytes; compression " << ratio.str() << "×\n";
}

}  // namespace pq::cli
