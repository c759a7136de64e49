"""The digest's 30-day trend chart: a PNG drawn with matplotlib (Agg, no display needed)."""

from __future__ import annotations

import io
from collections.abc import Sequence

from bot.store import TrendDay

COLOURS = {"noncompliant": "#d62728", "error": "#ff7f0e", "compliant": "#2ca02c"}


def trend_png(trend: Sequence[TrendDay], *, title: str | None = None) -> bytes:
    """Stacked bars per day: accounts with a root key, not audited, compliant."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    figure = Figure(figsize=(8, 3.2), dpi=100)
    FigureCanvasAgg(figure)
    axes = figure.add_subplot(1, 1, 1)
    days = [d.day.strftime("%m-%d") for d in trend]
    positions = list(range(len(trend)))
    bottom = [0] * len(trend)
    for name, label in (
        ("noncompliant", "root key present"),
        ("error", "could not audit"),
        ("compliant", "compliant"),
    ):
        values = [getattr(d, name) for d in trend]
        axes.bar(positions, values, bottom=bottom, color=COLOURS[name], label=label, width=0.8)
        bottom = [b + v for b, v in zip(bottom, values, strict=True)]
    step = max(1, len(trend) // 10)
    axes.set_xticks(positions[::step], days[::step])
    axes.yaxis.set_major_locator(MaxNLocator(integer=True))
    axes.set_ylabel("accounts")
    first, last = (trend[0].day, trend[-1].day) if trend else (None, None)
    axes.set_title(title or f"Root access keys by day, {first} to {last}", fontsize=10)
    axes.legend(loc="upper left", fontsize=8, frameon=False, ncols=3)
    axes.spines[["top", "right"]].set_visible(False)
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()
