"""The documentation build fails on what would mislead a reader: a broken
cross-reference, or a doctest whose output is not what the page says.

`make docs` (docs/build.sh) builds the real site; these tests build a copy of it with
one fault added and check that the same commands fail and say where.
"""

import os
import re
import shutil
import subprocess
import sys

import pytest

pytest.importorskip("sphinx", reason="the docs requirements (docs/requirements.txt, "
                    "installed by `make docs` and `make test`) are not installed")
pytest.importorskip("myst_parser", reason="docs/requirements.txt is not installed")

DOCS = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "docs")


def _sphinx(builder, srcdir, outdir):
    env = dict(os.environ, PYTHONWARNINGS="ignore::DeprecationWarning")
    return subprocess.run(
        [sys.executable, "-m", "sphinx", "-W", "--keep-going", "-q", "-b", builder,
         str(srcdir), str(outdir)],
        capture_output=True, text=True, env=env, timeout=300, check=False)


def _stand_ins(docs):
    """Write what `make docs` generates into docs/_generated (examples' outputs and
    plots, nengo_gui's figure) as small stand-ins: these tests are about the build."""
    generated = docs / "_generated"
    generated.mkdir()
    names = set()
    for page in docs.glob("*.md"):
        names.update(re.findall(r"_generated/([\w.]+)", page.read_text()))
    for name in names:
        if name.endswith(".png"):
            import matplotlib  # pylint: disable=import-outside-toplevel

            matplotlib.use("Agg")
            import matplotlib.pyplot as plt  # pylint: disable=import-outside-toplevel

            plt.figure(figsize=(1, 1))
            plt.savefig(generated / name)
            plt.close()
        else:
            (generated / name).write_text("a stand-in for what make docs generates\n")
    return names


@pytest.fixture
def docs_copy(tmp_path):
    """A copy of docs/ (its includes of ../containers and ../benchmarks still resolve,
    since the copy sits beside links to them), with stand-ins for the generated files."""
    root = tmp_path / "repo"
    root.mkdir()
    repo = os.path.dirname(DOCS)
    for name in ("containers", "benchmarks", "examples"):
        os.symlink(os.path.join(repo, name), root / name)
    shutil.copytree(DOCS, root / "docs", ignore=shutil.ignore_patterns("_build",
                                                                       "_generated"))
    assert _stand_ins(root / "docs"), "the pages include nothing generated?"
    return root / "docs"


def _append(page, text):
    with open(page, "a", encoding="utf-8") as f:
        f.write(text)


def test_a_broken_cross_reference_fails_the_build(docs_copy, tmp_path):
    _append(docs_copy / "troubleshooting.md",
            "\nSee [the missing page](no_such_page.md).\n")
    result = _sphinx("html", docs_copy, tmp_path / "html")
    assert result.returncode != 0
    assert "no_such_page" in result.stderr


def test_a_failing_doctest_fails_the_build(docs_copy, tmp_path):
    _append(docs_copy / "getting_started.md",
            "\n```{doctest}\n>>> nengo_mpi.Partitioner(3).n_components\n4\n```\n")
    result = _sphinx("doctest", docs_copy, tmp_path / "doctest")
    assert result.returncode != 0
    assert "getting_started.md" in result.stdout + result.stderr


def test_the_unchanged_copy_builds(docs_copy, tmp_path):
    # The two faults above are the only reason those builds fail.
    result = _sphinx("html", docs_copy, tmp_path / "html")
    assert result.returncode == 0, result.stderr
