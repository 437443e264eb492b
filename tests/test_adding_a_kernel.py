"""The worked example of docs/adding_a_kernel.md: a neuron type added end to end.

`SoftLIFRate` is defined here, as a package of the user's would define it; its kernel
is the engine's ``add_soft_lif_rate`` (``cpp/ops/neurons.*``,
``cpp/bindings/register_neuron_ops.cpp``), and one registry entry joins the two. The
tests check the kernel against the type's own ``step``, in a network against
nengo.Simulator, its merging, and that the guide shows this very code.
"""

import os
import re

import nengo
import numpy as np
import pytest
from nengo.builder import Model
from nengo.builder.neurons import SimNeurons
from nengo.builder.signal import Signal
from nengo.params import NumberParam

import nengo_mpi
from nengo_mpi.kernels import NeuronKernel, register

from kernel_harness import op_kinds

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
GUIDE = os.path.join(ROOT, "docs", "adding_a_kernel.md")


# guide: the neuron type
class SoftLIFRate(nengo.LIFRate):
    """LIFRate with a smoothed threshold (Hunsberger & Eliasmith, 2015).

    ``j = J - 1`` becomes ``sigma * softplus(j / sigma)`` before LIFRate's rate, so the
    rate and its derivative are continuous at threshold; as ``sigma`` goes to 0 it is
    LIFRate.
    """

    sigma = NumberParam("sigma", low=0, low_open=True)

    def __init__(self, sigma=0.02, **kwargs):
        super().__init__(**kwargs)
        self.sigma = sigma

    def step(self, dt, J, output):
        x = (J - 1) / self.sigma
        # softplus(x) is x itself from 34 on (and exp would overflow far beyond)
        softplus = np.where(x >= 34, x, np.log1p(np.exp(np.minimum(x, 34))))
        p = self.sigma * softplus
        # p is 0 (or tiny) far below threshold: 1 / p is inf, and the rate 0
        with np.errstate(divide="ignore", over="ignore"):
            output[...] = self.amplitude / (self.tau_ref + self.tau_rc * np.log1p(1 / p))


# guide: the registry entry
register(NeuronKernel(SoftLIFRate, "add_soft_lif_rate", state=(),
                      params=("tau_rc", "tau_ref", "amplitude", "sigma")), replace=True)
# guide: end


#: (rtol, atol) against numpy: exp and log1p may differ from libm's by a few ulps.
TOLERANCES = {np.dtype(np.float64): (1e-12, 1e-12), np.dtype(np.float32): (2e-6, 2e-6)}


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_kernel_matches_the_types_own_step(rng, dtype):
    """One SimNeurons op, stepped by nengo (the type's ``step``) and by the engine,
    over currents from far below threshold to far above, in both precisions."""
    n, n_steps = 200, 20
    neuron_type = SoftLIFRate(sigma=0.05, tau_rc=0.03, amplitude=0.8)
    model = Model(dt=0.001)
    J = Signal(np.zeros(n, dtype=dtype), name="J")
    out = Signal(np.zeros(n, dtype=dtype), name="out")
    model.add_op(SimNeurons(neuron_type, J, out, state={}))
    currents = rng.uniform(-3, 40, size=(n_steps, n)).astype(dtype)
    currents[:, :5] = [-1e4, 0.0, 1.0, 1.0 + 1e-3, 1e4]  # edges: underflow, threshold
    ref = nengo.Simulator(None, model=model, optimize=False, progress_bar=False)
    sim = nengo_mpi.Simulator(None, model=model, progress_bar=False)
    with ref, sim:
        assert "SoftLIFRate" in op_kinds(sim), op_kinds(sim)
        rtol, atol = TOLERANCES[np.dtype(dtype)]
        for step in range(n_steps):
            for s in (ref, sim):
                s.signals[J][...] = currents[step]
                s.step()
            theirs = ref.signals[out]
            scale = max(1.0, float(np.max(np.abs(theirs))))
            np.testing.assert_allclose(sim.signals[out], theirs, rtol=rtol,
                                       atol=atol * scale, err_msg=f"step {step}")
        assert np.count_nonzero(ref.signals[out]) > n // 2  # the neurons did fire


def test_network_matches_nengo():
    """Ensembles of the type, built by nengo's builder (decoders solved from the
    type's rates), decode what they do in nengo.Simulator; they merge into one op."""
    with nengo.Network(seed=5) as net:
        stim = nengo.Node(lambda t: np.sin(10 * t))
        ens = [nengo.Ensemble(60, 1, neuron_type=SoftLIFRate()) for _ in range(2)]
        for e in ens:
            nengo.Connection(stim, e)
        probes = [nengo.Probe(e, synapse=0.01) for e in ens]
        probes.append(nengo.Probe(ens[0].neurons))
    with nengo.Simulator(net, progress_bar=False) as ref:
        ref.run_steps(300)
    with nengo_mpi.Simulator(net, progress_bar=False) as sim:
        sim.run_steps(300)
        kinds = op_kinds(sim)
    assert kinds.count("SoftLIFRate") == 1, kinds  # deterministic: the two merged
    for p in probes:
        np.testing.assert_allclose(sim.data[p], ref.data[p], rtol=1e-10, atol=1e-10)
    assert np.ptp(ref.data[probes[0]]) > 0.8  # it tracked the sine


def test_guide_shows_this_code():
    """Every block of docs/adding_a_kernel.md that names a file is in that file,
    verbatim; the Python blocks are this file's ``# guide:`` sections."""
    with open(GUIDE, encoding="utf-8") as f:
        guide = f.read()
    blocks = re.findall(r"<!-- file: (\S+) -->\n```\w*\n(.*?)```", guide, re.S)
    assert len(blocks) >= 5, "the guide's code blocks are not marked with their files"
    for path, code in blocks:
        with open(os.path.join(ROOT, path), encoding="utf-8") as f:
            source = f.read()
        assert code in source, f"the guide's block for {path} is not in it:\n{code}"
