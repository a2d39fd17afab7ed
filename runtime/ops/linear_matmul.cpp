// Float matmuls: matmul_f32 (A [n,k] · B, B [k,m], or Bᵀ with B [m,k] and transpose_b=1) and
// bmm_f32 (the same per batch: [b,n,k] · [b,k,m] or [b,m,k]ᵀ). A and B are float32, float16 or
// bfloat16 (B's dtype may differ: a weight, e.g. tied embeddings, in its own dtype); the product
// accumulates in float32 and is rounded once into A's dtype, or parameter `dtype`. The names keep
// their _f32 for the call sites. All-float32 problems go to CLBlast on OpenCL; the family's tiled
// kernels serve Vulkan, the other dtypes, and OpenCL when CLBlast fails or blas=0 asks for it.
// torch at the special values: as linear (NaN rows and columns spread, inf · 0 = NaN).
#include "runtime/ops/linear_common.h"
#include "runtime/ops/op_helpers.h"

#ifdef PORTAQUANT_HAVE_OPENCL
#include "runtime/opencl/opencl_backend.h"
#endif

namespace pq::rt::linear {
namespace {

struct MatmulShape {
  int64_t batches, n, k, m;
  bool transpose_b;
};

MatmulShape matmul_shape(const std::string& op, const std::vector<TensorSpec>& in, const OpParams& params, size_t rank) {
  if (in.size() != 2) op_error(op, "expects A and B, got " + describe(in));
  expect_float_dtype(op, "A", in[0]);
  expect_float_dtype(op, "B", in[1]);
  const Shape& a = in[0].shape;
  const Shape& b = in[1].shape;
  if (a.size() != rank || b.size() != rank) {
    op_error(op, "A and B must have rank " + std::to_string(rank) + ", got " + describe(in));
  }
  MatmulShape s{rank == 3 ? a[0] : 1, a[rank - 2], a[rank - 1], 0, params.get_int("transpose_b", 0) != 0};
  const int64_t b_k = s.transpose_b ? b[rank - 1] : b[rank - 2];
  s.m = s.transpose_b ? b[rank - 2] : b[rank - 1];
  if (b_k != s.k || (rank == 3 && b[0] != s.batches)) {
    op_error(op, std::string("B must be ") + (rank == 3 ? "[b, " : "[") + (s.transpose_b ? "m, k]" : "k, m]") +
                     " for A [" + (rank == 3 ? "b, " : "") + "n, k]: " + describe(in));
  }
  expect_u32_indexable(op, in);
  return s;
}

Shape output_shape(const MatmulShape& s, size_t rank) {
  return rank == 3 ? Shape{s.batches, s.n, s.m} : Shape{s.n, s.m};
}

std::vector<Tensor> reference(const std::vector<Tensor>& in, const MatmulShape& s, size_t rank, DType out_dtype) {
  const std::vector<float> a = in[0].to_float_vector();
  // The reference matmul takes W as [m, k].
  const Tensor b_rows = s.transpose_b ? in[1] : in[1].transpose(rank - 2, rank - 1).contiguous();
  const std::vector<float> w = b_rows.to_float_vector();
  std::vector<float> y;
  for (int64_t i = 0; i < s.batches; ++i) {
    const std::vector<float> ab(a.begin() + i * s.n * s.k, a.begin() + (i + 1) * s.n * s.k);
    const std::vector<float> wb(w.begin() + i * s.m * s.k, w.begin() + (i + 1) * s.m * s.k);
    const auto yb = reference_matmul(ab, wb, s.n, s.m, s.k, nullptr);
    y.insert(y.end(), yb.begin(), yb.end());
  }
  return {Tensor::from_floats(out_dtype, output_shape(s, rank), y)};
}

// CLBlast on OpenCL devices; false when not applicable or when CLBlast refuses the problem
// (the tiled kernel then overwrites whatever it may have written).
bool try_clblast(EncodeContext& ctx, const std::vector<DeviceTensor>& in, const std::vector<DeviceTensor>& out,
                 const MatmulShape& s, const OpParams& params) {
#ifdef PORTAQUANT_HAVE_OPENCL
  const bool all_f32 = in[0].dtype == DType::F32 && in[1].dtype == DType::F32 && out[0].dtype == DType::F32;
  if (ctx.device().api != Api::OpenCL || !all_f32 || params.get_int("blas", 1) == 0) return false;
  const auto n = static_cast<size_t>(s.n), m = static_cast<size_t>(s.m), k = static_cast<size_t>(s.k);
  try {
    for (size_t b = 0; b < static_cast<size_t>(s.batches); ++b) {
      if (!opencl_sgemm(ctx.backend(), s.transpose_b, n, m, k, *in[0].buffer, b * n * k, k, *in[1].buffer, b * k * m,
                        s.transpose_b ? k : m, *out[0].buffer, b * n * m, m)) {
        return false;
      }
    }
    return true;
  } catch (const std::exception&) {
    return false;
  }
#else
  (void)ctx, (void)in, (void)out, (void)s, (void)params;
  return false;
#endif
}

LinearJob job_of(const std::vector<DeviceTensor>& in, const std::vector<DeviceTensor>& out, const MatmulShape& s) {
  LinearParams p;
  p.n = static_cast<uint32_t>(s.n);
  p.m = static_cast<uint32_t>(s.m);
  p.k = static_cast<uint32_t>(s.k);
  p.x_format = static_cast<uint32_t>(*elem_format(in[0].dtype));
  p.w_format = static_cast<uint32_t>(*elem_format(in[1].dtype));
  p.y_format = static_cast<uint32_t>(*elem_format(out[0].dtype));
  // The kernels index W[r, c] (r < m, c < k): B [m, k] is W itself, B [k, m] is Wᵀ.
  p.w_row_stride = s.transpose_b ? p.k : 1;
  p.w_col_stride = s.transpose_b ? 1 : p.m;
  p.x_batch_stride = p.n * p.k;
  p.w_batch_stride = p.k * p.m;
  p.y_batch_stride = p.n * p.m;
  return {{in[0].buffer, in[1].buffer, nullptr, nullptr, nullptr, out[0].buffer}, p, Accumulate::Float,
          static_cast<uint32_t>(s.batches), s.transpose_b ? WeightKind::Float : WeightKind::Generic};
}

void encode(EncodeContext& ctx, const std::vector<DeviceTensor>& in, const std::vector<DeviceTensor>& out,
            const MatmulShape& s, const OpParams& params) {
  // A GEMV against Bᵀ (an lm_head, a float Linear) reads B once with the specialised kernel;
  // CLBlast's GEMM kernels are tuned for large n.
  const bool gemv = s.n <= kGemvMaxRows && s.batches == 1 && s.transpose_b && s.k % 16 == 0;
  if (!gemv && try_clblast(ctx, in, out, s, params)) return;
  launch_linear(ctx, job_of(in, out, s));
}

OpDef matmul_op(const std::string& name, size_t rank) {
  OpDef def;
  def.name = name;
  def.infer = [name, rank](const std::vector<TensorSpec>& in, const OpParams& p) {
    const MatmulShape s = matmul_shape(name, in, p, rank);
    return std::vector<TensorSpec>{{output_dtype(name, in[0].dtype, p), output_shape(s, rank)}};
  };
  def.reference = [name, rank](const std::vector<Tensor>& in, const OpParams& p) {
    return reference(in, matmul_shape(name, specs_of(in), p, rank), rank, output_dtype(name, in[0].dtype(), p));
  };
  def.encode = [name, rank](EncodeContext& ctx, const std::vector<DeviceTensor>& in, const std::vector<DeviceTensor>& out,
                            const OpParams& p) { encode(ctx, in, out, matmul_shape(name, specs_of(in), p, rank), p); };
  def.checks = {OutputCheck{}};
  return def;
}

OpCase matmul_case(const MatmulShape& s, bool blas, uint32_t seed, size_t rank, DType a_dtype = DType::F32,
                   DType b_dtype = DType::F32) {
  const Shape a = rank == 3 ? Shape{s.batches, s.n, s.k} : Shape{s.n, s.k};
  Shape b = s.transpose_b ? Shape{s.m, s.k} : Shape{s.k, s.m};
  if (rank == 3) b.insert(b.begin(), s.batches);
  std::string label = (rank == 3 ? "b=" + std::to_string(s.batches) + " " : "") + shape_label({s.n, s.k, s.m});
  label += s.transpose_b ? " Bᵀ" : "";
  label += blas ? "" : " tiled";
  if (a_dtype != DType::F32 || b_dtype != DType::F32) {
    label = dtype_tag(a_dtype) + label + (b_dtype != a_dtype ? " B:" + std::string(dtype_name(b_dtype)) : "");
  }
  OpParams params{{"transpose_b", s.transpose_b}};
  if (!blas) params.set("blas", 0);
  return {label, {random_tensor(a_dtype, a, seed), random_tensor(b_dtype, b, seed + 1)}, params};
}

// float16/bfloat16 cases on the GEMV and GEMM kernels (B in A's dtype or float32, transposed or
// not), an output in another dtype (parameter dtype), and NaN, ±inf, -0 in A and B.
void add_narrow_and_special_cases(std::vector<OpCase>& cases, const std::vector<MatmulShape>& shapes, size_t rank,
                                  uint32_t seed) {
  for (DType dtype : kNarrowFloatDTypes) {
    for (size_t i = 0; i < shapes.size(); ++i) {
      cases.push_back(matmul_case(shapes[i], true, seed, rank, dtype, i % 3 == 2 ? DType::F32 : dtype));
      seed += 2;
    }
  }
  cases.push_back(matmul_case(shapes[0], true, seed, rank, DType::F16, DType::F16));
  cases.back().params.set("dtype", 0);
  cases.back().label += " -> float32";
  seed += 2;
  for (DType dtype : float_dtypes()) {
    for (const MatmulShape& s : {shapes[0], shapes[1]}) {
      OpCase c = matmul_case(s, true, seed, rank, dtype, dtype);
      seed += 2;
      c.inputs[0] = with_special_values(c.inputs[0], 41, 3);
      c.inputs[1] = with_special_values(c.inputs[1], 43, 5);
      c.label += " special values";
      cases.push_back(std::move(c));
    }
  }
}

std::vector<OpCase> matmul_cases() {
  std::vector<OpCase> cases;
  uint32_t seed = 9800;
  const auto& shapes = case_shapes();
  for (size_t i = 0; i < shapes.size(); ++i) {
    const CaseShape& c = shapes[i];
    for (bool transpose_b : {false, true}) {
      const MatmulShape s{1, c.n, c.k, c.m, transpose_b};
      cases.push_back(matmul_case(s, true, seed, 2));
      // The tiled kernels (OpenCL's fallback) on a few shapes; on Vulkan they are the only path.
      if (i % 3 == 1) cases.push_back(matmul_case(s, false, seed, 2));
      seed += 2;
    }
  }
  // GEMV (n=3, k=129 unaligned), GEMM (n=33), Bᵀ and B [k, m].
  add_narrow_and_special_cases(cases,
                               {MatmulShape{1, 3, 129, 7, true}, MatmulShape{1, 33, 64, 31, false},
                                MatmulShape{1, 9, 320, 33, true}, MatmulShape{1, 8, 64, 257, false}},
                               2, seed);
  return cases;
}

std::vector<OpCase> bmm_cases() {
  std::vector<OpCase> cases;
  uint32_t seed = 9900;
  for (const MatmulShape& s : {MatmulShape{3, 5, 17, 9, false}, MatmulShape{2, 33, 64, 31, false},
                               MatmulShape{1, 1, 129, 7, false}, MatmulShape{4, 9, 64, 33, true}}) {
    cases.push_back(matmul_case(s, true, seed, 3));
    cases.push_back(matmul_case(s, false, seed, 3));
    seed += 2;
  }
  add_narrow_and_special_cases(cases, {MatmulShape{3, 5, 17, 9, false}, MatmulShape{2, 13, 31, 7, true},
                                       MatmulShape{1, 1, 129, 7, true}},
                               3, seed);
  return cases;
}

}  // namespace

LinearJob matmul_job(const std::vector<DeviceTensor>& in, const std::vector<DeviceTensor>& out, const OpParams& params) {
  return job_of(in, out, matmul_shape("matmul_f32", specs_of(in), params, 2));
}

void add_float_matmul_ops(std::vector<OpDef>& ops) {
  OpDef matmul = matmul_op("matmul_f32", 2);
  matmul.summary = "matmul_f32(A, B; transpose_b, blas, dtype): A [n,k] · B [k,m], or · Bᵀ for B [m,k] with "
                   "transpose_b=1; A and B float32/float16/bfloat16, y in A's dtype unless dtype (0/1/2) says otherwise "
                   "(all-float32: CLBlast on OpenCL unless blas=0)";
  matmul.cases = matmul_cases;
  matmul.reads_tiers = true;  // B [m,k] (transpose_b) runs linear_kernels.cpp's float-weight kernel
  ops.push_back(std::move(matmul));

  OpDef bmm = matmul_op("bmm_f32", 3);
  bmm.summary = "bmm_f32(A, B; transpose_b, blas, dtype): per batch A [b,n,k] · B [b,k,m], or · Bᵀ for B [b,m,k]; "
                "A and B float32/float16/bfloat16, y in A's dtype unless dtype (0/1/2) says otherwise (all-float32: "
                "CLBlast on OpenCL unless blas=0)";
  bmm.cases = bmm_cases;
  ops.push_back(std::move(bmm));
}

}  // namespace pq::rt::linear
