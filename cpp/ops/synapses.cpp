#include "ops/synapses.hpp"

#include <cmath>
#include <stdexcept>
#include <string>

namespace nengo_mpi {

namespace {

// numpy's pairwise summation (the inner loop of np.add.reduce over a contiguous run),
// with accumulators of the array's dtype. Triangle's X.sum(axis=0) reduces this way when
// the signal has a single element; the order of the additions decides the float32 result.
template <class T>
T pairwise_sum(const T* a, std::int64_t n, std::int64_t stride) {
    const auto at = [a, stride](std::int64_t i) { return a[i * stride]; };
    if (n < 8) {
        T res = 0;
        for (std::int64_t i = 0; i < n; ++i) res += at(i);
        return res;
    }
    if (n <= 128) {  // numpy's PW_BLOCKSIZE
        T r[8];
        for (int j = 0; j < 8; ++j) r[j] = at(j);
        std::int64_t i = 8;
        for (; i < n - (n % 8); i += 8) {
            for (int j = 0; j < 8; ++j) r[j] += at(i + j);
        }
        T res = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
        for (; i < n; ++i) res += at(i);
        return res;
    }
    std::int64_t n2 = n / 2;
    n2 -= n2 % 8;
    return pairwise_sum(a, n2, stride) + pairwise_sum(a + n2 * stride, n - n2, stride);
}

}  // namespace

template <class T, class U>
LinearCore<T, U>::LinearCore(SignalBuffer& buf, const SynapseSpec& spec, std::int64_t n)
    : x_{nullptr, 0, 0, 0, 0},
      form_(spec.form),
      A_(spec.A),
      B_(spec.B),
      C_(spec.C),
      D_(spec.D),
      k_(static_cast<std::int64_t>(spec.B.size())),
      n_(n) {
    if (std::int64_t(A_.size()) != k_ * k_ || std::int64_t(C_.size()) != k_) {
        throw std::invalid_argument("LinearFilter: A, B, C sizes disagree");
    }
    if (form_ != FilterForm::NoX) {
        if (k_ < 1) throw std::invalid_argument("LinearFilter: this form needs a state");
        x_ = buf.mat<T>(spec.x_view);
        if (x_.rows != k_ || x_.cols != n_) {
            throw std::invalid_argument("LinearFilter: state shape does not match (k, n)");
        }
    }
    if (form_ == FilterForm::OneX && k_ != 1) {
        throw std::invalid_argument("LinearFilter: OneX form needs exactly one state");
    }
    tmp_.resize(static_cast<std::size_t>(k_));
}

template <class T, class U>
void LinearCore<T, U>::step(const U* u, Vec<T> y, bool inc) {
    switch (form_) {
        case FilterForm::NoX: {
            // NoX: `d * signal`, d a Python float: computed in the input's dtype.
            const U d = static_cast<U>(D_);
            for (std::int64_t i = 0; i < n_; ++i) write_output(y[i], scalar_times(d, u[i]), inc);
            return;
        }
        case FilterForm::OneX: {
            // nengo multiplies C*B once at construction; doing the same keeps rounding equal.
            const double a = A_[0];
            const double b = C_[0] * B_[0];
            if (n_ == 1) {
                // OneXScalar: `X[:] = a * X.item() + b * signal.item()` in Python floats.
                const T x = static_cast<T>(a * static_cast<double>(x_(0, 0)) +
                                           b * static_cast<double>(u[0]));
                x_(0, 0) = x;
                write_output(y[0], x, inc);
                return;
            }
            // OneX: `X *= a` in X's dtype, then `X += b * signal`, the product in the
            // input's dtype and the sum in the promoted one.
            const T aT = static_cast<T>(a);
            const U bU = static_cast<U>(b);
            for (std::int64_t i = 0; i < n_; ++i) {
                const T xa = scalar_times(aT, x_(0, i));
                const T x = static_cast<T>(static_cast<double>(xa) +
                                           static_cast<double>(scalar_times(bU, u[i])));
                x_(0, i) = x;
                write_output(y[i], x, inc);
            }
            return;
        }
        case FilterForm::NoD:
        case FilterForm::General:
            // A, B, C, D are float64 arrays: numpy computes these forms in float64 and
            // rounds once when storing X (and the output), also under 32-bit precision.
            for (std::int64_t i = 0; i < n_; ++i) {
                const double ui = static_cast<double>(u[i]);
                double yi = 0.0;
                if (form_ == FilterForm::General) {
                    for (std::int64_t r = 0; r < k_; ++r) yi += C_[r] * x_(r, i);
                    yi += D_ * ui;
                }
                for (std::int64_t r = 0; r < k_; ++r) {
                    double acc = 0.0;
                    for (std::int64_t c = 0; c < k_; ++c) acc += A_[r * k_ + c] * x_(c, i);
                    tmp_[r] = static_cast<T>(acc + B_[r] * ui);
                }
                for (std::int64_t r = 0; r < k_; ++r) x_(r, i) = tmp_[r];
                if (form_ == FilterForm::NoD) {
                    for (std::int64_t r = 0; r < k_; ++r) yi += C_[r] * tmp_[r];
                }
                write_output(y[i], yi, inc);
            }
            return;
    }
}

template <class T, class U>
TriangleCore<T, U>::TriangleCore(SignalBuffer& buf, const SynapseSpec& spec, std::int64_t n)
    : ystate_(buf.vec<T>(spec.y_view)),
      x_(buf.mat<T>(spec.x_view)),
      xi_(buf.ptr<T>(spec.xi_view)),
      n0_(spec.n0),
      ndiff_(spec.ndiff),
      n_(n) {
    if (ystate_.n != n_ || x_.cols != n_ || x_.rows < 1) {
        throw std::invalid_argument("Triangle: state shapes do not match the signal");
    }
    if (buf.view(spec.xi_view).ndim != 1 || buf.view(spec.xi_view).shape[0] != 1) {
        throw std::invalid_argument("Triangle: the tap counter Xi must have one element");
    }
    sum_.resize(static_cast<std::size_t>(n_));
}

template <class T, class U>
void TriangleCore<T, U>::step(const U* u, Vec<T> y, bool inc) {
    // n0 and ndiff are numpy scalars: numpy 1.x computes them times an array in the
    // array's dtype (U), and adds to Y in the promoted dtype.
    const U n0 = static_cast<U>(n0_);
    const U ndiff = static_cast<U>(ndiff_);
    const std::int64_t taps = x_.rows;
    // Y[...] += n0 * signal
    for (std::int64_t i = 0; i < n_; ++i) {
        ystate_[i] = static_cast<T>(static_cast<double>(ystate_[i]) +
                                    static_cast<double>(scalar_times(n0, u[i])));
    }
    // Y[...] -= X.sum(axis=0), the sum in X's dtype. numpy reduces a single column as one
    // contiguous run (pairwise) and several columns row by row (in order).
    if (n_ == 1) {
        sum_[0] = static_cast<T>(0) + pairwise_sum(&x_(0, 0), taps, x_.rs);
    } else {
        for (std::int64_t i = 0; i < n_; ++i) sum_[i] = 0;
        for (std::int64_t r = 0; r < taps; ++r) {
            for (std::int64_t i = 0; i < n_; ++i) sum_[i] += x_(r, i);
        }
    }
    for (std::int64_t i = 0; i < n_; ++i) ystate_[i] -= sum_[i];
    // Xi[:] = (Xi + 1) % len(X): numpy's float remainder takes the divisor's sign.
    const T next = static_cast<T>(*xi_ + static_cast<T>(1));
    // A NaN or infinite counter (it is a signal: a checkpoint or model file can hold
    // anything) stays NaN, and nengo's int(Xi.item()) raises ValueError on it; its
    // conversion to int64 here would be undefined behaviour.
    if (!std::isfinite(next)) {
        throw std::invalid_argument("Triangle: the tap counter is " +
                                    std::to_string(static_cast<double>(next)));
    }
    double m = std::fmod(static_cast<double>(next), static_cast<double>(taps));
    if (m < 0.0) m += static_cast<double>(taps);
    *xi_ = static_cast<T>(m);
    // X[int(Xi.item())] = ndiff * signal (Python's int() truncates toward zero).
    auto row = static_cast<std::int64_t>(static_cast<double>(*xi_));
    if (row < 0) row += taps;  // Python's negative indexing
    if (row < 0 || row >= taps) throw std::out_of_range("Triangle: tap counter out of range");
    for (std::int64_t i = 0; i < n_; ++i) x_(row, i) = static_cast<T>(scalar_times(ndiff, u[i]));
    for (std::int64_t i = 0; i < n_; ++i) write_output(y[i], ystate_[i], inc);
}

template <class T, class U>
std::unique_ptr<SynapseCore<T, U>> make_synapse_core(SignalBuffer& buf, const SynapseSpec& spec,
                                                     std::int64_t n) {
    switch (spec.kind) {
        case SynapseSpec::Kind::Linear:
            return std::make_unique<LinearCore<T, U>>(buf, spec, n);
        case SynapseSpec::Kind::Triangle:
            return std::make_unique<TriangleCore<T, U>>(buf, spec, n);
        case SynapseSpec::Kind::None:
            break;
    }
    throw std::invalid_argument("unknown synapse kind");
}

template <class T>
Synapse<T>::Synapse(SignalBuffer& buf, int input_view, int output_view, WriteMode mode,
                    const SynapseSpec& spec)
    : u_(buf.vec<T>(input_view)),
      y_(buf.vec<T>(output_view)),
      inc_(mode == WriteMode::Inc),
      kind_(spec.kind),
      core_(make_synapse_core<T, T>(buf, spec, y_.n)),
      u_copy_(static_cast<std::size_t>(u_.n)) {
    if (u_.n != y_.n) {
        throw std::invalid_argument("synapse: input has " + std::to_string(u_.n) +
                                    " elements, output " + std::to_string(y_.n));
    }
}

template <class T>
void Synapse<T>::step() {
    for (std::int64_t i = 0; i < u_.n; ++i) u_copy_[static_cast<std::size_t>(i)] = u_[i];
    core_->step(u_copy_.data(), y_, inc_);
}

template <class T>
const char* Synapse<T>::kind() const {
    return kind_ == SynapseSpec::Kind::Triangle ? "Triangle" : "LinearFilter";
}

template class LinearCore<double, double>;
template class LinearCore<float, float>;
template class LinearCore<float, double>;
template class TriangleCore<double, double>;
template class TriangleCore<float, float>;
template class TriangleCore<float, double>;
template std::unique_ptr<SynapseCore<double, double>> make_synapse_core<double, double>(
    SignalBuffer&, const SynapseSpec&, std::int64_t);
template std::unique_ptr<SynapseCore<float, float>> make_synapse_core<float, float>(
    SignalBuffer&, const SynapseSpec&, std::int64_t);
template std::unique_ptr<SynapseCore<float, double>> make_synapse_core<float, double>(
    SignalBuffer&, const SynapseSpec&, std::int64_t);
template class Synapse<double>;
template class Synapse<float>;

}  // namespace nengo_mpi
