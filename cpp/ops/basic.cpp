#include "ops/basic.hpp"
#include "ops/checks.hpp"

#include <stdexcept>
#include <string>
#include <type_traits>

namespace nengo_mpi {

template <class T, class I>
TimeUpdate<T, I>::TimeUpdate(SignalBuffer& buf, int step_view, int time_view, double dt)
    : step_(buf.ptr<I>(step_view)), time_(buf.ptr<T>(time_view)), dt_(dt) {
    // The op reads and writes one element of each: an empty view may point just past
    // the end of the buffer.
    check_len("TimeUpdate", "step", buf.view(step_view).size(), 1);
    check_len("TimeUpdate", "time", buf.view(time_view).size(), 1);
}

template <class T, class I>
void TimeUpdate<T, I>::step() {
    // numpy's `step += 1` wraps around at the largest integer; a signed overflow would
    // be undefined behaviour (a checkpoint can hold any step count). The sum in the
    // unsigned type wraps, and converts back modulo 2^N (GCC's rule; C++20's too).
    using U = std::make_unsigned_t<I>;
    *step_ = static_cast<I>(static_cast<U>(*step_) + U(1));
    // Same expression as nengo (step * dt in double, not an accumulated sum, then stored
    // at the signal's precision), so times agree exactly.
    *time_ = static_cast<T>(static_cast<double>(*step_) * dt_);
}

template <class T>
Reset<T>::Reset(SignalBuffer& buf, int dst_view, double value)
    : dst_(buf.vec<T>(dst_view)), value_(static_cast<T>(value)) {}

template <class T>
void Reset<T>::step() {
    for (std::int64_t i = 0; i < dst_.n; ++i) dst_[i] = value_;
}

template <class S, class D>
Copy<S, D>::Copy(SignalBuffer& buf, int src_view, int dst_view,
                 std::vector<std::int64_t> src_index, std::vector<std::int64_t> dst_index,
                 bool inc)
    : src_(buf.vec<S>(src_view)),
      dst_(buf.vec<D>(dst_view)),
      src_index_(std::move(src_index)),
      dst_index_(std::move(dst_index)),
      inc_(inc) {
    const std::int64_t n_src = src_index_.empty() ? src_.n : std::int64_t(src_index_.size());
    n_ = dst_index_.empty() ? dst_.n : std::int64_t(dst_index_.size());
    if (n_src != n_ && n_src != 1) {
        throw std::invalid_argument("Copy: " + std::to_string(n_src) +
                                    " source elements for " + std::to_string(n_) +
                                    " destination elements");
    }
    for (auto i : src_index_) {
        if (i < 0 || i >= src_.n) throw std::out_of_range("Copy: source index out of range");
    }
    for (auto i : dst_index_) {
        if (i < 0 || i >= dst_.n) throw std::out_of_range("Copy: destination index out of range");
    }
}

template <class S, class D>
void Copy<S, D>::step() {
    using C = std::common_type_t<S, D>;
    const bool bcast = (src_index_.empty() ? src_.n : std::int64_t(src_index_.size())) == 1 &&
                       n_ != 1;
    for (std::int64_t k = 0; k < n_; ++k) {
        const std::int64_t ks = bcast ? 0 : k;
        const C v = static_cast<C>(src_[src_index_.empty() ? ks : src_index_[ks]]);
        D& d = dst_[dst_index_.empty() ? k : dst_index_[k]];
        d = static_cast<D>(inc_ ? static_cast<C>(d) + v : v);
    }
}

namespace {
// A broadcast axis (length 1 against a longer Y axis) is read with stride 0.
template <class T>
Mat<T> broadcast_to(Mat<T> m, std::int64_t rows, std::int64_t cols, const char* name) {
    if (m.rows == 1 && rows != 1) { m.rs = 0; m.rows = rows; }
    if (m.cols == 1 && cols != 1) { m.cs = 0; m.cols = cols; }
    if (m.rows != rows || m.cols != cols) {
        throw std::invalid_argument(std::string("ElementwiseInc: ") + name +
                                    " does not broadcast to Y's shape");
    }
    return m;
}
}  // namespace

template <class T>
ElementwiseInc<T>::ElementwiseInc(SignalBuffer& buf, int a_view, int x_view, int y_view)
    : a_(buf.mat<T>(a_view)), x_(buf.mat<T>(x_view)), y_(buf.mat<T>(y_view)) {
    a_ = broadcast_to(a_, y_.rows, y_.cols, "A");
    x_ = broadcast_to(x_, y_.rows, y_.cols, "X");
}

template <class T>
void ElementwiseInc<T>::step() {
    for (std::int64_t i = 0; i < y_.rows; ++i) {
        for (std::int64_t j = 0; j < y_.cols; ++j) y_(i, j) += a_(i, j) * x_(i, j);
    }
}

template class TimeUpdate<double, std::int64_t>;
template class TimeUpdate<double, std::int32_t>;
template class TimeUpdate<float, std::int64_t>;
template class TimeUpdate<float, std::int32_t>;
template class Reset<double>;
template class Reset<float>;
template class Copy<double>;
template class Copy<float>;
template class Copy<float, double>;
template class Copy<double, float>;
template class ElementwiseInc<double>;
template class ElementwiseInc<float>;

}  // namespace nengo_mpi
