"""The ``gankit`` command: argparse subcommands, one function each.

Only :func:`main` prints errors and chooses exit codes: a :class:`GankitError` becomes
``gankit: error: <one line>`` on stderr and exit code 2. Heavy imports happen inside the
commands so that ``gankit --help`` and input errors are instant.
"""

from __future__ import annotations

import argparse
import sys
import warnings
from collections.abc import Sequence

from gankit import __version__
from gankit.errors import GankitError
from gankit.training.recipes import DEFAULT_RECIPE  # no torch: --help stays instant

MAIN_EPILOG = f"""examples:
  gankit train --data ring --out runs/ring          train (the default recipe, {DEFAULT_RECIPE})
  gankit eval runs/ring --json                      modes covered, quality, exact W1
  gankit sample runs/ring --n 2000 --out ring.png
  gankit report runs/ring                           runs/ring/report.html: curves, samples, GIF
  gankit compare runs/ring runs/ring-nsgan          compare.html: the runs side by side
  gankit study all --out studies                    every claim of the theory, measured
  gankit examples                                   the worked examples (theory §4), exact

Each command has --help. Bad input exits with code 2 and one line on stderr.
"""

EXAMPLES_EPILOG = """examples:
  gankit examples                 the worked examples of docs/theory.md §4, exact against a grid
  gankit examples --thetas 0 0.5 2
"""

TRAIN_EPILOG = f"""examples:
  gankit train --data ring --out runs/ring                  the default recipe ({DEFAULT_RECIPE})
  gankit train --recipe nsgan --data grid:side=5 --out runs/grid --steps 3000 --seed 1
  gankit train --recipe wgan --data ring --out runs/w --config wgan.toml --time-limit 600
  gankit train --resume runs/ring --steps 4000              continue to 4000 steps in all
  gankit train --data mnist5k --out runs/mnist --time-limit 600   until 600 s (no --steps)
  gankit train --data ring --out runs/ring --report         also write runs/ring/report.html
  gankit train --data mnist5k --conditional --out runs/c    class-conditional (labelled data)
  torchrun --standalone --nproc_per_node=2 -m gankit train --data ring --out runs/ring2
                                                            two processes share each batch

Every field of the resolved configuration (see DIR/config.toml) can be set in a TOML file
(--config) or by its flag; flags win over the file, the file over the recipe's defaults.
Under torchrun, --batch-size is the global batch, split evenly among the processes; rank 0
writes the run folder, and a run resumes in any number of processes.
Data specs: ring:modes=8,radius=2,std=0.02  grid:side=5,spacing=2,std=0.05  swissroll
uniform1d:low=0,high=1  gmm1d:means=-2;2,std=0.5  segments:theta=0.5  mnist5k  digits
stackedmnist  folder:PATH[,size=32,channels=1|3]  npy:X.npy[,size=S,labels=Y.npy]
"""

SAMPLE_EPILOG = """examples:
  gankit sample runs/ring --n 5000 --out samples.npy
  gankit sample runs/ring --n 2000 --out samples.png
  gankit sample runs/c --class 7 --n 64 --out sevens.png    a conditional run: class 7
  gankit sample runs/c --class all --out classes.png        one row of 10 per class
"""

EVAL_EPILOG = """examples:
  gankit eval runs/ring
  gankit eval runs/ring --n 5000 --json
  gankit eval runs/mnist --features inception   # needs torch-fidelity and its weights
"""


