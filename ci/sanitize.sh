#!/usr/bin/env bash
# The C++ engine under AddressSanitizer and UndefinedBehaviorSanitizer (make sanitize):
# an engine built with NENGO_MPI_SANITIZE=ON, installed into a venv of its own, runs the
# engine's kernel tests, the fuzz cases of damaged model files, checkpoints and probe
# files, and the MPI engine tests at 2 ranks. Any sanitizer report fails the job.
#
# The sanitized engine must not replace the normal one, which .venv has as an editable
# install. So build/sanitize/venv is a venv without packages of its own whose
# site-packages lists .venv's site-packages in a .pth file: it sees every package of
# .venv (numpy, nengo, pytest, ...) behind its own regular install of nengo_mpi. The
# lines of a .pth file only add paths, and .pth files in a directory added that way are
# not read, so .venv's editable-install hook, which would map nengo_mpi to the normal
# build, is not loaded.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT="$PWD"
PY=.venv/bin/python
MPIRUN=.venv/bin/mpirun
export PATH="$ROOT/.venv/bin:$PATH"  # cmake, ninja and mpicxx of the venv
# Two compile jobs: CI machines have two cores (and a developer's are shared).
export CMAKE_BUILD_PARALLEL_LEVEL="${CMAKE_BUILD_PARALLEL_LEVEL:-2}"

SAN=build/sanitize
SPY="$SAN/venv/bin/python"
if [[ ! -x "$SPY" ]]; then
    # From .venv's interpreter, so both venvs have one Python version (one site-packages
    # layout and one extension ABI).
    "$PY" -m venv --without-pip "$SAN/venv"
fi
site_of() { "$1" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])'; }
site_of "$PY" > "$(site_of "$SPY")/nengo_mpi_base_venv.pth"

# RelWithDebInfo: pybind11 strips the module of Release builds, and the reports need
# its line numbers. build/sanitize/cmake is kept, so a rebuild compiles what changed.
# --ignore-installed: pip sees .venv's nengo_mpi through the .pth file and must neither
# uninstall nor touch it; --no-build-isolation uses .venv's scikit-build-core and
# pybind11 (pip itself comes from .venv too).
echo "building the sanitized engine in $SAN/cmake"
"$SPY" -m pip install -q --no-deps --no-build-isolation --ignore-installed \
    --disable-pip-version-check \
    -Cbuild-dir="$SAN/cmake" -Ccmake.build-type=RelWithDebInfo \
    -Ccmake.define.NENGO_MPI_SANITIZE=ON \
    -Ccmake.define.MPI_CXX_COMPILER="$ROOT/.venv/bin/mpicxx" .

# Python itself is not instrumented, so the ASan runtime is preloaded (it must be the
# first library loaded), and libstdc++ with it: ASan looks up the C++ runtime's
# __cxa_throw when it starts, and fails at the first C++ exception of any extension
# module (matplotlib's, ours) if libstdc++ is loaded only later. Leak checking is off:
# CPython's interned objects and arenas live until exit and would be reported as leaks.
# A huge allocation returns null (then std::bad_alloc, as without ASan) instead of
# aborting. UBSan aborts on its first report, with a stack trace.
ASAN_LIB="$(gcc -print-file-name=libasan.so)"
STDCXX_LIB="$(gcc -print-file-name=libstdc++.so)"
for lib in "$ASAN_LIB" "$STDCXX_LIB"; do
    # gcc prints the bare name of a library it does not have.
    if [[ ! -f "$lib" ]]; then
        echo "gcc has no $lib (Debian: libasan8, libstdc++-12-dev)" >&2
        exit 1
    fi
done
SAN_ENV=(
    LD_PRELOAD="$ASAN_LIB $STDCXX_LIB"
    ASAN_OPTIONS=detect_leaks=0:halt_on_error=1:abort_on_error=1:allocator_may_return_null=1
    UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
    # No working directory on sys.path (python -P, inherited by the Pythons that tests
    # start), where the source tree's nengo_mpi, which has no engine in it, would shadow
    # the installed package.
    PYTHONSAFEPATH=1
)
env "${SAN_ENV[@]}" "$SPY" - <<'PYEOF'
import sys
import nengo_mpi
import nengo_mpi._engine as engine
for module in (nengo_mpi, engine):
    if not module.__file__.startswith(sys.prefix):
        sys.exit(f"{module.__name__} comes from {module.__file__}, not {sys.prefix}")
print(f"sanitized engine: {engine.__file__}")
PYEOF

# --capture=sys: pytest captures Python's output only; a sanitizer writes its report to
# file descriptor 2 and ends the process, which would lose a report captured there.
PYTEST=(-m pytest -q -p no:cacheprovider --capture=sys)

# The engine's tests that run in one process: kernels against nengo's reference steps,
# the batched small-argument math, the random streams, scheduling, the Simulator over
# several components, Ctrl-C within a run, model files, checkpoints and probe files
# (flipped bits included), save and load through the loopback launcher, and the checks
# on views and op arguments.
TESTS=(
    tests/test_kernels*.py
    tests/test_small_math.py
    tests/test_numpy_random.py
    tests/test_schedule.py
    tests/test_dot_order.py
    tests/test_simulator.py
    tests/test_interrupt.py
    tests/test_files.py
    tests/test_loopback.py
    tests/test_engine_views.py
    tests/test_engine_arguments.py
)
# Damaged and crafted files: the fuzz subset (fewer cases than in the normal suite,
# each being several times slower here), the targeted checks and the trust refusals.
TESTS+=(tests/test_fuzz_files.py tests/test_file_validation.py tests/test_trust.py)
export NENGO_MPI_FUZZ_CASES=150
echo "== in one process: ${TESTS[*]}"
env "${SAN_ENV[@]}" "$SPY" "${PYTEST[@]}" "${TESTS[@]}"

echo "== at 2 MPI ranks: tests/mpi/test_engine_messages.py"
# Each rank gets the sanitizer environment; mpirun itself runs without it.
"$MPIRUN" -np 2 env "${SAN_ENV[@]}" "$ROOT/$SPY" "${PYTEST[@]}" --with-mpi \
    tests/mpi/test_engine_messages.py
