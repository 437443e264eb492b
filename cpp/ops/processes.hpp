// Processes without an input (nengo's SimProcess for WhiteNoise, FilteredNoise,
// BrownNoise, WhiteSignal, PresentInput and Piecewise), used as Node outputs or as an
// Ensemble's injected noise.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "ops/op.hpp"
#include "ops/synapses.hpp"
#include "random/numpy_random.hpp"
#include "signals/buffer.hpp"

namespace nengo_mpi {

// The distributions whose samples are drawn natively: nengo's Gaussian samples with
// rng.normal(mean, std), Uniform (non-integer) with rng.uniform(low, high).
enum class NoiseDist : int { Gaussian = 0, Uniform = 1 };

// WhiteNoise (no filter) and FilteredNoise / BrownNoise (a synapse core filtering the
// noise). Each step draws one sample per output element, in order, from a NumpyRandom
// that Python seeds exactly as nengo seeds the process's own RandomState.
template <class T>
class Noise final : public Op {
public:
    // p0, p1: (mean, std) or (low, high). When `scale`, samples are multiplied by
    // `alpha` (nengo's 1 / sqrt(dt)) before filtering.
    Noise(SignalBuffer& buf, int output_view, WriteMode mode, NoiseDist dist, double p0,
          double p1, bool scale, double alpha, const SynapseSpec& filter);
    void step() override;
    const char* kind() const override { return filter_ ? "FilteredNoise" : "WhiteNoise"; }
    NumpyRandom* random() override { return &rng_; }

private:
    Vec<T> y_;
    bool inc_;
    NoiseDist dist_;
    double p0_, p1_;
    bool scale_;
    double alpha_;
    // The noise is a float64 array in nengo whatever the signals' dtype, hence U = double.
    std::unique_ptr<SynapseCore<T, double>> filter_;
    NumpyRandom rng_;
    std::vector<double> x_;
};

// How a TimeTable picks its row from the time t (nengo's own index arithmetic).
enum class TableIndex : int {
    // WhiteSignal: int(round(t / dt)) % rows (round half to even, as Python's round).
    Periodic = 0,
    // PresentInput: int((t - dt) / presentation_time + 1e-7) % rows.
    Presentation = 1,
    // Piecewise "zero": row = searchsorted(keys, t + 0.5 dt) (row 0 is the zeros nengo
    // returns before the first key).
    Breakpoints = 2,
    // Piecewise interpolated: keys are the step times t up to the last breakpoint, one
    // row each, plus one last row for every later time (interp1d's fill value).
    StepTimes = 3,
};

// A process whose output is a row of a table chosen by the time (WhiteSignal,
// PresentInput, Piecewise). The table is computed in Python by nengo's own code.
template <class T>
class TimeTable final : public Op {
public:
    // `table` is rows x (output size), row-major; `param` is PresentInput's
    // presentation_time (unused otherwise).
    TimeTable(SignalBuffer& buf, int output_view, int time_view, WriteMode mode,
              TableIndex rule, double dt, double param, std::vector<double> keys,
              std::vector<double> table);
    void step() override;
    const char* kind() const override;
    // Replaces the table with one of the same size (WhiteSignal's new signal on reset).
    void set_table(const double* values, std::int64_t size);

private:
    std::int64_t row(double t) const;

    Vec<T> y_;
    const T* t_;
    bool inc_;
    TableIndex rule_;
    double dt_;
    double param_;
    std::vector<double> keys_;
    std::vector<double> table_;
    std::int64_t rows_;
};

}  // namespace nengo_mpi
