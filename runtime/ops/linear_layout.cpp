#include "runtime/ops/linear_layout.h"

#include <cstring>
#include <stdexcept>
#include <string>

#include "host/quant/packing.h"

namespace pq::rt::linear {
namespace {

// Where code (r, c) lives in both layouts.
struct CodeSites {
  int64_t m, k, group_size, quanto_rows;
  int bits;

  CodeSites(int64_t m_, int64_t k_, int64_t g_, int bits_)
      : m(m_), k(k_), group_size(g_), quanto_rows(packed_rows(m_ * (k_ / g_), bits_)), bits(bits_) {}

  uint8_t mask() const { return static_cast<uint8_t>((1u << bits) - 1u); }
  // quanto: group g = r·(k/G) + c/G sits in packed row g mod R, bit plane g / R.
  void quanto_site(int64_t r, int64_t c, int64_t& byte, int& shift) const {
    const int64_t g = r * (k / group_size) + c / group_size;
    byte = (g % quanto_rows) * group_size + c % group_size;
    shift = static_cast<int>(bits * (g / quanto_rows));
  }
  void blocked_site(int64_t r, int64_t c, int64_t& byte, int& shift) const {
    const int64_t block_bytes = kBlockCodes * bits / 8;
    const int64_t field = kBlockCodes / (8 / bits);  // codes per bit field
    const int64_t b = c / kBlockCodes, w = c % kBlockCodes;
    byte = ((r / kBlockRows) * (k / kBlockCodes) + b) * kBlockRows * block_bytes + (r % kBlockRows) * block_bytes + w % field;
    shift = static_cast<int>(bits * (w / field));
  }
};

void check_layout(int64_t m, int64_t k, int64_t group_size, int bits) {
  if (m < 1 || k < 1 || group_size < 1 || k % group_size != 0 || !blocked_layout_supported(k, group_size, bits)) {
    throw std::invalid_argument("blocked weight layout: needs bits 2 or 4 and a group size that is a multiple of 32 "
                                "dividing k, got m=" + std::to_string(m) + " k=" + std::to_string(k) + " G=" +
                                std::to_string(group_size) + " bits=" + std::to_string(bits));
  }
}

void check_tensor(const Tensor& t, const Shape& expected, const char* what) {
  if (t.dtype() != DType::U8 || t.shape() != expected) {
    throw std::invalid_argument(std::string("blocked weight layout: ") + what + " must be uint8 " + shape_to_string(expected) +
                                ", got " + std::string(dtype_name(t.dtype())) + shape_to_string(t.shape()));
  }
}

// Copies every code of `from` (one layout) into the zeroed `to` (the other).
void move_codes(const CodeSites& sites, const Tensor& from, Tensor& to, bool to_blocked) {
  const Tensor source = from.contiguous();
  const auto* in = source.data<uint8_t>();
  auto* out = to.data<uint8_t>();
  for (int64_t r = 0; r < sites.m; ++r) {
    for (int64_t c = 0; c < sites.k; ++c) {
      int64_t quanto = 0, blocked = 0;
      int quanto_shift = 0, blocked_shift = 0;
      sites.quanto_site(r, c, quanto, quanto_shift);
      sites.blocked_site(r, c, blocked, blocked_shift);
      const int64_t src = to_blocked ? quanto : blocked, dst = to_blocked ? blocked : quanto;
      const int src_shift = to_blocked ? quanto_shift : blocked_shift, dst_shift = to_blocked ? blocked_shift : quanto_shift;
      out[dst] |= static_cast<uint8_t>(((in[src] >> src_shift) & sites.mask()) << dst_shift);
    }
  }
}

}  // namespace

bool blocked_layout_supported(int64_t k, int64_t group_size, int bits) {
  return (bits == 2 || bits == 4) && group_size > 0 && group_size % kBlockCodes == 0 && k % group_size == 0;
}

Shape blocked_shape(int64_t m, int64_t k, int bits) {
  return {(m + kBlockRows - 1) / kBlockRows * kBlockRows, k * bits / 8};
}

Tensor repack_blocked_codes(const Tensor& packed, int64_t m, int64_t k, int64_t group_size, int bits) {
  check_layout(m, k, group_size, bits);
  const CodeSites sites(m, k, group_size, bits);
  check_tensor(packed, {sites.quanto_rows, group_size}, "quanto's packed codes");
  Tensor out = Tensor::zeros(DType::U8, blocked_shape(m, k, bits));
  move_codes(sites, packed, out, /*to_blocked=*/true);
  return out;
}

Tensor unpack_blocked_codes(const Tensor& blocked, int64_t m, int64_t k, int64_t group_size, int bits) {
  check_layout(m, k, group_size, bits);
  const CodeSites sites(m, k, group_size, bits);
  check_tensor(blocked, blocked_shape(m, k, bits), "blocked codes");
  Tensor out = Tensor::zeros(DType::U8, {sites.quanto_rows, group_size});
  move_codes(sites, blocked, out, /*to_blocked=*/false);
  return out;
}

namespace {

int64_t padded_rows(int64_t m) { return (m + kBlockRows - 1) / kBlockRows * kBlockRows; }

int64_t blocked_group_index(int64_t r, int64_t g, int64_t groups_per_row) {
  return ((r / kBlockRows) * groups_per_row + g) * kBlockRows + r % kBlockRows;
}

// Copies element (r, g) of every row between row order and blocked order.
Tensor move_groups(const Tensor& from, int64_t m, int64_t groups_per_row, bool to_blocked) {
  const int64_t rows = to_blocked ? m : padded_rows(m);
  const int64_t expected = rows * groups_per_row;
  if (m < 1 || groups_per_row < 1 || from.numel() != expected) {
    throw std::invalid_argument("blocked weight layout: " + std::to_string(expected) + " per-group values expected for m=" +
                                std::to_string(m) + " and " + std::to_string(groups_per_row) + " groups per row, got " +
                                std::to_string(from.numel()));
  }
  const Tensor source = from.contiguous();
  const size_t es = source.element_size();
  Tensor out = Tensor::zeros(source.dtype(), {(to_blocked ? padded_rows(m) : m) * groups_per_row});
  for (int64_t r = 0; r < m; ++r) {
    for (int64_t g = 0; g < groups_per_row; ++g) {
      const int64_t row_order = r * groups_per_row + g, blocked = blocked_group_index(r, g, groups_per_row);
      const int64_t src = to_blocked ? row_order : blocked, dst = to_blocked ? blocked : row_order;
      std::memcpy(out.raw_data() + dst * es, source.raw_data() + src * es, es);
    }
  }
  return out;
}

}  // namespace

Tensor repack_blocked_groups(const Tensor& values, int64_t m, int64_t groups_per_row) {
  return move_groups(values, m, groups_per_row, true);
}

Tensor unpack_blocked_groups(const Tensor& blocked, int64_t m, int64_t groups_per_row) {
  return move_groups(blocked, m, groups_per_row, false);
}

}  // namespace pq::rt::linear
