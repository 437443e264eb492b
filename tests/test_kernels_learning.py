"""Native learning rules (SimPES, SimBCM, SimOja, SimVoja, SimRLS) against nengo.

Three levels:

* kernels: hand-built models holding one learning operator (plus the Copy that applies
  its delta), stepped in nengo.Simulator and nengo_mpi.Simulator side by side with fresh
  random inputs every step, comparing every signal after every step. PES, BCM, Oja and
  Voja must match bit for bit; RLS sums two dot products that numpy hands to BLAS, so it
  matches to rounding.
* networks: real nengo networks with each rule, in 64- and 32-bit precision, with probes
  on weights/encoders and the rules' own signals, compared with nengo.Simulator; every
  operator must run natively.
* partitions: learning networks split over two components in every way the partitioner's
  constraints allow, compared with nengo.Simulator.
"""

import itertools

import nengo
import numpy as np
import pytest
from nengo.builder import Model
from nengo.builder.learning_rules import SimBCM, SimOja, SimPES, SimRLS, SimVoja
from nengo.builder.operator import Copy
from nengo.builder.signal import Signal

import kernel_harness
import nengo_mpi
from kernel_harness import DT, op_kinds, run_against_nengo

N_STEPS = 60
DTYPES = [
    pytest.param(np.float64, id="float64"),
    pytest.param(np.float32, id="float32"),
]


def signal(rng, shape, name, dtype, low=-1.0, high=1.0):
    """A Signal of ``dtype`` with uniformly random initial values."""
    return Signal(rng.uniform(low, high, size=shape).astype(dtype), name=name)


def fresh(rng, sig, n_steps=N_STEPS, low=-1.0, high=1.0):
    """Random values for ``sig`` for every step (inputs for `run_against_nengo`)."""
    values = rng.uniform(low, high, size=(n_steps,) + sig.shape)
    return values.astype(sig.dtype)


def view(rng, shape, name, dtype, layout):
    """A signal of ``shape``, either whole or a strided view of a larger base.

    Strided views exercise the kernels' general (non-unit-stride) loops.
    """
    shape = np.atleast_1d(shape)
    if layout == "contiguous":
        return signal(rng, tuple(shape), name, dtype)
    if len(shape) == 1:
        return signal(rng, 2 * shape[0] + 1, name, dtype)[1::2]
    rows, cols = shape
    return signal(rng, (rows + 1, 3 * cols), name, dtype)[1:, ::3]


LAYOUTS = ["contiguous", "strided"]


def apply_delta(model, delta, target, layout):
    """Add nengo's Copy(delta -> target, inc) for contiguous layouts.

    The builder's deltas are whole contiguous matrices; a strided 2-D Copy is not native
    (and not what learning needs), so strided layouts step the rule alone.
    """
    if layout == "contiguous":
        model.add_op(Copy(delta, target, inc=True))
        return ["Copy"]
    return []


# --- PES ----------------------------------------------------------------------


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("n_pre, n_post", [(7, 3), (12, 1), (1, 5)])
def test_sim_pes(rng, dtype, layout, n_pre, n_post):
    """delta = outer(-kappa dt / n * error, pre), applied to weights, bit for bit."""
    model = Model(dt=DT)
    pre = view(rng, n_pre, "pre", dtype, layout)
    error = view(rng, n_post, "error", dtype, layout)
    delta = view(rng, (n_post, n_pre), "delta", dtype, layout)
    weights = signal(rng, (n_post, n_pre), "weights", dtype)
    model.add_op(SimPES(pre, error, delta, learning_rate=3e-4 * 7))
    copy = apply_delta(model, delta, weights, layout)
    run_against_nengo(
        model,
        ["SimPES"] + copy,
        inputs={pre: fresh(rng, pre, low=0, high=200), error: fresh(rng, error)},
        exact=[delta.base, weights],
    )


