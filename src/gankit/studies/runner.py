"""Run one study or all of them; ``all`` also writes an index page linking every summary."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from gankit._progress import progress_bar
from gankit.report import page
from gankit.runfolder import atomic_write_text, output_folder
from gankit.studies import STUDIES, get_study
from gankit.studies._common import single_thread
from gankit.studies._result import StudyResult, write_result


def run_study(name: str, out: str | Path, *, seed: int = 0, quick: bool = False) -> StudyResult:
    """Run study ``name`` into ``out`` (made with its parents): results.json, summary.md and
    its figures."""
    module = get_study(name)
    out = output_folder(out)
    started = time.perf_counter()
    with single_thread():  # tiny networks: a second thread costs more than it gives
        result: StudyResult = module.run(out, seed=seed, quick=quick)
    result.seconds = time.perf_counter() - started
    result.seed, result.quick = seed, quick
    write_result(result, out, module.CLAIM)
    return result


def run_all(
    out: str | Path,
    *,
    seed: int = 0,
    quick: bool = False,
    log: Callable[[str], None] = print,
    progress: bool = True,
) -> list[StudyResult]:
    """Run every study into ``out/NAME`` and write ``out/index.md`` and ``out/index.html``;
    with ``progress``, a bar on stderr ticks once per study."""
    out = output_folder(out)  # a file in the way fails before the first study
    results = []
    with progress_bar(len(STUDIES), "studies", unit="study", enabled=progress) as bar:
        for name in STUDIES:
            bar.set_postfix_str(name)
            result = run_study(name, out / name, seed=seed, quick=quick)
            bar.update(1)
            verdict = "all claims hold" if result.holds else "SOME CLAIMS FAIL"
            with bar.external_write_mode():  # the line above the bar, not through it
                log(f"gankit: study {name}: {verdict} ({result.seconds:.1f} s)")
            results.append(result)
    write_index(results, out)
    return results


def write_index(results: list[StudyResult], out: Path) -> None:
    """``index.md`` linking each summary, and ``index.html``: verdicts and embedded figures."""
    lines = [
        "# gankit studies",
        "",
        "| study | claims | holds | seconds |",
        "| --- | --- | --- | --- |",
    ]
    for r in results:
        held = sum(c.holds for c in r.claims)
        lines.append(
            f"| [{r.name}]({r.name}/summary.md) | {held}/{len(r.claims)} | "
            f"{'yes' if r.holds else '**no**'} | {r.seconds:.1f} |"
        )
    atomic_write_text(out / "index.md", "\n".join(lines) + "\n")
    page.write_page(out / "index.html", _index_page(results))


def _index_page(results: list[StudyResult]) -> str:
    """The studies index in the report's page shell, every figure embedded."""
    overview = page.table(
        ["study", "claims holding", "all hold", "seconds"],
        [
            [r.name, f"{sum(c.holds for c in r.claims)}/{len(r.claims)}", r.holds, r.seconds]
            for r in results
        ],
    )
    sections = []
    for r in results:
        claims = "".join(
            f"<li class={'ok' if c.holds else 'bad'}>{page.escape(c.claim)}</li>" for c in r.claims
        )
        figures = "".join(
            page.figure(f, f.name) if f.is_file() else page.note(f"{f.name} is missing.")
            for f in r.figures
        )
        link = f'<p><a href="{r.name}/summary.md">{r.name}/summary.md</a></p>'
        heading = f"{r.name} ({r.seconds:.1f} s)"
        sections.append(
            page.section(heading, f"{link}<ul>{claims}</ul><div class=grid>{figures}</div>")
        )
    return page.shell("gankit studies", overview + "".join(sections))
