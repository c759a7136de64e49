"""An anchor (a log line's id and hash kept outside the database) read and checked."""

from __future__ import annotations

import pytest

from bot.remediation.chain import Anchor, anchor_problem

HASH = "0123456789abcdef" * 4


def test_an_anchor_reads_back_what_it_prints() -> None:
    anchor = Anchor(57, HASH)
    assert str(anchor) == f"57:{HASH}"
    assert Anchor.parse(str(anchor)) == anchor
    assert Anchor.parse(f" 57:{HASH.upper()} ") == anchor


@pytest.mark.parametrize(
    "raw",
    ["", "57", f"57{HASH}", f"x:{HASH}", f"-1:{HASH}", f"57:{HASH[:-1]}", f"57:{HASH}0",
     f"57:{HASH[:-1]}g", f"٥٧:{HASH}", f"57:{HASH[:-1]}٣"],
)  # fmt: skip
def test_anything_else_is_refused(raw: str) -> None:
    with pytest.raises(ValueError, match="not an anchor"):
        Anchor.parse(raw)


def test_the_anchor_holds_only_while_its_line_keeps_its_hash() -> None:
    anchor = Anchor(57, HASH)
    assert anchor_problem(anchor, HASH) is None
    assert "is gone" in str(anchor_problem(anchor, None))
    assert "no longer has the anchor's hash" in str(anchor_problem(anchor, "f" * 64))
