#include "ops/neurons.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <string>
#include <type_traits>

#include "ops/clones.hpp"
#include "ops/poisson.hpp"
#include "ops/small_math.hpp"

namespace nengo_mpi {

namespace {
template <class T>
void same_length(const char* op, const Vec<T>& a, const Vec<T>& b) {
    if (a.n != b.n) {
        throw std::invalid_argument(std::string(op) + ": signals of " + std::to_string(a.n) +
                                    " and " + std::to_string(b.n) + " neurons");
    }
}

// The LIF parameters as nengo's float arrays see them (rounded to T).
template <class T>
struct LIFConsts {
    T dt, tau_rc, tau_ref, min_voltage, spike;
    LIFConsts(const LIFParams& p, double dt_)
        : dt(static_cast<T>(dt_)),
          tau_rc(static_cast<T>(p.tau_rc)),
          tau_ref(static_cast<T>(p.tau_ref)),
          min_voltage(static_cast<T>(p.min_voltage)),
          // amplitude / dt is a Python float; nengo multiplies a boolean mask by it (in
          // float64) and stores the result, i.e. rounds it once to T.
          spike(static_cast<T>(p.amplitude / dt_)),
          decay_full(std::expm1(-dt / tau_rc)) {}
    // expm1(-delta_t / tau_rc) for the two values of delta_t that nearly every neuron
    // has in a step: dt (not refractory) and 0 (refractory all step). They are the very
    // numbers nengo's expm1 computes, so taking them from here is exact, and leaves
    // expm1 only for the few neurons whose refractory period ends mid-step.
    T decay(T delta_t) const {
        if (delta_t == dt) return decay_full;
        if (delta_t == T(0)) return T(-0.0);  // expm1(-0 / tau_rc)
        return expm1_small(-delta_t / tau_rc);
    }

