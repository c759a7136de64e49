"""The digest's 30-day trend chart: an 800 x 320 PNG drawn directly with Pillow.

Bars are what needs work each day (accounts with a root key, accounts with a root key under
an accepted risk, accounts that could not be audited); the line is the share of accounts that
were compliant. Today's figures are the Organization's current state, the same counts the
digest's text shows (``bot.services.org_state``). It is a handful of
rectangles, a polyline and some labels, so it is drawn straight onto an image (a few
milliseconds) rather than through a plotting library.
"""

from __future__ import annotations

import io
import math
from collections.abc import Sequence
from dataclasses import dataclass

from PIL import Image, ImageDraw, ImageFont

from bot.records.history import TrendDay

RED, YELLOW, ORANGE, GREEN = "#d62728", "#e8b500", "#ff7f0e", "#2ca02c"
INK, GRID = "#262626", "#e6e6e6"
WIDTH, HEIGHT = 800, 320
# The plot area: room for the title above, tick labels on both sides, the legend below.
LEFT, RIGHT, TOP, BOTTOM = 64, WIDTH - 64, 34, HEIGHT - 58

Font = ImageFont.FreeTypeFont | ImageFont.ImageFont


@dataclass(frozen=True)
class Scale:
    """Maps values in [low, high] onto pixel rows [BOTTOM, TOP]."""

    low: float
    high: float

    def y(self, value: float) -> float:
        return BOTTOM - (value - self.low) / (self.high - self.low) * (BOTTOM - TOP)


def nice_ticks(low: float, high: float, *, most: int = 6, integer: bool = False) -> list[float]:
    """Round tick values (1, 2, 2.5 or 5 times a power of ten) inside [low, high]."""
    span = max(high - low, 1e-9)
    raw = span / most
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 2.5, 5, 10) if m * power >= raw)
    if integer:
        step = max(1.0, float(math.ceil(step)))
    first = math.ceil(low / step - 1e-9) * step
    count = math.floor((high - first) / step + 1e-9) + 1
    return [first + i * step for i in range(count)]


def label(value: float) -> str:
    return f"{value:.0f}" if value == round(value) else f"{value:g}"


def trend_png(trend: Sequence[TrendDay], *, title: str | None = None) -> bytes:
    font = ImageFont.load_default(size=11)
    title_font = ImageFont.load_default(size=13)
    image = Image.new("RGB", (WIDTH, HEIGHT), "white")
    draw = ImageDraw.Draw(image)

    stacks = [(d.noncompliant, d.accepted, d.error) for d in trend]
    bars = Scale(0.0, max([1, *(sum(stack) for stack in stacks)]) * 1.15)
    percent = [100.0 * d.compliant / d.total if d.total else None for d in trend]
    shown = [(i, p) for i, p in enumerate(percent) if p is not None]
    low = min((p for _, p in shown), default=100.0)
    share = Scale(max(0.0, low - (100.0 - low) * 0.5 - 1), 100.5)

    # Grid and tick labels: accounts on the left, percent compliant on the right.
    for value in nice_ticks(bars.low, bars.high, integer=True):
        y = bars.y(value)
        draw.line([(LEFT, y), (RIGHT, y)], fill=GRID)
        draw.text((LEFT - 6, y), label(value), fill=INK, font=font, anchor="rm")
    for value in nice_ticks(share.low, share.high, most=5):
        draw.text((RIGHT + 6, share.y(value)), f"{label(value)}%", fill=INK, font=font, anchor="lm")
    vertical(image, "accounts", font, (14, (TOP + BOTTOM) // 2))
    vertical(image, "compliant", font, (WIDTH - 14, (TOP + BOTTOM) // 2))

    # Stacked bars, 80% of each day's width, half a day clear of each side.
    slot = (RIGHT - LEFT) / (len(trend) + 1)

    def centre(i: int) -> float:
        return LEFT + slot * (i + 1)

    for i, stack in enumerate(stacks):
        x0, x1 = centre(i) - slot * 0.4, centre(i) + slot * 0.4
        below = 0
        for value, colour in zip(stack, (RED, YELLOW, ORANGE), strict=True):
            if value:
                draw.rectangle([(x0, bars.y(below + value)), (x1, bars.y(below))], fill=colour)
                below += value

    # The compliant share: a line with a dot per audited day.
    points = [(centre(i), share.y(p)) for i, p in shown]
    if len(points) > 1:
        draw.line(points, fill=GREEN, width=2, joint="curve")
    for x, y in points:
        draw.ellipse([(x - 3, y - 3), (x + 3, y + 3)], fill=GREEN)

    # Axes: bottom and both sides (no top line).
    draw.line([(LEFT, TOP), (LEFT, BOTTOM), (RIGHT, BOTTOM), (RIGHT, TOP)], fill=INK)
    step = max(1, len(trend) // 10)
    for i in range(0, len(trend), step):
        draw.line([(centre(i), BOTTOM), (centre(i), BOTTOM + 4)], fill=INK)
        day = trend[i].day.strftime("%m-%d")
        draw.text((centre(i), BOTTOM + 6), day, fill=INK, font=font, anchor="mt")

    first, last = (trend[0].day, trend[-1].day) if trend else (None, None)
    heading = title or f"Root access keys by day, {first} to {last}"
    draw.text((WIDTH / 2, 10), heading, fill=INK, font=title_font, anchor="mt")
    legend(draw, font)

    buffer = io.BytesIO()
    image.save(buffer, format="PNG", optimize=False, compress_level=6)
    return buffer.getvalue()


def vertical(image: Image.Image, text: str, font: Font, at: tuple[int, int]) -> None:
    """``text`` turned a quarter left, centred on ``at``."""
    box = font.getbbox(text)
    strip = Image.new("RGB", (int(box[2]) + 2, int(box[3]) + 4), "white")
    ImageDraw.Draw(strip).text((1, 1), text, fill=INK, font=font)
    turned = strip.rotate(90, expand=True)
    image.paste(turned, (at[0] - turned.width // 2, at[1] - turned.height // 2))


def legend(draw: ImageDraw.ImageDraw, font: Font) -> None:
    entries = [
        (RED, "root key present"),
        (YELLOW, "accepted risk"),
        (ORANGE, "could not audit"),
        (GREEN, "% compliant"),
    ]
    widths = [18 + 6 + draw.textlength(text, font=font) for _, text in entries]
    gap = 28
    x = (WIDTH - (sum(widths) + gap * (len(entries) - 1))) / 2
    y = HEIGHT - 18
    for (colour, text), width in zip(entries, widths, strict=True):
        if colour == GREEN:
            draw.line([(x, y), (x + 18, y)], fill=colour, width=2)
            draw.ellipse([(x + 6, y - 3), (x + 12, y + 3)], fill=colour)
        else:
            draw.rectangle([(x, y - 5), (x + 18, y + 5)], fill=colour)
        draw.text((x + 24, y), text, fill=INK, font=font, anchor="lm")
        x += width + gap
