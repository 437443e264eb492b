"""Shadows: the parts of a network that other ranks run, built for their shape only.

Under distributed construction (`nengo_mpi.construction.distributed`) every rank builds
the whole network with nengo's own builder, so that every rank derives the same
operators, signals, order, merges and channels (the model's *structure*) without
exchanging them. Only the *values* differ: an ensemble none of whose components runs on
this rank is a shadow here. nengo's ``build_ensemble`` still builds it, with the same
signals and operators, but its evaluation points, encoders, gains and biases are
placeholders of the right shape (sampling them is most of an ensemble's build), and
the decoders of connections out of a shadow are never solved.

The values a shadow lacks are never used on this rank: the operators that read them
belong to components of other ranks, which build them for real. ``sim.data`` of a
shadow is fetched from a rank that built it (`Locality.owner_rank`).
"""

import contextlib
import functools
import threading
from collections import defaultdict

import numpy as np
import nengo
from nengo.builder import ensemble as nengo_ensemble
from nengo.builder.connection import build_solver
from nengo.dists import Distribution
from nengo.rc import rc
from nengo.solvers import Solver
from nengo.utils.builder import default_n_eval_points

from ..partition.tiles import Tile
from ..placement import rank_of_component
from .prefetch import PrefetchBuilder
from .solve_plan import builder_of


class Locality:
    """Which objects of a network this rank builds for real.

    Parameters
    ----------
    network : nengo.Network
        The network being built.
    assignments : dict
        Ensemble/Node/`Tile` -> component, as the partitioner made it (objects absent
        from it are on component 0, as in `nengo_mpi.lower.assign`).
    rank, size : int
        This rank and the number of ranks.

    Attributes
    ----------
    real : set
        The ensembles built for real here: those with a component (or a tile's) on this
        rank, and the post ensembles of weight-solving connections out of those (their
        solve reads the post's encoders).
    shadowed : set
        Ensembles and connections whose ``model.params`` here are placeholders, filled
        while building.
    """

    def __init__(self, network, assignments, rank, size):
        self.rank = rank
        self.size = size
        components = defaultdict(set)
        for obj, comp in assignments.items():
            components[obj.ensemble if isinstance(obj, Tile) else obj].add(comp)
        self._components = components
        self.real = {
            ens for ens in network.all_ensembles
            if any(rank_of_component(c, size) == rank for c in components.get(ens, {0}))
        }
        for conn in network.all_connections:
            if (conn.pre_obj in self.real and isinstance(conn.post_obj, nengo.Ensemble)
                    and conn.solver.weights):
                self.real.add(conn.post_obj)
        self.shadowed = set()

    def owner_rank(self, obj):
        """A rank that builds ``obj`` (a shadow here) for real."""
        if isinstance(obj, nengo.Connection):
            obj = obj.pre_obj
        return rank_of_component(min(self._components.get(obj, {0})), self.size)

    def is_shadow_ensemble(self, ens):
        """Whether ``ens`` is built as a shadow here (nengo's own ``build_ensemble`` on
        a non-Direct ensemble that no component of this rank needs)."""
        return (ens not in self.real and not isinstance(ens.neuron_type, nengo.Direct)
                and builder_of(ens) is nengo_ensemble.build_ensemble)


def _shadow_eval_points(ens, eval_points, rng, scale_eval_points=True, dtype=None):
    """Stands in for nengo's ``gen_eval_points``: zeros of the shape it would give."""
    del rng, scale_eval_points
    dtype = rc.float_dtype if dtype is None else dtype
    if isinstance(eval_points, Distribution):
        n_points = ens.n_eval_points
        if n_points is None:
            n_points = default_n_eval_points(ens.n_neurons, ens.dimensions)
        return np.zeros((n_points, ens.dimensions), dtype=dtype)
    return np.zeros(np.shape(eval_points), dtype=dtype)


def _shadow_samples(dist_or_samples, n, d=None, rng=None):
    """Stands in for nengo's ``get_samples`` (encoders): ones, which normalise without
    the NaNs that zeros would raise."""
    del dist_or_samples, rng
    return np.ones((n,) if d is None else (n, d))


def _shadow_gain_bias(ens, rng=None, dtype=None):
    """Stands in for nengo's ``get_gain_bias``: gains of one (nengo checks that they
    are positive), biases, rates and intercepts of zero."""
    del rng
    dtype = rc.float_dtype if dtype is None else dtype
    ones, zeros = np.ones(ens.n_neurons, dtype), np.zeros(ens.n_neurons, dtype)
    return ones, zeros, zeros.copy(), zeros.copy()


