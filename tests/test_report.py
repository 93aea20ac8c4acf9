"""Run reports, comparison pages and their command line: self-contained pages that show a run.

Pages are checked structurally (every image a data URI that decodes to a PNG or GIF, the
configuration and eval tables) and, where Chromium is installed, rendered headless: every image
decodes, no script or load error, and the screenshot is not blank (the check is itself tested
on a faulty page and an empty one).
"""

from __future__ import annotations

import base64
import contextlib
import io
import json
import re
import shutil
import subprocess
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from gankit.cli import main
from gankit.report import write_report
from gankit.studies.runner import run_study, write_index

TINY = [
    "--data",
    "ring",
    "--steps",
    "6",
    "--sample-every",
    "2",
    "--log-every",
    "2",
    "--width",
    "16",
    "--depth",
    "1",
    "--batch-size",
    "16",
    "--precision",
    "fp32",
    "--device",
    "cpu",
    "--quiet",
]
# wgan-gp logs losses, the W estimate, gradient norms and a non-zero penalty: 4 curve panels
GP_PANELS = {
    "losses",
    "critic's W estimate, mean D(real) - mean D(fake)",
    "gradient norms",
    "gradient penalty",
}


class Page(HTMLParser):
    """The images, table rows, section headings and notes of a page."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.images: list[dict[str, str]] = []
        self.tables: list[list[list[str]]] = []
        self.headings: list[str] = []
        self.notes: list[str] = []
        self._text: list[str] | None = None
        self.feed(text)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "img":
            self.images.append({k: v or "" for k, v in attrs})
        elif tag == "table":
            self.tables.append([])
        elif tag == "tr":
            self.tables[-1].append([])
        elif tag in ("td", "th", "h2", "p"):
            self._text = []

    def handle_data(self, data: str) -> None:
        if self._text is not None:
            self._text.append(data)

    def handle_endtag(self, tag: str) -> None:
        if self._text is None:
            return
        text = "".join(self._text)
        if tag in ("td", "th"):
            self.tables[-1][-1].append(text)
        elif tag == "h2":
            self.headings.append(text)
        elif tag == "p":
            self.notes.append(text)
        if tag in ("td", "th", "h2", "p"):
            self._text = None

    def table_with(self, first_cell: str) -> list[list[str]]:
        """The table whose header row starts with ``first_cell``."""
        return next(t for t in self.tables if t and t[0][0] == first_cell)


def decoded_images(page: Page) -> list[bytes]:
    """Every image's bytes; each ``src`` must be a base64 data URI of a PNG or a GIF."""
    found = []
    for image in page.images:
        head, _, payload = image["src"].partition(";base64,")
        assert head in ("data:image/png", "data:image/gif") and payload
        data = base64.b64decode(payload, validate=True)
        assert data.startswith(b"\x89PNG\r\n\x1a\n" if head.endswith("png") else b"GIF89a")
        found.append(data)
    return found


def train(out: Path, recipe: str, *extra: str) -> str:
    """Train a tiny run with the CLI; returns its stderr."""
    stderr = io.StringIO()
    with contextlib.redirect_stderr(stderr):
        code = main(["train", "--recipe", recipe, "--out", str(out), *TINY, *extra])
    assert code == 0, stderr.getvalue()
    return stderr.getvalue()


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> dict[str, Path | str]:
    """Two tiny runs (3 sample figures each); the wgan-gp one trained with --report."""
    root = tmp_path_factory.mktemp("runs")
    log = train(root / "gp", "wgan-gp", "--report")
    train(root / "ns", "nsgan")
    return {"gp": root / "gp", "ns": root / "ns", "gp_log": log}


def copy_run(source: Path, target: Path) -> Path:
    shutil.copytree(source, target, ignore=shutil.ignore_patterns("report.html", "training.gif"))
    return target


def test_train_report_writes_the_page_and_prints_its_path(runs):
    page_path = runs["gp"] / "report.html"
    assert page_path.is_file() and (runs["gp"] / "training.gif").is_file()
    assert f"gankit: report at {page_path}" in runs["gp_log"].splitlines()


