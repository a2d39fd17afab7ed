// Float32 matmuls: matmul_f32 (A [n,k] · B, B [k,m], or Bᵀ with B [m,k] and transpose_b=1) and
// bmm_f32 (the same per batch: [b,n,k] · [b,k,m] or [b,m,k]ᵀ). On OpenCL they go to CLBlast;
// the family's tiled kernel serves Vulkan, and OpenCL when CLBlast fails or blas=0 asks for it.
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
  expect_inputs(op, in, {DType::F32, DType::F32});
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

std::vector<Tensor> reference(const std::vector<Tensor>& in, const MatmulShape& s, size_t rank) {
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
  return {Tensor::from_floats(DType::F32, output_shape(s, rank), y)};
}

// CLBlast on OpenCL devices; false when not applicable or when CLBlast refuses the problem
// (the tiled kernel then overwrites whatever it may have written).
bool try_clblast(EncodeContext& ctx, const std::vector<DeviceTensor>& in, const std::vector<DeviceTensor>& out,
                 const MatmulShape& s, const OpParams& params) {
#ifdef PORTAQUANT_HAVE_OPENCL
  if (ctx.device().api != Api::OpenCL || params.get_int("blas", 1) == 0) return false;
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

void encode(EncodeContext& ctx, const std::vector<DeviceTensor>& in, const std::vector<DeviceTensor>& out,
            const MatmulShape& s, const OpParams& params) {
  if (try_clblast(ctx, in, out, s, params)) return;
  LinearParams p;
  p.n = static_cast<uint32_t>(s.n);
  p.m = static_cast<uint32_t>(s.m);
  p.k = static_cast<uint32_t>(s.k);
  p.w_format = static_cast<uint32_t>(ElemFormat::F32);
  // The kernels index W[r, c] (r < m, c < k): B [m, k] is W itself, B [k, m] is Wᵀ.
  p.w_row_stride = s.transpose_b ? p.k : 1;
  p.w_col_stride = s.transpose_b ? 1 : p.m;
  p.x_batch_stride = p.n * p.k;
  p.w_batch_stride = p.k * p.m;
  p.y_batch_stride = p.n * p.m;
  launch_linear(ctx, {in[0].buffer.get(), in[1].buffer.get(), nullptr, nullptr, nullptr, out[0].buffer.get()}, p,
                Accumulate::Float, static_cast<uint32_t>(s.batches));
}

OpDef matmul_op(const std::string& name, size_t rank) {
  OpDef def;
  def.name = name;
  def.infer = [name, rank](const std::vector<TensorSpec>& in, const OpParams& p) {
    return std::vector<TensorSpec>{{DType::F32, output_shape(matmul_shape(name, in, p, rank), rank)}};
  };
  def.reference = [name, rank](const std::vector<Tensor>& in, const OpParams& p) {
    return reference(in, matmul_shape(name, specs_of(in), p, rank), rank);
  };
  def.encode = [name, rank](EncodeContext& ctx, const std::vector<DeviceTensor>& in, const std::vector<DeviceTensor>& out,
                            const OpParams& p) { encode(ctx, in, out, matmul_shape(name, specs_of(in), p, rank), p); };
  def.checks = {OutputCheck{}};
  return def;
}

OpCase matmul_case(const MatmulShape& s, bool blas, uint32_t seed, size_t rank) {
  const Shape a = rank == 3 ? Shape{s.batches, s.n, s.k} : Shape{s.n, s.k};
  Shape b = s.transpose_b ? Shape{s.m, s.k} : Shape{s.k, s.m};
  if (rank == 3) b.insert(b.begin(), s.batches);
  std::string label = (rank == 3 ? "b=" + std::to_string(s.batches) + " " : "") + shape_label({s.n, s.k, s.m});
  label += s.transpose_b ? " Bᵀ" : "";
  label += blas ? "" : " tiled";
  OpParams params{{"transpose_b", s.transpose_b}};
  if (!blas) params.set("blas", 0);
  return {label, {random_tensor(DType::F32, a, seed), random_tensor(DType::F32, b, seed + 1)}, params};
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
  return cases;
}

}  // namespace

void add_float_matmul_ops(std::vector<OpDef>& ops) {
  OpDef matmul = matmul_op("matmul_f32", 2);
  matmul.summary = "matmul_f32(A, B; transpose_b, blas): A [n,k] · B [k,m], or · Bᵀ for B [m,k] with transpose_b=1 "
                   "(CLBlast on OpenCL unless blas=0)";
  matmul.cases = matmul_cases;
  ops.push_back(std::move(matmul));

  OpDef bmm = matmul_op("bmm_f32", 3);
  bmm.summary = "bmm_f32(A, B; transpose_b, blas): per batch A [b,n,k] · B [b,k,m], or · Bᵀ for B [b,m,k] "
                "(CLBlast on OpenCL unless blas=0)";
  bmm.cases = bmm_cases;
  ops.push_back(std::move(bmm));
}

}  // namespace pq::rt::linear
