"""Native convolution kernels (nengo's ConvInc, ConvTransposeInc) against nengo.

Two kinds of tests:

* operator tests build a `nengo.builder.Model` holding one ``Reset`` and one convolution
  operator, write fresh random kernels and inputs into both simulators before every step,
  and compare the output with nengo's own numpy ``make_step`` over a broad grid of
  shapes, strides, paddings, groups, channel orders and dtypes;
* network tests build real `nengo.Network`\\s with ``Convolution`` /
  ``ConvolutionTranspose`` transforms and compare probed data with `nengo.Simulator`.

nengo computes each convolution as one BLAS matrix product (or an einsum for groups),
which sums in an order of its own; the engine sums each output element's products in
the order of nengo's window layout (rows, columns, channels). The results therefore
agree to rounding, not bit for bit: every comparison allows the error of summing the
products in any order, ``n_terms * eps`` times the sum of their magnitudes, which
`_bound` computes with nengo's own ``make_step`` on the absolute values.
"""

import itertools

import nengo
import numpy as np
import pytest
from nengo.builder import Model
from nengo.builder.operator import Reset
from nengo.builder.signal import Signal
from nengo.builder.transforms import ConvInc, ConvTransposeInc
from nengo.transforms import Convolution, ConvolutionTranspose

import nengo_mpi

from kernel_harness import DT, op_kinds

#: (X and Y dtype, W dtype): nengo's 64-bit precision; 32-bit with a kernel given as
#: an array (float32 throughout); 32-bit with a sampled kernel (nengo keeps it in
#: float64, so products are summed in float64); and the remaining mix.
DTYPES = {
    "f64": (np.float64, np.float64),
    "f32": (np.float32, np.float32),
    "f32-w64": (np.float32, np.float64),
    "f64-w32": (np.float64, np.float32),
}

#: Every geometry runs in float64; the dtype handling does not depend on the geometry,
#: so the other dtype pairs run on every DTYPE_SUBSAMPLE-th geometry only.
DTYPE_SUBSAMPLE = 4

#: Y's value before the convolution adds to it (nonzero, to check it is added to).
RESET_VALUE = 0.375


def _with_dtypes(cases):
    """pytest params (case, dtype, w_dtype) over a list of geometry params."""
    params = []
    for i, case in enumerate(cases):
        for name, (dtype, w_dtype) in DTYPES.items():
            if name == "f64" or i % DTYPE_SUBSAMPLE == 0:
                params.append(
                    pytest.param(case.values[0], dtype, w_dtype, id=f"{case.id}-{name}")
                )
    return params


@pytest.fixture
def precision():
    """Set nengo's precision for one test (``precision("32")``), restored afterwards."""
    old = nengo.rc["precision"]["bits"]

    def set_bits(bits):
        nengo.rc["precision"]["bits"] = bits

    yield set_bits
    nengo.rc["precision"]["bits"] = old


def _eps(dtype):
    return np.finfo(dtype).eps


def _n_terms(conv):
    """Products summed into each output element (padding and dilation zeros included)."""
    k = int(np.prod(conv.kernel_size))
    if isinstance(conv, ConvolutionTranspose):
        return k * conv.input_shape.n_channels
    return k * conv.input_shape.n_channels // conv.groups


def _bound(op, w, x):
    """Sum of |w| |x| over each output element's products, by nengo's own make_step."""
    signals = {
        op.W: np.abs(w).astype(np.float64),
        op.X: np.abs(x).astype(np.float64),
        op.Y: np.zeros(op.Y.shape),
    }
    op.make_step(signals, DT, None)()
    return signals[op.Y]


def _acc_dtype(op, dtype, w_dtype):
    """The dtype nengo sums products in: numpy's result type of the matrix product."""
    if isinstance(op, ConvTransposeInc):
        return np.float64  # nengo dilates the input into a float64 array
    return np.result_type(dtype, w_dtype)


