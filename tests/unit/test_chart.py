"""The trend chart, read back as pixels: each day's bars stand as high as its figures."""

from __future__ import annotations

import io
from datetime import date, timedelta

from PIL import Image

from bot.slack.chart import BOTTOM, HEIGHT, LEFT, RIGHT, TOP, WIDTH, trend_png
from bot.store import TrendDay

RED, ORANGE, GREEN = (0xD6, 0x27, 0x28), (0xFF, 0x7F, 0x0E), (0x2C, 0xA0, 0x2C)


def days(figures: list[tuple[int, int, int]]) -> list[TrendDay]:
    first = date(2026, 11, 1)
    return [
        TrendDay(day=first + timedelta(days=i), compliant=c, noncompliant=n, error=e)
        for i, (c, n, e) in enumerate(figures)
    ]


def column(image: Image.Image, x: int, colour: tuple[int, int, int]) -> int:
    """How many pixels of ``colour`` the plot area holds in column ``x``."""
    return sum(1 for y in range(TOP, BOTTOM + 1) if image.getpixel((x, y)) == colour)


def test_the_bars_are_as_high_as_each_days_open_keys_and_errors() -> None:
    figures = [(96, 4, 0), (96, 2, 2), (100, 0, 0), (97, 1, 2), (94, 6, 0)]
    image = Image.open(io.BytesIO(trend_png(days(figures))))
    assert image.format == "PNG" and image.size == (WIDTH, HEIGHT)
    slot = (RIGHT - LEFT) / (len(figures) + 1)
    # a column a little off each bar's centre, clear of the compliant line's dots
    reds = [column(image, round(LEFT + slot * (i + 1) - slot * 0.3), RED) for i in range(5)]
    oranges = [column(image, round(LEFT + slot * (i + 1) - slot * 0.3), ORANGE) for i in range(5)]
    unit = reds[-1] / 6  # the tallest bar
    assert unit > 10
    for (_, keys, errors), red, orange in zip(figures, reds, oranges, strict=True):
        assert abs(red - keys * unit) <= 3
        assert abs(orange - errors * unit) <= 3
    # the compliant share is drawn in green
    assert any(image.getpixel((x, y)) == GREEN for x in range(WIDTH) for y in range(TOP, BOTTOM))


def test_an_empty_or_all_clear_trend_is_still_a_chart() -> None:
    for trend in ([], days([(5, 0, 0)] * 30), days([(0, 0, 0)] * 3)):
        image = Image.open(io.BytesIO(trend_png(trend)))
        assert image.size == (WIDTH, HEIGHT)
        assert not any(
            image.getpixel((x, y)) in (RED, ORANGE)
            for x in range(LEFT + 1, RIGHT)
            for y in range(TOP, BOTTOM)
        )
