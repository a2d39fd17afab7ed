// The files a model directory holds, by name: what save_pretrained copies along from the input
// directory, and what an output directory written by portaquant may contain (so that --force
// replaces only such a directory, never one holding anything else).
#pragma once

#include <filesystem>

namespace pq {

// Tokenizer, generation and sentence-transformers files (and module folders "1_Pooling", ...)
// that belong to a model and travel with its weights.
bool is_companion_entry(const std::filesystem::path& entry);

// A file or folder that a model directory written by portaquant (save_pretrained, quantize,
// convert) may contain: config.json, the checkpoint, quanto_qmap.json and the companions.
bool is_model_dir_entry(const std::filesystem::path& entry);

}  // namespace pq
