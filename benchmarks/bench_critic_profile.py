"""Where MonoGAN's critic step spends its time: torch.profiler over a few WGAN-GP critic steps (real and
fake in one critic pass, the gradient penalty's double backward, Adam), grouped into convolution
kernels (forward, backward and the penalty's double backward) and everything else. The non-convolution
share bounds what any rewrite with the same maths can save: a step whose convolutions take 90% of its
time cannot run more than 1/0.9 = 1.11x faster without doing fewer convolution FLOPs.

Run: python benchmarks/bench_critic_profile.py [--batch 32] [--steps 10] [--threads 1]
"""
from __future__ import annotations

import argparse

import torch
from torch.profiler import ProfilerActivity, profile

from bench_train import monogan_nets
from monossl.losses import critic_loss, gradient_penalty
from monossl.methods import METHODS
from monossl.options import build

CONV_OPS = ("convolution", "conv2d", "conv_transpose")


def critic_bench(description: str, steps: int, repeats: bool = False):
    """The command line shared with bench_precision.py, and one WGAN-GP critic step at the `cpu` budget's
    settings (resize-conv generator of width 32); `step(bf16=True)` runs it under bfloat16 autocast."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--steps", type=int, default=steps)
    parser.add_argument("--threads", type=int, default=1)
    if repeats:
        parser.add_argument("--repeats", type=int, default=5, help="timed rounds, each over --steps steps")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    hp = build(METHODS["monogan"].hparams, {"gen_dim": 32, "upsample": "resize"})
    critic, generator, opt, _ = monogan_nets(hp)
    real = torch.rand(args.batch, 3, 32, 32) * 2 - 1

    def step(bf16: bool = False):
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            with torch.no_grad():
                fake = generator(torch.randn(args.batch, hp.latent)).float()  # as Fabric returns it
            d_real, d_fake = critic(torch.cat([real, fake])).split(args.batch)
            loss = critic_loss(d_real, d_fake, gradient_penalty(critic, real, fake), hp.gp_lambda)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    return args, step


def main() -> None:
    args, step = critic_bench(__doc__.splitlines()[0], steps=10)
    for _ in range(3):
        step()
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        for _ in range(args.steps):
            step()
    events = prof.key_averages()
    total = sum(e.self_cpu_time_total for e in events)
    conv = sum(e.self_cpu_time_total for e in events if any(op in e.key for op in CONV_OPS))
    print(f"critic step, batch {args.batch}, {args.threads} thread(s): {total / args.steps / 1e3:.0f} ms a step; "
          f"convolution kernels {100 * conv / total:.1f}%, the rest {100 * (total - conv) / total:.1f}% "
          f"(same-maths speed-up bound {total / conv:.2f}x)")
    for e in sorted(events, key=lambda e: -e.self_cpu_time_total)[:8]:
        print(f"  {e.key:40s} {100 * e.self_cpu_time_total / total:5.1f}%  x{e.count // args.steps} a step")


if __name__ == "__main__":
    main()