def test_train_report_also_follows_a_time_limit_stop(tmp_path):
    log = train(tmp_path / "run", "nsgan", "--steps", "10000", "--time-limit", "0.001", "--report")
    assert "time limit reached" in log and (tmp_path / "run" / "report.html").is_file()
    assert f"gankit: report at {tmp_path / 'run' / 'report.html'}" in log


def test_report_embeds_every_figure_as_a_data_uri(runs):
    page = Page((runs["gp"] / "report.html").read_text())
    images = decoded_images(page)
    others = {"samples at step 6 (step_0000006.png)", "training.gif: 3 sample figures in order"}
    assert {image["alt"] for image in page.images} == GP_PANELS | others
    assert len(images) == len(GP_PANELS) + 2  # + the newest sample figure and the GIF
    newest = (runs["gp"] / "samples" / "step_0000006.png").read_bytes()
    assert newest in images and (runs["gp"] / "training.gif").read_bytes() in images
    text = re.sub(r'src="data:[^"]*"', "", (runs["gp"] / "report.html").read_text())
    assert "http" not in text and "<script" not in text  # nothing fetched, nothing run


def test_report_config_table_holds_the_resolved_configuration(runs):
    page = Page((runs["gp"] / "report.html").read_text())
    config = {row[0]: row[1] for row in page.table_with("key")[1:]}
    assert config["recipe"] == "wgan-gp" and config["steps"] == "6" and config["width"] == "16"
    assert config["critic_warmup"] == "false" and config["gp_weight"] == "0.1"
    assert not any(t[0][0] == "metric" for t in page.tables)
    assert any("No eval.json" in note for note in page.notes)


def test_report_shows_eval_json_as_a_table_with_nulls(runs, tmp_path):
    run = copy_run(runs["gp"], tmp_path / "run")
    values = {"modes_covered": 3, "w1": 0.123456, "fid_features": None, "data": "ring"}
    (run / "eval.json").write_text(json.dumps(values))
    page = Page(write_report(run).read_text())
    rows = page.table_with("metric")
    assert rows[1:] == [
        ["modes_covered", "3"],
        ["w1", "0.1235"],
        ["fid_features", "null"],
        ["data", "ring"],
    ]
    assert not any("No eval.json" in note for note in page.notes)


def test_gif_has_one_frame_per_sample_figure(runs):
    figures = sorted((runs["gp"] / "samples").glob("step_*.png"))
    with Image.open(runs["gp"] / "training.gif") as gif:
        assert gif.n_frames == len(figures) == 3
        with Image.open(figures[0]) as first:
            assert gif.size == first.size


def test_missing_pieces_become_notes_not_errors(runs, tmp_path):
    run = tmp_path / "fresh"
    run.mkdir()
    shutil.copy(runs["ns"] / "config.toml", run / "config.toml")
    (run / "metrics.jsonl").write_text('{"step": 2, "d_lo')  # cut short by a killed process
    page = Page(write_report(run).read_text())
    assert page.images == []
    notes = " ".join(page.notes)
    for missing in ("No metrics logged yet", "No sample figures yet", "No eval.json"):
        assert missing in notes
    assert {row[0]: row[1] for row in page.table_with("key")[1:]}["recipe"] == "nsgan"


