#!/usr/bin/env python3
"""Why portaquant has no fp16-arithmetic tier: the NMSE of dot products accumulated in float16
against the float64 sum, beside the NMSE of rounding the exact sum to float16 once (what our
float32-accumulating kernels deliver for a float16 output). The conformance bound of float16
outputs is 2^-22 = 2.4e-7 (runtime/conformance.h). numpy only; deterministic (seed 0)."""
import numpy as np


def main() -> None:
    rng = np.random.default_rng(0)
    print(f"float16 output bound: {2.0 ** -22:.2e}")
    for k in (576, 1536, 4096):
        exact, accumulated = [], []
        for _ in range(64):
            w = rng.standard_normal(k).astype(np.float16)
            x = rng.standard_normal(k).astype(np.float16)
            acc = np.float16(0)
            for a, b in zip(w, x):
                acc = np.float16(acc + np.float16(a * b))
            exact.append(float(np.dot(w.astype(np.float64), x.astype(np.float64))))
            accumulated.append(float(acc))
        ref, out = np.array(exact), np.array(accumulated)
        rounded = ref.astype(np.float16).astype(np.float64)
        nmse = lambda y: float(((ref - y) ** 2).sum() / (ref ** 2).sum())
        print(f"k={k}: float16 accumulation NMSE {nmse(out):.2e}, one float16 rounding NMSE {nmse(rounded):.2e}")


if __name__ == "__main__":
    main()
