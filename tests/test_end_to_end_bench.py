"""The end-to-end benchmark harness (benchmarks/end_to_end.py) in its smoke mode.

Runs ``--quick`` (one repeat of the seed model, a few seconds) into a temporary report
and checks the report's shape, never its timings: one row per cache state and backend,
every target listed, and ``--report-only`` rewriting the same section from the JSON.
"""

import json
import os
import subprocess
import sys

import pytest

from nengo_mpi import _engine

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SCRIPT = os.path.join(ROOT, "benchmarks", "end_to_end.py")
MPIRUN = os.path.join(os.path.dirname(sys.executable), "mpirun")

pytestmark = pytest.mark.skipif(
    not (_engine.config["mpi"] and os.path.exists(MPIRUN)),
    reason="the harness measures 2 ranks: needs the engine built with MPI and mpirun",
)


def harness(*args):
    proc = subprocess.run([sys.executable, SCRIPT, *args], capture_output=True, text=True,
                          timeout=300, check=False)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc


def section(text):
    begin, end = "<!-- begin end-to-end -->", "<!-- end end-to-end -->"
    assert text.count(begin) == 1 and text.count(end) == 1
    return text[text.index(begin): text.index(end)]


def test_quick_report(tmp_path):
    out, raw = tmp_path / "RESULTS.md", tmp_path / "end_to_end.json"
    out.write_text("# Earlier results\n\nkept as they are\n")
    harness("--quick", "--out", str(out), "--json", str(raw))

    text = out.read_text()
    assert text.startswith("# Earlier results\n\nkept as they are\n")
    body = section(text)
    rows = [line for line in body.splitlines() if line.startswith("| a) seed script")]
    cells = [[c.strip() for c in row.split("|")[2:4]] for row in rows]
    assert cells == [[cache, backend] for cache in ("cold", "warm")
                     for backend in ("nengo", "nengo_mpi 1 proc", "nengo_mpi 2 ranks")]
    for target in ("end-to-end >= 3x", "end-to-end >= 4x", "construction <= 0.3x",
                   "construction <= 0.2x", "peak construction memory"):
        assert target in body
    # The seed model is not one the end-to-end targets apply to.
    assert "not measured in this run" in body

    saved = json.loads(raw.read_text())
    assert set(saved["runs"]) == {"seed"}
    assert all(len(saved["runs"]["seed"][cache][backend]) == 1
               for cache in ("cold", "warm")
               for backend in ("nengo", "nengo_mpi", "nengo_mpi2"))
    assert saved["runs"]["seed"]["cold"]["nengo_mpi2"][0]["ranks"] == 2

    out.write_text(text.replace(body, "<!-- begin end-to-end -->\nstale\n"))
    harness("--report-only", "--out", str(out), "--json", str(raw))
    assert out.read_text() == text


def test_run_py_keeps_the_section():
    """run.py rewrites the whole RESULTS.md; the end-to-end section must survive it."""
    sys.path.insert(0, os.path.join(ROOT, "benchmarks"))
    try:
        from results_file import keep_sections, replace_section  # pylint: disable=C0415
    finally:
        sys.path.pop(0)
    old = replace_section("# Benchmark results\n\nold table\n", "end-to-end", ["ours"])
    new = keep_sections(old, "# Benchmark results\n\nnew table\n")
    assert new.startswith("# Benchmark results\n\nnew table\n")
    assert "<!-- begin end-to-end -->\nours\n<!-- end end-to-end -->\n" in new
    assert replace_section(new, "end-to-end", ["again"]).count("begin end-to-end") == 1
