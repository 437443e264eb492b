// Neuron populations (nengo's SimNeurons for the native neuron types).
// Each reads the input current J and sets the output and its state signals.
#pragma once

#include "ops/op.hpp"
#include "signals/buffer.hpp"

namespace nengo_mpi {

struct LIFParams {
    double tau_rc;
    double tau_ref;
    double min_voltage;
    double amplitude;
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

}  // namespace nengo_mpi
