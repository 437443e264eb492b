"""pytest plugin: nengo_spa tests that fail on nengo.Simulator too, marked xfail.

Each entry fails with nengo's reference simulator under the same test id (and so the
same seed: ids are relative to this folder, so moving the ini changes them) on these
machines: a debt of the suite, not of nengo_mpi. Run the same tests
with ``-o nengo_simulator=nengo.Simulator`` to see them fail there. Not strict: a
passing entry is reported (XPASS), not an error.
"""

import pytest

KNOWN_FAILURES = {
    "modules/tests/test_thalamus.py::test_errors":
        "fails on nengo.Simulator too: the test itself raises TypeError ('ABCMeta' "
        "object does not support the context manager protocol) before any simulator",
    "algebras/tests/test_algebras.py::test_binding_and_invert"
    "[TvtbAlgebra-ElementSidedness.TWO_SIDED-36]":
        "fails on nengo.Simulator too with this test id's seed (a numerical tolerance "
        "of the algebra itself; no simulator runs)",
}


def pytest_collection_modifyitems(items):
    for item in items:
        for suffix, reason in KNOWN_FAILURES.items():
            if item.nodeid.endswith(suffix):
                item.add_marker(pytest.mark.xfail(reason=reason, strict=False))
