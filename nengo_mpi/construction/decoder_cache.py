"""nengo's decoder cache, shared by the processes of one build without warnings.

nengo's cache index is guarded by a file lock that gives up at once when another
process holds it (``nengo.utils.lock.FileLock`` asks its portalocker for
``fail_when_locked``, so its 10-second timeout never applies). One
`nengo.Simulator` rarely meets another; our builds always do: the build and its
decoder workers (`nengo_mpi.construction.solve_worker`) read and merge the same
index at the same moments. The loser then turns its cache read-only, its solves go
unrecorded and nengo warns "Decoder cache could not acquire lock". `decoder_cache`
gives nengo's cache a lock on the same file that waits its turn instead, up to the
same 10 seconds; it takes the same ``flock`` that nengo's lock takes, so it also
waits for other Nengo programs.
"""

import fcntl
import os
import time

from nengo.cache import WriteableCacheIndex, get_default_decoder_cache
from nengo.exceptions import TimeoutError as NengoTimeoutError


class WaitingFileLock:
    """An exclusive ``flock`` on ``filename`` that waits up to ``timeout`` seconds.

    It has the interface of `nengo.utils.lock.FileLock` (``filename``, ``acquire``,
    ``release``, ``acquired``, a context manager) and raises nengo's `TimeoutError`
    as it does, so nengo's cache handles a real timeout as it always has.
    """

    def __init__(self, filename, timeout=10.0, poll=0.005):
        self.filename = filename
        self.timeout = timeout
        self.poll = poll
        self._fd = None

    @property
    def acquired(self):
        """Whether this lock is held."""
        return self._fd is not None

    def acquire(self):
        """Take the lock, waiting for another holder to release it."""
        fd = os.open(self.filename, os.O_RDWR | os.O_CREAT, 0o644)
        deadline = time.monotonic() + self.timeout
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    os.close(fd)
                    raise NengoTimeoutError(  # pylint: disable=raise-missing-from
                        f"Could not acquire lock '{self.filename}'.")
                time.sleep(self.poll)
        self._fd = fd

    def release(self):
        """Let the lock go (nothing if it is not held)."""
        if self._fd is not None:
            fd, self._fd = self._fd, None
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)

    def __enter__(self):
        self.acquire()
        return self

    def __exit__(self, exc_type, exc_value, traceback):
        self.release()


def decoder_cache():
    """nengo's default decoder cache (as `nengo.cache.get_default_decoder_cache` makes
    it, following nengo's rc), its index guarded by a `WaitingFileLock`."""
    cache = get_default_decoder_cache()
    index = getattr(cache, "_index", None)
    if isinstance(index, WriteableCacheIndex):
        # pylint: disable-next=protected-access
        index._lock = WaitingFileLock(index._lock.filename)
    return cache
