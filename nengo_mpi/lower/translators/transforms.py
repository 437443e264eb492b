"""Native records for convolution transforms (nengo's ConvInc, ConvTransposeInc).

nengo's `make_step` for both lifts a 1-D convolution to a 2-D one on an image of height
1, pads (for the transpose: dilates, cuts and pads) the input and takes one matrix
product. The padding arithmetic below calls nengo's own helpers (``calc_size``,
``calc_pad``, ``calc_gradx_pad``) so that the engine places every tap where nengo does;
the engine then sums the same products directly (cpp/ops/transforms.hpp).
"""

from nengo.builder.transforms import calc_gradx_pad, calc_pad, calc_size
from nengo.transforms import Convolution, ConvolutionTranspose

from ..layout import is_c_contiguous, same_real_dtype


def _lifted(conv):
    """Spatial shapes, kernel size and strides as 2-D tuples, as nengo's make_step lifts
    them, or None for a convolution nengo cannot step (more than 2 dimensions)."""
    if conv.dimensions not in (1, 2):
        return None
    lift = (1,) if conv.dimensions == 1 else ()
    return (
        lift + tuple(int(n) for n in conv.input_shape.spatial_shape),
        lift + tuple(int(n) for n in conv.output_shape.spatial_shape),
        lift + tuple(int(n) for n in conv.kernel_size),
        lift + tuple(int(n) for n in conv.strides),
    )


def _views(op, layout, kernel_channels):
    """View ids (W, X, Y), or None if the signals do not fit the engine's kernels."""
    W, X, Y, conv = op.W, op.X, op.Y, op.conv
    if not (same_real_dtype(X, Y) and same_real_dtype(W)):
        return None
    if W.sparse or X.sparse or Y.sparse:
        return None
    # numpy computes the whole product before adding it to Y; the engine adds output
    # pixel by output pixel, which is only the same if Y overlaps neither input.
    if Y.base is X.base or Y.base is W.base:
        return None
    # make_step takes the kernel's shape from W itself; it must be the one conv implies.
    if tuple(W.shape) != tuple(conv.kernel_size) + kernel_channels:
        return None
    if X.size != conv.input_shape.size or Y.size != conv.output_shape.size:
        return None
    if not is_c_contiguous(W):
        return None
    w, x, y = layout.vector_view(W), layout.vector_view(X), layout.vector_view(Y)
    if w is None or x is None or y is None:
        return None
    return w, x, y


def _channels(shape):
    return int(shape.n_channels)


def lower_conv_inc(op, layout, dt):
    conv = op.conv
    if type(conv) is not Convolution:
        return None
    lifted = _lifted(conv)
    if lifted is None:
        return None
    in_sp, out_sp, kernel, strides = lifted
    groups = int(conv.groups)
    c_in, c_out = _channels(conv.input_shape), _channels(conv.output_shape)
    if c_in % groups or c_out % groups:
        return None
    views = _views(op, layout, (c_in // groups, c_out))
    if views is None:
        return None
    padding = conv.padding.upper()
    pads = []
    for n_in, n_out, k, s in zip(in_sp, out_sp, kernel, strides):
        if int(calc_size(n_in, k, padding, s)) != n_out:
            return None
        total = int(calc_pad(padding, n_in, n_out, s, k))
        if (n_out - 1) * s + k > n_in + total:
            return None  # a window would leave nengo's padded input
        pads.append(total // 2)  # nengo pads floor(total / 2) zeros before the input
    return "add_conv_inc", views + (
        [in_sp[0], in_sp[1], c_in],
        [out_sp[0], out_sp[1], c_out],
        list(kernel),
        list(strides),
        pads,
        groups,
        bool(conv.channels_last),
    )


def lower_conv_transpose_inc(op, layout, dt):
    conv = op.conv
    if type(conv) is not ConvolutionTranspose or conv.groups != 1:
        return None
    lifted = _lifted(conv)
    if lifted is None:
        return None
    in_sp, out_sp, kernel, strides = lifted
    c_in, c_out = _channels(conv.input_shape), _channels(conv.output_shape)
    views = _views(op, layout, (c_in, c_out))
    if views is None:
        return None
    padding = conv.padding.upper()
    pads, extents = [], []
    for n_in, n_out, k, s in zip(in_sp, out_sp, kernel, strides):
        total = int(calc_gradx_pad(padding, n_in, n_out, s, k))
        # nengo dilates the input to n_in * s elements and keeps the first n_out of them
        extent = min(n_in * s, n_out)
        if n_out - 1 + k > extent + total:
            return None  # a window would leave nengo's padded input
        pads.append(-(-total // 2))  # here nengo pads ceil(total / 2) zeros first
        extents.append(extent)
    return "add_conv_transpose_inc", views + (
        [in_sp[0], in_sp[1], c_in],
        [out_sp[0], out_sp[1], c_out],
        list(kernel),
        list(strides),
        pads,
        extents,
        bool(conv.channels_last),
    )
