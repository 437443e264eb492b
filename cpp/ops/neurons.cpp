#include "ops/neurons.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>

namespace nengo_mpi {

namespace {
template <class T>
void same_length(const char* op, const Vec<T>& a, const Vec<T>& b) {
    if (a.n != b.n) {
        throw std::invalid_argument(std::string(op) + ": signals of " + std::to_string(a.n) +
                                    " and " + std::to_string(b.n) + " neurons");
    }
}
}  // namespace

template <class T>
LIF<T>::LIF(SignalBuffer& buf, int j_view, int out_view, int voltage_view, int refractory_view,
         LIFParams params, double dt)
    : j_(buf.vec<T>(j_view)),
      out_(buf.vec<T>(out_view)),
      v_(buf.vec<T>(voltage_view)),
      ref_(buf.vec<T>(refractory_view)),
      p_(params),
      dt_(dt) {
    same_length("LIF", j_, out_);
    same_length("LIF", j_, v_);
    same_length("LIF", j_, ref_);
}

template <class T>
void LIF<T>::step() {
    // The arithmetic follows nengo.neurons.LIF.step term by term (expm1/log1p included),
    // so results agree with the reference to rounding.
    // In float32, numpy computes array-with-Python-scalar expressions in float32, so
    // every parameter is rounded to T first, as nengo's arrays see them.
    const T dt = static_cast<T>(dt_);
    const T tau_rc = static_cast<T>(p_.tau_rc);
    const T tau_ref = static_cast<T>(p_.tau_ref);
    const T min_voltage = static_cast<T>(p_.min_voltage);
    const T spike = static_cast<T>(p_.amplitude / dt_);
    const T one = 1, zero = 0;
    for (std::int64_t i = 0; i < j_.n; ++i) {
        T ref = ref_[i] - dt;
        const T delta_t = std::clamp(dt - ref, zero, dt);
        const T J = j_[i];
        T v = v_[i];
        v -= (J - v) * std::expm1(-delta_t / tau_rc);
        if (v > one) {
            const T t_spike = dt + tau_rc * std::log1p(-(v - one) / (J - one));
            out_[i] = spike;
            v = zero;
            ref = tau_ref + t_spike;
        } else {
            out_[i] = zero;
            if (v < min_voltage) v = min_voltage;
        }
        v_[i] = v;
        ref_[i] = ref;
    }
}

template <class T>
LIFRate<T>::LIFRate(SignalBuffer& buf, int j_view, int out_view, LIFParams params)
    : j_(buf.vec<T>(j_view)), out_(buf.vec<T>(out_view)), p_(params) {
    same_length("LIFRate", j_, out_);
}

template <class T>
void LIFRate<T>::step() {
    const T amplitude = static_cast<T>(p_.amplitude);
    const T tau_ref = static_cast<T>(p_.tau_ref);
    const T tau_rc = static_cast<T>(p_.tau_rc);
    const T one = 1, zero = 0;
    for (std::int64_t i = 0; i < j_.n; ++i) {
        const T j = j_[i] - one;
        out_[i] = j > zero ? amplitude / (tau_ref + tau_rc * std::log1p(one / j)) : zero;
    }
}

template <class T>
RectifiedLinear<T>::RectifiedLinear(SignalBuffer& buf, int j_view, int out_view, double amplitude)
    : j_(buf.vec<T>(j_view)), out_(buf.vec<T>(out_view)), amplitude_(amplitude) {
    same_length("RectifiedLinear", j_, out_);
}

template <class T>
void RectifiedLinear<T>::step() {
    // std::max(j, 0.0) returns j when j is NaN, as np.maximum does; std::max(0.0, j) would
    // silently turn a NaN into 0.
    const T amplitude = static_cast<T>(amplitude_);
    for (std::int64_t i = 0; i < j_.n; ++i) out_[i] = amplitude * std::max(j_[i], T(0));
}

template <class T>
SpikingRectifiedLinear<T>::SpikingRectifiedLinear(SignalBuffer& buf, int j_view, int out_view,
                                               int voltage_view, double amplitude, double dt)
    : j_(buf.vec<T>(j_view)),
      out_(buf.vec<T>(out_view)),
      v_(buf.vec<T>(voltage_view)),
      amplitude_(amplitude),
      dt_(dt) {
    same_length("SpikingRectifiedLinear", j_, out_);
    same_length("SpikingRectifiedLinear", j_, v_);
}

template <class T>
void SpikingRectifiedLinear<T>::step() {
    const T scale = static_cast<T>(amplitude_ / dt_);
    const T dt = static_cast<T>(dt_);
    for (std::int64_t i = 0; i < j_.n; ++i) {
        T v = v_[i] + std::max(j_[i], T(0)) * dt;
        const T n_spikes = std::floor(v);
        out_[i] = scale * n_spikes;
        v_[i] = v - n_spikes;
    }
}

template class LIF<double>;
template class LIF<float>;
template class LIFRate<double>;
template class LIFRate<float>;
template class RectifiedLinear<double>;
template class RectifiedLinear<float>;
template class SpikingRectifiedLinear<double>;
template class SpikingRectifiedLinear<float>;

}  // namespace nengo_mpi
