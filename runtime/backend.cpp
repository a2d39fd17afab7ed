#include "runtime/backend.h"

#include <stdexcept>
#include <string>

namespace pq::rt {

std::shared_ptr<DeviceBuffer> Backend::view(const std::shared_ptr<DeviceBuffer>&, size_t, size_t) {
  throw std::logic_error(info().id() + ": this backend has no buffer views");
}

void check_view(const DeviceInfo& device, const DeviceBuffer& buffer, size_t offset, size_t bytes) {
  if (offset > buffer.size() || bytes > buffer.size() - offset) {
    throw std::out_of_range(device.id() + ": a view of " + std::to_string(bytes) + " bytes at offset " +
                            std::to_string(offset) + " passes the end of a buffer of " + std::to_string(buffer.size()) +
                            " bytes");
  }
  if (device.binding_alignment > 1 && offset % device.binding_alignment != 0) {
    throw std::invalid_argument(device.id() + ": a view at offset " + std::to_string(offset) +
                                " is not a multiple of the device's binding alignment of " +
                                std::to_string(device.binding_alignment) + " bytes");
  }
}

}  // namespace pq::rt
