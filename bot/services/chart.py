"""The digest's 30-day trend chart: a PNG drawn with matplotlib (Agg, no display needed).

Bars are what needs work each day (accounts with a root key, accounts that could not be
audited); the line is the share of audited accounts that were compliant.
"""

from __future__ import annotations

import io
from collections.abc import Sequence

from bot.store import TrendDay

RED, ORANGE, GREEN = "#d62728", "#ff7f0e", "#2ca02c"


def trend_png(trend: Sequence[TrendDay], *, title: str | None = None) -> bytes:
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator, PercentFormatter

    figure = Figure(figsize=(8, 3.2), dpi=100)
    FigureCanvasAgg(figure)
    axes = figure.add_subplot(1, 1, 1)
    positions = list(range(len(trend)))
    open_keys = [d.noncompliant for d in trend]
    errors = [d.error for d in trend]
    axes.bar(positions, open_keys, color=RED, width=0.8, label="root key present")
    axes.bar(positions, errors, bottom=open_keys, color=ORANGE, width=0.8, label="could not audit")
    axes.set_ylabel("accounts")
    axes.yaxis.set_major_locator(MaxNLocator(integer=True))
    axes.set_ylim(
        bottom=0, top=max([1, *(k + e for k, e in zip(open_keys, errors, strict=True))]) * 1.15
    )

    share = axes.twinx()
    percent = [100.0 * d.compliant / d.total if d.total else None for d in trend]
    shown = [(x, p) for x, p in zip(positions, percent, strict=True) if p is not None]
    if shown:
        share.plot(
            [x for x, _ in shown],
            [p for _, p in shown],
            color=GREEN,
            marker="o",
            markersize=3,
            label="% compliant",
        )
        low = min(p for _, p in shown)
        share.set_ylim(max(0.0, low - (100.0 - low) * 0.5 - 1), 100.5)
    share.yaxis.set_major_formatter(PercentFormatter(decimals=0))
    share.set_ylabel("compliant")

    step = max(1, len(trend) // 10)
    axes.set_xticks(positions[::step], [d.day.strftime("%m-%d") for d in trend][::step])
    first, last = (trend[0].day, trend[-1].day) if trend else (None, None)
    axes.set_title(title or f"Root access keys by day, {first} to {last}", fontsize=10)
    handles = axes.get_legend_handles_labels()
    lines = share.get_legend_handles_labels()
    axes.legend(
        handles[0] + lines[0],
        handles[1] + lines[1],
        loc="upper center",
        bbox_to_anchor=(0.5, -0.12),
        ncols=3,
        fontsize=8,
        frameon=False,
    )
    for side in (axes, share):
        side.spines["top"].set_visible(False)
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()
