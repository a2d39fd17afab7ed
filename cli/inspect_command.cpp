#include "cli/inspect_command.h"

#include <algorithm>
#include <iomanip>
#include <map>
#include <sstream>

#include <nlohmann/json.hpp>

#include "cli/format.h"
#include "host/checkpoint.h"
#include "host/json_fields.h"
#include "host/models/architecture.h"
#include "host/nn/config.h"
#include "host/printable.h"
#include "host/quanto_qmap.h"
#include "host/quanto_state_dict.h"

namespace pq::cli {
namespace {

namespace fs = std::filesystem;

// Names come from the file: shown escaped and cut, so that a name cannot move the cursor,
// clear the screen or start a line of its own.
constexpr size_t kMaxNameChars = 120;

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

struct TensorRow {
  std::string name;
  const TensorInfo* info;
  uint64_t bytes;
  std::string qtype;  // empty when not a quantized weight's tensor
};

// Everything inspect reports, gathered once for the table and the JSON.
struct Inspection {
  size_t files = 0;
  std::string architecture;  // the line describe_architecture gives; empty for nn.Sequential
  QuantizationMap qmap;
  WeightRecords records;
  std::vector<TensorRow> tensors;
  uint64_t file_bytes = 0;
  uint64_t float_bytes = 0;
  std::map<std::string, int> modules_by_qtype;
  double compression() const { return file_bytes ? static_cast<double>(float_bytes) / static_cast<double>(file_bytes) : 1.0; }
};

Inspection inspect(const fs::path& path, const Checkpoint& checkpoint) {
  Inspection r;
  r.files = checkpoint.files().size();
  if (fs::exists(qmap_path_for(path))) r.qmap = read_qmap(qmap_path_for(path));
  r.records = weight_records_from_metadata(checkpoint.metadata(), path.string());
  if (const fs::path config = path / "config.json"; fs::is_directory(path) && fs::exists(config)) {
    const nlohmann::json j = read_json_file(config.string());
    if (models::model_kind(j, config.string()) == models::ModelKind::Sequential) {
      r.architecture = "nn.Sequential: " + std::to_string(nn::build_from_config(j, config.string())->children().size()) + " layers";
    } else {
      r.architecture = models::describe_architecture(j, config.string());
    }
  }
  for (const auto& name : checkpoint.names()) {
    const TensorInfo& info = checkpoint.info(name);
    TensorRow row{name, &info, info.end - info.begin, ""};
    r.file_bytes += row.bytes;
    const std::string* module = owning_module(name, r.qmap);
    if (module && r.qmap.at(*module).weights && name.starts_with(*module + ".weight.")) {
      row.qtype = std::string(qtype_name(*r.qmap.at(*module).weights));
    } else if (!module || !(name == *module + ".input_scale" || name == *module + ".output_scale")) {
      r.float_bytes += row.bytes;  // present in the float model as is
    }
    r.tensors.push_back(std::move(row));
  }
  for (const auto& [module, q] : r.qmap) {
    if (!q.weights) continue;
    const std::string scale = module + ".weight._scale";
    if (!checkpoint.contains(scale)) {
      throw FormatError(path.string() + ": module " + quote(module) + " is in quanto_qmap.json but " + quote(scale) + " is missing");
    }
    const auto numel = static_cast<uint64_t>(quantized_weight_numel(checkpoint, module));
    r.float_bytes += numel * dtype_size(checkpoint.info(scale).dtype);
    ++r.modules_by_qtype[std::string(qtype_name(*q.weights))];
  }
  return r;
}

void print_table(const fs::path& path, const Inspection& r, std::ostream& out) {
  out << printable(path.string()) << ": " << r.files << " safetensors file(s), " << r.tensors.size() << " tensors"
      << (r.qmap.empty() ? "" : ", quanto_qmap.json with " + std::to_string(r.qmap.size()) + " modules") << "\n";
  if (!r.architecture.empty()) out << printable(r.architecture, 1000) << "\n";
  out << "\n";
  std::vector<std::string> names;
  size_t width = 6;
  for (const TensorRow& row : r.tensors) {
    names.push_back(printable(row.name, kMaxNameChars));
    width = std::max(width, names.back().size());
  }
  out << std::left << std::setw(static_cast<int>(width) + 2) << "tensor" << std::setw(18) << "dtype" << std::setw(20) << "shape"
      << std::right << std::setw(14) << "bytes" << "  qtype\n";
  for (size_t i = 0; i < r.tensors.size(); ++i) {
    const TensorRow& row = r.tensors[i];
    out << std::left << std::setw(static_cast<int>(width) + 2) << names[i] << std::setw(18) << dtype_name(row.info->dtype)
        << std::setw(20) << shape_to_string(row.info->shape) << std::right << std::setw(14) << with_thousands(row.bytes) << "  "
        << row.qtype << "\n";
  }
  out << "\n";
  if (!r.modules_by_qtype.empty()) {
    out << "quantized modules:";
    for (const auto& [name, count] : r.modules_by_qtype) out << " " << count << " × " << name;
    out << "\n";
  }
  for (const auto& [module, rec] : r.records) {
    out << "  " << printable(module, kMaxNameChars) << ": " << qtype_name(rec.qtype) << " " << shape_to_string(rec.shape) << " group size "
        << (rec.group_size ? std::to_string(*rec.group_size) : "per-row") << (rec.optimizer.empty() ? "" : ", " + rec.optimizer) << "\n";
  }
  std::ostringstream ratio;
  ratio << std::fixed << std::setprecision(2) << r.compression();
  out << "total: " << with_thousands(r.file_bytes) << " bytes in tensors; float model: " << with_thousands(r.float_bytes)
      << " bytes; compression " << ratio.str() << "×\n";
}

// Names are JSON strings (escaped by the JSON writer; invalid UTF-8 replaced).
void print_json(const fs::path& path, const Inspection& r, std::ostream& out) {
  nlohmann::json tensors = nlohmann::json::array();
  for (const TensorRow& row : r.tensors) {
    tensors.push_back({{"name", row.name},
                       {"dtype", dtype_name(row.info->dtype)},
                       {"shape", row.info->shape},
                       {"bytes", row.bytes},
                       {"qtype", row.qtype.empty() ? nlohmann::json() : nlohmann::json(row.qtype)}});
  }
  nlohmann::json records = nlohmann::json::object();
  for (const auto& [module, rec] : r.records) {
    records[module] = {{"qtype", qtype_name(rec.qtype)},
                       {"shape", rec.shape},
                       {"group_size", rec.group_size ? nlohmann::json(*rec.group_size) : nlohmann::json()},
                       {"optimizer", rec.optimizer}};
  }
  const nlohmann::json j = {{"path", path.string()},
                            {"safetensors_files", r.files},
                            {"architecture", r.architecture},
                            {"qmap_modules", r.qmap.size()},
                            {"tensors", tensors},
                            {"quantized_modules", r.modules_by_qtype},
                            {"weights", records},
                            {"tensor_bytes", r.file_bytes},
                            {"float_model_bytes", r.float_bytes},
                            {"compression", r.compression()}};
  out << j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
}

}  // namespace

void run_inspect(const InspectArgs& args, std::ostream& out) {
  const Checkpoint checkpoint = Checkpoint::open(args.path);
  checkpoint.verify();
  const Inspection r = inspect(args.path, checkpoint);
  if (args.json) {
    print_json(args.path, r, out);
  } else {
    print_table(args.path, r, out);
  }
}

}  // namespace pq::cli