    T decay_full;
};

// One LIF neuron for one step (nengo.neurons.LIF.step term by term, expm1/log1p
// included), given its refractory time already reduced by dt; returns the output and
// updates voltage and refractory time in place.
template <class T>
T lif_advance(const LIFConsts<T>& c, T J, T& voltage, T& refractory_after) {
    const T one = 1, zero = 0;
    T ref = refractory_after;
    // np.clip(dt - ref, 0, dt); std::clamp also passes a NaN through as np.clip does.
    const T delta_t = std::clamp(c.dt - ref, zero, c.dt);
    T v = voltage;
    v -= (J - v) * c.decay(delta_t);
    T out = zero;
    if (v > one) {
        // Sub-step spike time: when the exponential approach to J crossed 1.
        const T t_spike = c.dt + c.tau_rc * log1p_small(-(v - one) / (J - one));
        out = c.spike;
        v = zero;
        ref = c.tau_ref + t_spike;
    } else if (v < c.min_voltage) {
        v = c.min_voltage;
    }
    voltage = v;
    refractory_after = ref;
    return out;
}

// LIF::step's first pass (see there). A function of its own because GCC honours
// __restrict only on parameters; without it the vectoriser gives up on alias checks.
// Flags are integers as wide as T, built with bit operations: GCC vectorises that form
// (with SSE4.1 or later for doubles) but not selects between T values.
template <class T>
using LIFFlag = typename std::conditional<sizeof(T) == 8, std::int64_t, std::int32_t>::type;
constexpr int kMidStep = 1;  // refractory period ends within this step (or NaN)
constexpr int kSpiked = 2;   // crossed threshold with the common decay factor

template <class T>
NENGO_MPI_INLINE void lif_common_pass(std::int64_t n, const T* __restrict J, T* __restrict out,
                     T* __restrict v, T* __restrict ref, T* __restrict saved,
                     LIFFlag<T>* __restrict flag, T dt, T decay_full, T min_voltage) {
    using Flag = LIFFlag<T>;
    const T zero = 0, one = 1, neg_zero = T(-0.0);
    for (std::int64_t i = 0; i < n; ++i) {
        const T r = ref[i];
        const T delta_t = std::min(std::max(dt - (r - dt), zero), dt);  // np.clip, NaN too
        const T v0 = v[i];
        const T v1 = v0 - (J[i] - v0) * (delta_t == dt ? decay_full : neg_zero);
        // Bitwise & and not &&: a short-circuit is a branch, which stops the vectoriser.
        // A NaN delta_t is neither dt nor 0, so it is flagged too.
        const Flag mid = -Flag((delta_t != dt) & (delta_t != zero));
        saved[i] = v0;
        flag[i] = (mid & kMidStep) | (~mid & -Flag(v1 > one) & kSpiked);
        // (v1 < min) ? min : v1, which keeps a NaN. A spiking neuron keeps v1 here
        // (min_voltage <= 0 < 1 < v1) for the spike pass to read.
        v[i] = std::max(v1, min_voltage);
        ref[i] = r - dt;
        out[i] = zero;
    }
}

// lif_common_pass in an AVX2 and a baseline clone. One loop, not a memcpy and a memset
// beside it: GCC would split out saved[i] = v[i] and out[i] = 0 as library calls, going
// over the arrays three times instead of once.
#define NENGO_MPI_ONE_LOOP __attribute__((optimize("no-tree-loop-distribute-patterns")))
NENGO_MPI_CLONES NENGO_MPI_ONE_LOOP
void lif_common_pass_cloned(std::int64_t n, const double* J, double* out, double* v,
                            double* ref, double* saved, std::int64_t* flag, double dt,
                            double decay_full, double min_voltage) {
    lif_common_pass(n, J, out, v, ref, saved, flag, dt, decay_full, min_voltage);
}

NENGO_MPI_CLONES NENGO_MPI_ONE_LOOP
void lif_common_pass_cloned(std::int64_t n, const float* J, float* out, float* v,
                            float* ref, float* saved, std::int32_t* flag, float dt,
                            float decay_full, float min_voltage) {
    lif_common_pass(n, J, out, v, ref, saved, flag, dt, decay_full, min_voltage);
}

// Lists the neurons flagged kMidStep and those flagged kSpiked, without a branch per
// neuron (which would mispredict: at 200 Hz, a fifth of the neurons spike in a step).
// First every flagged neuron, one store per neuron (stores, not arithmetic, limit this
// loop), then the short list split in two (the flags exclude each other), in place.
template <class Flag>
void collect(const Flag* flag, std::int64_t n, std::int32_t* mid, std::int64_t& n_mid,
             std::int32_t* spiked, std::int64_t& n_spiked) {
    std::int64_t f = 0;
    for (std::int64_t i = 0; i < n; ++i) {
        mid[f] = static_cast<std::int32_t>(i);
        f += flag[i] != 0;
    }
    std::int64_t m = 0, s = 0;
    for (std::int64_t k = 0; k < f; ++k) {
        const std::int32_t i = mid[k];  // m <= k: read before it can be overwritten
        const Flag fl = flag[i];
        mid[m] = spiked[s] = i;
        m += (fl & kMidStep) != 0;
        s += (fl & kSpiked) != 0;
    }
    n_mid = m;
    n_spiked = s;
}

// The same, from the refractory time before this step's `refractory -= dt`.
template <class T>
T lif_step(const LIFConsts<T>& c, T J, T& voltage, T& refractory) {
    refractory -= c.dt;
    return lif_advance(c, J, voltage, refractory);
}

// LIFRate's rate for one neuron (zero at or below threshold, and for NaN input).
template <class T>
T lif_rate(T amplitude, T tau_ref, T tau_rc, T J) {
    const T one = 1, zero = 0;
    const T j = J - one;
    return j > zero ? amplitude / (tau_ref + tau_rc * std::log1p(one / j)) : zero;
}

// SoftLIFRate's rate for one neuron, in the order of its nengo step: x = (J - 1) / sigma,
// p = sigma * softplus(x) (x itself from 34 on, where log1p(exp(x)) == x in both
// precisions), then LIFRate's expression with p for j. p underflows to 0 far below
// threshold: 1 / p is then inf and the rate 0, as in numpy.
template <class T>
T soft_lif_rate(T amplitude, T tau_ref, T tau_rc, T sigma, T J) {
    const T one = 1, cap = 34;
    const T x = (J - one) / sigma;
    const T p = sigma * (x >= cap ? x : std::log1p(std::exp(std::min(x, cap))));
    return amplitude / (tau_ref + tau_rc * std::log1p(one / p));
}

// n += (dt / tau_n) * (inc_n * output - n), with dt / tau_n a Python float.
template <class T>
struct AdaptConsts {
    T rate, inc;
    AdaptConsts(const AdaptationParams& a, double dt)
        : rate(static_cast<T>(dt / a.tau_n)), inc(static_cast<T>(a.inc_n)) {}
    T next(T n, T out) const { return n + rate * (inc * out - n); }
};

// np.sign: 1, -1, 0 (for both zeros), NaN for NaN.
template <class T>
T sign(T x) {
    if (x > 0) return T(1);
    if (x < 0) return T(-1);
    if (x == 0) return T(0);
    return x;
}

// voltage += rate * dt; emit floor(voltage) spikes of amplitude / dt and keep the rest:
// nengo's SpikingRectifiedLinear (on max(J, 0)) and RegularSpiking (on its base type's
// rates) are the same integrator.
template <class T>
void integrate_and_spike(const Vec<T>& rate, const Vec<T>& out, const Vec<T>& voltage,
                         double amplitude, double dt_seconds, bool rectify) {
    const T dt = static_cast<T>(dt_seconds);
    const T scale = static_cast<T>(amplitude / dt_seconds);
    for (std::int64_t i = 0; i < rate.n; ++i) {
        const T r = rectify ? std::max(rate[i], T(0)) : rate[i];
        const T v = voltage[i] + r * dt;
        const T n_spikes = std::floor(v);
        out[i] = scale * n_spikes;
        voltage[i] = v - n_spikes;
    }
}
}  // namespace

// --- LIF ----------------------------------------------------------------------------

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
    if (j_.n > std::numeric_limits<std::int32_t>::max()) {
        throw std::invalid_argument("LIF: more neurons in one op than 32-bit indices hold");
    }
}

