// Device-side layouts of quantized linear weights. Files keep optimum-quanto's layout (planar
// packing along dim 0 of the grouped code matrix: one output row's groups use one bit plane of
// each byte, half a byte at a time); kernels read faster from a layout repacked once at upload.
//
// Blocked sub-byte layout (linear_qbits layout=1), for G % 32 == 0:
//   the codes q[r, c] (r < m rows of W, c < k) are cut into blocks of 32 consecutive c of one
//   row; the blocks of 8 consecutive rows (a row group; m is padded to a multiple of 8 with
//   zero codes) sit side by side, so a row group's block is 8·32·bits/8 contiguous bytes:
//     byte offset of (row r, block b) = ((r / 8) · (k / 32) + b) · 8 · B + (r % 8) · B,
//     B = 32·bits/8 bytes per block row (16 for int4, 8 for int2);
//   inside a block row, byte j (j < B) holds the codes c = 32b + j + (32/P)·i in bit field i
//   (P = 8/bits fields: int4 low nibble c = 32b+j, high nibble c = 32b+16+j).
// A block never straddles a quantization group (G % 32 == 0), so a kernel applies a group's
// scale and shift once per group, loads a block with one wide load and finds each code with a
// constant shift. The transformation is a permutation of the code bits plus zero padding: it
// round-trips exactly (unpack_blocked_codes).
//
// The scales and shifts of a blocked weight (one per row and group, g < k/G) follow the same row
// groups: element ((r / 8) · (k/G) + g) · 8 + r % 8, padding rows 0, so the 8 rows of a row
// group have their values for group g side by side (one load for a work-item's rows).
#pragma once

#include <cstdint>

#include "host/tensor.h"

namespace pq::rt::linear {

inline constexpr int64_t kBlockCodes = 32;  // codes per block row
inline constexpr int64_t kBlockRows = 8;    // rows per row group

// Whether a [m, k] weight with groups of G and `bits` per code has a blocked layout.
bool blocked_layout_supported(int64_t k, int64_t group_size, int bits);

// The blocked tensor's shape: uint8 [ceil(m/8)·8, k·bits/8].
Shape blocked_shape(int64_t m, int64_t k, int bits);

// quanto's packed codes (uint8 [R, G], planar along the grouped [m·k/G, G] code matrix) of a
// weight [m, k] → the blocked layout. Throws std::invalid_argument for unsupported shapes.
Tensor repack_blocked_codes(const Tensor& packed, int64_t m, int64_t k, int64_t group_size, int bits);

// The inverse: the blocked layout → quanto's packed codes, bit for bit (padding rows dropped).
Tensor unpack_blocked_codes(const Tensor& blocked, int64_t m, int64_t k, int64_t group_size, int bits);

// Per-group values (scales or shifts, any dtype, m · groups_per_row elements in row order) →
// the blocked order [ceil(m/8)·8 · groups_per_row], and back (bit for bit).
Tensor repack_blocked_groups(const Tensor& values, int64_t m, int64_t groups_per_row);
Tensor unpack_blocked_groups(const Tensor& blocked, int64_t m, int64_t groups_per_row);

}  // namespace pq::rt::linear
