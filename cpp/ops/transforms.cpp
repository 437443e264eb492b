#include "ops/transforms.hpp"

#include <algorithm>
#include <cmath>
#include <initializer_list>
#include <stdexcept>
#include <string>

namespace nengo_mpi {

namespace {

void require(bool ok, const char* op, const std::string& what) {
    if (!ok) throw std::invalid_argument(std::string(op) + ": " + what);
}

// The geometry comes from Python as it is. Sizes are products of its numbers, and the
// steps compute positions from them: a product that overflowed would be undefined
// behaviour, and one that wrapped around could match the size of a small view and let
// the kernel index far outside it.
std::int64_t product(const char* op, std::initializer_list<std::int64_t> factors) {
    std::int64_t p = 1;
    for (std::int64_t f : factors) {
        if (__builtin_mul_overflow(p, f, &p)) {
            std::string text = "sizes overflow 64 bits:";
            for (std::int64_t g : factors) text += " " + std::to_string(g);
            require(false, op, text);
        }
    }
    return p;
}

void check_geometry(const char* op, const ConvGeometry& g) {
    require(g.in_h > 0 && g.in_w > 0 && g.in_c > 0, op, "empty input shape");
    require(g.out_h > 0 && g.out_w > 0 && g.out_c > 0, op, "empty output shape");
    require(g.k_h > 0 && g.k_w > 0, op, "empty kernel");
    require(g.stride_h > 0 && g.stride_w > 0, op, "strides must be positive");
    require(g.pad_h >= 0 && g.pad_w >= 0, op, "negative padding");
    require(g.groups > 0 && g.in_c % g.groups == 0 && g.out_c % g.groups == 0, op,
            "groups must divide the input and output channels");
    // The furthest tap ConvInc reads along an axis, (out - 1) * stride + k - 1 before
    // the padding is taken off, must fit in an int64 (ConvTransposeInc's i + di stays
    // below out + k, both bounded by the views' sizes).
    const auto reach = [op](std::int64_t out, std::int64_t stride, std::int64_t k) {
        std::int64_t r = product(op, {out - 1, stride});
        require(!__builtin_add_overflow(r, k, &r), op, "strides overflow 64 bits");
    };
    reach(g.out_h, g.stride_h, g.k_h);
    reach(g.out_w, g.stride_w, g.k_w);
}

void check_size(const char* op, const char* what, std::int64_t got, std::int64_t want) {
    require(got == want, op,
            std::string(what) + " has " + std::to_string(got) + " elements, expected " +
                std::to_string(want));
}

// Element strides of the (row, column, channel) axes of an image stored as (H, W, C) or
// (C, H, W), in a vector whose own stride is `s`.
struct ImageStrides {
    std::int64_t h, w, c;
};

ImageStrides image_strides(std::int64_t h, std::int64_t w, std::int64_t c, bool channels_last,
                           std::int64_t s) {
    if (channels_last) return {w * c * s, c * s, s};
    return {w * s, s, h * w * s};
}

// nengo multiplies every padding (and dilation) zero by its weight. Skipping those
// products is only exact when all weights are finite: 0 * inf or 0 * nan is nan, and
// nengo's output would carry it. Checking costs one pass over the kernel per step, small
// next to the convolution (which reads the kernel once per output pixel).
template <class TW>
bool all_finite(const TW* w, std::int64_t n) {
    for (std::int64_t i = 0; i < n; ++i) {
        if (!std::isfinite(w[i])) return false;
    }
    return true;
}

// The kernel must be one contiguous block: the inner loops run along its last axis.
template <class TW>
const TW* kernel_data(SignalBuffer& buf, int w_view, const char* op, std::int64_t want) {
    const Vec<TW> w = buf.vec<TW>(w_view);
    require(w.contiguous(), op, "the kernel must be contiguous");
    check_size(op, "W", w.n, want);
    return w.p;
}

}  // namespace

template <class T, class TW>
ConvInc<T, TW>::ConvInc(SignalBuffer& buf, int w_view, int x_view, int y_view,
                        const ConvGeometry& geom)
    : w_(nullptr), w_size_(0), x_(buf.vec<T>(x_view)), y_(buf.vec<T>(y_view)), g_(geom) {
    const char* op = "ConvInc";
    check_geometry(op, g_);
    w_size_ = product(op, {g_.k_h, g_.k_w, g_.in_c / g_.groups, g_.out_c});
    w_ = kernel_data<TW>(buf, w_view, op, w_size_);
    check_size(op, "X", x_.n, product(op, {g_.in_h, g_.in_w, g_.in_c}));
    check_size(op, "Y", y_.n, product(op, {g_.out_h, g_.out_w, g_.out_c}));
    acc_.resize(static_cast<std::size_t>(g_.out_c));
}

template <class T, class TW>
void ConvInc<T, TW>::step() {
    const ConvGeometry& g = g_;
    const std::int64_t cg = g.in_c / g.groups;   // input channels per group
    const std::int64_t kg = g.out_c / g.groups;  // output channels per group
    const bool zero_taps = !all_finite(w_, w_size_);
    const ImageStrides xs = image_strides(g.in_h, g.in_w, g.in_c, g.channels_last, x_.s);
    const ImageStrides ys = image_strides(g.out_h, g.out_w, g.out_c, g.channels_last, y_.s);
    Acc* acc = acc_.data();

    // One output pixel at a time, all its channels at once: the innermost loop runs along
    // the kernel's last (output channel) axis, contiguous in W and in the accumulators.
    for (std::int64_t i = 0; i < g.out_h; ++i) {
        for (std::int64_t j = 0; j < g.out_w; ++j) {
            std::fill(acc, acc + g.out_c, Acc(0));
            for (std::int64_t di = 0; di < g.k_h; ++di) {
                const std::int64_t r = i * g.stride_h + di - g.pad_h;
                const bool row_in = r >= 0 && r < g.in_h;
                if (!row_in && !zero_taps) continue;
                for (std::int64_t dj = 0; dj < g.k_w; ++dj) {
                    const std::int64_t col = j * g.stride_w + dj - g.pad_w;
                    const bool in = row_in && col >= 0 && col < g.in_w;
                    if (!in && !zero_taps) continue;
                    const T* xp = in ? x_.p + r * xs.h + col * xs.w : nullptr;
                    const TW* wtap = w_ + (di * g.k_w + dj) * cg * g.out_c;
                    for (std::int64_t grp = 0; grp < g.groups; ++grp) {
                        Acc* a = acc + grp * kg;
                        for (std::int64_t cc = 0; cc < cg; ++cc) {
                            const Acc xv = in ? Acc(xp[(grp * cg + cc) * xs.c]) : Acc(0);
                            const TW* wrow = wtap + cc * g.out_c + grp * kg;
                            for (std::int64_t m = 0; m < kg; ++m) a[m] += xv * Acc(wrow[m]);
                        }
                    }
                }
            }
            // numpy adds the product (in its result type) to Y and rounds once to Y's type.
            T* yp = y_.p + i * ys.h + j * ys.w;
            for (std::int64_t k = 0; k < g.out_c; ++k) {
                yp[k * ys.c] = static_cast<T>(Acc(yp[k * ys.c]) + acc[k]);
            }
        }
    }
}

template <class T, class TW>
ConvTransposeInc<T, TW>::ConvTransposeInc(SignalBuffer& buf, int w_view, int x_view, int y_view,
                                          const ConvGeometry& geom)
    : w_(nullptr), w_size_(0), x_(buf.vec<T>(x_view)), y_(buf.vec<T>(y_view)), g_(geom) {
    const char* op = "ConvTransposeInc";
    check_geometry(op, g_);
    require(g_.groups == 1, op, "nengo's transposed convolution has no groups");
    // The dilated input never reaches past the last input element's row / column.
    require(g_.extent_h >= 0 && g_.extent_h <= product(op, {g_.in_h, g_.stride_h}) &&
                g_.extent_w >= 0 && g_.extent_w <= product(op, {g_.in_w, g_.stride_w}),
            op, "dilated extent out of range");
    w_size_ = product(op, {g_.k_h, g_.k_w, g_.in_c, g_.out_c});
    w_ = kernel_data<TW>(buf, w_view, op, w_size_);
    check_size(op, "X", x_.n, product(op, {g_.in_h, g_.in_w, g_.in_c}));
    check_size(op, "Y", y_.n, product(op, {g_.out_h, g_.out_w, g_.out_c}));
    acc_.resize(static_cast<std::size_t>(g_.out_c));
}

template <class T, class TW>
void ConvTransposeInc<T, TW>::step() {
    const ConvGeometry& g = g_;
    const bool zero_taps = !all_finite(w_, w_size_);
    const ImageStrides xs = image_strides(g.in_h, g.in_w, g.in_c, g.channels_last, x_.s);
    const ImageStrides ys = image_strides(g.out_h, g.out_w, g.out_c, g.channels_last, y_.s);
    double* acc = acc_.data();

    // Gather form: each output pixel sums the dilated input's window, which only holds
    // input elements where the position is a multiple of the stride; the other taps are
    // zeros (visited only when a weight is not finite, see all_finite).
    for (std::int64_t i = 0; i < g.out_h; ++i) {
        for (std::int64_t j = 0; j < g.out_w; ++j) {
            std::fill(acc, acc + g.out_c, 0.0);
            for (std::int64_t di = 0; di < g.k_h; ++di) {
                const std::int64_t p = i + di - g.pad_h;  // row in the dilated input
                const bool row_in = p >= 0 && p < g.extent_h && p % g.stride_h == 0;
                if (!row_in && !zero_taps) continue;
                for (std::int64_t dj = 0; dj < g.k_w; ++dj) {
                    const std::int64_t q = j + dj - g.pad_w;
                    const bool in = row_in && q >= 0 && q < g.extent_w && q % g.stride_w == 0;
                    if (!in && !zero_taps) continue;
                    const T* xp =
                        in ? x_.p + (p / g.stride_h) * xs.h + (q / g.stride_w) * xs.w : nullptr;
                    // nengo flips the kernel spatially (w[::-1, ::-1]).
                    const TW* wtap =
                        w_ + ((g.k_h - 1 - di) * g.k_w + (g.k_w - 1 - dj)) * g.in_c * g.out_c;
                    for (std::int64_t k = 0; k < g.in_c; ++k) {
                        const double xv = in ? double(xp[k * xs.c]) : 0.0;
                        const TW* wrow = wtap + k * g.out_c;
                        for (std::int64_t c = 0; c < g.out_c; ++c) acc[c] += xv * double(wrow[c]);
                    }
                }
            }
            T* yp = y_.p + i * ys.h + j * ys.w;
            for (std::int64_t c = 0; c < g.out_c; ++c) {
                yp[c * ys.c] = static_cast<T>(double(yp[c * ys.c]) + acc[c]);
            }
        }
    }
}

template class ConvInc<double, double>;
template class ConvInc<double, float>;
template class ConvInc<float, double>;
template class ConvInc<float, float>;
template class ConvTransposeInc<double, double>;
template class ConvTransposeInc<double, float>;
template class ConvTransposeInc<float, double>;
template class ConvTransposeInc<float, float>;

}  // namespace nengo_mpi
