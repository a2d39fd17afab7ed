#include "host/mapped_file_guard.h"

#include <signal.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <cstring>

namespace pq {
namespace {

struct Mapping {
  const char* begin;
  size_t size;
  std::string path;
};

// The handler only reads these atomics and the Mapping they point to; slots are claimed with
// compare-exchange. More simultaneous mappings than slots are simply not covered.
constexpr size_t kSlots = 1024;
std::array<std::atomic<const Mapping*>, kSlots> g_mappings{};

char g_prefix[128];
int g_exit_code = 1;

void write_all(const char* text, size_t size) {
  while (size > 0) {
    const ssize_t n = ::write(STDERR_FILENO, text, size);
    if (n <= 0) return;
    text += n;
    size -= static_cast<size_t>(n);
  }
}

void on_sigbus(int signal, siginfo_t* info, void*) {
  const char* address = static_cast<const char*>(info->si_addr);
  for (const auto& slot : g_mappings) {
    const Mapping* m = slot.load(std::memory_order_acquire);
    if (!m || address < m->begin || address >= m->begin + m->size) continue;
    constexpr char kMessage[] = ": the file was truncated or replaced while it was being read\n";
    write_all(g_prefix, std::strlen(g_prefix));
    write_all(m->path.data(), m->path.size());
    write_all(kMessage, sizeof kMessage - 1);
    ::_exit(g_exit_code);
  }
  // Not ours: let the default action happen when the faulting access repeats.
  ::signal(signal, SIG_DFL);
}

}  // namespace

MappedRange::MappedRange(const void* address, size_t size, const std::filesystem::path& path) : slot_(-1) {
  auto* mapping = new Mapping{static_cast<const char*>(address), size, path.string()};
  for (size_t i = 0; i < kSlots; ++i) {
    const Mapping* expected = nullptr;
    if (g_mappings[i].compare_exchange_strong(expected, mapping, std::memory_order_acq_rel)) {
      slot_ = static_cast<int>(i);
      return;
    }
  }
  delete mapping;
}

MappedRange::~MappedRange() {
  if (slot_ < 0) return;
  delete g_mappings[static_cast<size_t>(slot_)].exchange(nullptr, std::memory_order_acq_rel);
}

void install_mapped_file_fault_handler(const std::string& prefix, int exit_code) {
  std::strncpy(g_prefix, prefix.c_str(), sizeof g_prefix - 1);
  g_exit_code = exit_code;
  struct sigaction action {};
  action.sa_sigaction = on_sigbus;
  action.sa_flags = SA_SIGINFO;
  sigemptyset(&action.sa_mask);
  ::sigaction(SIGBUS, &action, nullptr);
}

}  // namespace pq
