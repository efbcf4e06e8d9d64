"""The review pack in a real Chromium: every figure drawn, nothing fetched, PDF pages looked at.

Never `playwright install`: Debian's /usr/bin/chromium is used.  The PDF pages are
rendered with ``pdftoppm`` (poppler-utils) into tests/e2e/screenshots/ for a person to
look at; the first section page is what docs/report-page.png shows.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.e2e.conftest import ROOT, SCREENSHOTS

pytestmark = pytest.mark.e2e

QUARTER = "2024Q3"


@pytest.fixture(scope="module")
def pack(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`supervision report data/demo --quarter 2024Q3 --out pack.html --pdf`, as a user runs it."""
    out = tmp_path_factory.mktemp("report") / "pack.html"
    cmd = [sys.executable, "-m", "supervision.cli", "report", str(ROOT / "data" / "demo"),
           "--quarter", QUARTER, "--out", str(out), "--pdf"]
    done = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, timeout=900)
    assert done.returncode == 0, done.stderr
    assert re.search(r"\[\s*\d+\.\d+s\] the practice: wrote", done.stderr)  # progress lines
    return out


def test_every_figure_renders_and_no_request_leaves(pack: Path, browser) -> None:  # type: ignore[no-untyped-def]
    html = pack.read_text(encoding="utf-8")
    expected = sum(int(n) for n in re.findall(r'data-figures="(\d+)"', html))
    outside: list[str] = []

    def route(r) -> None:  # type: ignore[no-untyped-def]
        if r.request.url.startswith(("file:", "data:", "blob:", "about:")):
            r.continue_()
        else:
            outside.append(r.request.url)
            r.abort()

    # The session's Chromium (tests/e2e/conftest.py): a second sync_playwright() inside
    # the same process fails while the first one's event loop is running.
    context = browser.new_context(viewport={"width": 1200, "height": 900})
    try:
        page = context.new_page()
        page.route("**/*", route)
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(pack.as_uri(), wait_until="load")
        page.wait_for_function(
            f"document.querySelectorAll('.js-plotly-plot .main-svg').length >= {expected}",
            timeout=60_000,
        )
        drawn = page.locator(".js-plotly-plot").count()
        traces = page.evaluate(
            "Array.from(document.querySelectorAll('.js-plotly-plot'))"
            ".map(d => (d.data || []).length)"
        )
        SCREENSHOTS.mkdir(exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / "report.png"), full_page=False)
    finally:
        context.close()
    assert drawn == expected > 10
    assert all(n > 0 for n in traces)
    assert errors == []
    assert outside == []


def blank_tails(pdf: Path) -> list[float]:
    """Per page, the share of the page body (between the 12 mm margins) left white at its
    bottom: where a page break left the rest of a page empty.  Rendered in grey at 40 dpi
    (``pdftoppm -gray``: binary PGM, read with numpy); a row is white when no pixel in it is
    darker than 245 of 255."""
    import tempfile

    import numpy as np

    shares = []
    with tempfile.TemporaryDirectory() as d:
        subprocess.run(["pdftoppm", "-gray", "-r", "40", str(pdf), f"{d}/p"], check=True)
        for f in sorted(Path(d).glob("p-*.pgm")):
            raw = f.read_bytes()
            _, w, h, _, data = raw.split(maxsplit=4)
            w, h = int(w), int(h)
            img = np.frombuffer(data[-w * h:], dtype=np.uint8).reshape(h, w)
            m = int(h * 12 / 297)
            white = img[m:h - m].min(axis=1) >= 245
            ink = np.nonzero(~white)[0]
            shares.append(1.0 if not len(ink) else (len(white) - 1 - ink[-1]) / len(white))
    return shares


def test_pdf_pages(pack: Path) -> None:
    """Sections flow on (no page of their own each), pages are mostly full, and every page
    has ink on it.

    Measured on this pack (demo, 2024Q3, 10 sections): with a page per section, 11 pages
    whose bottoms were white for 47% of the body on average (pages 1, 4, 7, 10 three
    quarters empty); flowing, 7 pages and 7%.  The bound, 25%, leaves room for a figure
    pushed whole to the next page."""
    pdf = pack.with_suffix(".pdf")
    assert pdf.exists() and pdf.read_bytes()[:5] == b"%PDF-"
    if shutil.which("pdftoppm") is None:
        pytest.skip("pdftoppm (poppler-utils) not installed: make chromium installs it")
    info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True, check=True)
    pages = int(re.search(r"Pages:\s+(\d+)", info.stdout).group(1))  # type: ignore[union-attr]
    sections = pack.read_text(encoding="utf-8").count('<section class="sv-section"')
    assert pages < sections, "each section on a page of its own again?"
    tails = blank_tails(pdf)
    assert len(tails) == pages
    mean = sum(tails[:-1]) / max(1, pages - 1)  # the last page ends where the pack ends
    assert mean < 0.25, [round(t, 2) for t in tails]
    out = SCREENSHOTS / "report-pdf"
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    subprocess.run(["pdftoppm", "-png", "-r", "60", str(pdf), str(out / "page")], check=True)
    pngs = sorted(out.glob("page-*.png"))
    assert len(pngs) == pages
    for png in pngs:  # an empty page compresses to almost nothing
        assert png.stat().st_size > 4_000, f"{png.name} looks empty"