# --- BCM ----------------------------------------------------------------------


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("dtype", DTYPES)
def test_sim_bcm(rng, dtype, layout):
    """delta = outer(alpha * post * (post - theta), pre), bit for bit."""
    model = Model(dt=DT)
    pre = view(rng, 9, "pre", dtype, layout)
    post = view(rng, 4, "post", dtype, layout)
    theta = view(rng, 4, "theta", dtype, layout)
    delta = view(rng, (4, 9), "delta", dtype, layout)
    weights = signal(rng, (4, 9), "weights", dtype)
    model.add_op(SimBCM(pre, post, theta, delta, learning_rate=1.3e-9))
    copy = apply_delta(model, delta, weights, layout)
    run_against_nengo(
        model,
        ["SimBCM"] + copy,
        inputs={
            pre: fresh(rng, pre, low=0, high=300),
            post: fresh(rng, post, low=0, high=300),
            theta: fresh(rng, theta, low=0, high=300),
        },
        exact=[delta.base, weights],
    )


# --- Oja ----------------------------------------------------------------------


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("beta", [1.0, 0.37])
def test_sim_oja(rng, dtype, layout, beta):
    """Oja's forgetting term reads the weights, which the rule keeps changing (or, for
    strided views, which are fresh random values every step): bit for bit."""
    model = Model(dt=DT)
    pre = view(rng, 6, "pre", dtype, layout)
    post = view(rng, 5, "post", dtype, layout)
    weights = view(rng, (5, 6), "weights", dtype, layout)
    delta = view(rng, (5, 6), "delta", dtype, layout)
    model.add_op(SimOja(pre, post, weights, delta, learning_rate=1e-6, beta=beta))
    copy = apply_delta(model, delta, weights, layout)
    inputs = {pre: fresh(rng, pre, low=0, high=200), post: fresh(rng, post, low=0, high=200)}
    if not copy:
        inputs[weights] = fresh(rng, weights)
    run_against_nengo(
        model,
        ["SimOja"] + copy,
        inputs=inputs,
        exact=[delta.base, weights.base],
    )


# --- Voja ---------------------------------------------------------------------


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("dims", [1, 3])
def test_sim_voja(rng, dtype, layout, dims):
    """Encoders move towards the input, scaled by gain/radius and the learning signal."""
    n = 8
    model = Model(dt=DT)
    pre = view(rng, dims, "pre_decoded", dtype, layout)
    post = view(rng, n, "post", dtype, layout)
    encoders = view(rng, (n, dims), "encoders", dtype, layout)
    learning = signal(rng, 1, "learning", dtype)
    delta = view(rng, (n, dims), "delta", dtype, layout)
    scale = rng.uniform(0.5, 3, size=n).astype(dtype)
    model.add_op(SimVoja(pre, post, encoders, delta, scale, learning, learning_rate=1e-3))
    copy = apply_delta(model, delta, encoders, layout)
    inputs = {
        pre: fresh(rng, pre),
        post: fresh(rng, post, low=0, high=200),
        learning: fresh(rng, learning, low=0, high=1.5),
    }
    if not copy:
        inputs[encoders] = fresh(rng, encoders)
    run_against_nengo(
        model,
        ["SimVoja"] + copy,
        inputs=inputs,
        exact=[delta.base, encoders.base],
    )


def test_sim_voja_float64_scale_falls_back(rng):
    """A float64 scale with float32 signals makes numpy compute in float64: declined."""
    model = Model(dt=DT)
    pre = signal(rng, 2, "pre_decoded", np.float32)
    post = signal(rng, 4, "post", np.float32)
    encoders = signal(rng, (4, 2), "encoders", np.float32)
    learning = signal(rng, 1, "learning", np.float32)
    delta = signal(rng, (4, 2), "delta", np.float32)
    scale = rng.uniform(0.5, 3, size=4)  # float64
    model.add_op(SimVoja(pre, post, encoders, delta, scale, learning, learning_rate=1e-3))
    kinds, _ = run_against_nengo(
        model, [], inputs={post: fresh(rng, post, high=100)}, native=False
    )
    assert "Python" in kinds and "SimVoja" not in kinds


# --- RLS ----------------------------------------------------------------------


def symmetric(rng, n, dtype):
    """A symmetric positive definite matrix (exactly symmetric, as nengo asserts)."""
    b = rng.uniform(-1, 1, size=(n, n)) * 1e-3
    return ((b + b.T) / 2 + np.eye(n) * 0.02).astype(dtype)


