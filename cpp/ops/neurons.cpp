#include "ops/neurons.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>

namespace nengo_mpi {

namespace {
void same_length(const char* op, const Vec& a, const Vec& b) {
    if (a.n != b.n) {
        throw std::invalid_argument(std::string(op) + ": signals of " + std::to_string(a.n) +
                                    " and " + std::to_string(b.n) + " neurons");
    }
}
}  // namespace

LIF::LIF(SignalBuffer& buf, int j_view, int out_view, int voltage_view, int refractory_view,
         LIFParams params, double dt)
    : j_(buf.vec(j_view)),
      out_(buf.vec(out_view)),
      v_(buf.vec(voltage_view)),
      ref_(buf.vec(refractory_view)),
      p_(params),
      dt_(dt) {
    same_length("LIF", j_, out_);
    same_length("LIF", j_, v_);
    same_length("LIF", j_, ref_);
}

void LIF::step() {
    // The arithmetic follows nengo.neurons.LIF.step term by term (expm1/log1p included),
    // so results agree with the reference to rounding.
    const double spike = p_.amplitude / dt_;
    for (std::int64_t i = 0; i < j_.n; ++i) {
        double ref = ref_[i] - dt_;
        const double delta_t = std::clamp(dt_ - ref, 0.0, dt_);
        const double J = j_[i];
        double v = v_[i];
        v -= (J - v) * std::expm1(-delta_t / p_.tau_rc);
        if (v > 1.0) {
            const double t_spike = dt_ + p_.tau_rc * std::log1p(-(v - 1.0) / (J - 1.0));
            out_[i] = spike;
            v = 0.0;
            ref = p_.tau_ref + t_spike;
        } else {
            out_[i] = 0.0;
            if (v < p_.min_voltage) v = p_.min_voltage;
        }
        v_[i] = v;
        ref_[i] = ref;
    }
}

LIFRate::LIFRate(SignalBuffer& buf, int j_view, int out_view, LIFParams params)
    : j_(buf.vec(j_view)), out_(buf.vec(out_view)), p_(params) {
    same_length("LIFRate", j_, out_);
}

void LIFRate::step() {
    for (std::int64_t i = 0; i < j_.n; ++i) {
        const double j = j_[i] - 1.0;
        out_[i] = j > 0.0 ? p_.amplitude / (p_.tau_ref + p_.tau_rc * std::log1p(1.0 / j)) : 0.0;
    }
}

RectifiedLinear::RectifiedLinear(SignalBuffer& buf, int j_view, int out_view, double amplitude)
    : j_(buf.vec(j_view)), out_(buf.vec(out_view)), amplitude_(amplitude) {
    same_length("RectifiedLinear", j_, out_);
}

void RectifiedLinear::step() {
    // std::max(j, 0.0) returns j when j is NaN, as np.maximum does; std::max(0.0, j) would
    // silently turn a NaN into 0.
    for (std::int64_t i = 0; i < j_.n; ++i) out_[i] = amplitude_ * std::max(j_[i], 0.0);
}

SpikingRectifiedLinear::SpikingRectifiedLinear(SignalBuffer& buf, int j_view, int out_view,
                                               int voltage_view, double amplitude, double dt)
    : j_(buf.vec(j_view)),
      out_(buf.vec(out_view)),
      v_(buf.vec(voltage_view)),
      amplitude_(amplitude),
      dt_(dt) {
    same_length("SpikingRectifiedLinear", j_, out_);
    same_length("SpikingRectifiedLinear", j_, v_);
}

void SpikingRectifiedLinear::step() {
    const double scale = amplitude_ / dt_;
    for (std::int64_t i = 0; i < j_.n; ++i) {
        double v = v_[i] + std::max(j_[i], 0.0) * dt_;
        const double n_spikes = std::floor(v);
        out_[i] = scale * n_spikes;
        v_[i] = v - n_spikes;
    }
}

}  // namespace nengo_mpi