def assert_conv_close(ours, ref, bound, n_terms, acc_dtype, offset=0.0):
    """Ours and nengo's agree up to summation order and the final rounding into Y."""
    out_dtype = ref.dtype
    tol = (n_terms + 2) * _eps(acc_dtype) * (bound + abs(offset))
    tol = tol + _eps(out_dtype) * np.abs(ref)
    err = np.abs(ours.astype(np.float64) - ref.astype(np.float64))
    assert ours.dtype == ref.dtype
    assert np.all(err <= tol), f"max error {err.max()} (tolerance there {tol[err.argmax()]})"


def run_op(conv, dtype, w_dtype, rng, n_steps=3, x_view=None):
    """Step a Reset + convolution operator in nengo and nengo_mpi with fresh random
    kernels and inputs before every step, and compare Y after every step.

    ``x_view`` optionally makes X a view (e.g. strided) of a larger base signal.
    """
    is_t = isinstance(conv, ConvolutionTranspose)
    op_cls = ConvTransposeInc if is_t else ConvInc
    model = Model(dt=DT)
    # Not read-only: the test rewrites the kernel before every step, like a learning
    # rule could, so a kernel baked into the op would fail.
    W = Signal(np.zeros(conv.kernel_shape, dtype=w_dtype), name="W")
    if x_view is None:
        X = Signal(np.zeros(conv.input_shape.size, dtype=dtype), name="X")
    else:
        X = x_view(Signal(np.zeros(conv.input_shape.size * 3, dtype=dtype), name="Xbase"))
        assert X.size == conv.input_shape.size
    Y = Signal(np.zeros(conv.output_shape.size, dtype=dtype), name="Y")
    model.add_op(Reset(Y, RESET_VALUE))
    op = op_cls(W, X, Y, conv)
    model.add_op(op)

    ref = nengo.Simulator(None, model=model, optimize=False, progress_bar=False)
    sim = nengo_mpi.Simulator(None, model=model, progress_bar=False)
    try:
        kinds = op_kinds(sim)
        assert op_cls.__name__ in kinds and "Python" not in kinds, kinds
        for _ in range(n_steps):
            w = rng.uniform(-1, 1, size=W.shape).astype(w_dtype)
            x = rng.uniform(-1, 1, size=X.shape).astype(dtype)
            for s in (ref, sim):
                s.signals[W][...] = w
                s.signals[X][...] = x
            ref.step()
            sim.step()
            assert_conv_close(
                sim.signals[Y],
                ref.signals[Y],
                _bound(op, w, x),
                _n_terms(conv),
                _acc_dtype(op, dtype, w_dtype),
                offset=RESET_VALUE,
            )
            # Nothing else may change: the kernel and input are read, never written.
            np.testing.assert_array_equal(sim.signals[W], w)
            np.testing.assert_array_equal(sim.signals[X], x)
    finally:
        sim.close()
        ref.close()


# --- parameter grids ------------------------------------------------------------


def _dims(shape):
    return "x".join(map(str, shape))


def _conv_cases():
    """Valid Convolution parameter sets over a broad grid (ids describe them)."""
    grid_2d = itertools.product(
        [(5, 6), (7, 4)],  # spatial input shape
        [(1, 1), (3, 3), (2, 3), (5, 1)],  # kernel size
        [(1, 1), (2, 3)],  # strides
        ["valid", "same"],
        [True, False],  # channels_last
        [(2, 3, 1), (4, 6, 2), (3, 3, 3)],  # in channels, filters, groups
    )
    grid_1d = itertools.product(
        [(9,), (4,)],
        [(1,), (3,), (4,)],
        [(1,), (2,), (3,)],
        ["valid", "same"],
        [True, False],
        [(1, 1, 1), (4, 2, 2), (2, 4, 1)],
    )
    params = []
    for spatial, kernel, strides, padding, last, chans in itertools.chain(grid_2d, grid_1d):
        if padding == "valid" and any(k > n for k, n in zip(kernel, spatial)):
            continue  # nengo rejects a kernel larger than the input without padding
        c, f, g = chans
        case = (spatial, kernel, strides, padding, last, c, f, g)
        order = "last" if last else "first"
        name = f"in{_dims(spatial)}-k{_dims(kernel)}-s{_dims(strides)}-{padding}-{order}"
        params.append(pytest.param(case, id=f"{name}-c{c}f{f}g{g}"))
    return params


