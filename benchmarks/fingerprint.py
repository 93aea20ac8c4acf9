"""Behaviour fingerprint of a gankit checkout, to show that a change leaves the numbers alone.

    python benchmarks/fingerprint.py OUT.json              # in each checkout (its own .venv)
    python benchmarks/fingerprint.py --compare A.json B.json

Through the command line only (so it runs on any version): every recipe for 12 steps (seed 3)
on ``ring:modes=4`` and on ``digits`` in fp32 (``wgan-gp`` and ``gankit`` also in bf16); the
default recipe trained and resumed; a toy and an image evaluation; samples; a run until its
time limit; ``gankit examples``; and, unless ``--no-studies``, every study in quick mode. It
records a hash of every tensor of each final checkpoint, every logged number (not the
timings) and the studies' measured claims. ``--compare`` lists what differs; nothing is
asserted.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

RECIPES = (
    "gan", "nsgan", "wgan", "wgan-gp", "fgan", "lsgan", "hinge", "wgan-lp", "dragan",
    "nsgan-r1", "gankit",
)  # fmt: skip
COMMON = ["--seed", "3", "--quiet", "--log-every", "5", "--checkpoint-every", "5"]
DATA = {
    "ring:modes=4": ["--width", "32", "--depth", "2", "--batch-size", "32"],
    "digits": ["--width", "8", "--batch-size", "16"],
}


def _gankit(*argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "gankit", *argv], capture_output=True, text=True)


def _checkpoint_hash(path: Path) -> str:
    """SHA-256 of every tensor and plain value of a checkpoint, in a fixed order (the saved
    configuration and format strings left out: they name the version, not the numbers)."""
    import torch

    digest = hashlib.sha256()

    def walk(value: Any, key: str) -> None:
        if isinstance(value, torch.Tensor):
            digest.update(key.encode())
            flat = value.detach().cpu().contiguous().view(-1)
            digest.update(flat.view(torch.uint8).numpy().tobytes() if flat.numel() else b"")
        elif isinstance(value, dict):
            for name in sorted(value, key=str):
                if name not in ("config", "format", "torch_rng"):
                    walk(value[name], f"{key}/{name}")
        elif isinstance(value, (list, tuple)):
            for index, item in enumerate(value):
                walk(item, f"{key}[{index}]")
        else:
            digest.update(f"{key}={value!r}".encode())

    walk(torch.load(path, map_location="cpu", weights_only=True), "")
    return digest.hexdigest()[:16]


def _logged(path: Path) -> list[dict[str, Any]]:
    records = [json.loads(line) for line in path.read_text().splitlines()]
    return [{k: v for k, v in r.items() if k not in ("time", "sec_per_step")} for r in records]


def _run(folder: Path) -> dict[str, Any]:
    return {
        "checkpoint": _checkpoint_hash(folder / "checkpoints" / "latest.pt"),
        "metrics": _logged(folder / "metrics.jsonl"),
    }


def fingerprint(studies: bool) -> dict[str, Any]:
    root = Path(tempfile.mkdtemp(prefix="gankit-fingerprint-"))
    found: dict[str, Any] = {}
    for recipe in RECIPES:
        for data, extra in DATA.items():
            for precision in ("fp32", "bf16") if recipe in ("wgan-gp", "gankit") else ("fp32",):
                out = root / f"{recipe}-{data.partition(':')[0]}-{precision}"
                done = _gankit(
                    "train", "--recipe", recipe, "--data", data, "--out", str(out),
                    "--steps", "12", "--precision", precision, *COMMON, *extra,
                )  # fmt: skip
                key = f"{recipe}|{data}|{precision}"
                found[key] = _run(out) if done.returncode == 0 else {"error": done.stderr[-300:]}
    resumed = root / "resume"
    _gankit("train", "--data", "grid:side=3", "--out", str(resumed), "--steps", "7",
            "--precision", "fp32", "--width", "32", *COMMON)  # fmt: skip
    _gankit("train", "--resume", str(resumed), "--steps", "14", "--quiet")
    found["resume"] = _run(resumed)
    found["eval_toy"] = json.loads(_gankit("eval", str(resumed), "--json", "--n", "500").stdout)
    images = root / "gankit-digits-fp32"
    found["eval_images"] = json.loads(_gankit("eval", str(images), "--json", "--n", "300").stdout)
    _gankit("sample", str(root / "gan-ring-fp32"), "--n", "5", "--out", str(root / "s.npy"))
    import numpy as np

    found["sample"] = np.load(root / "s.npy").tolist()
    timed = root / "timed"
    _gankit("train", "--out", str(timed), "--time-limit", "2", "--quiet", "--precision", "fp32")
    lines = (timed / "config.toml").read_text().splitlines()
    found["time_limit_steps"] = [line for line in lines if line.startswith("steps")]
    found["examples"] = _gankit("examples").stdout
    if studies:
        _gankit("study", "all", "--quick", "--out", str(root / "studies"))
        for folder in sorted((root / "studies").iterdir()):
            if (folder / "results.json").is_file():
                claims = json.loads((folder / "results.json").read_text())["claims"]
                found[f"study:{folder.name}"] = [
                    [c["claim"], c["measured"], c["holds"]] for c in claims
                ]
    return found


def compare(a: dict[str, Any], b: dict[str, Any]) -> None:
    keys = sorted(set(a) | set(b))
    differ = [k for k in keys if a.get(k) != b.get(k)]
    print(f"{len(keys) - len(differ)} of {len(keys)} results identical")
    for key in differ:
        print(f"differs: {key}")
        left, right = a.get(key), b.get(key)
        if isinstance(left, dict) and isinstance(right, dict):
            for name in sorted(set(left) | set(right)):
                if left.get(name) != right.get(name):
                    print(f"    {name}: {str(left.get(name))[:80]} -> {str(right.get(name))[:80]}")
        elif isinstance(left, list) and isinstance(right, list) and key.startswith("study:"):
            for x, y in zip(left, right, strict=False):
                if x != y:
                    print(f"    {x[0][:60]}: {x[1]} -> {y[1]}")
        else:
            print(f"    {str(left)[:100]} -> {str(right)[:100]}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", nargs="?", help="where to write this checkout's fingerprint")
    parser.add_argument("--no-studies", action="store_true", help="skip the quick studies")
    parser.add_argument("--compare", nargs=2, metavar="JSON", help="compare two fingerprints")
    args = parser.parse_args()
    if args.compare:
        compare(*(json.loads(Path(p).read_text()) for p in args.compare))
    elif args.out:
        Path(args.out).write_text(json.dumps(fingerprint(not args.no_studies), indent=1))
    else:
        parser.error("give OUT.json or --compare A.json B.json")


if __name__ == "__main__":
    main()