template <class T>
void LIF<T>::step() {
    const LIFConsts<T> c(p_, dt_);
    const std::int64_t n = j_.n;
    if (!(j_.contiguous() && out_.contiguous() && v_.contiguous() && ref_.contiguous())) {
        for (std::int64_t i = 0; i < n; ++i) out_[i] = lif_step(c, j_[i], v_[i], ref_[i]);
        return;
    }
    // The first pass does what most neurons need in a step (delta_t of dt or 0, no
    // spike), with no branches or calls, so the compiler vectorises it, and flags the
    // rest. The flagged ones are then redone from the voltage saved in the first pass,
    // in lists without per-neuron branches: those whose refractory period ends mid-step
    // (expm1 of their partial step; some of them spike), then those that spiked (log1p
    // of the sub-step spike time). Every neuron gets exactly lif_advance's arithmetic.
    using Flag = LIFFlag<T>;
    const auto un = static_cast<std::size_t>(n);
    saved_v_.resize(un);
    flags_.resize(un * sizeof(Flag));
    mid_step_.resize(un);
    spiked_.resize(un);
    Flag* flag = reinterpret_cast<Flag*>(flags_.data());
    T* J = j_.p;
    T* v = v_.p;
    T* ref = ref_.p;
    T* out = out_.p;
    T* saved = saved_v_.data();
    lif_common_pass_cloned(n, J, out, v, ref, saved, flag, c.dt, c.decay_full,
                           c.min_voltage);
    std::int32_t* mid = mid_step_.data();
    std::int32_t* spiked = spiked_.data();
    std::int64_t n_mid = 0, n_spiked = 0;
    collect(flag, n, mid, n_mid, spiked, n_spiked);
    // expm1 and log1p in batches, gathered and scattered around them (small_math.hpp).
    arg_.resize(un);
    res_.resize(un);
    T* arg = arg_.data();
    T* res = res_.data();
    for (std::int64_t k = 0; k < n_mid; ++k) {
        const std::int32_t i = mid[k];
        arg[k] = -std::clamp(c.dt - ref[i], T(0), c.dt) / c.tau_rc;  // -delta_t / tau_rc
    }
    expm1_batch(arg, res, n_mid);
    for (std::int64_t k = 0; k < n_mid; ++k) {
        const std::int32_t i = mid[k];
        const T v0 = saved[i];
        const T v1 = v0 - (J[i] - v0) * res[k];
        spiked[n_spiked] = i;
        n_spiked += v1 > T(1);
        v[i] = std::max(v1, c.min_voltage);  // as in the first pass
    }
    for (std::int64_t k = 0; k < n_spiked; ++k) {
        const std::int32_t i = spiked[k];
        arg[k] = -(v[i] - T(1)) / (J[i] - T(1));
    }
    log1p_batch(arg, res, n_spiked);
    for (std::int64_t k = 0; k < n_spiked; ++k) {
        const std::int32_t i = spiked[k];
        // Sub-step spike time: when the exponential approach to J crossed 1.
        const T t_spike = c.dt + c.tau_rc * res[k];
        out[i] = c.spike;
        v[i] = T(0);
        ref[i] = c.tau_ref + t_spike;
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
    for (std::int64_t i = 0; i < j_.n; ++i) out_[i] = lif_rate(amplitude, tau_ref, tau_rc, j_[i]);
}

template <class T>
AdaptiveLIF<T>::AdaptiveLIF(SignalBuffer& buf, int j_view, int out_view, int voltage_view,
                            int refractory_view, int adaptation_view, LIFParams params,
                            AdaptationParams adapt, double dt)
    : j_(buf.vec<T>(j_view)),
      out_(buf.vec<T>(out_view)),
      v_(buf.vec<T>(voltage_view)),
      ref_(buf.vec<T>(refractory_view)),
      n_(buf.vec<T>(adaptation_view)),
      p_(params),
      a_(adapt),
      dt_(dt) {
    same_length("AdaptiveLIF", j_, out_);
    same_length("AdaptiveLIF", j_, v_);
    same_length("AdaptiveLIF", j_, ref_);
    same_length("AdaptiveLIF", j_, n_);
}

template <class T>
void AdaptiveLIF<T>::step() {
    // nengo: LIF.step(dt, J - n, ...), then n += (dt / tau_n) * (inc_n * output - n).
    const LIFConsts<T> c(p_, dt_);
    const AdaptConsts<T> a(a_, dt_);
    for (std::int64_t i = 0; i < j_.n; ++i) {
        const T n = n_[i];
        const T out = lif_step(c, j_[i] - n, v_[i], ref_[i]);
        out_[i] = out;
        n_[i] = a.next(n, out);
    }
}

template <class T>
AdaptiveLIFRate<T>::AdaptiveLIFRate(SignalBuffer& buf, int j_view, int out_view,
                                    int adaptation_view, LIFParams params,
                                    AdaptationParams adapt, double dt)
    : j_(buf.vec<T>(j_view)),
      out_(buf.vec<T>(out_view)),
      n_(buf.vec<T>(adaptation_view)),
      p_(params),
      a_(adapt),
      dt_(dt) {
    same_length("AdaptiveLIFRate", j_, out_);
    same_length("AdaptiveLIFRate", j_, n_);
}

template <class T>
void AdaptiveLIFRate<T>::step() {
    const T amplitude = static_cast<T>(p_.amplitude);
    const T tau_ref = static_cast<T>(p_.tau_ref);
    const T tau_rc = static_cast<T>(p_.tau_rc);
    const AdaptConsts<T> a(a_, dt_);
    for (std::int64_t i = 0; i < j_.n; ++i) {
        const T n = n_[i];
        const T out = lif_rate(amplitude, tau_ref, tau_rc, j_[i] - n);
        out_[i] = out;
        n_[i] = a.next(n, out);
    }
}

// --- Rectifiers -----------------------------------------------------------------------

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
    integrate_and_spike(j_, out_, v_, amplitude_, dt_, /*rectify=*/true);
}

