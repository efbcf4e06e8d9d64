"""The pack's page: one HTML document with plotly.js inlined once, its checks, and the PDF.

Nothing in the page is fetched from the network: plotly.js is the copy bundled with the
plotly package (``plotly.offline.get_plotlyjs``), inlined in one ``<script>`` element; the
figures are plain ``Plotly.newPlot`` calls (no widget manager, require.js or MathJax).
:func:`check_self_contained` refuses a page that would load anything from elsewhere.
"""

from __future__ import annotations

import html
import re
from pathlib import Path

LIB_ID = "supervision-plotly-js"
PRINT_WIDTH, PRINT_SCALE = 1000, 0.7  # CSS px laid out, and the scale that fits A4
LIB_RE = re.compile(rf'<script id="{LIB_ID}"[^>]*>.*?</script>', re.S)
#: An attribute or CSS url() that would make the browser fetch from another origin.
_EXTERNAL_RE = re.compile(
    r"""(?:\b(?:src|href|srcset|action|data|poster)\s*=\s*["']?\s*(?:https?:)?//)"""
    r"""|(?:url\(\s*["']?\s*(?:https?:)?//)|(?:@import\s+["']?(?:https?:)?//)""",
    re.I,
)

CSS = """
body { font-family: system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif; color: #222;
  max-width: 1100px; margin: 0 auto; padding: 1em 1.5em; }
h1 { font-size: 1.6em; margin: 0.3em 0; }
h2 { font-size: 1.3em; border-bottom: 2px solid #0072B2; padding-bottom: 0.2em; margin-top: 1.6em; }
.sv-note { color: #444; font-size: 0.92em; margin: 0.3em 0 0.7em 0; }
.sv-caution { border-left: 4px solid #E69F00; background: #fff8e6; padding: 0.5em 0.8em;
  margin: 0.5em 0; font-size: 0.95em; }
.sv-empty { border: 1px dashed #999; color: #444; padding: 0.8em; margin: 0.4em 0;
  background: #fafafa; }
.sv-table { border-collapse: collapse; font-size: 0.92em; margin: 0.5em 0; }
.sv-table tr.sv-risk td { background: #fdeee6; font-weight: 600; }
.sv-table th, .sv-table td { border-bottom: 1px solid #ddd; padding: 0.3em 0.7em;
  text-align: left; vertical-align: top; }
.sv-sub { color: #555; font-size: 0.85em; }
.sv-demo { background: #fff3cd; border: 2px solid #E69F00; border-radius: 6px;
  padding: 0.4em 0.8em; margin: 0.4em 0; }
td .sv-caution { font-size: 0.85em; padding: 0.3em 0.5em; margin: 0.3em 0 0 0; }
.sv-cover th { width: 14em; }
.sv-figure { margin: 0.6em 0; }
.sv-refs li, .sv-questions li { margin: 0.3em 0; }
@page { size: A4; margin: 12mm; }
@media print {
  body { max-width: none; padding: 0; }
  /* sections flow on: a forced page per section left most pages half white (issue 24); a
     figure, table or note is never cut, and a heading never ends a page alone */
  .sv-section { break-before: auto; }
  .sv-section + .sv-section { margin-top: 1.2em; }
  .sv-figure, .sv-table, .sv-caution, .sv-note, .sv-demo, li { break-inside: avoid; }
  h2, h3 { break-after: avoid; }
  h2 { margin-top: 0.8em; }
  .modebar-container { display: none !important; }
}
"""


def plotly_js() -> str:
    """The plotly.js bundled with the installed plotly package (no CDN)."""
    from plotly.offline import get_plotlyjs

    return str(get_plotlyjs())


def demo_css(label: str) -> str:
    """Print CSS that puts ``label`` ("Demo data (synthetic)") at the top of every printed
    page (a CSS page-margin box), so no single printed page of a demo pack reads as a real
    practice's figures."""
    text = label.replace("\\", "").replace('"', "'")
    return ('@page { @top-right { content: "' + text + '"; font: 600 9pt system-ui, sans-serif;'
            " color: #8a5a00; } }")


