#!/usr/bin/env bash
# `make docs`: the example plots, the HTML site with warnings as errors, the doctests.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=.venv/bin/python
export PATH="$PWD/.venv/bin:$PATH"
# nengo_sphinx_theme 20.9 uses a str interface Sphinx 8 deprecates; that is a Python
# warning of the theme's, not a warning about our pages, which -W turns into errors.
export PYTHONWARNINGS="ignore::DeprecationWarning,ignore::PendingDeprecationWarning"
start=$(date +%s)
"$PY" -m sphinx -W --keep-going -q -b html docs docs/_build/html
"$PY" -m sphinx -W --keep-going -q -b doctest docs docs/_build/doctest
echo "docs: built docs/_build/html and ran the doctests in $(( $(date +%s) - start )) s"