def make_conv(case):
    spatial, kernel, strides, padding, last, c, f, g = case
    shape = spatial + (c,) if last else (c,) + spatial
    return Convolution(
        f, shape, kernel_size=kernel, strides=strides, padding=padding,
        channels_last=last, groups=g,
    )


def _transpose_cases():
    """ConvolutionTranspose parameter sets, each with the smallest and (for strides
    > 1) the largest output shape that a forward Convolution maps back to the input
    shape: the output shape is ambiguous, and nengo cuts its dilated input to it."""
    grid_2d = itertools.product(
        [(3, 4), (1, 5)],  # spatial input shape
        [(1, 1), (2, 3), (3, 2)],  # kernel size
        [(1, 1), (2, 3), (3, 1)],  # strides
        ["valid", "same"],
        [True, False],  # channels_last
        [(2, 3), (1, 1)],  # in channels, filters
        ["min", "max"],  # output shape
    )
    grid_1d = itertools.product(
        [(4,), (1,)],
        [(1,), (2,), (3,)],
        [(1,), (2,), (3,)],
        ["valid", "same"],
        [True, False],
        [(2, 3), (1, 1)],
        ["min", "max"],
    )
    params = []
    for spatial, kernel, strides, padding, last, chans, out in itertools.chain(
        grid_2d, grid_1d
    ):
        if out == "max" and all(s == 1 for s in strides):
            continue  # only one output shape
        c, f = chans
        case = (spatial, kernel, strides, padding, last, c, f, out)
        order = "last" if last else "first"
        name = f"in{_dims(spatial)}-k{_dims(kernel)}-s{_dims(strides)}-{padding}-{order}"
        params.append(pytest.param(case, id=f"{name}-c{c}f{f}-out{out}"))
    return params


def make_transpose(case):
    spatial, kernel, strides, padding, last, c, f, out = case
    if out == "min":
        out_spatial = None
    elif padding == "valid":  # largest n with ceil((n - k + 1) / s) == input size
        out_spatial = tuple(n * s + k - 1 for n, k, s in zip(spatial, kernel, strides))
    else:  # largest n with ceil(n / s) == input size
        out_spatial = tuple(n * s for n, s in zip(spatial, strides))
    shape = spatial + (c,) if last else (c,) + spatial
    output_shape = None
    if out_spatial is not None:
        output_shape = out_spatial + (f,) if last else (f,) + out_spatial
    return ConvolutionTranspose(
        f, shape, output_shape=output_shape, kernel_size=kernel, strides=strides,
        padding=padding, channels_last=last,
    )


# --- operator tests ---------------------------------------------------------------


@pytest.mark.parametrize("case, dtype, w_dtype", _with_dtypes(_conv_cases()))
def test_conv_inc(rng, case, dtype, w_dtype):
    """ConvInc matches nengo's conv2d / conv2d_groups step over the grid."""
    run_op(make_conv(case), dtype, w_dtype, rng)


@pytest.mark.parametrize("case, dtype, w_dtype", _with_dtypes(_transpose_cases()))
def test_conv_transpose_inc(rng, case, dtype, w_dtype):
    """ConvTransposeInc matches nengo's conv2d_gradx step over the grid."""
    run_op(make_transpose(case), dtype, w_dtype, rng)


@pytest.mark.parametrize("transpose", [False, True])
def test_strided_input(rng, transpose):
    """X may be a strided view of a larger signal (a sliced connection's input)."""
    if transpose:
        conv = ConvolutionTranspose(3, (3, 4, 2), kernel_size=(2, 3), strides=(2, 1))
    else:
        conv = Convolution(3, (4, 5, 2), kernel_size=(2, 3), strides=(2, 1), groups=1)
    run_op(conv, np.float64, np.float64, rng, x_view=lambda base: base[1::3])


def _nonfinite_case(transpose):
    if transpose:
        conv = ConvolutionTranspose(
            2, (3, 3, 2), kernel_size=(3, 3), strides=(2, 2), padding="same"
        )
    else:
        conv = Convolution(2, (4, 5, 2), kernel_size=(3, 3), padding="same")
    return conv, (ConvTransposeInc if transpose else ConvInc)


