"""Ensembles split into tiles: the partitioner's tiles, the model's rewrite, and results
identical at every number of components and placement of the tiles."""

import warnings

import nengo
import numpy as np
import pytest
from nengo.exceptions import ValidationError

import nengo_mpi
from nengo_mpi.partition.tiles import DEFAULT_TILE_SIZE, Tile, make_tiles


def square(x):
    return x ** 2


def recurrent(n_neurons=600, dimensions=4, seed=3, probe_input=False):
    """A recurrent ensemble fed by a Node, read by a Node without a synapse, probed."""
    with nengo.Network(seed=seed) as net:
        stim = nengo.Node(np.linspace(0.1, 0.4, dimensions))
        net.ens = nengo.Ensemble(n_neurons, dimensions)
        post = nengo.Node(size_in=dimensions)
        nengo.Connection(stim, net.ens, transform=0.1, synapse=0.1)
        nengo.Connection(net.ens, net.ens, synapse=0.1)
        nengo.Connection(net.ens[:2], post[1:3], function=square, synapse=None)
        net.watched = [nengo.Probe(net.ens, synapse=0.01), nengo.Probe(post, synapse=0.01)]
        if probe_input:
            net.watched.append(nengo.Probe(net.ens, "input"))
    return net


def run(net, partitioner, steps=200, **kwargs):
    with nengo_mpi.Simulator(net, partitioner=partitioner, progress_bar=False,
                             **kwargs) as sim:
        sim.run_steps(steps)
        return [sim.data[p].copy() for p in net.watched], sim.assignments


@pytest.mark.parametrize("bad", [0, -3, 2.5, "100", True])
def test_tile_size_must_be_a_positive_integer(bad):
    with pytest.raises(ValidationError, match="tile_size"):
        nengo_mpi.Partitioner(2, tile_size=bad)


def test_tiles_cover_the_ensemble_in_near_equal_slices():
    net = recurrent(n_neurons=1001)
    tiles, whole = make_tiles(net, 250)
    (ens_tiles,) = tiles.values()
    assert not whole
    assert [t.index for t in ens_tiles] == list(range(5))
    assert ens_tiles[0].start == 0 and ens_tiles[-1].stop == 1001
    assert all(a.stop == b.start for a, b in zip(ens_tiles, ens_tiles[1:]))
    assert {t.n_neurons for t in ens_tiles} <= {200, 201}
    assert make_tiles(net, 1001) == ({}, {})  # not above the size: whole, no reason
    assert make_tiles(net, None) == ({}, {})


@pytest.mark.parametrize(
    "change, reason",
    [
        (lambda net: nengo.Probe(net.ens.neurons), "records its neurons"),
        (lambda net: nengo.Connection(net.ens, net.ens, learning_rule_type=nengo.PES()),
         "learning rule"),
        (lambda net: nengo.Connection(nengo.Node([0]), net.ens.neurons,
                                      transform=np.ones((600, 1))), "to its neurons"),
        (lambda net: setattr(net.ens, "neuron_type", nengo.PoissonSpiking(nengo.LIFRate())),
         "PoissonSpiking"),
        (lambda net: setattr(net.ens, "noise", nengo.processes.WhiteNoise()), "noise"),
    ],
)
def test_ensembles_that_stay_whole_say_why(change, reason):
    net = recurrent()
    with net:
        change(net)
    tiles, whole = make_tiles(net, 200)
    assert net.ens not in tiles
    assert reason in whole[net.ens]


def test_results_identical_at_every_split_and_close_to_untiled():
    net = recurrent(probe_input=True)
    untiled, _ = run(net, nengo_mpi.Partitioner(1, tile_size=None))
    first = None
    for n in (1, 2, 3):
        got, assignments = run(net, nengo_mpi.Partitioner(n, tile_size=200))
        tiles = [k for k in assignments if isinstance(k, Tile)]
        assert len(tiles) == 3
        if n > 1:
            assert len({assignments[t] for t in tiles}) > 1  # really spread
        first = first or got
        for a, b in zip(first, got):
            assert np.array_equal(a, b)
    # Tiled and untiled differ only in how each decoded value is summed.
    for a, b in zip(untiled, first):
        np.testing.assert_allclose(a, b, rtol=0, atol=1e-13)