template <class T>
SoftLIFRate<T>::SoftLIFRate(SignalBuffer& buf, int j_view, int out_view, LIFParams params,
                            double sigma)
    : j_(buf.vec<T>(j_view)), out_(buf.vec<T>(out_view)), p_(params), sigma_(sigma) {
    same_length("SoftLIFRate", j_, out_);
}

template <class T>
void SoftLIFRate<T>::step() {
    // Parameters rounded to T where numpy's float32 arrays meet them (see the top).
    const T amplitude = static_cast<T>(p_.amplitude);
    const T tau_ref = static_cast<T>(p_.tau_ref);
    const T tau_rc = static_cast<T>(p_.tau_rc);
    const T sigma = static_cast<T>(sigma_);
    for (std::int64_t i = 0; i < j_.n; ++i) {
        out_[i] = soft_lif_rate(amplitude, tau_ref, tau_rc, sigma, j_[i]);
    }
}

// --- Izhikevich -----------------------------------------------------------------------

template <class T>
Izhikevich<T>::Izhikevich(SignalBuffer& buf, int j_view, int out_view, int voltage_view,
                          int recovery_view, IzhikevichParams params, double dt)
    : j_(buf.vec<T>(j_view)),
      out_(buf.vec<T>(out_view)),
      v_(buf.vec<T>(voltage_view)),
      u_(buf.vec<T>(recovery_view)),
      p_(params),
      dt_(dt) {
    same_length("Izhikevich", j_, out_);
    same_length("Izhikevich", j_, v_);
    same_length("Izhikevich", j_, u_);
}

