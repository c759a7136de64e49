"""The documentation builds with MkDocs in strict mode: a link to a page or an anchor that does
not exist, or a page left out of the navigation, fails the build (and so this test)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def build(site: Path, config: Path = REPO / "mkdocs.yml") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "-f", str(config), "-d", str(site)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_the_docs_build_strict_with_every_link_checked(tmp_path: Path) -> None:
    proc = build(tmp_path / "site")
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert (tmp_path / "site" / "deploy" / "index.html").is_file()


def test_a_broken_link_fails_the_build(tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "index.md").write_text("# Home\n\nSee [the guide](guide.md#no-such-part).\n")
    (docs / "guide.md").write_text("# Guide\n\n## A part\n")
    config = tmp_path / "mkdocs.yml"
    config.write_text(
        (REPO / "mkdocs.yml").read_text().split("nav:", 1)[0]
        + "validation:\n  links:\n    anchors: warn\n"
    )
    proc = build(tmp_path / "site", config)
    assert proc.returncode != 0
    assert "no-such-part" in proc.stderr
