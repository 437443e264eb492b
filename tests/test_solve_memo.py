"""Solves out of one ensemble share their encoded points, rates and Cholesky factor
(nengo_mpi.construction.solve_memo): the decoders stay nengo's to the bit, and the shared
work is done once."""

from contextlib import nullcontext

import numpy as np
import pytest
import nengo
from nengo.solvers import LstsqL2, LstsqL2nz, LstsqNoise
from nengo.utils.least_squares_solvers import Cholesky
from threadpoolctl import threadpool_limits

from nengo_mpi.construction import solve_memo
from nengo_mpi.construction.construct import build_into, new_model
from nengo_mpi.construction.solve_plan import plan_chunks


class DoublingSolver(LstsqL2):
    """A user's solver that writes to the rates it is given (nengo gives each call a
    fresh copy, so the result must not depend on other connections' solves)."""

    def __call__(self, A, Y, rng=np.random):
        A *= 2.0
        return super().__call__(A, Y, rng=rng)


def fan_out_network():
    """Ensembles with many connections out, of every solver kind that shares or not."""
    with nengo.Network(seed=11) as net:
        a = nengo.Ensemble(80, 2)
        fat = nengo.Ensemble(120, 1, n_eval_points=40)  # fewer points than neurons
        post = nengo.Ensemble(30, 2)
        nengo.Connection(a, post)
        nengo.Connection(a, post, function=lambda x: x ** 2)
        nengo.Connection(a, post, solver=LstsqL2(reg=0.05))
        nengo.Connection(a, post, solver=LstsqL2(solver=Cholesky(transpose=True)))
        nengo.Connection(a, post, solver=LstsqL2(solver=Cholesky(transpose=False)))
        nengo.Connection(a, post, solver=LstsqL2(weights=True))
        nengo.Connection(a, post, solver=LstsqL2nz())
        nengo.Connection(a, post, solver=LstsqNoise())
        nengo.Connection(a, post, solver=DoublingSolver())
        nengo.Connection(a, post, solver=DoublingSolver())
        nengo.Connection(a[0], post[1], function=np.sin)
        nengo.Connection(fat, post[0])
        nengo.Connection(fat, post[1], function=np.square)
        nengo.Connection(fat, post[0], solver=LstsqL2(solver=Cholesky(transpose=False)))
    return net


def weights_of(data, net):
    return {conn: data[conn].weights for conn in net.all_connections}


@pytest.fixture
def no_cache():
    saved = nengo.rc["decoder_cache"]["enabled"]
    nengo.rc["decoder_cache"]["enabled"] = "False"
    yield
    nengo.rc["decoder_cache"]["enabled"] = saved


@pytest.mark.parametrize("workers", [0, 2])
def test_shared_solves_are_nengos_to_the_bit(workers, no_cache):
    net = fan_out_network()
    with threadpool_limits(limits=1) if workers else nullcontext():
        with nengo.Simulator(net, progress_bar=False, optimize=False) as ref:
            expected = weights_of(ref.data, net)
    model = new_model(0.001, "test")
    build_into(model, net, build_workers=workers)
    got = weights_of(model.params, net)
    for conn, weights in expected.items():
        assert np.array_equal(got[conn], weights), conn


def test_factor_and_rates_computed_once_per_ensemble(monkeypatch, no_cache):
    factors, rates = [], []
    real_factor = solve_memo.scipy.linalg.cho_factor

    def counting_factor(G, **kwargs):
        factors.append(G.shape)
        return real_factor(G, **kwargs)

    from nengo_mpi.construction import decoders  # pylint: disable=import-outside-toplevel
    real_rates = decoders.neuron_rates

    def counting_rates(neuron_type, x, gain, bias):
        rates.append(x.shape)
        return real_rates(neuron_type, x, gain, bias)

    monkeypatch.setattr(solve_memo.scipy.linalg, "cho_factor", counting_factor)
    monkeypatch.setattr(decoders, "neuron_rates", counting_rates)
    with nengo.Network(seed=2) as net:
        a = nengo.Ensemble(50, 1)
        b = nengo.Ensemble(40, 1)
        for k in range(4):
            nengo.Connection(a, b, function=lambda x, k=k: x ** k)
        nengo.Connection(a, b, solver=LstsqL2(reg=0.2))  # another factor, same rates
    build_into(new_model(0.001, "test"), net, build_workers=0)
    assert factors == [(50, 50), (50, 50)]  # one per (ensemble, regularisation)
    assert rates == [(a.n_eval_points or 750, 50)]  # once for all five


def test_memo_keeps_the_newest_ensemble_within_its_bound():
    class Built:  # what the memo reads of a built ensemble
        def __init__(self, n):
            rng = np.random.RandomState(n)
            self.eval_points = rng.uniform(-1, 1, (100, 2))
            self.encoders = rng.uniform(-1, 1, (n, 2))
            self.gain = np.ones(n)
            self.bias = np.zeros(n)

    memo = solve_memo.SolveMemo(max_bytes=100 * 60 * 8 + 1)  # room for one x of 60
    first, second = Built(60), Built(60)
    x1 = memo.encoded(first, 1.0)
    assert memo.encoded(first, 1.0) is x1  # kept: computed once
    assert memo.shared_for(x1, first.gain, first.bias) is not None
    assert memo.shared_for(x1, np.ones(60), first.bias) is None  # another gain
    x2 = memo.encoded(second, 1.0)
    assert memo.shared_for(x2, second.gain, second.bias) is not None
    assert memo.shared_for(x1, first.gain, first.bias) is None  # dropped past the bound
    assert np.array_equal(memo.encoded(first, 1.0), x1)  # and computed again, the same


def test_chunks_never_split_the_connections_of_one_ensemble():
    with nengo.Network(seed=3) as net:
        ensembles = [nengo.Ensemble(20 + 10 * (i % 3), 1) for i in range(9)]
        for i, ens in enumerate(ensembles):
            for k in range(1 + i % 4):
                nengo.Connection(ens, ensembles[(i + k + 1) % 9])
    conns = [c for ens in ensembles for c in net.all_connections if c.pre_obj is ens]
    for workers in (1, 2, 3, 8):
        chunks = plan_chunks(conns, workers)
        assert [i for chunk in chunks for i in chunk] == list(range(len(conns)))
        for before, after in zip(chunks[:-1], chunks[1:]):
            assert conns[before[-1]].pre_obj is not conns[after[0]].pre_obj