template <class T>
void Izhikevich<T>::step() {
    const T dt = static_cast<T>(dt_);
    const T min_j = T(-30.0), c04 = T(0.04), c5 = T(5), c140 = T(140), c1000 = T(1000);
    const T threshold = T(30);
    const T tau_recovery = static_cast<T>(p_.tau_recovery);
    const T coupling = static_cast<T>(p_.coupling);
    const T reset_voltage = static_cast<T>(p_.reset_voltage);
    const T reset_recovery = static_cast<T>(p_.reset_recovery);
    // (voltage >= 30) / dt is a boolean array divided by a Python float: float64, stored.
    const T spike = static_cast<T>(1.0 / dt_);
    for (std::int64_t i = 0; i < j_.n; ++i) {
        // np.maximum(-30.0, J) keeps a NaN, as std::max(J, -30) does.
        const T J = std::max(j_[i], min_j);
        T v = v_[i];
        T u = u_[i];
        // voltage**2 is numpy's square, v * v.
        const T dv = (c04 * (v * v) + c5 * v + c140 - u + J) * c1000;
        v += dv * dt;
        const bool spiked = v >= threshold;
        const T out = spiked ? spike : T(0);
        out_[i] = out;
        if (out > 0) v = reset_voltage;
        const T du = (tau_recovery * (coupling * v - u)) * c1000;
        u += du * dt;
        if (out > 0) u = u + reset_recovery;
        v_[i] = v;
        u_[i] = u;
    }
}

// --- Sigmoid, Tanh --------------------------------------------------------------------

template <class T>
Sigmoid<T>::Sigmoid(SignalBuffer& buf, int j_view, int out_view, double tau_ref)
    : j_(buf.vec<T>(j_view)), out_(buf.vec<T>(out_view)), tau_ref_(tau_ref) {
    same_length("Sigmoid", j_, out_);
}

template <class T>
void Sigmoid<T>::step() {
    // (1.0 / tau_ref) is a Python float, rounded to T by numpy.
    const T max_rate = static_cast<T>(1.0 / tau_ref_);
    for (std::int64_t i = 0; i < j_.n; ++i) out_[i] = max_rate / (T(1) + std::exp(-j_[i]));
}

template <class T>
Tanh<T>::Tanh(SignalBuffer& buf, int j_view, int out_view, double tau_ref)
    : j_(buf.vec<T>(j_view)), out_(buf.vec<T>(out_view)), tau_ref_(tau_ref) {
    same_length("Tanh", j_, out_);
}

template <class T>
void Tanh<T>::step() {
    const T max_rate = static_cast<T>(1.0 / tau_ref_);
    for (std::int64_t i = 0; i < j_.n; ++i) out_[i] = max_rate * std::tanh(j_[i]);
}

// --- Rates to spikes ------------------------------------------------------------------

template <class T>
RegularSpiking<T>::RegularSpiking(SignalBuffer& buf, int rate_view, int out_view,
                                  int voltage_view, double amplitude, double dt)
    : j_(buf.vec<T>(rate_view)),
      out_(buf.vec<T>(out_view)),
      v_(buf.vec<T>(voltage_view)),
      amplitude_(amplitude),
      dt_(dt) {
    same_length("RegularSpiking", j_, out_);
    same_length("RegularSpiking", j_, v_);
}

