"""Issue 24 item 8: the demo export says it is the demo on every page: the landing page,
each dashboard, the pack's cover and every printed page ("Demo data (synthetic)").  The
mark is the one the demo generator writes (README.md's first line); a real export, the same
files without that README, says nothing of the kind."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from supervision import opening
from supervision import serve as sv
from supervision.demo import DEMO_LABEL, is_demo_export, write_demo
from supervision.settings import Settings


@pytest.fixture(scope="module")
def exports(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    demo = tmp_path_factory.mktemp("demo") / "export"
    write_demo(demo, episodes=60, seed=5)
    real = tmp_path_factory.mktemp("real") / "export"
    real.mkdir()
    for f in demo.glob("*.csv"):
        shutil.copy2(f, real / f.name)
    return demo, real


def test_the_generators_mark_is_read(exports: tuple[Path, Path]) -> None:
    demo, real = exports
    assert is_demo_export(demo) and not is_demo_export(real)
    assert not is_demo_export(None) and not is_demo_export(demo / "sessions.csv")


def test_landing_page_and_kernels_say_demo(exports: tuple[Path, Path], tmp_path: Path) -> None:
    from supervision.voila_app import render_landing

    demo, real = exports
    _, env = sv.prepare(demo, therapist=None, mapping=None, measures=None, min_cell=5,
                        workdir=tmp_path / "demo")
    assert env[opening.DEMO] == "1"
    assert Settings.from_env(env).demo
    data = json.loads((tmp_path / "demo" / "landing.json").read_text())
    assert data["export"]["demo"] == DEMO_LABEL
    assert DEMO_LABEL in render_landing(data, "/")
    _, env = sv.prepare(real, therapist=None, mapping=None, measures=None, min_cell=5,
                        workdir=tmp_path / "real")
    assert opening.DEMO not in env and not Settings.from_env(env).demo
    data = json.loads((tmp_path / "real" / "landing.json").read_text())
    assert "demo" not in data["export"]
    assert DEMO_LABEL not in render_landing(data, "/")
    # the therapist's own server over the demo says so too
    _, env = sv.prepare(demo, therapist="T01", mapping=None, measures=None, min_cell=5,
                        workdir=tmp_path / "t01")
    assert env[opening.DEMO] == "1"


def test_dashboard_banner_and_the_packs_printed_pages(exports: tuple[Path, Path],
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    from supervision.report import page
    from supervision.report.sections import cover
    from supervision.views import apps

    demo, _ = exports
    monkeypatch.setenv(opening.EXPORT, str(demo))
    monkeypatch.setenv(opening.DEMO, "1")
    opening.caseload.cache_clear()
    try:
        app = apps.practice_app()
        texts = [getattr(w, "value", "") for w in app.root.children]
        assert any(DEMO_LABEL in t for t in texts[:3])
    finally:
        opening.caseload.cache_clear()
    doc = page.assemble(["<p>x</p>"], title="Practice review — 2024Q1", demo=DEMO_LABEL)
    assert f'@top-right {{ content: "{DEMO_LABEL}"' in doc
    assert f"<title>Practice review — 2024Q1 — {DEMO_LABEL}</title>" in doc
    assert "@top-right" not in page.assemble(["<p>x</p>"], title="t")
    sec = cover("Practice review", {"demo": DEMO_LABEL, "source": "export"}, "2024Q1", 5)
    assert DEMO_LABEL in sec.html()