def assemble(fragments: list[str], *, title: str, demo: str = "") -> str:
    """The whole document: head with CSS and plotly.js once, then the section fragments.

    The cover fragment carries the page's ``<h1>``; ``title`` is the browser tab's title.
    ``demo`` (the demo export's label, or empty) is added to the title and printed at the
    top of every page (:func:`demo_css`).
    """
    if demo:
        title = f"{title} — {demo}"
    css = CSS + (demo_css(demo) if demo else "")
    js = plotly_js().replace("</script", "<\\/script")
    return (
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
        f"<title>{html.escape(title)}</title>\n<style>{css}</style>\n"
        f'<script id="{LIB_ID}" type="text/javascript">{js}</script>\n'
        "</head>\n<body>\n"
        + "\n".join(fragments) + "\n</body>\n</html>\n"
    )


def count_figures(document: str) -> int:
    """Number of plotly figures the page will draw (one ``Plotly.newPlot`` call each)."""
    return len(re.findall(r"Plotly\.newPlot\(", LIB_RE.sub("", document)))


def check_self_contained(document: str) -> None:
    """Refuse a page that loads anything from the network, or lacks / repeats plotly.js.

    Raises
    ------
    SupervisionError
        An ``http(s)://`` (or protocol-relative) ``src``/``href``/``url()`` outside the
        inlined library, or plotly.js present other than exactly once.
    """
    from supervision.errors import SupervisionError

    libs = LIB_RE.findall(document)
    if len(libs) != 1:
        raise SupervisionError(f"the pack holds plotly.js {len(libs)} times; expected once")
    rest = LIB_RE.sub("", document)
    if "plotly.js v" in rest or re.search(r"<script[^>]+src=", rest, re.I):
        raise SupervisionError("the pack loads a script from a file or holds a second plotly.js")
    bad = _EXTERNAL_RE.findall(rest)
    if bad:
        raise SupervisionError(
            f"the pack would load {len(bad)} resource(s) from the network (first: {bad[0]!r})"
        )


def _launch(playwright: object) -> object:
    return playwright.chromium.launch(  # type: ignore[attr-defined]
        executable_path="/usr/bin/chromium",
        headless=True,
        args=["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"],
    )


def print_pdf(html_path: Path, pdf_path: Path) -> Path:
    """Print the pack to A4 PDF through headless Chromium (Playwright), network blocked.

    The page is laid out 1000 px wide (the figures' legends and tick labels need it) and
    printed at scale 0.7, which fits the printable width of A4 (210 mm - 2 x 12 mm ≈ 703
    CSS px); sections flow on from one another (no page of its own each: that left most
    pages half empty) and figures are never cut (print CSS in :data:`CSS`).
    """
    from playwright.sync_api import sync_playwright

    from supervision.errors import ConfigError

    if not Path("/usr/bin/chromium").exists():
        raise ConfigError(
            "--pdf needs Chromium at /usr/bin/chromium (Debian: apt-get install chromium)"
        )
    with sync_playwright() as p:
        browser = _launch(p)
        try:
            page = browser.new_page(viewport={"width": PRINT_WIDTH, "height": 1400})  # type: ignore[attr-defined]
            page.route("**/*", _local_only)
            page.goto(html_path.resolve().as_uri(), wait_until="load")
            page.wait_for_function(
                "document.querySelectorAll('.js-plotly-plot .main-svg').length >= "
                "document.querySelectorAll('.plotly-graph-div').length",
                timeout=60_000,
            )
            page.emulate_media(media="print")
            page.pdf(path=str(pdf_path), format="A4", print_background=True,
                     prefer_css_page_size=True, scale=PRINT_SCALE)
        finally:
            browser.close()  # type: ignore[attr-defined]
    return pdf_path


def _local_only(route: object) -> None:
    """Let file:// (and data:) through; abort anything that would leave the machine."""
    url: str = route.request.url  # type: ignore[attr-defined]
    if url.startswith(("file:", "data:", "blob:", "about:")):
        route.continue_()  # type: ignore[attr-defined]
    else:
        route.abort()  # type: ignore[attr-defined]


__all__ = ["CSS", "assemble", "check_self_contained", "count_figures", "demo_css", "plotly_js",
           "print_pdf"]
