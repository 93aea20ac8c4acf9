"""Speed of ``gankit train`` against a plain PyTorch loop of the same recipe, side by side.

    python benchmarks/bench_speed.py --steps 300

The reference is the published WGAN-GP toy recipe written out plainly here (3x512 ReLU MLPs,
batch 256, 5 critic steps, lambda 0.1, Adam 1e-4 with betas (0.5, 0.9), float32, D(real),
D(fake) and D(x_hat) as separate forwards) on the 25-Gaussian grid. Each side runs as its own
process, timed whole (start-up included) and per generator iteration (median of the steady
part). Prints ratios; asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def reference(steps: int, seed: int) -> list[float]:
    """The plain loop; returns seconds per generator iteration."""
    import torch
    from torch import nn

    torch.manual_seed(seed)

    def mlp(outputs: int) -> nn.Module:  # 2 -> 3 hidden layers of 512 ReLU -> outputs
        return nn.Sequential(
            nn.Linear(2, 512),
            nn.ReLU(),
            nn.Linear(512, 512),
            nn.ReLU(),
            nn.Linear(512, 512),
            nn.ReLU(),
            nn.Linear(512, outputs),
        )

    generator, critic = mlp(2), mlp(1)
    opt_g = torch.optim.Adam(generator.parameters(), lr=1e-4, betas=(0.5, 0.9))
    opt_d = torch.optim.Adam(critic.parameters(), lr=1e-4, betas=(0.5, 0.9))
    centres = torch.tensor(
        [(x, y) for x in range(-4, 5, 2) for y in range(-4, 5, 2)], dtype=torch.float32
    )
    times = []
    for _ in range(steps):
        started = time.perf_counter()
        for _ in range(5):
            real = centres[torch.randint(25, (256,))] + 0.05 * torch.randn(256, 2)
            with torch.no_grad():
                fake = generator(torch.randn(256, 2))
            loss = critic(fake).mean() - critic(real).mean()
            eps = torch.rand(256, 1)
            x_hat = (eps * real + (1 - eps) * fake).requires_grad_(True)
            (grad,) = torch.autograd.grad(critic(x_hat).sum(), x_hat, create_graph=True)
            loss = loss + 0.1 * ((grad.norm(dim=1) - 1) ** 2).mean()
            opt_d.zero_grad()
            loss.backward()
            opt_d.step()
        for p in critic.parameters():
            p.requires_grad_(False)
        loss = -critic(generator(torch.randn(256, 2))).mean()
        opt_g.zero_grad()
        loss.backward()
        opt_g.step()
        for p in critic.parameters():
            p.requires_grad_(True)
        times.append(time.perf_counter() - started)
    return times


def matmul_ceiling(repeats: int = 200) -> dict[str, float]:
    """TFLOP/s of the reference's main product, (256 x 512) @ (512 x 512), per dtype.

    bf16's speed-up over fp32 here is about the most bf16 can give the whole loop, which is
    matrix products for the most part.
    """
    import torch

    rates = {}
    for name, dtype in (("fp32", torch.float32), ("bf16", torch.bfloat16)):
        a, b = torch.randn(256, 512, dtype=dtype), torch.randn(512, 512, dtype=dtype)
        for _ in range(20):
            a @ b
        started = time.perf_counter()
        for _ in range(repeats):
            a @ b
        rates[name] = 2 * 256 * 512 * 512 * repeats / (time.perf_counter() - started) / 1e12
    return rates


def _steady(values: list[float]) -> float:
    return statistics.median(values[len(values) // 5 :])  # skip the warm-up fifth


def _run_reference(steps: int, seed: int) -> tuple[float, float]:
    """(seconds per iteration, whole-process seconds) of the plain loop in its own process."""
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, __file__, "--reference-only", "--steps", str(steps), "--seed", str(seed)],
        capture_output=True,
        text=True,
        check=True,
    )
    return _steady(json.loads(done.stdout)), time.perf_counter() - started


def _run_gankit(steps: int, seed: int, precision: str) -> tuple[float, float]:
    """(seconds per iteration, whole-process seconds) of ``gankit train`` in its own process."""
    with tempfile.TemporaryDirectory() as folder:
        started = time.perf_counter()
        subprocess.run(
            [
                sys.executable,
                "-m",
                "gankit",
                "train",
                "--recipe",
                "wgan-gp",
                "--data",
                "grid",
                "--out",
                f"{folder}/run",
                "--steps",
                str(steps),
                "--seed",
                str(seed),
                "--precision",
                precision,
                "--quiet",
                "--log-every",
                "10",
                "--sample-every",
                str(10**6),
            ],
            check=True,
            capture_output=True,
        )
        wall = time.perf_counter() - started
        records = [json.loads(line) for line in Path(folder, "run", "metrics.jsonl").open()]
    return _steady([r["sec_per_step"] for r in records]), wall


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--repeats", type=int, default=3, help="alternating rounds; medians")
    parser.add_argument("--precisions", nargs="+", default=["fp32", "bf16"])
    parser.add_argument("--reference-only", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.reference_only:
        print(json.dumps(reference(args.steps, args.seed)))
        return
    import torch

    from gankit.training.hardware import cpu_description, cpu_model

    model = cpu_model()
    print(
        f"{model}; torch {torch.__version__}; {cpu_description()}; {args.steps} iterations, "
        f"{args.repeats} alternating rounds, medians\n"
    )
    rates = matmul_ceiling()
    ceiling = rates["bf16"] / rates["fp32"]
    print(
        f"matrix product 256x512 @ 512x512: fp32 {rates['fp32']:.3f} TFLOP/s, bf16 "
        f"{rates['bf16']:.3f} TFLOP/s ({ceiling:.2f}x: about the most bf16 can give the loop)\n"
    )
    rows: dict[str, list[tuple[float, float]]] = {"reference": []}
    ratios: dict[str, list[tuple[float, float]]] = {p: [] for p in args.precisions}
    for _ in range(args.repeats):  # alternate, so drifts in machine speed hit every side
        ref = _run_reference(args.steps, args.seed)
        rows["reference"].append(ref)
        for precision in args.precisions:
            ours = _run_gankit(args.steps, args.seed, precision)
            rows.setdefault(precision, []).append(ours)
            ratios[precision].append((ref[0] / ours[0], ref[1] / ours[1]))
    for name, values in rows.items():
        step = statistics.median(v[0] for v in values)
        wall = statistics.median(v[1] for v in values)
        line = f"{name:<12}{step * 1e3:>8.1f} ms/it{wall:>8.1f} s whole"
        if name in ratios:
            per_it = statistics.median(r[0] for r in ratios[name])
            whole = statistics.median(r[1] for r in ratios[name])
            line += f"   speed-up vs reference: per it {per_it:.2f}x, whole process {whole:.2f}x"
        print(line)


if __name__ == "__main__":
    main()