def test_results_do_not_depend_on_where_the_tiles_go():
    """A custom partitioning function that places tiles in two different ways."""
    net = recurrent()

    def placer(shift):
        def place(graph, n):
            parts = []
            for members in graph.vertices:
                tile = next((m for m in members if isinstance(m, Tile)), None)
                parts.append(0 if tile is None else (tile.index + shift) % n)
            return parts
        return place

    a, assign_a = run(net, nengo_mpi.Partitioner(3, func=placer(0), tile_size=150))
    b, assign_b = run(net, nengo_mpi.Partitioner(3, func=placer(1), tile_size=150))
    tiles = [k for k in assign_a if isinstance(k, Tile)]
    assert [assign_a[t] for t in tiles] != [assign_b[t] for t in tiles]
    for x, y in zip(a, b):
        assert np.array_equal(x, y)


def test_unmerged_and_merged_agree():
    net = recurrent()
    merged, _ = run(net, nengo_mpi.Partitioner(2, tile_size=200))
    unmerged, _ = run(net, nengo_mpi.Partitioner(2, tile_size=200), optimize=False)
    for a, b in zip(merged, unmerged):
        assert np.array_equal(a, b)


def test_matches_nengo_to_rounding():
    net = recurrent()
    got, _ = run(net, nengo_mpi.Partitioner(2, tile_size=200))
    with nengo.Simulator(net, progress_bar=False) as ref:
        ref.run_steps(200)
        expected = [ref.data[p] for p in net.watched]
    for a, b in zip(expected, got):
        np.testing.assert_allclose(b, a, rtol=0, atol=1e-10)


def test_default_tiles_large_ensembles_and_plan_counts_them():
    net = recurrent(n_neurons=2500)
    partitioner = nengo_mpi.Partitioner(2)
    assert partitioner.tile_size == DEFAULT_TILE_SIZE
    plan = nengo_mpi.plan(net, 2)
    tiles = [k for k in plan.assignments if isinstance(k, Tile)]
    assert len(tiles) == 3
    assert plan.neurons.sum() == 2500
    # The ensemble is shared by both ranks.
    assert all(plan.neurons > 0)


def test_pickled_simulator_keeps_its_tiles():
    """An unpickled Simulator lowers its tiled model again, with the same placement,
    and goes on exactly as the original does."""
    import pickle

    net = recurrent()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sim = nengo_mpi.Simulator(net, partitioner=nengo_mpi.Partitioner(2, tile_size=200),
                                  progress_bar=False)
    with sim:
        sim.run_steps(50)
        copy = pickle.loads(pickle.dumps(sim))
        sim.run_steps(50)
        expected = [sim.data[p] for p in sim.model.probes]
    with copy:
        copy.run_steps(50)
        assert copy.n_components == 2
        got = [copy.data[p] for p in copy.model.probes]
    for a, b in zip(expected, got):
        assert np.array_equal(a, b)


def half_of_first_two(x):
    return x[:2] * 0.5


def test_two_tiled_ensembles_feeding_each_other():
    """Each tile's input sums the other ensemble's tiles' shares: identical at every
    split, and to rounding the untiled model."""
    def build():
        with nengo.Network(seed=7) as net:
            stim = nengo.Node([0.2, -0.1, 0.3])
            a = nengo.Ensemble(500, 3)
            b = nengo.Ensemble(450, 3)
            nengo.Connection(stim, a, synapse=0.05)
            nengo.Connection(a, b, synapse=0.02)
            nengo.Connection(b, a, transform=-0.3, synapse=0.02)
            nengo.Connection(b, b[1:], function=half_of_first_two, synapse=0.1)
            net.watched = [nengo.Probe(a, synapse=0.01), nengo.Probe(b, synapse=0.01),
                           nengo.Probe(b, "input")]
        return net

    untiled, _ = run(build(), nengo_mpi.Partitioner(1, tile_size=None))
    first = None
    for n in (1, 2, 4):
        got, assignments = run(build(), nengo_mpi.Partitioner(n, tile_size=150))
        assert sum(isinstance(k, Tile) for k in assignments) == 7
        first = first or got
        for x, y in zip(first, got):
            assert np.array_equal(x, y)
    for x, y in zip(untiled, first):
        np.testing.assert_allclose(x, y, rtol=0, atol=1e-13)