_SHADOW_HELPERS = {"gen_eval_points": _shadow_eval_points, "get_samples": _shadow_samples,
                   "get_gain_bias": _shadow_gain_bias}
_shadowing = threading.local()  # .on: this thread is building a shadow


def _dispatching(original, shadow):
    """nengo's helper ``original``, or ``shadow`` while this thread builds a shadow."""

    @functools.wraps(original)
    def helper(*args, **kwargs):
        if getattr(_shadowing, "on", False):
            return shadow(*args, **kwargs)
        return original(*args, **kwargs)

    helper.nengo_original = original
    return helper


def _install():
    """Put the dispatching helpers in nengo's ensemble builder module (once)."""
    for name, shadow in _SHADOW_HELPERS.items():
        current = getattr(nengo_ensemble, name)
        if not hasattr(current, "nengo_original"):
            setattr(nengo_ensemble, name, _dispatching(current, shadow))


@contextlib.contextmanager
def _placeholder_values():
    """Within this block, nengo's ``build_ensemble`` samples nothing in this thread.

    nengo looks its helpers up in its module at every call, so dispatching versions are
    put there once: they call the shadow helpers above while this thread builds a
    shadow, and nengo's own otherwise. ``build_ensemble`` itself runs unchanged, so a
    shadow has exactly the signals and operators of the real ensemble, and other
    threads building with nengo meanwhile are not affected.
    """
    _install()
    before = getattr(_shadowing, "on", False)
    _shadowing.on = True
    try:
        yield
    finally:
        _shadowing.on = before


def shadow_decoders(conn):
    """``(eval_points, weights, solver_info)`` of the shapes nengo's ``build_decoders``
    gives ``conn``, all zeros."""
    pre = conn.pre_obj
    if conn.solver.weights and not conn.solver.compositional:
        rows = conn.post_obj.n_neurons  # the solve finds the whole weight matrix
    else:
        rows = conn.size_mid
    dtype = rc.float_dtype
    return (np.zeros((0, pre.dimensions), dtype), np.zeros((rows, pre.n_neurons), dtype),
            {})


class LocalBuilder(PrefetchBuilder):
    """`PrefetchBuilder` that builds as shadows what this rank does not run.

    Its ``locality`` (a `Locality`, set while a part is built) says what is real;
    without one, this is a `PrefetchBuilder`. With a ``halo`` too (a
    `nengo_mpi.construction.halo.Halo`), the objects it does not need are not built at
    all.
    """

    locality = None
    halo = None

    @classmethod
    def build(cls, model, obj, *args, **kwargs):
        halo = model.builder.halo
        if halo is not None:
            if halo.skips(obj):
                return None  # another rank's, and no neighbour of this rank's
            start = len(model.operators)
            try:
                return cls._build_local(model, obj, *args, **kwargs)
            finally:
                halo.record_keys(obj, model.operators[start:])
        return cls._build_local(model, obj, *args, **kwargs)

    @classmethod
    def _build_local(cls, model, obj, *args, **kwargs):
        locality = model.builder.locality
        if locality is not None:
            if isinstance(obj, nengo.Ensemble) and locality.is_shadow_ensemble(obj):
                locality.shadowed.add(obj)
                with _placeholder_values():
                    return super().build(model, obj, *args, **kwargs)
            if isinstance(obj, Solver) and builder_of(obj) is build_solver:
                conn = args[0]
                if conn.pre_obj in locality.shadowed:
                    locality.shadowed.add(conn)
                    return shadow_decoders(conn)
        return super().build(model, obj, *args, **kwargs)


def overwrite_initial_value(base, value):
    """Write ``value`` into the memory of base signal ``base``'s initial value, so that
    the views made of it before see it too (nengo's signals keep a read-only view of
    an array they share with their views)."""
    current = base.initial_value
    root = current
    while isinstance(root.base, np.ndarray):
        root = root.base
    if not root.flags.writeable:
        raise ValueError(f"the initial value of {base} is not writable")
    offset = (current.__array_interface__["data"][0]
              - root.__array_interface__["data"][0])
    target = np.ndarray(current.shape, dtype=current.dtype, buffer=root, offset=offset,
                        strides=current.strides)
    target[...] = value
