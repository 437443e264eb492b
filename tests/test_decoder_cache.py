"""nengo's decoder cache shared by a build and its decoder workers: a process that finds
the index locked waits its turn instead of turning its cache read-only with a warning
(`nengo_mpi.construction.decoder_cache`)."""

import subprocess
import sys
import textwrap
import time
import warnings

import nengo
import pytest
from nengo.cache import DecoderCache, get_default_decoder_cache
from nengo.exceptions import TimeoutError as NengoTimeoutError

import nengo_mpi
from nengo_mpi.construction.decoder_cache import WaitingFileLock, decoder_cache

HOLD_LOCK = textwrap.dedent("""
    import fcntl, sys, time
    with open(sys.argv[1], "a") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        print("held", flush=True)
        time.sleep(float(sys.argv[2]))
""")


@pytest.fixture
def cache_dir(tmp_path):
    """nengo's rc pointed at an empty cache in ``tmp_path``, the cache enabled."""
    saved = dict(nengo.rc["decoder_cache"])
    nengo.rc["decoder_cache"]["enabled"] = "True"
    nengo.rc["decoder_cache"]["path"] = str(tmp_path / "cache")
    yield tmp_path / "cache"
    for key, value in saved.items():
        nengo.rc["decoder_cache"][key] = value


def _held_by_another_process(path, seconds, tmp_path):
    script = tmp_path / "hold.py"
    script.write_text(HOLD_LOCK)
    holder = subprocess.Popen([sys.executable, str(script), str(path), str(seconds)],
                              stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline().strip() == "held"
    return holder


def _enter(cache):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        cache.__enter__()
    cache.__exit__(None, None, None)
    return [str(w.message) for w in caught]


def test_nengos_own_cache_gives_up_at_once_when_the_index_is_locked(cache_dir, tmp_path):
    # What the waiting lock is for: nengo's lock does not wait for its timeout.
    cache = get_default_decoder_cache()
    holder = _held_by_another_process(cache._index._lock.filename, 1.0, tmp_path)
    try:
        messages = _enter(cache)
    finally:
        holder.wait(timeout=30)
    assert cache.readonly
    assert any("could not acquire lock" in m for m in messages)


def test_our_cache_waits_for_the_index_and_stays_writeable(cache_dir, tmp_path):
    cache = decoder_cache()
    assert isinstance(cache, DecoderCache)
    holder = _held_by_another_process(cache._index._lock.filename, 0.5, tmp_path)
    start = time.monotonic()
    try:
        messages = _enter(cache)
    finally:
        holder.wait(timeout=30)
    assert not cache.readonly
    assert messages == []
    assert time.monotonic() - start >= 0.3  # it waited for the holder


def test_a_lock_held_past_the_timeout_is_nengos_timeout_error(tmp_path):
    path = tmp_path / "index.lock"
    holder = _held_by_another_process(path, 2.0, tmp_path)
    try:
        with pytest.raises(NengoTimeoutError, match="index.lock"):
            WaitingFileLock(str(path), timeout=0.2).acquire()
    finally:
        holder.wait(timeout=30)
    lock = WaitingFileLock(str(path), timeout=1.0)
    with lock:
        assert lock.acquired
    assert not lock.acquired


def test_a_disabled_cache_is_nengos_no_cache():
    saved = nengo.rc["decoder_cache"]["enabled"]
    nengo.rc["decoder_cache"]["enabled"] = "False"
    try:
        assert isinstance(decoder_cache(), nengo.cache.NoDecoderCache)
    finally:
        nengo.rc["decoder_cache"]["enabled"] = saved


def test_a_build_with_workers_records_every_solve_without_warnings(cache_dir):
    net = nengo.networks.EnsembleArray(30, 16, seed=3)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with nengo_mpi.Simulator(net, progress_bar=False, build_workers=2):
            pass
    assert not [w for w in caught if "ecoder cache" in str(w.message)]
    index = DecoderCache(cache_dir=str(cache_dir))
    with index:
        recorded = len(index._index._index)
    solved = sum(1 for c in net.all_connections if c.pre in net.all_ensembles)
    assert recorded == solved