@pytest.mark.parametrize("make", ["empty", "missing", "file"])
def test_report_of_a_folder_that_is_not_a_run_exits_2(tmp_path, capsys, make):
    target = tmp_path / "x"
    if make == "empty":
        target.mkdir()
    elif make == "file":
        target.write_text("hello")
    assert main(["report", str(target)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("gankit: error: ") and err.count("\n") == 1
    expected = "is not a run folder" if make == "empty" else "does not exist or is not a folder"
    assert expected in err


def test_compare_overlays_runs_and_sets_evals_side_by_side(runs, tmp_path, monkeypatch, capsys):
    gp = copy_run(runs["gp"], tmp_path / "gp")
    (gp / "eval.json").write_text(json.dumps({"w1": 0.5, "modes_covered": 8}))
    monkeypatch.chdir(tmp_path)
    assert main(["compare", str(gp), str(runs["ns"])]) == 0
    assert "gankit: wrote compare.html" in capsys.readouterr().err
    page = Page((tmp_path / "compare.html").read_text())
    images = decoded_images(page)
    # the union of both runs' panels (nsgan adds D(real) and D(fake)) + one sample figure each
    assert len(images) == len(GP_PANELS) + 1 + 2
    assert sum(image["alt"].startswith("gp (wgan-gp), step 6") for image in page.images) == 1
    assert sum(image["alt"].startswith("ns (nsgan), step 6") for image in page.images) == 1
    evaluation = page.table_with("metric")
    assert evaluation[0] == ["metric", "gp (wgan-gp)", "ns (nsgan)"]
    assert ["w1", "0.5", ""] in evaluation and ["modes_covered", "8", ""] in evaluation
    differ = {row[0]: row[1:] for row in page.table_with("key")[1:]}
    assert differ["recipe"] == ["wgan-gp", "nsgan"] and "steps" not in differ
    overview = page.table_with("run")
    assert [row[0] for row in overview[1:]] == ["gp (wgan-gp)", "ns (nsgan)"]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        ([], "compare needs at least 2 run folders, got 0"),
        (["{gp}"], "compare needs at least 2 run folders, got 1"),
        (["{gp}", "{tmp}"], "is not a run folder"),
    ],
)
def test_compare_errors_exit_2_with_one_line(runs, tmp_path, capsys, argv, message):
    argv = [a.format(gp=runs["gp"], tmp=tmp_path) for a in argv]
    assert main(["compare", *argv, "--out", str(tmp_path / "c.html")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("gankit: error: ") and message in err and err.count("\n") == 1
    assert not (tmp_path / "c.html").exists()


# Put first in <head> of a copy of the page: collects script errors, console errors and failed
# loads, then on load logs them with the count of images that did not decode.
PROBE = """<script>
const probeErrors = [];
addEventListener("error", e => probeErrors.push(e.message || "failed to load "
  + (e.target.src || e.target.href || e.target.tagName).slice(-80)), true);
addEventListener("unhandledrejection", e => probeErrors.push("rejected: " + e.reason));
const consoleError = console.error;
console.error = (...args) => { probeErrors.push(args.join(" ")); consoleError(...args); };
addEventListener("load", () => {
  const broken = [...document.images].filter(i => !i.complete || i.naturalWidth === 0);
  console.log("probe " + JSON.stringify(
    {images: document.images.length, broken: broken.length, errors: probeErrors}));
});
</script>"""


@dataclass
class Rendered:
    """What headless Chromium made of a page."""

    images: int
    broken: int  # images that did not load or decode (naturalWidth 0)
    errors: list[str]  # script errors, console.error calls, failed loads
    pixels: np.ndarray = field(repr=False)  # the screenshot, grey levels 0..255

    @property
    def blank(self) -> bool:
        """Fewer than 1 pixel in 1000 differs from the most common grey (the background)."""
        levels = np.bincount(self.pixels.astype(np.uint8).ravel(), minlength=256)
        return levels.sum() - levels.max() < self.pixels.size / 1000


def render(browser: str, page_path: Path, tmp_path: Path) -> Rendered:
    """Render a probed copy of ``page_path`` in ``tmp_path``: a page that is not self-contained
    (a relative link to a file) fails to load it there."""
    text = page_path.read_text()
    assert text.count("<head>") == 1
    probed = tmp_path / f"probed-{page_path.name}"
    probed.write_text(text.replace("<head>", "<head>" + PROBE))
    shot = tmp_path / f"{page_path.stem}.png"
    command = [browser, "--headless", "--no-sandbox", "--disable-gpu", "--enable-logging=stderr"]
    command += ["--v=0", "--virtual-time-budget=5000", "--window-size=1200,2000"]
    done = subprocess.run(
        [*command, f"--screenshot={shot}", probed.resolve().as_uri()],
        capture_output=True,
        text=True,
        timeout=60,
    )
    found = re.search(r'"probe (\{.*\})", source:', done.stderr)
    assert done.returncode == 0 and found, done.stderr[-2000:]
    report = json.loads(found.group(1))
    with Image.open(shot) as image:
        pixels = np.asarray(image.convert("L"), dtype=float)
    return Rendered(report["images"], report["broken"], report["errors"], pixels)


def test_render_check_catches_broken_images_and_script_errors(chromium, tmp_path):
    good = io.BytesIO()
    Image.new("RGB", (200, 100), "red").save(good, format="PNG")
    cut = good.getvalue()[:40]  # a PNG cut short: the browser cannot decode it
    images = "".join(
        f'<img src="data:image/png;base64,{base64.b64encode(png).decode()}">'
        for png in (good.getvalue(), cut)
    )
    faulty = tmp_path / "faulty.html"
    faulty.write_text(
        f"<!doctype html><html><head></head><body><h1>faulty</h1>{images}"
        '<img src="missing.png"><script>throw new Error("boom")</script>'
        '<script>console.error("said so")</script></body></html>'
    )
    shown = render(chromium, faulty, tmp_path)
    assert (shown.images, shown.broken) == (3, 2) and not shown.blank
    assert len(shown.errors) == 4  # the cut PNG, missing.png, the throw and console.error
    assert any("missing.png" in e for e in shown.errors) and any("boom" in e for e in shown.errors)
    assert "said so" in shown.errors


def test_render_check_calls_an_empty_page_blank(chromium, tmp_path):
    empty = tmp_path / "empty.html"
    empty.write_text("<!doctype html><html><head></head><body></body></html>")
    shown = render(chromium, empty, tmp_path)
    assert shown.blank and (shown.images, shown.broken, shown.errors) == (0, 0, [])


def assert_renders(shown: Rendered, images: int) -> None:
    assert (shown.images, shown.broken, shown.errors) == (images, 0, [])
    assert not shown.blank


def test_report_renders_in_headless_chromium(runs, chromium, tmp_path):
    shown = render(chromium, runs["gp"] / "report.html", tmp_path)
    assert_renders(shown, images=len(GP_PANELS) + 2)


@pytest.mark.slow
def test_compare_page_renders_in_headless_chromium(runs, chromium, tmp_path, capsys):
    out = tmp_path / "compare.html"
    assert main(["compare", str(runs["gp"]), str(runs["ns"]), "--out", str(out)]) == 0
    capsys.readouterr()
    shown = render(chromium, out, tmp_path)
    assert_renders(shown, images=len(GP_PANELS) + 1 + 2)  # nsgan adds D(real), D(fake)


@pytest.mark.slow
def test_studies_index_renders_in_headless_chromium(chromium, tmp_path):
    result = run_study("optimal-discriminator", tmp_path / "optimal-discriminator", quick=True)
    write_index([result], tmp_path)
    shown = render(chromium, tmp_path / "index.html", tmp_path)
    assert_renders(shown, images=len(result.figures))


@pytest.mark.slow
def test_a_run_until_its_time_limit_reports_the_limit_not_a_step_count(tmp_path, capsys):
    run = tmp_path / "timed"
    flags = [f for f in TINY if f not in ("--steps", "6")]
    assert main(["train", "--out", str(run), "--time-limit", "1", *flags]) == 0
    assert main(["report", str(run)]) == 0
    capsys.readouterr()
    text = (run / "report.html").read_text()
    assert "of a run until its 1 s time limit" in text
    assert "1000000000" not in text and "1000000000" not in (run / "config.toml").read_text()


def test_a_report_of_an_older_run_folder_reads_it_as_its_run_was(tmp_path, capsys):
    run = tmp_path / "old"
    assert main(["train", "--out", str(run), *TINY]) == 0
    toml = run / "config.toml"
    # As gankit wrote it before config_format: until-the-time-limit was steps = 1000000000.
    lines = [
        "steps = 1000000000" if line.startswith("steps") else line
        for line in toml.read_text().splitlines()
        if not line.startswith(("config_format", "r1_every", "time_limit"))
    ]
    toml.write_text("\n".join([*lines, "time_limit = 30.0"]) + "\n")
    assert main(["report", str(run)]) == 0
    capsys.readouterr()
    text = (run / "report.html").read_text()
    assert "of a run until its 30 s time limit" in text and "1000000000" not in text
