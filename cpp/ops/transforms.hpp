// Convolution transforms: nengo's ConvInc (Convolution) and ConvTransposeInc
// (ConvolutionTranspose), both Y += conv(W, X).
//
// nengo computes these by padding (and, for the transpose, dilating) the input, cutting it
// into sliding windows and taking one matrix product (nengo/builder/transforms.py). The
// kernels here compute the same sums directly, output pixel by output pixel, without
// materialising the padded input. Everything is 2-D: like nengo, a 1-D convolution is a
// 2-D one on an image of height 1.
//
// The kernel W is a view into the signal buffer, read on every step (nothing about its
// values is cached), so anything that writes the weights is seen at once.
#pragma once

#include <cstdint>
#include <vector>

#include "ops/op.hpp"
#include "signals/buffer.hpp"

namespace nengo_mpi {

// Shapes and placement shared by both operators, after the 1-D -> 2-D lift.
struct ConvGeometry {
    std::int64_t in_h = 0, in_w = 0, in_c = 0;     // X: spatial shape and channels
    std::int64_t out_h = 0, out_w = 0, out_c = 0;  // Y: spatial shape and channels
    std::int64_t k_h = 0, k_w = 0;                 // kernel's spatial shape
    std::int64_t stride_h = 1, stride_w = 1;
    // Zeros padded before the first row / column of the (for the transpose: dilated)
    // input. Taps past the end of the input read zeros too.
    std::int64_t pad_h = 0, pad_w = 0;
    // Transpose only: length of the dilated input nengo keeps (min(in * stride, out)).
    std::int64_t extent_h = 0, extent_w = 0;
    std::int64_t groups = 1;
    // Channel axis last (H, W, C) or first (C, H, W), for X and Y alike.
    bool channels_last = true;
};

// Y[i, j, k] += sum over (di, dj, c in k's group) of
//     Xpad[i * stride_h + di, j * stride_w + dj, c] * W[di, dj, c mod cg, k],
// W of shape (k_h, k_w, in_c / groups, out_c), C-contiguous. T is the dtype of X and Y,
// TW that of W (nengo keeps a sampled kernel in float64 even at 32-bit precision); the
// sums are in numpy's result type of the two, as in nengo's `x.dot(w)`.
template <class T, class TW>
class ConvInc final : public Op {
public:
    ConvInc(SignalBuffer& buf, int w_view, int x_view, int y_view, const ConvGeometry& geom);
    void step() override;
    const char* kind() const override { return "ConvInc"; }

    using Acc = decltype(T() * TW());

private:
    const TW* w_;
    std::int64_t w_size_;
    Vec<T> x_;
    Vec<T> y_;
    ConvGeometry g_;
    std::vector<Acc> acc_;
};

// The transpose of ConvInc: with Xd the input dilated by the strides (stride - 1 zeros
// between elements), cut to extent, and padded,
//     Y[i, j, c] += sum over (di, dj, k) of
//         Xd[i + di, j + dj, k] * W[k_h - 1 - di, k_w - 1 - dj, k, c],
// W of shape (k_h, k_w, in_c, out_c). nengo builds Xd in float64 whatever the precision,
// so the sums are always in double and rounded once when added to Y.
template <class T, class TW>
class ConvTransposeInc final : public Op {
public:
    ConvTransposeInc(SignalBuffer& buf, int w_view, int x_view, int y_view,
                     const ConvGeometry& geom);
    void step() override;
    const char* kind() const override { return "ConvTransposeInc"; }

private:
    const TW* w_;
    std::int64_t w_size_;
    Vec<T> x_;
    Vec<T> y_;
    ConvGeometry g_;
    std::vector<double> acc_;
};

}  // namespace nengo_mpi