@pytest.mark.parametrize(
    "r_dtype, p_dtype",
    [
        (np.float64, np.float64),  # 64-bit precision
        (np.float32, np.float64),  # 32-bit precision: nengo's P and error stay float64
        (np.float32, np.float32),
        (np.float64, np.float32),
    ],
)
@pytest.mark.parametrize("n_error", [1, 3])
def test_sim_rls(rng, monkeypatch, r_dtype, p_dtype, n_error):
    """RLS updates P and delta; numpy sums P r and r.(P r) with BLAS, so the order of
    two sums differs and the results agree to rounding: of float64 when every signal is
    float64, else of float32 (a float32 result may round the other way when the float64
    value it is rounded from differs in its last bit). A one-element error broadcasts
    over delta's rows, as in nengo."""
    n, rows = 10, 3
    tol = 1e-12 if r_dtype == p_dtype == np.float64 else 1e-6
    monkeypatch.setattr(kernel_harness, "RTOL", tol)
    monkeypatch.setattr(kernel_harness, "ATOL", tol * 1e-2)
    model = Model(dt=DT)
    r = signal(rng, n, "r", r_dtype)
    error = signal(rng, n_error, "error", p_dtype)
    delta = signal(rng, (rows, n), "delta", r_dtype)
    P = Signal(symmetric(rng, n, p_dtype), name="P")
    weights = signal(rng, (rows, n), "weights", r_dtype)
    model.add_op(SimRLS(r, error, delta, P))
    model.add_op(Copy(delta, weights, inc=True))
    # Rates of a few hundred Hz, filtered: r is O(1) to O(10) in nengo's RLS.
    run_against_nengo(
        model,
        ["SimRLS", "Copy"],
        inputs={r: fresh(rng, r, low=0, high=5), error: fresh(rng, error)},
    )


@pytest.mark.parametrize("dtype", DTYPES)
def test_sim_rls_strided(rng, monkeypatch, dtype):
    """P, r and delta as strided views of larger signals (the kernel's general loops)."""
    tol = 1e-12 if dtype == np.float64 else 1e-6
    monkeypatch.setattr(kernel_harness, "RTOL", tol)
    monkeypatch.setattr(kernel_harness, "ATOL", tol * 1e-2)
    n = 6
    base = rng.uniform(-1, 1, size=(2 * n, 3 * n)).astype(dtype)
    base[::2, ::3] = symmetric(rng, n, dtype)
    model = Model(dt=DT)
    P = Signal(base, name="P base")[::2, ::3]
    r = view(rng, n, "r", dtype, "strided")
    error = view(rng, 2, "error", dtype, "strided")
    delta = view(rng, (2, n), "delta", dtype, "strided")
    model.add_op(SimRLS(r, error, delta, P))
    run_against_nengo(
        model,
        ["SimRLS"],
        inputs={r: fresh(rng, r, low=0, high=5), error: fresh(rng, error)},
    )


def test_sim_rls_asymmetric_p_falls_back(rng):
    """nengo asserts a symmetric P when it builds the step; the native path declines so
    that our simulator raises the same error."""
    model = Model(dt=DT)
    r = signal(rng, 3, "r", np.float64)
    error = signal(rng, 1, "error", np.float64)
    delta = signal(rng, (1, 3), "delta", np.float64)
    P = signal(rng, (3, 3), "P", np.float64)
    model.add_op(SimRLS(r, error, delta, P))
    with pytest.raises(AssertionError, match="symmetric"):
        nengo.Simulator(None, model=model, optimize=False, progress_bar=False)
    with pytest.raises(AssertionError, match="symmetric"):
        nengo_mpi.Simulator(None, model=model, progress_bar=False)


def test_float32_factor_out_of_range_falls_back(rng):
    """numpy multiplies a float32 array by a Python float in float32 only if the float
    fits; a learning rate beyond float32's range is computed in float64, so the
    translator declines rather than round it."""
    model = Model(dt=DT)
    pre = signal(rng, 4, "pre", np.float32, low=0, high=1e-20)
    error = signal(rng, 2, "error", np.float32, high=1e-20)
    delta = signal(rng, (2, 4), "delta", np.float32)
    model.add_op(SimPES(pre, error, delta, learning_rate=1e45))
    kinds, _ = run_against_nengo(model, [], n_steps=3, native=False, exact=[delta])
    assert "Python" in kinds and "SimPES" not in kinds


