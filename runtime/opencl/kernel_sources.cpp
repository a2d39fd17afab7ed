#include "runtime/opencl/kernel_sources.h"

#include <algorithm>
#include <cctype>
#include <stdexcept>

namespace pq::rt::opencl {
namespace {

bool is_identifier_char(char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; }
bool is_space(char c) { return std::isspace(static_cast<unsigned char>(c)) != 0; }
bool is_header(std::string_view file) { return file.starts_with("common"); }

// Comments replaced by spaces (newlines kept), so a commented-out kernel is not indexed.
std::string without_comments(std::string_view source) {
  std::string text(source);
  for (size_t i = 0; i + 1 < text.size(); ++i) {
    if (text[i] != '/' || (text[i + 1] != '/' && text[i + 1] != '*')) continue;
    const bool line_comment = text[i + 1] == '/';
    const size_t end = line_comment ? text.find('\n', i) : text.find("*/", i + 2);
    const size_t stop = end == std::string::npos ? text.size() : (line_comment ? end : end + 2);
    for (size_t j = i; j < stop; ++j) {
      if (text[j] != '\n') text[j] = ' ';
    }
    i = stop - 1;
  }
  return text;
}

size_t skip_spaces(std::string_view text, size_t pos) {
  while (pos < text.size() && is_space(text[pos])) ++pos;
  return pos;
}

// At `pos` (just after "kernel"): one or more spaces, "void", one or more spaces, NAME, "(".
std::string kernel_name_after(std::string_view text, size_t pos) {
  size_t p = skip_spaces(text, pos);
  if (p == pos || text.substr(p, 4) != "void") return {};
  const size_t name_begin = skip_spaces(text, p + 4);
  if (name_begin == p + 4) return {};
  size_t name_end = name_begin;
  while (name_end < text.size() && is_identifier_char(text[name_end])) ++name_end;
  const size_t paren = skip_spaces(text, name_end);
  if (name_end == name_begin || paren >= text.size() || text[paren] != '(') return {};
  return std::string(text.substr(name_begin, name_end - name_begin));
}

std::string line_marker(std::string_view file) { return "#line 1 \"" + std::string(file) + "\"\n"; }

}  // namespace

std::vector<std::string> kernel_names_in(std::string_view source) {
  const std::string text = without_comments(source);
  std::vector<std::string> names;
  for (size_t pos = text.find("kernel"); pos != std::string::npos; pos = text.find("kernel", pos + 1)) {
    const size_t start = pos >= 2 && text.compare(pos - 2, 2, "__") == 0 ? pos - 2 : pos;
    if (start > 0 && is_identifier_char(text[start - 1])) continue;
    std::string name = kernel_name_after(text, pos + 6);
    if (!name.empty()) names.push_back(std::move(name));
  }
  return names;
}

KernelSources::KernelSources(std::span<const EmbeddedOpenCLSource> files) {
  std::vector<const EmbeddedOpenCLSource*> ordered;
  for (const auto& f : files) ordered.push_back(&f);
  // Headers go in by name so that the compiled text, and so the cache key, never depends on
  // the order in which the build system globbed them.
  std::sort(ordered.begin(), ordered.end(), [](auto* a, auto* b) { return a->file < b->file; });
  std::string headers;
  for (const auto* f : ordered) {
    if (is_header(f->file)) headers += line_marker(f->file) + std::string(f->source) + "\n";
  }
  for (const auto* f : ordered) {
    if (is_header(f->file)) continue;
    const std::string file(f->file);
    program_sources_[file] = headers + line_marker(file) + std::string(f->source);
    for (auto& kernel : kernel_names_in(f->source)) {
      const auto [it, inserted] = kernel_files_.emplace(kernel, file);
      if (!inserted) {
        throw std::logic_error("opencl: kernel '" + kernel + "' is defined in both cl/" + it->second + " and cl/" + file);
      }
    }
  }
}

const KernelSources& KernelSources::embedded() {
  static const KernelSources sources(embedded_opencl_sources());
  return sources;
}

const std::string& KernelSources::file_defining(std::string_view kernel) const {
  const auto it = kernel_files_.find(kernel);
  if (it == kernel_files_.end()) {
    throw std::runtime_error("opencl: no kernel '" + std::string(kernel) + "': no cl/*.cl file defines __kernel void " +
                             std::string(kernel) + "(");
  }
  return it->second;
}

const std::string& KernelSources::program_source(std::string_view file) const {
  const auto it = program_sources_.find(file);
  if (it == program_sources_.end()) throw std::out_of_range("opencl: no program cl/" + std::string(file));
  return it->second;
}

}  // namespace pq::rt::opencl
