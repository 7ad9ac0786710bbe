"""MonoGAN's critic step at full precision against bfloat16 autocast (what `--precision bf16-mixed` runs):
the same step as bench_critic_profile.py (real and fake in one critic pass, the gradient penalty's double
backward, Adam), timed alternately so that both see the same machine, median over the repeats. On a CPU with
AVX512-BF16 or AMX, oneDNN runs the convolutions in bfloat16; elsewhere expect no gain.

Run: python benchmarks/bench_precision.py [--batch 32] [--steps 5] [--repeats 5] [--threads 1]
"""
from __future__ import annotations

import statistics
import time
from pathlib import Path

from bench_critic_profile import critic_bench


def cpu_flags() -> str:
    try:
        flags = next(line for line in Path("/proc/cpuinfo").read_text().splitlines() if line.startswith("flags")).split()
    except (OSError, StopIteration):
        return "unknown"
    return ", ".join(f for f in ("avx512_bf16", "amx_bf16") if f in flags) or "no bfloat16 instructions"


def main() -> None:
    args, step = critic_bench(__doc__.splitlines()[0], steps=5, repeats=True)
    times = {False: [], True: []}
    for bf16 in (False, True):
        step(bf16)  # warm-up: oneDNN picks its kernels
    for _ in range(args.repeats):
        for bf16 in (False, True):
            start = time.perf_counter()
            for _ in range(args.steps):
                step(bf16)
            times[bf16].append((time.perf_counter() - start) / args.steps)
    fp32, bf16 = statistics.median(times[False]), statistics.median(times[True])
    print(f"critic step, batch {args.batch}, {args.threads} thread(s), CPU: {cpu_flags()}")
    print(f"  32-true     {1e3 * fp32:6.0f} ms a step ({args.batch / fp32:5.0f} real images/s)")
    print(f"  bf16-mixed  {1e3 * bf16:6.0f} ms a step ({args.batch / bf16:5.0f} real images/s): {fp32 / bf16:.2f}x")


if __name__ == "__main__":
    main()
