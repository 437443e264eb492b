#include "ops/processes.hpp"
#include "ops/checks.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>

namespace nengo_mpi {

template <class T>
Noise<T>::Noise(SignalBuffer& buf, int output_view, WriteMode mode, NoiseDist dist, double p0,
                double p1, bool scale, double alpha, const SynapseSpec& filter)
    : y_(buf.vec<T>(output_view)),
      inc_(mode == WriteMode::Inc),
      dist_(dist),
      p0_(p0),
      p1_(p1),
      scale_(scale),
      alpha_(alpha),
      x_(static_cast<std::size_t>(y_.n)) {
    if (dist_ != NoiseDist::Gaussian && dist_ != NoiseDist::Uniform) {
        throw std::invalid_argument("Noise: unknown distribution");
    }
    if (filter.kind != SynapseSpec::Kind::None) {
        filter_ = make_synapse_core<T, double>(buf, filter, y_.n);
    }
}

template <class T>
void Noise<T>::step() {
    // dist.sample(n=1, d=size, rng): `size` draws in order (numpy's normal is
    // loc + scale * gauss, its uniform low + (high - low) * random_sample).
    for (double& x : x_) {
        x = dist_ == NoiseDist::Gaussian ? rng_.normal(p0_, p1_) : rng_.uniform(p0_, p1_);
    }
    if (scale_) {
        for (double& x : x_) x = alpha_ * x;
    }
    if (filter_) {
        filter_->step(x_.data(), y_, inc_);
    } else {
        for (std::int64_t i = 0; i < y_.n; ++i) {
            write_output(y_[i], x_[static_cast<std::size_t>(i)], inc_);
        }
    }
}

template <class T>
TimeTable<T>::TimeTable(SignalBuffer& buf, int output_view, int time_view, WriteMode mode,
                        TableIndex rule, double dt, double param, std::vector<double> keys,
                        std::vector<double> table)
    : y_(buf.vec<T>(output_view)),
      t_(buf.ptr<T>(time_view)),
      inc_(mode == WriteMode::Inc),
      rule_(rule),
      dt_(dt),
      param_(param),
      keys_(std::move(keys)),
      table_(std::move(table)),
      rows_(0) {
    // The time is read through a pointer: an empty view may point past the buffer.
    check_len("TimeTable", "time", buf.view(time_view).size(), 1);
    if (y_.n < 1 || table_.size() % static_cast<std::size_t>(y_.n) != 0) {
        throw std::invalid_argument("TimeTable: table size is not a multiple of the output's");
    }
    rows_ = static_cast<std::int64_t>(table_.size()) / y_.n;
    if (rows_ < 1) throw std::invalid_argument("TimeTable: empty table");
    if (!std::is_sorted(keys_.begin(), keys_.end())) {
        throw std::invalid_argument("TimeTable: keys must be sorted");
    }
    switch (rule_) {
        case TableIndex::Periodic:
        case TableIndex::Presentation:
            break;
        case TableIndex::Breakpoints:
        case TableIndex::StepTimes:
            if (std::int64_t(keys_.size()) + 1 != rows_) {
                throw std::invalid_argument("TimeTable: needs one row more than keys");
            }
            break;
        default:
            throw std::invalid_argument("TimeTable: unknown index rule");
    }
}

template <class T>
const char* TimeTable<T>::kind() const {
    switch (rule_) {
        case TableIndex::Periodic: return "WhiteSignal";
        case TableIndex::Presentation: return "PresentInput";
        default: return "Piecewise";
    }
}

namespace {
// Python's `int(v) % n` for an integral double v and n > 0 (never negative), without
// the conversion of v to int64 that is undefined for NaN, infinities and |v| >= 2^63:
// fmod is exact, so this is Python's arbitrary-precision result for every finite v.
// Python raises for the others (ValueError, OverflowError), as this does.
std::int64_t py_mod(double v, std::int64_t n, const char* what) {
    if (!std::isfinite(v)) {
        throw std::invalid_argument(std::string(what) + ": cannot convert " +
                                    std::to_string(v) + " to a table row");
    }
    double m = std::fmod(v, static_cast<double>(n));
    if (m < 0.0) m += static_cast<double>(n);
    // m is integral (v is) and in [0, n); the bound only keeps the row in the table.
    const auto row = static_cast<std::int64_t>(m);
    return row >= n ? 0 : row;
}
}  // namespace

template <class T>
std::int64_t TimeTable<T>::row(double t) const {
    switch (rule_) {
        case TableIndex::Periodic:
            // Python's round() rounds half to even, as nearbyint in the default mode.
            return py_mod(std::nearbyint(t / dt_), rows_, "WhiteSignal");
        case TableIndex::Presentation:
            // int() truncates toward zero.
            return py_mod(std::trunc((t - dt_) / param_ + 1e-7), rows_, "PresentInput");
        case TableIndex::Breakpoints: {
            // np.searchsorted(side="left"): the number of keys below t + 0.5 dt.
            const double v = t + 0.5 * dt_;
            return std::lower_bound(keys_.begin(), keys_.end(), v) - keys_.begin();
        }
        case TableIndex::StepTimes: {
            if (keys_.empty() || t > keys_.back()) return rows_ - 1;
            const auto it = std::lower_bound(keys_.begin(), keys_.end(), t);
            if (it == keys_.end() || *it != t) {
                // Rows were evaluated at the times TimeUpdate produces (step * dt); any
                // other time would need nengo's interpolation, which is not here.
                throw std::runtime_error("Piecewise: time " + std::to_string(t) +
                                         " is not a simulation step time");
            }
            return it - keys_.begin();
        }
    }
    return 0;
}

template <class T>
void TimeTable<T>::step() {
    const double* values = table_.data() + row(static_cast<double>(*t_)) * y_.n;
    for (std::int64_t i = 0; i < y_.n; ++i) write_output(y_[i], values[i], inc_);
}

template <class T>
void TimeTable<T>::set_table(const double* values, std::int64_t size) {
    if (size != static_cast<std::int64_t>(table_.size())) {
        throw std::invalid_argument("TimeTable: new table has " + std::to_string(size) +
                                    " values, expected " + std::to_string(table_.size()));
    }
    std::copy(values, values + size, table_.begin());
}

template class Noise<double>;
template class Noise<float>;
template class TimeTable<double>;
template class TimeTable<float>;

}  // namespace nengo_mpi