@pytest.mark.parametrize("transpose", [False, True])
@pytest.mark.parametrize("bad", [np.inf, np.nan])
def test_nonfinite_kernel(rng, transpose, bad):
    """A non-finite weight meets nengo's padding (and dilation) zeros too.

    nengo multiplies every padding zero by its weight, so 0 * inf = nan reaches outputs
    whose window only has padding at that tap; the engine must not skip those products
    when a weight is not finite. Finite results must still agree.
    """
    conv, op_cls = _nonfinite_case(transpose)
    model = Model(dt=DT)
    w = rng.uniform(-1, 1, size=conv.kernel_shape)
    W = Signal(w, name="W")
    X = Signal(rng.uniform(-1, 1, size=conv.input_shape.size), name="X")
    Y = Signal(np.zeros(conv.output_shape.size), name="Y")
    model.add_op(Reset(Y))
    model.add_op(op_cls(W, X, Y, conv))
    w[0, 0, 1, 0] = bad  # a corner tap: at the border it only ever meets padding
    with nengo.Simulator(None, model=model, optimize=False, progress_bar=False) as ref:
        with nengo_mpi.Simulator(None, model=model, progress_bar=False) as sim:
            assert op_cls.__name__ in op_kinds(sim)
            for s in (ref, sim):
                # A signal's initial value may not hold nan: write the kernel instead.
                s.signals[W][...] = w
                s.step()
            ours, theirs = np.array(sim.signals[Y]), np.array(ref.signals[Y])
    bad_out = ~np.isfinite(theirs)
    assert bad_out.any() and not bad_out.all()
    np.testing.assert_array_equal(np.isnan(ours), np.isnan(theirs))
    np.testing.assert_array_equal(np.isinf(ours), np.isinf(theirs))
    np.testing.assert_allclose(ours[~bad_out], theirs[~bad_out], rtol=1e-13, atol=1e-13)


def test_three_dimensional_falls_back():
    """nengo has no 3-D convolution step; the fallback raises nengo's own error."""
    conv = Convolution(2, (4, 4, 4, 1), kernel_size=(2, 2, 2), strides=(1, 1, 1))
    with nengo.Network() as net:
        a = nengo.Node(np.ones(conv.size_in))
        b = nengo.Node(size_in=conv.size_out)
        nengo.Connection(a, b, transform=conv, synapse=None)
    with pytest.raises(NotImplementedError, match="Convolution > 2D"):
        nengo.Simulator(net, progress_bar=False)
    with pytest.raises(NotImplementedError, match="Convolution > 2D"):
        nengo_mpi.Simulator(net, progress_bar=False)


# --- network tests -----------------------------------------------------------------


def _n_native(sim, kind):
    return sum(k == kind for k in op_kinds(sim))


def _n_ops(sim, op_cls):
    return sum(type(op) is op_cls for op in sim.model.operators)


def _run_both(net, n_steps):
    ref = nengo.Simulator(net, progress_bar=False)
    sim = nengo_mpi.Simulator(net, progress_bar=False)
    ref.run_steps(n_steps)
    sim.run_steps(n_steps)
    return ref, sim


def _conv_nodes_net(transforms, seed, slice_input=False):
    """Node -> Connection(transform=...) -> Node for each transform, all probed;
    ``slice_input`` connects from every other element of a Node twice as large."""
    probes = []
    with nengo.Network(seed=seed) as net:
        for i, transform in enumerate(transforms):
            n_in = transform.size_in * (2 if slice_input else 1)
            phases = np.linspace(0, 2 * np.pi, n_in, endpoint=False) + i
            stim = nengo.Node(lambda t, p=phases: np.sin(7 * t + p) + 0.5 * np.cos(p))
            out = nengo.Node(size_in=transform.size_out)
            pre = stim[::2] if slice_input else stim
            nengo.Connection(pre, out, transform=transform, synapse=None)
            probes.append(nengo.Probe(out))
    return net, probes


