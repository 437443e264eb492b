#include "ops/basic.hpp"

#include <stdexcept>
#include <string>

namespace nengo_mpi {

TimeUpdate::TimeUpdate(SignalBuffer& buf, int step_view, int time_view, double dt)
    : step_(buf.i64(step_view)), time_(buf.f64(time_view)), dt_(dt) {}

void TimeUpdate::step() {
    *step_ += 1;
    // Same expression as nengo (step * dt, not an accumulated sum), so times agree exactly.
    *time_ = static_cast<double>(*step_) * dt_;
}

Reset::Reset(SignalBuffer& buf, int dst_view, double value)
    : dst_(buf.vec(dst_view)), value_(value) {}

void Reset::step() {
    for (std::int64_t i = 0; i < dst_.n; ++i) dst_[i] = value_;
}

Copy::Copy(SignalBuffer& buf, int src_view, int dst_view, std::vector<std::int64_t> src_index,
           std::vector<std::int64_t> dst_index, bool inc)
    : src_(buf.vec(src_view)),
      dst_(buf.vec(dst_view)),
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

void Copy::step() {
    const bool bcast = (src_index_.empty() ? src_.n : std::int64_t(src_index_.size())) == 1 &&
                       n_ != 1;
    for (std::int64_t k = 0; k < n_; ++k) {
        const std::int64_t ks = bcast ? 0 : k;
        const double v = src_[src_index_.empty() ? ks : src_index_[ks]];
        double& d = dst_[dst_index_.empty() ? k : dst_index_[k]];
        if (inc_) d += v; else d = v;
    }
}

namespace {
// A broadcast axis (length 1 against a longer Y axis) is read with stride 0.
Mat broadcast_to(Mat m, std::int64_t rows, std::int64_t cols, const char* name) {
    if (m.rows == 1 && rows != 1) { m.rs = 0; m.rows = rows; }
    if (m.cols == 1 && cols != 1) { m.cs = 0; m.cols = cols; }
    if (m.rows != rows || m.cols != cols) {
        throw std::invalid_argument(std::string("ElementwiseInc: ") + name +
                                    " does not broadcast to Y's shape");
    }
    return m;
}
}  // namespace

ElementwiseInc::ElementwiseInc(SignalBuffer& buf, int a_view, int x_view, int y_view)
    : a_(buf.mat(a_view)), x_(buf.mat(x_view)), y_(buf.mat(y_view)) {
    a_ = broadcast_to(a_, y_.rows, y_.cols, "A");
    x_ = broadcast_to(x_, y_.rows, y_.cols, "X");
}

void ElementwiseInc::step() {
    for (std::int64_t i = 0; i < y_.rows; ++i) {
        for (std::int64_t j = 0; j < y_.cols; ++j) y_(i, j) += a_(i, j) * x_(i, j);
    }
}

}  // namespace nengo_mpi
