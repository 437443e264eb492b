"""Run with: mpirun -np N python -m pytest --with-mpi tests/mpi.

Distributed construction across real ranks: what rank 0 sees of objects built
elsewhere, and a rank that fails while building. (Bitwise identity of the probe data
with a build on rank 0 alone is checked in test_rank_invariance.py.)
"""

import numpy as np
import pytest
from threadpoolctl import threadpool_limits

import nengo
import nengo_mpi
from nengo_mpi.runtime import session as mpi_session
from nengo_mpi.runtime.spmd import on_root


def _two_ensembles():
    with nengo.Network(seed=8) as net:
        u = nengo.Node(0.5)
        a = nengo.Ensemble(40, 1)
        b = nengo.Ensemble(50, 2)
        nengo.Connection(u, a)
        ab = nengo.Connection(a, b[0], function=lambda x: x ** 2)
        nengo.Connection(b, a, transform=[[0.2, 0.1]])
    return net, a, b, ab


def _params_of_remote_objects():
    net, a, b, ab = _two_ensembles()
    kwargs = dict(partitioner=nengo_mpi.Partitioner(2), assignments={a: 0, b: 1},
                  progress_bar=False)
    with nengo_mpi.Simulator(net, **kwargs) as sim:
        distributed = sim.distributed_build
        sim.run_steps(10)
        during = np.array(sim.data[b].encoders)
    after = (sim.data[b], sim.data[ab])  # fetched once the simulator is closed
    with mpi_session.suspended(), threadpool_limits(1):
        with nengo_mpi.Simulator(net, **kwargs) as ref:
            expected = (ref.data[b], ref.data[ab])
    same = all(np.array_equal(x, y) for x, y in zip(after[0], expected[0]))
    same = same and np.array_equal(after[1].weights, expected[1].weights)
    same = same and np.array_equal(during, expected[0].encoders)
    return distributed, same


@pytest.mark.mpi(min_size=2)
def test_params_of_objects_built_on_other_ranks_are_fetched():
    """sim.data of an ensemble and a connection built on rank 1 are the real ones,
    while the simulator is open and after it is closed."""
    distributed, same = on_root(_params_of_remote_objects)
    assert distributed
    assert same


def refuse_off_rank_0(x):
    """A connection function that only rank 0 may evaluate."""
    from mpi4py import MPI  # pylint: disable=import-outside-toplevel

    if MPI.COMM_WORLD.Get_rank() != 0:
        raise ValueError("refused off rank 0")
    return x


def _failing_on_rank_1():
    with nengo.Network(seed=2) as net:
        a = nengo.Ensemble(20, 1)
        b = nengo.Ensemble(20, 1)
        nengo.Connection(a, b, function=refuse_off_rank_0)
    nengo_mpi.Simulator(net, partitioner=nengo_mpi.Partitioner(2),
                        assignments={a: 1, b: 0}, progress_bar=False)


@pytest.mark.mpi(min_size=2)
def test_failure_on_another_rank_during_construction_names_it():
    """The error of rank 1's build reaches rank 0 with the rank named, and every rank
    goes on (the next simulator builds)."""
    with pytest.raises(RuntimeError, match=r"(?s)refused off rank 0.*rank 1"):
        on_root(_failing_on_rank_1)
    distributed, same = on_root(_params_of_remote_objects)
    assert distributed and same


def _class_only_rank_0_can_import():
    import importlib  # pylint: disable=import-outside-toplevel
    import os  # pylint: disable=import-outside-toplevel
    import sys  # pylint: disable=import-outside-toplevel
    import tempfile  # pylint: disable=import-outside-toplevel
    import warnings  # pylint: disable=import-outside-toplevel

    from nengo_mpi.runtime.distributed_build import (  # pylint: disable=import-outside-toplevel
        DistributedBuildWarning,
    )

    directory = tempfile.mkdtemp(prefix="nengo_mpi_rank0_")
    with open(os.path.join(directory, "rank0_only_types.py"), "w", encoding="utf-8") as f:
        f.write("import nengo\n\n\nclass OwnLIF(nengo.LIF):\n    pass\n")
    sys.path.insert(0, directory)
    try:
        module = importlib.import_module("rank0_only_types")
        with nengo.Network(seed=4) as net:
            a = nengo.Ensemble(20, 1, neuron_type=module.OwnLIF())
            b = nengo.Ensemble(20, 1)
            nengo.Connection(a, b)
            probe = nengo.Probe(b, synapse=0.01)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            sim = nengo_mpi.Simulator(net, partitioner=nengo_mpi.Partitioner(2),
                                      progress_bar=False)
        with sim:
            sim.run_steps(20)
            ran = sim.data[probe].shape == (20, 1)
        said = [str(w.message) for w in caught
                if issubclass(w.category, DistributedBuildWarning)]
        return sim.distributed_build, said, ran
    finally:
        sys.path.remove(directory)
        sys.modules.pop("rank0_only_types", None)


@pytest.mark.mpi(min_size=2)
def test_network_another_rank_cannot_load_is_built_on_rank_0():
    """A class only rank 0 can import: the other ranks cannot load the network, so
    rank 0 builds it alone, says why, and the model runs."""
    distributed, said, ran = on_root(_class_only_rank_0_can_import)
    assert not distributed
    assert len(said) == 1 and "rank0_only_types" in said[0], said
    assert ran
