#include "ops/synapses.hpp"

#include <stdexcept>
#include <string>

namespace nengo_mpi {

template <class T>
LinearFilter<T>::LinearFilter(SignalBuffer& buf, int input_view, int output_view, int state_view,
                           FilterForm form, WriteMode mode, std::vector<double> A,
                           std::vector<double> B, std::vector<double> C, double D)
    : u_(buf.vec<T>(input_view)),
      y_(buf.vec<T>(output_view)),
      x_{nullptr, 0, 0, 0, 0},
      form_(form),
      mode_(mode),
      A_(std::move(A)),
      B_(std::move(B)),
      C_(std::move(C)),
      D_(D),
      k_(static_cast<std::int64_t>(B_.size())) {
    if (u_.n != y_.n) {
        throw std::invalid_argument("LinearFilter: input has " + std::to_string(u_.n) +
                                    " elements, output " + std::to_string(y_.n));
    }
    if (std::int64_t(A_.size()) != k_ * k_ || std::int64_t(C_.size()) != k_) {
        throw std::invalid_argument("LinearFilter: A, B, C sizes disagree");
    }
    if (form_ != FilterForm::NoX) {
        if (k_ < 1) throw std::invalid_argument("LinearFilter: this form needs a state");
        x_ = buf.mat<T>(state_view);
        if (x_.rows != k_ || x_.cols != y_.n) {
            throw std::invalid_argument("LinearFilter: state shape does not match (k, n)");
        }
    }
    if (form_ == FilterForm::OneX && k_ != 1) {
        throw std::invalid_argument("LinearFilter: OneX form needs exactly one state");
    }
    tmp_.resize(static_cast<std::size_t>(k_));
}

template <class T>
void LinearFilter<T>::step() {
    const bool inc = mode_ == WriteMode::Inc;
    switch (form_) {
        case FilterForm::NoX:
            for (std::int64_t i = 0; i < y_.n; ++i) {
                const T y = static_cast<T>(D_ * u_[i]);
                if (inc) y_[i] += y; else y_[i] = y;
            }
            return;
        case FilterForm::OneX: {
            // nengo multiplies C*B once at construction; doing the same keeps rounding equal.
            const double a = A_[0];
            const double b = C_[0] * B_[0];
            for (std::int64_t i = 0; i < y_.n; ++i) {
                // nengo's coefficients are float64 arrays, so numpy computes in float64
                // and rounds once on assignment, also under 32-bit precision.
                const T x = static_cast<T>(a * x_(0, i) + b * u_[i]);
                x_(0, i) = x;
                if (inc) y_[i] += x; else y_[i] = x;
            }
            return;
        }
        case FilterForm::NoD:
        case FilterForm::General:
            for (std::int64_t i = 0; i < y_.n; ++i) {
                const double u = u_[i];
                double y = 0.0;
                if (form_ == FilterForm::General) {
                    for (std::int64_t r = 0; r < k_; ++r) y += C_[r] * x_(r, i);
                    y += D_ * u;
                }
                for (std::int64_t r = 0; r < k_; ++r) {
                    double acc = 0.0;
                    for (std::int64_t c = 0; c < k_; ++c) acc += A_[r * k_ + c] * x_(c, i);
                    tmp_[r] = static_cast<T>(acc + B_[r] * u);
                }
                for (std::int64_t r = 0; r < k_; ++r) x_(r, i) = tmp_[r];
                if (form_ == FilterForm::NoD) {
                    for (std::int64_t r = 0; r < k_; ++r) y += C_[r] * tmp_[r];
                }
                if (inc) y_[i] += static_cast<T>(y); else y_[i] = static_cast<T>(y);
            }
            return;
    }
}

template class LinearFilter<double>;
template class LinearFilter<float>;

}  // namespace nengo_mpi
