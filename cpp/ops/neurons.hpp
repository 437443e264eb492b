// Neuron populations (nengo's SimNeurons for the native neuron types).
// Each reads the input current J and sets the output and its state signals.
//
// Every kernel follows its nengo.neurons step() expression by expression, in the same
// order, so that the only differences from nengo come from transcendental functions
// (numpy may use its own SIMD exp/log1p/expm1/tanh where we call libm; LIF's expm1 and
// log1p of small arguments are series accurate to about an ulp, see small_math.hpp).
// In float32, numpy
// computes array-with-Python-scalar expressions in float32, so parameters are rounded to
// T before use, exactly where nengo's arrays see them; an expression nengo evaluates in
// float64 (a boolean mask divided by dt, an integer count times a Python float) is
// evaluated in double here too and rounded when stored.
//
// The RatesToSpikes types (RegularSpiking, StochasticSpiking, PoissonSpiking) are built by
// nengo as two SimNeurons ops: the base rate type maps currents to rates (its own kernel,
// with its own state), and the spiking op turns those rates into spikes. The kernels
// here are that second op, so they work around any base type.
#pragma once

#include <cstdint>
#include <vector>

#include "ops/op.hpp"
#include "random/numpy_random.hpp"
#include "signals/buffer.hpp"

namespace nengo_mpi {

struct LIFParams {
    double tau_rc;
    double tau_ref;
    double min_voltage;
    double amplitude;
};

// Adaptation of AdaptiveLIF / AdaptiveLIFRate: tau_n dn/dt = -n, plus inc_n per output.
struct AdaptationParams {
    double tau_n;
    double inc_n;
};

struct IzhikevichParams {
    double tau_recovery;
    double coupling;
    double reset_voltage;
    double reset_recovery;
};

// Spiking LIF with nengo's sub-step spike timing: a neuron that crosses threshold
// mid-step starts its refractory period at the interpolated crossing time.
template <class T>
class LIF final : public Op {
public:
    LIF(SignalBuffer& buf, int j_view, int out_view, int voltage_view, int refractory_view,
        LIFParams params, double dt);
    void step() override;
    const char* kind() const override { return "LIF"; }

private:
    Vec<T> j_, out_, v_, ref_;
    LIFParams p_;
    double dt_;
    // Scratch for step()'s passes: each neuron's voltage before the step, and whether
    // its refractory period ends mid-step or it spiked...
    std::vector<T> saved_v_;
    std::vector<std::uint8_t> flags_;  // holds LIFFlag<T>s (see neurons.cpp)
    // ...and the neurons the second pass redoes: mid-step refractory ends, spikes.
    std::vector<std::int32_t> mid_step_, spiked_;
    // ...and the arguments and results of their expm1 or log1p, in list order.
    std::vector<T> arg_, res_;
};

template <class T>
class LIFRate final : public Op {
public:
    LIFRate(SignalBuffer& buf, int j_view, int out_view, LIFParams params);
    void step() override;
    const char* kind() const override { return "LIFRate"; }

private:
    Vec<T> j_, out_;
    LIFParams p_;
};

// LIFRate with a smoothed threshold (Hunsberger & Eliasmith 2015, as nengo_dl's
// SoftLIFRate): the rate's j = J - 1 passes through sigma * softplus(j / sigma), so the
// rate and its derivative are continuous at threshold. It is the worked example of
// docs/adding_a_kernel.md, whose test defines the nengo type.
template <class T>
class SoftLIFRate final : public Op {
public:
    SoftLIFRate(SignalBuffer& buf, int j_view, int out_view, LIFParams params, double sigma);
    void step() override;
    const char* kind() const override { return "SoftLIFRate"; }

private:
    Vec<T> j_, out_;
    LIFParams p_;
    double sigma_;
};

// LIF whose input is reduced by an adaptation state that grows with every spike.
template <class T>
class AdaptiveLIF final : public Op {
public:
    AdaptiveLIF(SignalBuffer& buf, int j_view, int out_view, int voltage_view,
                int refractory_view, int adaptation_view, LIFParams params,
                AdaptationParams adapt, double dt);
    void step() override;
    const char* kind() const override { return "AdaptiveLIF"; }

private:
    Vec<T> j_, out_, v_, ref_, n_;
    LIFParams p_;
    AdaptationParams a_;
    double dt_;
};

template <class T>
class AdaptiveLIFRate final : public Op {
public:
    AdaptiveLIFRate(SignalBuffer& buf, int j_view, int out_view, int adaptation_view,
                    LIFParams params, AdaptationParams adapt, double dt);
    void step() override;
    const char* kind() const override { return "AdaptiveLIFRate"; }

private:
    Vec<T> j_, out_, n_;
    LIFParams p_;
    AdaptationParams a_;
    double dt_;
};

template <class T>
class RectifiedLinear final : public Op {
public:
    RectifiedLinear(SignalBuffer& buf, int j_view, int out_view, double amplitude);
    void step() override;
    const char* kind() const override { return "RectifiedLinear"; }

private:
    Vec<T> j_, out_;
    double amplitude_;
};

template <class T>
class SpikingRectifiedLinear final : public Op {
public:
    SpikingRectifiedLinear(SignalBuffer& buf, int j_view, int out_view, int voltage_view,
                           double amplitude, double dt);
    void step() override;
    const char* kind() const override { return "SpikingRectifiedLinear"; }

private:
    Vec<T> j_, out_, v_;
    double amplitude_;
    double dt_;
};

// nengo's Izhikevich: forward Euler on voltage and recovery (times 1000, the model's
// equations being in milliseconds), spikes detected and reset before recovery is updated.
template <class T>
class Izhikevich final : public Op {
public:
    Izhikevich(SignalBuffer& buf, int j_view, int out_view, int voltage_view,
               int recovery_view, IzhikevichParams params, double dt);
    void step() override;
    const char* kind() const override { return "Izhikevich"; }

private:
    Vec<T> j_, out_, v_, u_;
    IzhikevichParams p_;
    double dt_;
};

template <class T>
class Sigmoid final : public Op {
public:
    Sigmoid(SignalBuffer& buf, int j_view, int out_view, double tau_ref);
    void step() override;
    const char* kind() const override { return "Sigmoid"; }

private:
    Vec<T> j_, out_;
    double tau_ref_;
};

template <class T>
class Tanh final : public Op {
public:
    Tanh(SignalBuffer& buf, int j_view, int out_view, double tau_ref);
    void step() override;
    const char* kind() const override { return "Tanh"; }

private:
    Vec<T> j_, out_;
    double tau_ref_;
};

// RegularSpiking: integrates the base type's rate (J here) and emits floor(voltage) spikes.
template <class T>
class RegularSpiking final : public Op {
public:
    RegularSpiking(SignalBuffer& buf, int rate_view, int out_view, int voltage_view,
                   double amplitude, double dt);
    void step() override;
    const char* kind() const override { return "RegularSpiking"; }

private:
    Vec<T> j_, out_, v_;
    double amplitude_;
    double dt_;
};

// StochasticSpiking: dt * rate spikes, the fractional part rounded up with its own
// probability (one uniform draw per neuron per step, as nengo draws them).
//
// The generator is seeded once from the neuron type's RandomState (which nengo's builder
// seeds from the ensemble's seed). reset() deliberately keeps it where it is: nengo's
// Simulator.reset does not re-create that RandomState either, so after a reset nengo
// continues the same stream, and so do we.
template <class T>
class StochasticSpiking final : public Op {
public:
    StochasticSpiking(SignalBuffer& buf, int rate_view, int out_view, double amplitude,
                      bool negative, double dt);
    void step() override;
    const char* kind() const override { return "StochasticSpiking"; }
    NumpyRandom* random() override { return &rng_; }

private:
    Vec<T> j_, out_;
    double amplitude_;
    bool negative_;
    double dt_;
    NumpyRandom rng_;
};

// PoissonSpiking: a Poisson(dt * rate) number of spikes per neuron per step, drawn with
// numpy's legacy RandomState.poisson algorithm (ops/poisson.hpp). Seeding and reset as
// for StochasticSpiking.
template <class T>
class PoissonSpiking final : public Op {
public:
    PoissonSpiking(SignalBuffer& buf, int rate_view, int out_view, double amplitude,
                   bool negative, double dt);
    void step() override;
    const char* kind() const override { return "PoissonSpiking"; }
    NumpyRandom* random() override { return &rng_; }

private:
    Vec<T> j_, out_;
    double amplitude_;
    bool negative_;
    double dt_;
    NumpyRandom rng_;
};

}  // namespace nengo_mpi