def _network_transforms(init_array, rng):
    convs = [
        Convolution(4, (6, 5, 3), kernel_size=(3, 2), strides=(2, 1), padding="same"),
        Convolution(
            4, (2, 7, 6), kernel_size=(3, 3), padding="valid", channels_last=False,
            groups=2,
        ),
        Convolution(3, (11, 2), kernel_size=(4,), strides=(3,), padding="same"),
        ConvolutionTranspose(
            3, (3, 4, 2), kernel_size=(3, 3), strides=(2, 2), padding="valid"
        ),
        ConvolutionTranspose(
            2, (2, 5), output_shape=(2, 10), kernel_size=(3,), strides=(2,),
            padding="same", channels_last=False,
        ),
    ]
    if not init_array:
        return convs
    # The same transforms with their kernel given as an array: nengo stores it in the
    # precision's float dtype (not float64 as for a sampled kernel).
    out = []
    for c in convs:
        init = rng.uniform(-1, 1, size=c.kernel_shape)
        kwargs = dict(
            kernel_size=c.kernel_size, strides=c.strides, padding=c.padding,
            channels_last=c.channels_last, init=init,
        )
        if isinstance(c, ConvolutionTranspose):
            out.append(ConvolutionTranspose(
                c.n_filters, c.input_shape, output_shape=c.output_shape, **kwargs))
        else:
            out.append(Convolution(c.n_filters, c.input_shape, groups=c.groups, **kwargs))
    return out


def _tolerance(bits):
    # Products summed in another order: a few dozen terms of magnitude <= 1.5.
    return (1e-12, 1e-12) if bits == "64" else (2e-5, 2e-5)


@pytest.mark.parametrize("bits", ["64", "32"])
@pytest.mark.parametrize("init_array", [False, True], ids=["sampled", "array"])
@pytest.mark.parametrize("slice_input", [False, True], ids=["full", "sliced"])
def test_network_nodes(precision, rng, bits, init_array, slice_input):
    """Node -> Convolution / ConvolutionTranspose -> Node in real networks."""
    precision(bits)
    transforms = _network_transforms(init_array, rng)
    net, probes = _conv_nodes_net(transforms, seed=3, slice_input=slice_input)
    ref, sim = _run_both(net, 20)
    with ref, sim:
        for op_cls in (ConvInc, ConvTransposeInc):
            assert _n_native(sim, op_cls.__name__) == _n_ops(sim, op_cls) > 0
        rtol, atol = _tolerance(bits)
        for p in probes:
            assert sim.data[p].dtype == ref.data[p].dtype == nengo.rc.float_dtype
            assert np.abs(ref.data[p]).max() > 0.1
            np.testing.assert_allclose(sim.data[p], ref.data[p], rtol=rtol, atol=atol)


@pytest.mark.parametrize("bits", ["64", "32"])
def test_network_ensembles(precision, bits):
    """Convolutions into and out of neurons: Node -> conv -> Ensemble.neurons, and
    neurons -> conv -> Ensemble, with probes on spikes and decoded outputs."""
    precision(bits)
    neuron_type = nengo.LIF() if bits == "64" else nengo.LIFRate()
    conv_in = Convolution(2, (5, 4, 2), kernel_size=(2, 2), padding="same")
    conv_mid = ConvolutionTranspose(1, (5, 4, 2), kernel_size=(3, 3), strides=(1, 2))
    with nengo.Network(seed=5) as net:
        stim = nengo.Node(lambda t: np.sin(5 * t + np.arange(conv_in.size_in)))
        a = nengo.Ensemble(conv_in.size_out, 1, neuron_type=neuron_type)
        b = nengo.Ensemble(conv_mid.size_out, 2, neuron_type=neuron_type)
        nengo.Connection(stim, a.neurons, transform=conv_in)
        nengo.Connection(a.neurons, b.neurons, transform=conv_mid)
        probes = [
            nengo.Probe(a.neurons),
            nengo.Probe(b.neurons),
            nengo.Probe(b, synapse=0.01),
        ]
    ref, sim = _run_both(net, 200)
    with ref, sim:
        for op_cls in (ConvInc, ConvTransposeInc):
            assert _n_native(sim, op_cls.__name__) == _n_ops(sim, op_cls) == 1
        assert np.abs(ref.data[probes[1]]).max() > 0
        for p in probes:
            if bits == "64":
                np.testing.assert_allclose(sim.data[p], ref.data[p], rtol=1e-9, atol=1e-9)
            else:
                # float32 sums in a different order differ by an ulp or so; LIFRate's
                # slope near threshold amplifies that to ~5e-4 relative in a rare rate.
                np.testing.assert_allclose(sim.data[p], ref.data[p], rtol=2e-3, atol=1e-3)


