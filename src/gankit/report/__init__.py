"""Figures of runs and studies, and the self-contained HTML pages that show them.

``write_report(DIR)`` writes ``DIR/report.html`` (``gankit report``); ``write_compare(DIRS, OUT)``
overlays several runs (``gankit compare``). ``page`` holds the page shell the studies index
shares. Matplotlib and Pillow are imported only when a figure is drawn.
"""

from gankit.report.figures import plot_toy_samples
from gankit.report.html import write_compare, write_report

__all__ = ["plot_toy_samples", "write_compare", "write_report"]
