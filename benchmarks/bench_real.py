"""What real images score against real images: a reference for ``gankit eval``'s image metrics.

    python benchmarks/bench_real.py                        # mnist5k, n = 2000, seeds 0 1 2
    python benchmarks/bench_real.py --data digits --n 800

For each seed, two disjoint random sets of ``n`` images of a labelled set, scored against each
other as ``gankit eval`` scores generated images against real ones (in the features of the same
cached classifier): the Fréchet and kernel distances and improved precision and recall
(k = 3). A generator whose samples were as good as unseen real images would score about
this; one that copies its training images can score better, since ``eval``'s real side is
drawn from the training set. Prints one row per seed; asserts nothing.
"""

from __future__ import annotations

import argparse
import os

import torch

from gankit.data import make_data
from gankit.data.images import ImageSet
from gankit.metrics.classifier import features, load_classifier
from gankit.metrics.images import frechet_distance, kernel_distance, precision_recall
from gankit.training.hardware import cpu_description, cpu_model


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default="mnist5k", help="a labelled image set")
    parser.add_argument("--n", type=int, default=2000, help="images on each side")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    args = parser.parse_args()
    dataset = make_data(args.data)
    if not isinstance(dataset, ImageSet) or dataset.labels is None:
        parser.error(f"{args.data!r} is not a labelled image set")
    if not 1 <= args.n <= len(dataset.images) // 2:
        parser.error(f"--n must be in 1..{len(dataset.images) // 2} for {args.data}")
    print(f"{cpu_model()}, {os.cpu_count()} cores; torch {torch.__version__}; {cpu_description()}")
    net, accuracy = load_classifier(dataset, progress=False)
    print(
        f"{args.data}: two disjoint random sets of {args.n}; classifier {accuracy:.3f} held out\n"
    )
    print(f"{'seed':>4} {'FD':>8} {'KID':>8} {'precision':>10} {'recall':>8}")
    for seed in args.seeds:
        order = torch.randperm(len(dataset.images), generator=torch.Generator().manual_seed(seed))
        first = features(net, dataset.images[order[: args.n]])
        second = features(net, dataset.images[order[args.n : 2 * args.n]])
        scores = precision_recall(first, second)  # second plays the generated side
        print(
            f"{seed:>4} {frechet_distance(second, first):8.2f} "
            f"{kernel_distance(second, first, seed=seed):8.3f} "
            f"{scores['precision']:10.3f} {scores['recall']:8.3f}"
        )


if __name__ == "__main__":
    main()
