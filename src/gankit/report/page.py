"""The HTML page shell shared by run reports, comparisons and the studies index.

Pages are self-contained: one inline stylesheet, images embedded as base64 ``data:`` URIs,
no scripts and nothing fetched from the network, so a page can be mailed or archived alone.
"""

from __future__ import annotations

import base64
import html
import json
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from gankit.runfolder import atomic_write_text

CSS = """
body{font-family:system-ui,sans-serif;max-width:1200px;margin:0 auto;padding:0 16px 48px;
color:#222;line-height:1.4}
h1{border-bottom:2px solid #ccc;padding-bottom:4px}h2{margin-top:32px;color:#333}
table{border-collapse:collapse;margin:8px 0;font-size:14px}
th,td{border:1px solid #ddd;padding:3px 10px;text-align:left}
th{background:#f3f3f3}td.num{text-align:right;font-variant-numeric:tabular-nums}
.grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(520px,1fr));gap:12px}
figure{margin:0}figure img{max-width:100%;border:1px solid #eee}
figcaption{font-size:13px;color:#555;text-align:center}
.note{color:#777;font-style:italic}
.ok::marker{content:'\\2714  ';color:green}.bad::marker{content:'\\2718  ';color:#c00}
"""

_MIME = {b"\x89PNG": "image/png", b"GIF8": "image/gif"}


def escape(value: Any) -> str:
    """``value`` as HTML text, with ``<``, ``>``, ``&`` and quotes escaped."""
    return html.escape(str(value))


def shell(title: str, body: str) -> str:
    """A complete HTML document: ``title`` as the heading, ``body`` (HTML) below it."""
    return (
        f"<!doctype html>\n<html lang=en><head><meta charset=utf-8>"
        f"<meta name=viewport content='width=device-width'><title>{escape(title)}</title>"
        f"<style>{CSS}</style></head>\n<body><h1>{escape(title)}</h1>\n{body}\n</body></html>\n"
    )


def data_uri(image: bytes) -> str:
    """A ``data:`` URI of PNG or GIF bytes.

    Example:
        >>> data_uri(b"GIF89a")
        'data:image/gif;base64,R0lGODlh'
    """
    mime = _MIME.get(image[:4])
    if mime is None:
        raise ValueError(f"expected PNG or GIF bytes, got a file starting {image[:4]!r}")
    return f"data:{mime};base64,{base64.b64encode(image).decode('ascii')}"


def figure(image: bytes | Path, caption: str = "") -> str:
    """An embedded image (bytes, or a PNG/GIF file) with an optional caption."""
    data = image.read_bytes() if isinstance(image, Path) else image
    caption_html = f"<figcaption>{escape(caption)}</figcaption>" if caption else ""
    return f'<figure><img src="{data_uri(data)}" alt="{escape(caption)}">{caption_html}</figure>'


def note(text: str) -> str:
    """A short remark standing in for a missing piece."""
    return f"<p class=note>{escape(text)}</p>"


def section(heading: str, body: str) -> str:
    """A titled section."""
    return f"<section><h2>{escape(heading)}</h2>\n{body}\n</section>\n"


def cell(value: Any) -> str:
    """A table cell's text: floats to 4 significant digits, None and booleans as in JSON.

    Example:
        >>> cell(3.14159), cell(None), cell(False), cell(7), cell([1, 2])
        ('3.142', 'null', 'false', '7', '[1, 2]')
    """
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return f"{value:.4g}" if math.isfinite(value) else str(value)
    if isinstance(value, (list, dict)):
        return json.dumps(value)
    return str(value)


def table(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """An HTML table; numbers are right-aligned."""
    head = "".join(f"<th>{escape(h)}</th>" for h in header)
    body = []
    for row in rows:
        cells = []
        for value in row:
            number = isinstance(value, (int, float)) and not isinstance(value, bool)
            kind = " class=num" if number else ""
            cells.append(f"<td{kind}>{escape(cell(value))}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    return f"<table><tr>{head}</tr>{''.join(body)}</table>"


def write_page(path: Path, text: str) -> Path:
    """Write ``text`` to ``path`` atomically, so a reader never sees half a page."""
    path.parent.mkdir(parents=True, exist_ok=True)
    return atomic_write_text(path, text)