# --- Copy between float32 and float64 ------------------------------------------


@pytest.mark.parametrize(
    "src_dtype, dst_dtype",
    [(np.float32, np.float64), (np.float64, np.float32)],
)
@pytest.mark.parametrize(
    "src_slice, dst_slice, inc",
    [
        (None, None, True),
        (None, None, False),
        ([4, 0, 2], [1, 5, 3], True),
        ([4, 0, 2], [1, 5, 3], False),
        ([0], None, True),  # one element broadcast over dst
        ([0], None, False),
        ([1, 2, 3, 0], [2, 2, 0, 2], True),  # repeated dst indices: np.add.at
    ],
)
def test_cast_copy(rng, src_dtype, dst_dtype, inc, src_slice, dst_slice):
    """nengo's RLS error is float64 under 32-bit precision, and the error connection's
    Copy into it mixes dtypes: numpy adds in the wider type and rounds to dst's."""
    model = Model(dt=DT)
    src = signal(rng, 6, "src", src_dtype)
    dst = signal(rng, 6, "dst", dst_dtype)
    model.add_op(Copy(src, dst, src_slice=src_slice, dst_slice=dst_slice, inc=inc))
    run_against_nengo(
        model, ["CastCopy"], inputs={src: fresh(rng, src, low=-1e3, high=1e3)}, exact=[dst]
    )


# --- Networks -----------------------------------------------------------------


def _base(seed=7):
    """Input -> a; b is the post population. Inputs are constant nodes, so that every
    operator can run natively."""
    net = nengo.Network(seed=seed)
    with net:
        net.stim = nengo.Node([0.6])
        net.a = nengo.Ensemble(20, 1)
        net.b = nengo.Ensemble(15, 1)
        nengo.Connection(net.stim, net.a)
    return net


def _weights(n_post, n_pre, scale=1e-3):
    return np.random.RandomState(0).randn(n_post, n_pre) * scale


def pes_decoders(pre_synapse):
    net = _base()
    with net:
        net.conn = nengo.Connection(
            net.a, net.b, learning_rule_type=nengo.PES(pre_synapse=pre_synapse)
        )
        nengo.Connection(net.b, net.conn.learning_rule)
        nengo.Connection(net.stim, net.conn.learning_rule, transform=-1)
    return net


def pes_neurons_to_neurons():
    net = _base()
    with net:
        net.conn = nengo.Connection(
            net.a.neurons, net.b.neurons, transform=_weights(15, 20),
            learning_rule_type=nengo.PES(learning_rate=1e-3),
        )
        nengo.Connection(net.b, net.conn.learning_rule)
        nengo.Connection(net.stim, net.conn.learning_rule, transform=-1)
    return net


def pes_ensemble_weights():
    """Decoded connection solved for full weights: PES encodes the error per neuron."""
    net = _base()
    with net:
        net.conn = nengo.Connection(
            net.a, net.b, solver=nengo.solvers.LstsqL2(weights=True),
            learning_rule_type=nengo.PES(),
        )
        nengo.Connection(net.b, net.conn.learning_rule)
        nengo.Connection(net.stim, net.conn.learning_rule, transform=-1)
    return net


def pes_sliced():
    """Advanced indexing on the pre neurons, a slice of the post neurons."""
    net = _base()
    with net:
        net.conn = nengo.Connection(
            net.a.neurons[[0, 3, 5, 7, 11]], net.b.neurons[2:9], transform=_weights(7, 5),
            learning_rule_type=nengo.PES(),
        )
        nengo.Connection(net.b, net.conn.learning_rule)
    return net


def pes_post_slice():
    net = _base()
    with net:
        net.c = nengo.Ensemble(12, 3)
        net.conn = nengo.Connection(
            net.a, net.c[[0, 2]], function=lambda x: [x[0], x[0] ** 2],
            learning_rule_type=nengo.PES(),
        )
        nengo.Connection(net.c[[0, 2]], net.conn.learning_rule)
        nengo.Connection(net.stim, net.conn.learning_rule[1], transform=-1)
    return net


