"""The gankit command: help, exit codes, one-line errors, and a small end-to-end run."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from gankit import __version__
from gankit.cli import main

FAST = [
    "--width",
    "16",
    "--depth",
    "1",
    "--batch-size",
    "16",
    "--precision",
    "fp32",
    "--log-every",
    "2",
    "--quiet",
]


def run_cli(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_python_dash_m_gankit_shows_help_and_version():
    done = subprocess.run(
        [sys.executable, "-m", "gankit", "--help"], capture_output=True, text=True, check=True
    )
    for command in ("train", "sample", "eval", "examples"):
        assert command in done.stdout
    done = subprocess.run(
        [sys.executable, "-m", "gankit", "--version"], capture_output=True, text=True, check=True
    )
    assert done.stdout.strip() == f"gankit {__version__}"


COMMANDS = ["train", "sample", "eval", "report", "compare", "study", "examples"]


def _example_commands(text: str) -> list[list[str]]:
    """The command lines of a help text's examples: argv after ``gankit`` (descriptions, set
    off by two or more spaces, and ``# comments`` dropped)."""
    import re
    import shlex

    examples = text.split("examples:", 1)[1]
    found = []
    for line in examples.splitlines():
        if not line.strip().startswith(("gankit ", "torchrun ")):
            continue  # a description's second line, or the notes below the examples
        command = re.split(r"\s{2,}|#", line.strip())[0]
        words = shlex.split(command)
        if "gankit" in words:
            found.append(words[words.index("gankit") + 1 :])
    return found


@pytest.mark.parametrize("command", COMMANDS)
def test_every_commands_help_shows_examples_that_the_parser_accepts(capsys, command):
    from gankit.cli import build_parser

    with pytest.raises(SystemExit) as done:
        main([command, "--help"])
    assert done.value.code == 0
    examples = _example_commands(capsys.readouterr().out)
    assert examples and all(argv[0] == command for argv in examples), examples
    for argv in examples:  # a renamed flag or command would make the parser refuse it
        assert build_parser().parse_args(argv).command == command, argv


def test_top_level_help_names_the_real_default_recipe_and_real_commands(capsys):
    from gankit.cli import build_parser
    from gankit.training.recipes import DEFAULT_RECIPE, RECIPES

    assert main([]) == 0
    text = capsys.readouterr().out
    assert f"the default recipe, {DEFAULT_RECIPE}" in text
    others = [name for name in RECIPES if name != DEFAULT_RECIPE]
    assert not any(f"default recipe {name}" in text for name in others)
    for argv in _example_commands(text):
        assert build_parser().parse_args(argv).command in COMMANDS, argv
    with pytest.raises(SystemExit):
        main(["train", "--help"])
    train_help = capsys.readouterr().out
    assert f"Without --recipe: {DEFAULT_RECIPE}" in train_help
    assert "1000000000" not in train_help and "10**9" not in train_help


BAD_INPUT = [
    (
        ["train", "--recipe", "dcgan", "--data", "ring", "--out", "{tmp}/r"],
        "invalid choice: 'dcgan'",
    ),
    (["train", "--data", "moons", "--out", "{tmp}/r"], "unknown data set 'moons'"),
    (["train", "--data", "ring:modes", "--out", "{tmp}/r"], "ring:modes"),
    (["train", "--data", "ring:modes=0", "--out", "{tmp}/r"], "modes must be"),
    (["train", "--data", "ring:std=0", "--out", "{tmp}/r"], "std must be > 0"),
    (["train", "--data", "grid:std=-1", "--out", "{tmp}/r"], "std must be > 0"),
    (["train", "--steps", "-5", "--out", "{tmp}/r"], "steps must be >= 1, got -5"),
    (["train", "--n-critic", "0", "--out", "{tmp}/r"], "n_critic must be >= 1, got 0"),
    (["train", "--lr", "0", "--out", "{tmp}/r"], "lr_g must be > 0"),
    (["train", "--steps", "ten", "--out", "{tmp}/r"], "invalid int value: 'ten'"),
    (["train", "--out", "{tmp}/r", "--config", "{tmp}/missing.toml"], "config file not found"),
    (["train", "--out", "{tmp}/r", "--config", "{tmp}/bad.toml"], "is not valid TOML"),
    (["train", "--out", "{tmp}/r", "--config", "{tmp}/unknown.toml"], "unknown key 'stepz'"),
    (["train", "--resume", "{tmp}"], "is not a gankit run folder"),
    (["train", "--data", "ring"], "train needs --out DIR"),
    (["sample", "{tmp}", "--out", "{tmp}/x.npy"], "is not a gankit run folder"),
    (["sample", "{tmp}", "--n", "0", "--out", "{tmp}/x.npy"], "expected a positive integer"),
    (["eval", "{tmp}/nowhere"], "is not a gankit run folder"),
    (["frobnicate"], "invalid choice: 'frobnicate'"),
]


