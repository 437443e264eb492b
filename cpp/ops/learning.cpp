#include "ops/learning.hpp"
#include "ops/checks.hpp"

#include <stdexcept>
#include <string>
#include <utility>

namespace nengo_mpi {

namespace {

template <class M>
void check_shape(const char* op, const char* what, const M& m, std::int64_t rows,
                 std::int64_t cols) {
    if (m.rows != rows || m.cols != cols) {
        throw std::invalid_argument(std::string(op) + ": " + what + " is " +
                                    std::to_string(m.rows) + "x" + std::to_string(m.cols) +
                                    ", expected " + std::to_string(rows) + "x" +
                                    std::to_string(cols));
    }
}

// delta[i, :] = row_factor[i] * pre, the outer product every Hebbian rule ends with.
// Unit strides are the usual case (contiguous weights, whole activity vectors); keeping
// that inner loop stride-free lets the compiler vectorise it.
template <class T, class F>
void outer_rows(const Mat<T>& delta, const Vec<T>& pre, F row_factor) {
    const bool unit = delta.cs == 1 && pre.s == 1;
    for (std::int64_t i = 0; i < delta.rows; ++i) {
        const T a = row_factor(i);
        T* d = delta.p + i * delta.rs;
        if (unit) {
            for (std::int64_t j = 0; j < delta.cols; ++j) d[j] = a * pre.p[j];
        } else {
            for (std::int64_t j = 0; j < delta.cols; ++j) d[j * delta.cs] = a * pre[j];
        }
    }
}

}  // namespace

// ---------------------------------------------------------------------------- SimPES

template <class T>
SimPES<T>::SimPES(SignalBuffer& buf, int pre_view, int error_view, int delta_view,
                  double alpha)
    : pre_(buf.vec<T>(pre_view)),
      error_(buf.vec<T>(error_view)),
      delta_(buf.mat<T>(delta_view)),
      alpha_(static_cast<T>(alpha)) {
    check_shape("SimPES", "delta", delta_, error_.n, pre_.n);
}

template <class T>
void SimPES<T>::step() {
    // np.outer(alpha * error, pre): the scaled error is rounded before the product.
    outer_rows(delta_, pre_, [this](std::int64_t i) { return alpha_ * error_[i]; });
}

// ---------------------------------------------------------------------------- SimBCM

template <class T>
SimBCM<T>::SimBCM(SignalBuffer& buf, int pre_view, int post_view, int theta_view,
                  int delta_view, double alpha)
    : pre_(buf.vec<T>(pre_view)),
      post_(buf.vec<T>(post_view)),
      theta_(buf.vec<T>(theta_view)),
      delta_(buf.mat<T>(delta_view)),
      alpha_(static_cast<T>(alpha)) {
    check_len("SimBCM", "theta", theta_.n, post_.n);
    check_shape("SimBCM", "delta", delta_, post_.n, pre_.n);
}

template <class T>
void SimBCM<T>::step() {
    // numpy evaluates alpha * post * (post - theta) left to right.
    outer_rows(delta_, pre_, [this](std::int64_t i) {
        return (alpha_ * post_[i]) * (post_[i] - theta_[i]);
    });
}

// ---------------------------------------------------------------------------- SimOja

template <class T>
SimOja<T>::SimOja(SignalBuffer& buf, int pre_view, int post_view, int weights_view,
                  int delta_view, double alpha, double beta)
    : pre_(buf.vec<T>(pre_view)),
      post_(buf.vec<T>(post_view)),
      weights_(buf.mat<T>(weights_view)),
      delta_(buf.mat<T>(delta_view)),
      alpha_(static_cast<T>(alpha)),
      neg_beta_(static_cast<T>(-beta)) {
    check_shape("SimOja", "delta", delta_, post_.n, pre_.n);
    check_shape("SimOja", "weights", weights_, post_.n, pre_.n);
}

template <class T>
void SimOja<T>::step() {
    const bool unit = delta_.cs == 1 && weights_.cs == 1 && pre_.s == 1;
    for (std::int64_t i = 0; i < delta_.rows; ++i) {
        const T scaled_post = alpha_ * post_[i];
        const T post_squared = scaled_post * post_[i];
        // numpy stores the forgetting term before adding the Hebbian one, each rounded
        // to T; the unit-stride loop is the same arithmetic, free to vectorise.
        if (unit) {
            T* d = delta_.p + i * delta_.rs;
            const T* w = weights_.p + i * weights_.rs;
            for (std::int64_t j = 0; j < delta_.cols; ++j) {
                d[j] = (neg_beta_ * w[j]) * post_squared + scaled_post * pre_.p[j];
            }
        } else {
            for (std::int64_t j = 0; j < delta_.cols; ++j) {
                delta_(i, j) = (neg_beta_ * weights_(i, j)) * post_squared + scaled_post * pre_[j];
            }
        }
    }
}

// ---------------------------------------------------------------------------- SimVoja

template <class T>
SimVoja<T>::SimVoja(SignalBuffer& buf, int pre_view, int post_view, int encoders_view,
                    int learning_view, int delta_view, double alpha,
                    const std::vector<double>& scale)
    : pre_(buf.vec<T>(pre_view)),
      post_(buf.vec<T>(post_view)),
      encoders_(buf.mat<T>(encoders_view)),
      learning_(buf.ptr<T>(learning_view)),
      delta_(buf.mat<T>(delta_view)),
      alpha_(static_cast<T>(alpha)),
      scale_(scale.begin(), scale.end()) {
    check_len("SimVoja", "learning signal", buf.view(learning_view).size(), 1);
    check_len("SimVoja", "scale", std::int64_t(scale_.size()), post_.n);
    check_shape("SimVoja", "delta", delta_, post_.n, pre_.n);
    check_shape("SimVoja", "encoders", encoders_, post_.n, pre_.n);
}

template <class T>
void SimVoja<T>::step() {
    const T rate = alpha_ * *learning_;
    for (std::int64_t i = 0; i < delta_.rows; ++i) {
        const T post = post_[i];
        for (std::int64_t j = 0; j < delta_.cols; ++j) {
            delta_(i, j) = rate * (scale_[i] * (post * pre_[j]) - post * encoders_(i, j));
        }
    }
}

// ---------------------------------------------------------------------------- SimRLS

template <class R, class Q>
SimRLS<R, Q>::SimRLS(SignalBuffer& buf, int pre_view, int error_view, int delta_view,
                     int p_view)
    : r_(buf.vec<R>(pre_view)),
      error_(buf.vec<Q>(error_view)),
      delta_(buf.mat<R>(delta_view)),
      p_(buf.mat<Q>(p_view)),
      pr_(static_cast<std::size_t>(r_.n)) {
    check_shape("SimRLS", "P", p_, r_.n, r_.n);
    check_len("SimRLS", "delta's columns", delta_.cols, r_.n);
    // nengo's error[:, None] broadcasts a one-element error over every row of delta.
    if (error_.n != 1) check_len("SimRLS", "error", error_.n, delta_.rows);
}

template <class R, class Q>
void SimRLS<R, Q>::step() {
    const std::int64_t n = r_.n;
    const bool unit = p_.cs == 1;
    for (std::int64_t i = 0; i < n; ++i) {
        C acc = 0;
        if (unit) {
            const Q* row = p_.p + i * p_.rs;
            for (std::int64_t j = 0; j < n; ++j) {
                acc += static_cast<C>(row[j]) * static_cast<C>(r_[j]);
            }
        } else {
            for (std::int64_t j = 0; j < n; ++j) {
                acc += static_cast<C>(p_(i, j)) * static_cast<C>(r_[j]);
            }
        }
        pr_[i] = acc;
    }
    C r_pr = 0;
    for (std::int64_t i = 0; i < n; ++i) r_pr += static_cast<C>(r_[i]) * pr_[i];
    // `1 + r.dot(Pr)` adds a Python int to a numpy scalar, which numpy 1.x computes in
    // float64 even for a float32 scalar; the quotient multiplies arrays of dtype C, into
    // which numpy rounds it.
    const double g = 1.0 / (1.0 + static_cast<double>(r_pr));
    const C gc = static_cast<C>(g);
    const C neg_g = static_cast<C>(-g);
    for (std::int64_t i = 0; i < n; ++i) {
        const C pr_i = pr_[i];
        if (unit) {
            Q* row = p_.p + i * p_.rs;
            for (std::int64_t j = 0; j < n; ++j) {
                row[j] = static_cast<Q>(static_cast<C>(row[j]) - pr_i * (pr_[j] * gc));
            }
        } else {
            for (std::int64_t j = 0; j < n; ++j) {
                p_(i, j) = static_cast<Q>(static_cast<C>(p_(i, j)) - pr_i * (pr_[j] * gc));
            }
        }
    }
    for (std::int64_t i = 0; i < delta_.rows; ++i) {
        const C e = static_cast<C>(error_[error_.n == 1 ? 0 : i]);
        for (std::int64_t j = 0; j < n; ++j) {
            delta_(i, j) = static_cast<R>(e * (neg_g * pr_[j]));
        }
    }
}

template class SimPES<double>;
template class SimPES<float>;
template class SimBCM<double>;
template class SimBCM<float>;
template class SimOja<double>;
template class SimOja<float>;
template class SimVoja<double>;
template class SimVoja<float>;
template class SimRLS<double, double>;
template class SimRLS<float, float>;
template class SimRLS<float, double>;
template class SimRLS<double, float>;

}  // namespace nengo_mpi