def hebbian(rule, neurons):
    net = _base()
    with net:
        if neurons:
            net.conn = nengo.Connection(
                net.a.neurons, net.b.neurons, transform=_weights(15, 20), learning_rule_type=rule
            )
        else:
            net.conn = nengo.Connection(
                net.a, net.b, solver=nengo.solvers.LstsqL2(weights=True),
                learning_rule_type=rule,
            )
    return net


def voja(signal_conn):
    net = _base()
    with net:
        net.conn = nengo.Connection(
            net.a, net.b,
            learning_rule_type=nengo.Voja(post_synapse=None if signal_conn else 0.005),
        )
        if signal_conn:
            net.gate = nengo.Node([0.5])
            nengo.Connection(net.gate, net.conn.learning_rule, synapse=None)
    return net


def rls(neurons):
    net = _base()
    with net:
        if neurons:
            net.conn = nengo.Connection(
                net.a.neurons, net.b.neurons, transform=np.zeros((15, 20)),
                learning_rule_type=nengo.RLS(pre_synapse=None),
            )
        else:
            net.conn = nengo.Connection(net.a, net.b, learning_rule_type=nengo.RLS())
        nengo.Connection(net.b, net.conn.learning_rule)
        nengo.Connection(net.stim, net.conn.learning_rule, transform=-1)
    return net


def pes_and_voja():
    net = _base()
    with net:
        net.conn = nengo.Connection(
            net.a, net.b, learning_rule_type={"pes": nengo.PES(), "voja": nengo.Voja()}
        )
        nengo.Connection(net.b, net.conn.learning_rule["pes"])
        nengo.Connection(net.stim, net.conn.learning_rule["pes"], transform=-1)
    return net


NETWORKS = {
    "pes-decoders": (lambda: pes_decoders(nengo.Lowpass(0.005)), ["SimPES"]),
    "pes-decoders-no-pre-synapse": (lambda: pes_decoders(None), ["SimPES"]),
    "pes-neurons-to-neurons": (pes_neurons_to_neurons, ["SimPES"]),
    "pes-ensemble-weights": (pes_ensemble_weights, ["SimPES"]),
    "pes-sliced-neurons": (pes_sliced, ["SimPES"]),
    "pes-post-slice": (pes_post_slice, ["SimPES"]),
    "bcm-neurons": (lambda: hebbian(nengo.BCM(learning_rate=1e-8), True), ["SimBCM"]),
    "bcm-ensemble-weights": (lambda: hebbian(nengo.BCM(), False), ["SimBCM"]),
    "oja-neurons": (lambda: hebbian(nengo.Oja(learning_rate=1e-5), True), ["SimOja"]),
    "oja-ensemble-weights": (lambda: hebbian(nengo.Oja(), False), ["SimOja"]),
    "voja": (lambda: voja(False), ["SimVoja"]),
    "voja-learning-signal": (lambda: voja(True), ["SimVoja"]),
    "rls-decoders": (lambda: rls(False), ["SimRLS"]),
    "rls-neurons": (lambda: rls(True), ["SimRLS"]),
    "pes-and-voja": (pes_and_voja, ["SimPES", "SimVoja"]),
}


def add_probes(net):
    """Probes on the learning connection's weights, every learning rule signal, and the
    post population's decoded output."""
    with net:
        probes = [nengo.Probe(net.conn, "weights")]
        rules = net.conn.learning_rule
        rules = rules.values() if isinstance(rules, dict) else [rules]
        for rule in rules:
            probes += [nengo.Probe(rule, attr) for attr in rule.probeable]
        probes.append(nengo.Probe(net.b, synapse=0.01))
        probes.append(nengo.Probe(net.b.neurons))
    return probes


@pytest.fixture(params=["64", "32"], ids=["float64", "float32"])
def precision(request):
    """Build networks in nengo's 64- or 32-bit precision."""
    old = nengo.rc.get("precision", "bits")
    nengo.rc.set("precision", "bits", request.param)
    yield np.float64 if request.param == "64" else np.float32
    nengo.rc.set("precision", "bits", old)


