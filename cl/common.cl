// Helpers prepended to every program of cl/ (files named common*.cl are headers).
// The baseline is OpenCL C 1.2 with fp32 arithmetic: 16-bit floats are read and written with
// vload_half/vstore_half (core, no cl_khr_fp16 needed), bfloat16 by bit shifts.

// The flat index of a 1-D grid laid out as rows of get_global_size(0) items (grids past
// 65535 groups wrap into dimension 1, as Vulkan caps a dimension at 65535 groups).
inline uint flat_id(void) { return (uint)(get_global_id(1) * get_global_size(0) + get_global_id(0)); }

inline float load_bf16(__global const ushort* p, uint i) { return as_float(((uint)p[i]) << 16); }
