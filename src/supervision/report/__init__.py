"""The quarterly review pack (``supervision report``, issue 7).

:mod:`.build` drives it (load, check, execute the report notebook headless, assemble,
PDF); :mod:`.sections` runs inside the notebook's kernel; :mod:`.page` writes and checks
the self-contained HTML and prints the PDF.
"""

from supervision.report.build import ReportArgs, build_report, quarter_window, safe_name

__all__ = ["ReportArgs", "build_report", "quarter_window", "safe_name"]