def tolerance(dtype):
    """Relative (to the largest reference value) tolerance for whole networks.

    Dot products (decoders, encoders, RLS) sum in a different order from numpy's BLAS,
    and filters and neurons round differently in float32; spikes must still agree.
    """
    return 1e-10 if dtype == np.float64 else 1e-4


def assert_probes_match(sim, ref, probes, dtype, what=""):
    tol = tolerance(dtype)
    for p in probes:
        ours, theirs = sim.data[p], ref.data[p]
        assert ours.shape == theirs.shape and ours.dtype == theirs.dtype, (p, what)
        scale = max(float(np.max(np.abs(theirs))), 1e-30)
        np.testing.assert_allclose(
            ours, theirs, rtol=0, atol=tol * scale, err_msg=f"{p} {what}"
        )


@pytest.mark.parametrize("name", list(NETWORKS))
def test_network(name, precision):
    """Each rule in a real network: weights, the rule's signals and the post population
    match nengo, the weights really changed, and every operator ran natively."""
    build, kinds = NETWORKS[name]
    net = build()
    probes = add_probes(net)
    n_steps = 300
    with nengo.Simulator(net, progress_bar=False) as ref:
        ref.run_steps(n_steps)
        ref_weights = np.array(ref.signals[ref.model.sig[net.conn]["weights"]])
    with nengo_mpi.Simulator(net, progress_bar=False) as sim:
        found = op_kinds(sim)
        for kind in kinds:
            assert kind in found, f"no {kind} kernel among {found}"
        assert "Python" not in found, f"an operator fell back to Python: {found}"
        # RLS's error is float64 at either precision; under 32-bit precision the error
        # connection's Copy into it converts.
        assert ("CastCopy" in found) == (name.startswith("rls") and precision == np.float32)
        sim.run_steps(n_steps)
        assert_probes_match(sim, ref, probes, precision)
        np.testing.assert_array_equal(sim.data[net.conn].weights, ref.data[net.conn].weights)
        weights = np.array(sim.signals[sim.model.sig[net.conn]["weights"]])
        assert weights.dtype == precision
        scale = np.max(np.abs(ref_weights)) + 1e-30
        np.testing.assert_allclose(weights, ref_weights, rtol=0,
                                   atol=tolerance(precision) * scale)
    learned = [p for p in probes if p.attr in ("weights", "scaled_encoders")]
    assert any(np.ptp(sim.data[p], axis=0).max() > 0 for p in learned), "nothing learned"


def test_network_reset():
    """sim.reset() restores weights, P and filters: a second run repeats the first."""
    net = rls(False)
    probes = add_probes(net)
    with nengo_mpi.Simulator(net, progress_bar=False) as sim:
        sim.run_steps(100)
        first = [sim.data[p].copy() for p in probes]
        sim.reset()
        sim.run_steps(100)
        for p, values in zip(probes, first):
            np.testing.assert_array_equal(sim.data[p], values)


# --- Partitioned networks -----------------------------------------------------


def error_ensemble(rule, error_synapse):
    """A learning connection a -> b whose error (or learning signal) is computed by a
    third ensemble, `err`, fed from b and the input."""
    net = nengo.Network(seed=3)
    with net:
        net.stim = nengo.Node([0.5])
        net.a = nengo.Ensemble(20, 1)
        net.b = nengo.Ensemble(15, 1)
        net.err = nengo.Ensemble(30, 1)
        nengo.Connection(net.stim, net.a)
        if isinstance(rule, (nengo.BCM, nengo.Oja)):
            net.conn = nengo.Connection(
                net.a.neurons, net.b.neurons, transform=_weights(15, 20), learning_rule_type=rule
            )
        else:
            net.conn = nengo.Connection(net.a, net.b, learning_rule_type=rule)
        nengo.Connection(net.b, net.err, synapse=error_synapse)
        nengo.Connection(net.stim, net.err, transform=-1, synapse=error_synapse)
        if net.conn.learning_rule.size_in > 0:
            nengo.Connection(net.err, net.conn.learning_rule, synapse=error_synapse)
    return net


