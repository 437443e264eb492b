"""Building a network into a model: nengo's builder, with decoders solved ahead."""

from nengo.builder import Model
from threadpoolctl import threadpool_limits

from . import solve_memo
from .decoder_cache import decoder_cache
from .synapse_memo import shared_discretisations
from ..lower.state import use_builder
from .prefetch import DecoderPrefetch, PrefetchBuilder, resolve_workers


def new_model(dt, label):
    """A `nengo.builder.Model` built by our builder, with nengo's default decoder cache
    (whose index lock waits for the build's workers: see `decoder_cache`)."""
    return Model(dt=float(dt), label=label, decoder_cache=decoder_cache(),
                 builder=PrefetchBuilder())


def build_into(model, network, build_workers=None, session=None, progress=None):
    """Build ``network`` into ``model`` as ``model.build(network)`` does, with its decoder
    solves done by ``build_workers`` worker processes or, given an MPI ``session`` whose
    other ranks are serving rank 0 (as they do for a Simulator), by those ranks (see
    `resolve_workers`). Without a session, a process running MPI solves alone.

    The built model is the one nengo builds, decoders included to the bit (with one
    BLAS thread: see the comment below); ``model`` is given a
    `PrefetchBuilder` if it has another builder.

    Returns
    -------
    int
        How many connections took their decoders from a worker.
    """
    if not isinstance(model.builder, PrefetchBuilder):
        use_builder(model, PrefetchBuilder())
    n_workers = resolve_workers(build_workers)
    prefetch = None
    if model.toplevel is None:  # else nengo will not seed the network: neither can we
        prefetch = DecoderPrefetch.start(model, network, n_workers, session)
    model.builder.prefetch = prefetch
    try:
        # OpenBLAS's results depend on its thread count. Workers solve with one thread
        # (more would oversubscribe the cores they share), so the solves left to this
        # process do too, also when no worker helps (a small model, or a process of an
        # MPI job solving alone): then every decoder is the same whichever process
        # solved it and whatever the number of workers or ranks.
        with threadpool_limits(limits=1), shared_discretisations():
            model.build(network, progress=progress)
    finally:
        # Not part of the built model (which is pickled with a Simulator).
        model.builder.prefetch = None
        solve_memo.forget(model)
        if prefetch is not None:
            prefetch.close()
    return 0 if prefetch is None else prefetch.n_prefetched
