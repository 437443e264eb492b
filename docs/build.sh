#!/usr/bin/env bash
# `make docs`: the examples' plots and outputs and nengo_gui's screenshot (into
# docs/_generated), then the HTML site with warnings as errors, then the doctests.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=$PWD/.venv/bin/python
MPIRUN=$PWD/.venv/bin/mpirun
GEN=docs/_generated
export PATH="$PWD/.venv/bin:$PATH"
start=$(date +%s)
rm -rf "$GEN" && mkdir -p "$GEN"

# Every example at a short simulated time, with the commands of examples/README.md.
example() {
    local name=$1
    shift
    local t0=$(date +%s)
    # The page shows what the script prints; the launcher's lines go to a log.
    "$@" > "$GEN/$name.txt" 2> "$GEN/$name.log" || { cat "$GEN/$name.log"; exit 1; }
    echo "docs: $name ran in $(( $(date +%s) - t0 )) s"
}
example sine_squared "$MPIRUN" -np 2 "$PY" -m nengo_mpi examples/sine_squared.py \
    --time 2 --plot "$GEN/sine_squared.png"
example spa_question_answering "$MPIRUN" -np 2 "$PY" -m nengo_mpi \
    examples/spa_question_answering.py --time 2 --plot "$GEN/spa_question_answering.png"
example model_files "$PY" examples/model_files.py --ranks 2 --time 1 \
    --dir "$GEN/model_files" --plot "$GEN/model_files.png"
rm -rf "$GEN/model_files"
# --timing writes its report to stderr: the page shows it with the script's output.
example large_model_timing "$MPIRUN" -np 2 "$PY" -m nengo_mpi --timing \
    examples/large_model_timing.py --time 0.5 --plot "$GEN/large_model_timing.png"
grep -v "^nengo_mpi: [0-9]* ranks" "$GEN/large_model_timing.log" >> "$GEN/large_model_timing.txt"

# nengo_gui's screenshot, from its test in a headless Chromium. Where the test cannot
# run (no Chromium), the page says so instead of showing a stale picture.
gui_log="$GEN/nengo_gui_test.txt"
NENGO_MPI_GUI_SCREENSHOT="$GEN/nengo_gui.png" "$PY" -m pytest tests/test_nengo_gui.py \
    -k one_process -q -s -rs -p no:cacheprovider > "$gui_log" 2>&1 || {
    cat "$gui_log"; exit 1; }
if [ -f "$GEN/nengo_gui.png" ]; then
    {
        echo '![nengo_gui showing the seed example running on nengo_mpi](nengo_gui.png)'
        echo
        echo "Made by \`tests/test_nengo_gui.py\` in headless Chromium during this build:"
        grep -o "page shown.*" "$gui_log" | head -1 | sed 's/$/./'
    } > "$GEN/nengo_gui_figure.md"
else
    {
        echo '```{note}'
        echo "No screenshot in this build: \`tests/test_nengo_gui.py\` was skipped here"
        grep -o "SKIPPED.*" "$gui_log" | head -1 | sed 's/^/(/; s/$/)./'
        echo '```'
    } > "$GEN/nengo_gui_figure.md"
fi

"$PY" -m sphinx -W --keep-going -q -b html docs docs/_build/html
"$PY" -m sphinx -W --keep-going -q -b doctest docs docs/_build/doctest
echo "docs: built docs/_build/html and ran the doctests in $(( $(date +%s) - start )) s"