@pytest.mark.parametrize("bits", ["64", "32"])
def test_kernel_is_a_buffer_signal(precision, bits):
    """The kernel is read from the signal buffer every step, not baked into the op.

    Nothing in nengo writes a convolution kernel during a run, but a learning rule
    could. Scaling every kernel by -2 between runs (exact in floating point) must scale
    the output of a constant input by exactly -2, in nengo and in the engine alike.
    """
    precision(bits)
    transforms = _network_transforms(False, None)
    probes = []
    with nengo.Network(seed=4) as net:
        for transform in transforms:
            stim = nengo.Node(np.linspace(-1, 1, transform.size_in))
            out = nengo.Node(size_in=transform.size_out)
            nengo.Connection(stim, out, transform=transform, synapse=None)
            probes.append(nengo.Probe(out))
    ref, sim = _run_both(net, 3)
    with ref, sim:
        for conn in net.all_connections:
            for s in (ref, sim):
                # Both simulators mark the kernel read-only; lift that for this test.
                arr = s.signals[s.model.sig[conn]["weights"]]
                arr.setflags(write=True)
                arr *= -2
                arr.setflags(write=False)
        ref.run_steps(3)
        sim.run_steps(3)
        rtol, atol = _tolerance(bits)
        for p in probes:
            ours = sim.data[p]
            assert np.abs(ours[0]).max() > 0.1
            np.testing.assert_array_equal(ours[:3], np.tile(ours[:1], (3, 1)))
            np.testing.assert_array_equal(ours[3:], np.tile(-2 * ours[:1], (3, 1)))
            np.testing.assert_allclose(ours, ref.data[p], rtol=rtol, atol=atol)


def test_split_into_components():
    """Split over components (one per ensemble, convolutions across the cuts), the
    network gives bit-identical results to one component: each convolution runs the
    same kernel wherever it is placed."""

    def build():
        conv_in = Convolution(2, (5, 4, 2), kernel_size=(2, 2), padding="same")
        conv_mid = ConvolutionTranspose(1, (5, 4, 2), kernel_size=(3, 3), strides=(1, 2))
        with nengo.Network(seed=6) as net:
            stim = nengo.Node(lambda t: np.sin(5 * t + np.arange(conv_in.size_in)))
            a = nengo.Ensemble(conv_in.size_out, 1)
            b = nengo.Ensemble(conv_mid.size_out, 2)
            conv_out = Convolution(
                2, conv_mid.output_shape, kernel_size=(3, 2), strides=(1, 2),
                padding="same",
            )
            c = nengo.Ensemble(conv_out.size_out, 1)
            nengo.Connection(stim, a.neurons, transform=conv_in)
            nengo.Connection(a.neurons, b.neurons, transform=conv_mid)
            nengo.Connection(b.neurons, c.neurons, transform=conv_out)
            probes = [nengo.Probe(e.neurons) for e in (a, b, c)]
        return net, probes

    data = []
    for n in (1, 3):
        net, probes = build()
        with nengo_mpi.Simulator(
            net, partitioner=nengo_mpi.Partitioner(n), progress_bar=False
        ) as sim:
            assert sim.n_components == n
            assert _n_native(sim, "ConvInc") == 2
            assert _n_native(sim, "ConvTransposeInc") == 1
            sim.run_steps(100)
            data.append([sim.data[p] for p in probes])
    assert np.abs(data[0][2]).max() > 0
    for ours, theirs in zip(*data):
        np.testing.assert_array_equal(ours, theirs)
