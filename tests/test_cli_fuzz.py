"""Malformed input, generated: every one gives exit code 2 and one line, never a traceback.

The training loop itself is replaced by a stub, so that inputs which happen to be valid
return at once; everything before it (argparse, TOML, config merge, data specs) is real.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gankit.cli import main
from gankit.training import launch
from gankit.training.loop import TrainResult

TOY_NAMES = ["ring", "grid", "swissroll", "uniform1d", "gmm1d", "segments"]
KEYS = [
    "modes",
    "radius",
    "std",
    "side",
    "spacing",
    "noise",
    "scale",
    "low",
    "high",
    "means",
    "weights",
    "theta",
    "bogus",
]
VALUES = st.one_of(
    st.sampled_from(["0", "-1", "1e400", "nan", "inf", "", "2", "0.5", "1;2", ";", "x", "1e-300"]),
    st.text(alphabet="0123456789.-e;+xn", max_size=6),
)
SPECS = st.one_of(
    st.text(max_size=30),
    st.builds(
        lambda name, pairs, sep: name + sep + ",".join(f"{k}={v}" for k, v in pairs),
        st.sampled_from(TOY_NAMES + ["moons", ""]),
        st.lists(st.tuples(st.sampled_from(KEYS), VALUES), max_size=3),
        st.sampled_from([":", "", "::", ": "]),
    ),
)
FLAGS = [
    "--steps",
    "--n-critic",
    "--lr",
    "--batch-size",
    "--seed",
    "--width",
    "--gp-weight",
    "--clip",
    "--beta1",
    "--ema-decay",
    "--time-limit",
    "--optimizer",
    "--precision",
]


@pytest.fixture(autouse=True)
def _no_training(monkeypatch):
    def stub(config, run_dir, **_):
        return TrainResult(config.steps, "completed", 0.0, Path(run_dir))

    monkeypatch.setattr(launch, "train", stub)


def _exits_cleanly(argv: list[str], capsys) -> None:
    code = main(argv)  # any exception other than GankitError escapes here and fails the test
    err = capsys.readouterr().err
    assert code in (0, 2), (argv, code, err)
    if code == 2:
        assert err.startswith("gankit: error: ") and err.count("\n") == 1, (argv, err)
        assert "Traceback" not in err


FUZZ = settings(
    max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@FUZZ
@given(spec=SPECS)
def test_malformed_data_specs(spec, capsys):
    with tempfile.TemporaryDirectory() as folder:
        _exits_cleanly(["train", "--data", spec, "--out", f"{folder}/r", "--quiet"], capsys)


@FUZZ
@given(flag=st.sampled_from(FLAGS), value=st.one_of(VALUES, st.text(max_size=8)))
def test_malformed_flag_values(flag, value, capsys):
    with tempfile.TemporaryDirectory() as folder:
        argv = ["train", "--data", "ring", "--out", f"{folder}/r", "--quiet", f"{flag}={value}"]
        _exits_cleanly(argv, capsys)


TOML_VALUES = st.one_of(
    st.integers(-5, 5),
    st.floats(allow_nan=False),
    st.booleans(),
    st.text(max_size=5),
    st.just([1, 2]),
)


@FUZZ
@given(
    text=st.one_of(
        st.text(max_size=60),
        st.dictionaries(
            st.sampled_from(
                [
                    "steps",
                    "lr_g",
                    "data",
                    "recipe",
                    "n_critic",
                    "optimizer",
                    "clip",
                    "stepz",
                    "train",
                ]
            ),
            TOML_VALUES,
            max_size=4,
        ).map(lambda d: "\n".join(f"{k} = {_toml(v)}" for k, v in d.items())),
    )
)
def test_malformed_toml_files(text, capsys):
    with tempfile.TemporaryDirectory() as folder:
        config = Path(folder) / "c.toml"
        config.write_text(text, encoding="utf-8", errors="surrogatepass")
        _exits_cleanly(
            ["train", "--config", str(config), "--out", f"{folder}/r", "--quiet"], capsys
        )


def _toml(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return repr(value)  # ints, floats (inf is valid TOML) and lists of ints