def shared_post():
    """Voja and two PES rules (one to neurons, which reads the encoders Voja changes)
    on connections from different ensembles into the same post population."""
    net = error_ensemble(nengo.Voja(), 0.005)
    with net:
        conn2 = nengo.Connection(net.err, net.b, learning_rule_type=nengo.PES())
        nengo.Connection(net.b, conn2.learning_rule)
        conn3 = nengo.Connection(
            net.err, net.b.neurons, transform=np.zeros((15, 1)),
            learning_rule_type=nengo.PES(),
        )
        nengo.Connection(net.stim, conn3.learning_rule)
        nengo.Probe(conn2, "weights")
        nengo.Probe(conn3.learning_rule, "delta")
    return net


PARTITIONED = {
    "pes-error-synapse": lambda: error_ensemble(nengo.PES(), 0.005),
    "pes-error-no-synapse": lambda: error_ensemble(nengo.PES(), None),
    "voja-signal-synapse": lambda: error_ensemble(nengo.Voja(), 0.005),
    "voja-signal-no-synapse": lambda: error_ensemble(nengo.Voja(), None),
    "rls-error-synapse": lambda: error_ensemble(nengo.RLS(), 0.005),
    "bcm": lambda: error_ensemble(nengo.BCM(learning_rate=1e-8), 0.005),
    "oja": lambda: error_ensemble(nengo.Oja(learning_rate=1e-5), 0.005),
    "shared-post": shared_post,
}


def constraint_groups(net):
    """The groups of objects the partitioner keeps together, in its order."""
    seen = {}

    def grab(graph, n_components):
        seen["groups"] = graph.vertices
        return [0] * len(graph)

    nengo_mpi.Partitioner(2, func=grab).partition(net)
    return seen["groups"]


@pytest.mark.parametrize("name", list(PARTITIONED))
def test_partitioned(name, precision):
    """Every split of the constraint groups over two components builds (no learning op
    reads a signal written in the same step on the other component) and matches nengo.

    The learning connection's pre and post share a group (the partitioner's learning
    constraint). An error source may be split off: behind a synapse only the synapse's
    output (an update, read one step later in nengo too) crosses; without a synapse its
    value crosses within the step (a same-step channel).
    """
    net = PARTITIONED[name]()
    probes = add_probes(net) + [p for p in net.all_probes if p.obj is not net.b]
    probes = list(dict.fromkeys(probes))
    groups = constraint_groups(net)
    group_of = {obj: g for g, members in enumerate(groups) for obj in members}
    assert group_of[net.a] == group_of[net.b]

    with nengo.Simulator(net, progress_bar=False) as ref:
        ref.run_steps(200)
    split = False
    for parts in itertools.product([0, 1], repeat=len(groups)):
        partitioner = nengo_mpi.Partitioner(2, func=lambda graph, n, parts=parts: list(parts))
        with nengo_mpi.Simulator(net, progress_bar=False, partitioner=partitioner) as sim:
            assert "Python" not in op_kinds(sim)
            split |= len(set(sim.assignments.values())) == 2
            sim.run_steps(200)
            assert_probes_match(sim, ref, probes, precision, what=f"split {parts}")
    assert split == (len(groups) > 1)
    # METIS's own choice too.
    with nengo_mpi.Simulator(net, progress_bar=False, partitioner=nengo_mpi.Partitioner(2)) as sim:
        sim.run_steps(200)
        assert_probes_match(sim, ref, probes, precision, what="metis")


def test_error_without_synapse_split_apart(precision):
    """An error connection without a synapse may cross components (a same-step channel):
    assigning its source apart builds and matches nengo."""
    net = error_ensemble(nengo.PES(), None)
    probes = add_probes(net)
    with nengo.Simulator(net, progress_bar=False) as ref:
        ref.run_steps(200)
    with nengo_mpi.Simulator(
        net, progress_bar=False, partitioner=nengo_mpi.Partitioner(2),
        assignments={net.a: 0, net.err: 1},
    ) as sim:
        assert any(ch.same_step for ch in sim._lowered.channels)
        sim.run_steps(200)
        assert_probes_match(sim, ref, probes, precision, what="error source apart")