@pytest.mark.parametrize(("argv", "message"), BAD_INPUT)
def test_bad_input_exits_2_with_one_line(capsys, tmp_path, argv, message):
    (tmp_path / "bad.toml").write_text("steps = = 3\n")
    (tmp_path / "unknown.toml").write_text("stepz = 3\n")
    code, out, err = run_cli(capsys, *[a.format(tmp=tmp_path) for a in argv])
    assert code == 2
    assert err.startswith("gankit: error: ") and err.count("\n") == 1, err
    assert message in err
    assert "Traceback" not in err
    assert not (tmp_path / "r" / "config.toml").exists()


def test_errors_from_a_real_process_have_no_traceback(tmp_path):
    done = subprocess.run(
        [sys.executable, "-m", "gankit", "train", "--data", "ring:std=0", "--out", str(tmp_path)],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 2
    assert done.stderr.startswith("gankit: error:") and "Traceback" not in done.stderr


def test_train_sample_eval_end_to_end(capsys, tmp_path):
    run = tmp_path / "run"
    code, _, err = run_cli(
        capsys,
        "train",
        "--recipe",
        "nsgan",
        "--data",
        "ring:modes=4",
        "--out",
        str(run),
        "--steps",
        "6",
        "--seed",
        "3",
        *FAST,
    )
    assert code == 0, err
    assert "done at step 6" in err and str(run) in err
    assert (run / "config.toml").is_file() and (run / "checkpoints" / "latest.pt").is_file()
    # A second train into the same folder refuses and overwrites nothing.
    before = (run / "config.toml").read_text()
    code, _, err = run_cli(capsys, "train", "--data", "ring", "--out", str(run), *FAST)
    assert code == 2 and "already holds a run" in err
    assert (run / "config.toml").read_text() == before

    code, _, err = run_cli(
        capsys, "sample", str(run), "--n", "64", "--out", str(tmp_path / "s.npy")
    )
    assert code == 0, err
    assert np.load(tmp_path / "s.npy").shape == (64, 2)
    code, _, err = run_cli(
        capsys, "sample", str(run), "--n", "64", "--out", str(tmp_path / "s.png")
    )
    assert code == 0 and (tmp_path / "s.png").stat().st_size > 1000
    code, _, err = run_cli(capsys, "sample", str(run), "--out", str(tmp_path / "s.txt"))
    assert code == 2 and "must end in .npy or .png" in err

    code, out, _ = run_cli(capsys, "eval", str(run), "--n", "100", "--json")
    result = json.loads(out)
    assert {
        "modes_total",
        "modes_covered",
        "high_quality_fraction",
        "reverse_kl_modes",
        "w1",
        "sliced_w1",
        "n",
    } <= set(result)
    assert result["modes_total"] == 4 and result["n"] == 100
    assert json.loads((run / "eval.json").read_text()) == result

    code, _, err = run_cli(capsys, "train", "--resume", str(run), "--steps", "8", "--quiet")
    assert code == 0 and "done at step 8" in err
    code, _, err = run_cli(capsys, "train", "--resume", str(run), "--steps", "9", "--seed", "4")
    assert code == 2 and "cannot change seed when resuming" in err


def test_toml_config_is_used_and_flags_win(capsys, tmp_path):
    config = tmp_path / "c.toml"
    config.write_text('recipe = "wgan"\nn_critic = 2\nseed = 7\nsteps = 4\n')
    run = tmp_path / "run"
    code, _, err = run_cli(
        capsys,
        "train",
        "--config",
        str(config),
        "--out",
        str(run),
        "--n-critic",
        "3",
        "--data",
        "ring:modes=3",
        *FAST,
    )
    assert code == 0, err
    text = (run / "config.toml").read_text()
    assert 'recipe = "wgan"' in text and "n_critic = 3" in text and "seed = 7" in text
    assert "clip = 0.01" in text  # the wgan recipe's default


def test_examples_command_prints_the_table(capsys):
    code, out, _ = run_cli(capsys, "examples", "--thetas", "0.5")
    assert code == 0
    assert "shifted uniforms" in out and "parallel segments" in out


def test_boolean_flags_switch_a_recipe_value_on_and_off():
    from gankit.cli import _train_flags, build_parser
    from gankit.training.configure import resolve

    def spectral(*flags: str) -> bool:
        args = build_parser().parse_args(["train", "--recipe", "hinge", "--out", "x", *flags])
        return resolve("hinge", flag_values=_train_flags(args)).spectral_norm

    assert spectral() is True  # the recipe's value (Miyato et al. 2018)
    assert spectral("--no-spectral-norm") is False
    assert spectral("--spectral-norm") is True
