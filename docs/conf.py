"""Sphinx configuration of nengo_mpi's documentation (``make docs``).

The pages are MyST Markdown, the API reference comes from the numpydoc docstrings, and
``make docs`` builds with warnings as errors and then runs every doctest block.
"""

import os
import sys

import nengo_mpi

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

project = "nengo_mpi"
author = "the nengo_mpi developers"
copyright = "2026, the nengo_mpi developers"  # pylint: disable=redefined-builtin
version = release = nengo_mpi.__version__

extensions = [
    "myst_parser",
    "numpydoc",
    "sphinx.ext.autodoc",
    "sphinx.ext.doctest",
    "sphinx.ext.viewcode",
]
source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
exclude_patterns = ["_build", "_generated/*.md"]
myst_enable_extensions = ["colon_fence"]
myst_heading_anchors = 3

# numpydoc: the reference lists each class's own members; no autosummary stubs.
numpydoc_show_class_members = False
numpydoc_xref_param_type = False
autodoc_member_order = "bysource"
autodoc_default_options = {"members": True}
# A bare `name` in a docstring is code, not a cross-reference that could break.
default_role = "code"

# Every doctest starts from a fresh namespace with numpy and nengo, as nengo's do.
doctest_global_setup = """
import numpy as np
import nengo
import nengo_mpi
"""

html_theme = "pydata_sphinx_theme"
html_title = f"nengo_mpi {release}"
html_theme_options = {"navigation_with_keys": False, "show_toc_level": 2}
html_static_path = []
nitpicky = False