template <class T>
void RegularSpiking<T>::step() {
    integrate_and_spike(j_, out_, v_, amplitude_, dt_, /*rectify=*/false);
}

template <class T>
StochasticSpiking<T>::StochasticSpiking(SignalBuffer& buf, int rate_view, int out_view,
                                        double amplitude, bool negative, double dt)
    : j_(buf.vec<T>(rate_view)),
      out_(buf.vec<T>(out_view)),
      amplitude_(amplitude),
      negative_(negative),
      dt_(dt) {
    same_length("StochasticSpiking", j_, out_);
}

template <class T>
void StochasticSpiking<T>::step() {
    const T dt = static_cast<T>(dt_);
    const T scale = static_cast<T>(amplitude_ / dt_);
    for (std::int64_t i = 0; i < j_.n; ++i) {
        const T J = j_[i];
        T n_spikes;
        const T frac = std::modf(dt * (negative_ ? std::fabs(J) : J), &n_spikes);
        // numpy compares its float64 draws with the (float32 or float64) fractions in
        // float64; the comparison is exact either way.
        if (rng_.random_sample() < static_cast<double>(frac)) n_spikes += T(1);
        out_[i] = negative_ ? scale * n_spikes * sign(J) : scale * n_spikes;
    }
}

template <class T>
PoissonSpiking<T>::PoissonSpiking(SignalBuffer& buf, int rate_view, int out_view,
                                  double amplitude, bool negative, double dt)
    : j_(buf.vec<T>(rate_view)),
      out_(buf.vec<T>(out_view)),
      amplitude_(amplitude),
      negative_(negative),
      dt_(dt) {
    same_length("PoissonSpiking", j_, out_);
}

template <class T>
void PoissonSpiking<T>::step() {
    const T dt = static_cast<T>(dt_);
    const auto lam = [&](std::int64_t i) {
        const T J = j_[i];
        return static_cast<double>((negative_ ? std::fabs(J) : J) * dt);
    };
    // numpy checks every lam before it draws anything (and raises ValueError, as
    // std::invalid_argument becomes in Python), so a bad input leaves the stream as it was.
    const double lam_max = numpy_poisson_lam_max();
    for (std::int64_t i = 0; i < j_.n; ++i) {
        if (!(lam(i) <= lam_max)) throw std::invalid_argument("lam value too large");
    }
    for (std::int64_t i = 0; i < j_.n; ++i) {
        if (!(lam(i) >= 0.0)) throw std::invalid_argument("lam < 0 or lam contains NaNs");
    }
    // (amplitude / dt) * counts is float64 in numpy (a Python float times int64 counts);
    // it is rounded to T only when stored.
    const double scale = amplitude_ / dt_;
    for (std::int64_t i = 0; i < j_.n; ++i) {
        const double spikes = scale * static_cast<double>(numpy_poisson(rng_, lam(i)));
        out_[i] = static_cast<T>(
            negative_ ? spikes * static_cast<double>(sign(j_[i])) : spikes);
    }
}

template class LIF<double>;
template class LIF<float>;
template class LIFRate<double>;
template class LIFRate<float>;
template class SoftLIFRate<double>;
template class SoftLIFRate<float>;
template class AdaptiveLIF<double>;
template class AdaptiveLIF<float>;
template class AdaptiveLIFRate<double>;
template class AdaptiveLIFRate<float>;
template class RectifiedLinear<double>;
template class RectifiedLinear<float>;
template class SpikingRectifiedLinear<double>;
template class SpikingRectifiedLinear<float>;
template class Izhikevich<double>;
template class Izhikevich<float>;
template class Sigmoid<double>;
template class Sigmoid<float>;
template class Tanh<double>;
template class Tanh<float>;
template class RegularSpiking<double>;
template class RegularSpiking<float>;
template class StochasticSpiking<double>;
template class StochasticSpiking<float>;
template class PoissonSpiking<double>;
template class PoissonSpiking<float>;

}  // namespace nengo_mpi