class _Parser(argparse.ArgumentParser):
    """argparse that reports usage errors with exit code 2 on one line, without usage."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise GankitError(message)


def _cmd_examples(args: argparse.Namespace) -> int:
    from gankit.examples import examples_table

    print(examples_table(args.thetas))
    return 0


def _train_flags(args: argparse.Namespace) -> dict[str, object]:
    """The configuration keys given as flags (``--lr`` as ``lr``: both players' rates)."""
    from gankit.training.config import FIELDS

    values = {name: getattr(args, name, None) for name in [*FIELDS, "lr"] if name != "recipe"}
    return {name: value for name, value in values.items() if value is not None}


def _cmd_train(args: argparse.Namespace) -> int:
    from gankit import api
    from gankit.training.distributed import from_env
    from gankit.training.step import TrainingDiverged

    main = from_env().is_main  # under torchrun, rank 0 alone reports (and writes the report)

    def log(message: str) -> None:
        if main:
            print(message, file=sys.stderr)

    keys = _train_flags(args)
    progress = not args.quiet
    try:
        if args.resume is not None:
            if args.out is not None or args.recipe is not None or args.config is not None:
                raise GankitError("--resume takes only run controls (--steps, --time-limit ...)")
            run = api.resume(args.resume, progress=progress, log=log, **keys)
        else:
            if args.out is None:
                raise GankitError("train needs --out DIR (or --resume DIR)")
            run = api.train(
                args.recipe, out=args.out, config=args.config, progress=progress, log=log, **keys
            )
    except TrainingDiverged as error:
        log(f"gankit: training stopped: {error}")
        if args.report and main:  # the curves show how it diverged
            from gankit.report import write_report

            log(f"gankit: report at {write_report(args.resume or args.out)}")
        return 3
    result = run.result
    assert result is not None  # set by train and resume
    if result.status == "interrupted":
        log(
            f"gankit: interrupted at step {result.step}; checkpoint saved. "
            f"Continue with: gankit train --resume {result.run_dir}"
        )
        return 130
    reason = "time limit reached" if result.status == "time_limit" else "done"
    log(
        f"gankit: {reason} at step {result.step} in {result.seconds:.1f} s. "
        f"Run folder: {result.run_dir} (figures in {result.run_dir / 'samples'})"
    )
    if args.report and main:
        log(f"gankit: report at {run.report()}")
    return 0


def _cmd_sample(args: argparse.Namespace) -> int:
    from gankit import api

    run = api.load(args.run_dir)
    n = args.n if args.n is not None else CLASS_ROW if args.label == "all" else SAMPLES
    out = run.write_samples(args.out, n, args.seed, args.label)
    what = f"{n} samples" if args.label is None else f"{n} samples of class {args.label}"
    if args.label == "all":
        what = f"{n} samples of each class"
    print(f"gankit: wrote {what} to {out}", file=sys.stderr)
    return 0


SAMPLES = 1000  # gankit sample's default count
CLASS_ROW = 10  # gankit sample --class all: the default samples per class (one grid row)


def _class_choice(text: str) -> int | str:
    """``--class``: a class index >= 0, or ``all``."""
    return text if text == "all" else _integer(text, 0, "a class index >= 0 or all")


def _cmd_eval(args: argparse.Namespace) -> int:
    import json

    from gankit import api

    def log(message: str) -> None:
        print(message, file=sys.stderr)

    run = api.load(args.run_dir)
    result = run.evaluate(
        args.n, args.seed, features=args.features, progress=not args.quiet, log=log
    )
    if args.json:
        print(json.dumps(result))
    else:
        width = max(len(key) for key in result)
        for key, value in result.items():
            shown = f"{value:.4g}" if isinstance(value, float) else value
            print(f"{key:<{width}}  {shown}")
    return 0


REPORT_EPILOG = """examples:
  gankit report runs/ring          writes runs/ring/report.html and runs/ring/training.gif
"""

COMPARE_EPILOG = """examples:
  gankit compare runs/gan runs/wgan-gp
  gankit compare runs/* --out all-runs.html
"""


def _cmd_report(args: argparse.Namespace) -> int:
    from gankit.report import write_report

    print(f"gankit: wrote {write_report(args.run_dir)}", file=sys.stderr)
    return 0


def _cmd_compare(args: argparse.Namespace) -> int:
    from gankit.report import write_compare

    print(f"gankit: wrote {write_compare(args.run_dirs, args.out)}", file=sys.stderr)
    return 0


STUDY_EPILOG = """examples:
  gankit study --list
  gankit study uniform-shift --out studies/uniform-shift
  gankit study all --out studies --seed 0          every study, plus studies/index.html
"""


def _cmd_study(args: argparse.Namespace) -> int:
    from gankit.studies import STUDIES, get_study

    if args.list:
        for name in STUDIES:
            print(f"{name:<22} {get_study(name).CLAIM}")
        return 0
    if args.name is None or args.out is None:
        raise GankitError("study needs NAME and --out DIR (or --list)")
    from gankit import api

    def log(message: str) -> None:
        print(message, file=sys.stderr)

    found = api.study(
        args.name, out=args.out, seed=args.seed, quick=args.quick, progress=not args.quiet, log=log
    )
    if isinstance(found, list):  # all
        log(f"gankit: index at {args.out}/index.html")
        return 0 if all(r.holds for r in found) else 1
    for claim in found.claims:
        log(f"  [{'holds' if claim.holds else 'FAILS'}] {claim.claim}: measured {claim.measured}")
    log(f"gankit: study {args.name} in {found.seconds:.1f} s; see {args.out}/summary.md")
    return 0 if found.holds else 1


def _positive_int(text: str) -> int:
    return _integer(text, 1, "a positive integer")


def _integer(text: str, minimum: int, expected: str) -> int:
    """A flag's integer value, at least ``minimum``; otherwise argparse's one-line error."""
    try:
        value = int(text)
    except ValueError:
        value = minimum - 1
    if value < minimum:
        raise argparse.ArgumentTypeError(f"expected {expected}, got {text!r}")
    return value


def _add_train_parser(commands: argparse._SubParsersAction) -> None:
    from gankit.training.config import CHOICES, FIELDS
    from gankit.training.recipes import RECIPES, get_recipe

    recipes = "\n".join(f"  {r.name:<9} {r.summary}" for r in RECIPES.values())
    train = commands.add_parser(
        "train",
        help="train a GAN, NS-GAN, WGAN or WGAN-GP; writes a run folder",
        description=(
            "Train one recipe on a data set, with a progress bar, metrics.jsonl, figures in\n"
            f"samples/ and atomic checkpoints. Recipes:\n{recipes}\n"
            f"Without --recipe: {DEFAULT_RECIPE}, the project's tuned default for toy data and\n"
            "images (docs/default-recipe.md)."
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=TRAIN_EPILOG,
    )
    train.add_argument("--recipe", choices=sorted(RECIPES), help="objective and paper defaults")
    train.add_argument("--out", help="run folder to create")
    train.add_argument("--resume", metavar="DIR", help="continue the run in DIR")
    train.add_argument("--config", metavar="FILE.toml", help="TOML file of configuration keys")
    train.add_argument("--lr", type=float, help="learning rate of both players")
    train.add_argument("--quiet", action="store_true", help="no progress bar")
    train.add_argument(
        "--report", action="store_true", help="write DIR/report.html when training stops"
    )
    default = get_recipe(DEFAULT_RECIPE)
    helps = {
        "data": f"data spec, e.g. ring:modes=8 (default {default.toy.data})",
        "steps": f"total generator iterations (the recipe's, {default.toy.steps}); with "
        "--time-limit and no --steps, the run trains until the time limit",
        "seed": f"seed of every random draw (default {default.toy.seed})",
        "n_critic": "critic/discriminator steps per generator step",
        "time_limit": "stop (with a checkpoint) after this many seconds",
        "precision": "auto: bf16 only where the hardware runs it natively",
        "augment": "differentiable augmentation of the critic's inputs, image data only: "
        "comma-separated color, translation, cutout (DiffAugment); default none",
        "augment_p": "probability of each augmentation per sample, in [0, 1] (default 1.0), "
        "or auto: ADA's adaptive p",
        "conditional": "class-conditional networks trained on the data's labels (a "
        "labelled set: mnist5k, digits, stackedmnist, folder: with class subfolders, "
        "npy:X.npy,labels=Y.npy, or a toy set with modes); then gankit sample --class K",
        "clusters": "self-conditioning: networks conditioned on K k-means clusters of the "
        "training images, found before training, no labels needed (Liu et al. 2020); 0: off; "
        "auto (the default recipe on images): 50 on a stored set of at least 5,000 images, "
        "else 0; then gankit sample --class K draws cluster K (docs/default-recipe.md)",
    }
    for name, kind in FIELDS.items():
        if name == "recipe":
            continue
        flag = "--" + name.replace("_", "-")
        toy, images = getattr(default.toy, name), getattr(default.images, name)
        shown = f"{toy!r}" if toy == images else f"{toy!r} on toy data, {images!r} on images"
        text = helps.get(name, f"default: the recipe's ({DEFAULT_RECIPE}: {shown})")
        if kind is bool:
            # --spectral-norm / --no-spectral-norm: a recipe's true can be switched off
            action = argparse.BooleanOptionalAction
            train.add_argument(flag, dest=name, action=action, default=None, help=text)
        else:
            choices = CHOICES.get(name)
            train.add_argument(flag, dest=name, type=kind, choices=choices, default=None, help=text)
    train.set_defaults(run=_cmd_train)


def build_parser() -> argparse.ArgumentParser:
    """The full ``gankit`` argument parser."""
    parser = _Parser(
        prog="gankit",
        description="Train and study GANs and the distances they optimise.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=MAIN_EPILOG,
    )
    parser.add_argument("--version", action="version", version=f"gankit {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    examples = commands.add_parser(
        "examples",
        help="print the worked examples (shifted uniforms, parallel segments), exact",
        description=(
            "For each theta, the exact JS, KL, TV and W1 of docs/theory.md §4 next to the "
            "same quantities computed by gankit.divergences on a density grid."
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=EXAMPLES_EPILOG,
    )
    examples.add_argument(
        "--thetas",
        type=float,
        nargs="+",
        default=None,
        metavar="THETA",
        help="shifts to tabulate (default: -2 -1 -0.5 -0.25 0 0.25 0.5 1 1.5 2)",
    )
    examples.set_defaults(run=_cmd_examples)

    _add_train_parser(commands)

    sample = commands.add_parser(
        "sample",
        help="draw samples from a run's generator (.npy or a .png plot)",
        description="Draw N samples from the latest checkpoint (EMA weights when kept).",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=SAMPLE_EPILOG,
    )
    sample.add_argument("run_dir", metavar="DIR", help="run folder")
    sample.add_argument(
        "--n",
        type=_positive_int,
        default=None,
        help=f"number of samples (default {SAMPLES}; with --class all, per class, default "
        f"{CLASS_ROW})",
    )
    sample.add_argument(
        "--class",
        dest="label",
        type=_class_choice,
        default=None,
        metavar="K|all",
        help="a conditional run: samples of class K, or all: N of each class (a .png grid "
        "with one row per class); of a --clusters run, cluster K",
    )
    sample.add_argument("--out", required=True, help="output file: .npy array or .png plot")
    sample.add_argument("--seed", type=int, default=0, help="noise seed")
    sample.set_defaults(run=_cmd_sample)

    evaluate = commands.add_parser(
        "eval",
        help="measure a run against its data (modes, quality, W1)",
        description=(
            "Toy sets: modes covered, high-quality fraction (within 3 std of a mode), reverse "
            "KL of the mode histogram, exact W1 (POT) and sliced W1 between N generated and N "
            "fresh real samples. Image sets: classes covered and class KL to uniform (a small "
            "classifier trained once on the data and cached), FID, KID and precision/recall "
            "in its features (or Inception's), sliced W1 in pixels. stackedmnist: the 1,000 "
            "digit triples covered and their KL to uniform, FID and KID. Writes "
            "DIR/eval.json."
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=EVAL_EPILOG,
    )
    evaluate.add_argument("run_dir", metavar="DIR", help="run folder")
    evaluate.add_argument(
        "--n",
        type=_positive_int,
        default=None,
        help="samples per side (default: 2000; stackedmnist: 26000, its published protocol)",
    )
    evaluate.add_argument("--seed", type=int, default=0, help="seed of the samples drawn")
    evaluate.add_argument("--json", action="store_true", help="print one JSON object")
    evaluate.add_argument(
        "--quiet", action="store_true", help="no progress bar (while the classifier trains)"
    )
    evaluate.add_argument(
        "--features",
        choices=("classifier", "inception"),
        default="classifier",
        help="image sets: feature space of FID, KID and precision/recall; inception needs "
        "torch-fidelity and its weights on disk (nothing is downloaded)",
    )
    evaluate.set_defaults(run=_cmd_eval)

    report = commands.add_parser(
        "report",
        help="write DIR/report.html: configuration, curves, samples, animation, eval",
        description=(
            "Write one self-contained page (images embedded, no network) of a run folder: the\n"
            "resolved configuration, loss / W estimate / D(real), D(fake) / gradient-norm /\n"
            "penalty curves from metrics.jsonl, the newest sample figure, an animation of all\n"
            "of them (also DIR/training.gif) and eval.json. Works on a run still training."
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=REPORT_EPILOG,
    )
    report.add_argument("run_dir", metavar="DIR", help="run folder")
    report.set_defaults(run=_cmd_report)

    compare = commands.add_parser(
        "compare",
        help="one page comparing runs: overlaid curves, final samples, eval side by side",
        description=(
            "Write one self-contained page that overlays the runs' training curves (one line\n"
            "per run, labelled folder (recipe)) and sets their configurations (the keys that\n"
            "differ), final sample figures and eval.json numbers side by side."
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=COMPARE_EPILOG,
    )
    compare.add_argument("run_dirs", nargs="*", metavar="DIR", help="two or more run folders")
    compare.add_argument("--out", default="compare.html", help="page to write (compare.html)")
    compare.set_defaults(run=_cmd_compare)

    study = commands.add_parser(
        "study",
        help="run a reproducible study of one claim of the theory",
        description=(
            "Each study measures one claim of docs/theory.md and writes DIR/results.json (claims\n"
            "with expected and measured values and a verdict), PNG figures and DIR/summary.md.\n"
            "Exit code 1 when a claim does not hold."
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=STUDY_EPILOG,
    )
    study.add_argument("name", nargs="?", metavar="NAME", help="a study, or all")
    study.add_argument("--out", help="output folder")
    study.add_argument("--seed", type=int, default=0, help="seed of every random draw")
    study.add_argument("--quick", action="store_true", help="a small, fast version (tests)")
    study.add_argument("--list", action="store_true", help="name every study with its claim")
    study.add_argument("--quiet", action="store_true", help="no progress bar (study all)")
    study.set_defaults(run=_cmd_study)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``gankit`` command; returns the exit code."""
    parser = build_parser()
    # Warnings (e.g. a damaged checkpoint skipped) as one line each, like errors.
    warnings.formatwarning = lambda message, *_args, **_kwargs: f"gankit: warning: {message}\n"
    try:
        args = parser.parse_args(argv)
        if args.command is None:
            parser.print_help()
            return 0
        return int(args.run(args))
    except GankitError as error:
        print(f"gankit: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("gankit: interrupted", file=sys.stderr)
        return 130
