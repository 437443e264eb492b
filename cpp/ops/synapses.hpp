// Synapses (nengo's SimProcess for LinearFilter, Lowpass, Alpha and Triangle).
//
// The arithmetic of each synapse lives in a "core" that filters n input values into an
// output view; the ops around it say where the input comes from. A Connection's synapse
// filters a copy of its input signal; FilteredNoise (ops/processes.hpp) filters noise it
// draws itself. The distinction matters under nengo's 32-bit precision, because numpy
// computes array-op-Python-float in the array's dtype but array-op-float64-array in
// float64, and the two inputs have different dtypes (the signal's, or float64 noise).
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "ops/op.hpp"
#include "signals/buffer.hpp"

namespace nengo_mpi {

// nengo picks one of these step forms from (A, B, C, D); each form's order of operations
// is kept, because it decides whether y sees the old or the new state. nengo's
// OneXScalar is OneX with a single element (n == 1), which the core detects itself.
enum class FilterForm : int {
    NoX = 0,      // y = D u
    OneX = 1,     // x = a x + (C B) u; y = x
    NoD = 2,      // x = A x + B u; y = C x (new state)
    General = 3,  // y = C x + D u (old state); x = A x + B u
};

// How the output is written: nengo's SimProcess modes ("set" and "update" both assign).
enum class WriteMode : int { Set = 0, Inc = 1, Update = 2 };

// SimProcess's `output[...] = y` or `output[...] += y`. `y` holds exactly the value the
// step function returns, whatever its dtype (float32 values are exact in double). Adding
// in double and rounding once to T is numpy's addition in the promoted dtype: for two
// float32 values the double sum rounded to float32 is the correctly rounded float32 sum
// (double has more than 2 * 24 + 2 bits), and float32 + float64 numpy adds in float64.
template <class T>
inline void write_output(T& out, double y, bool inc) {
    out = inc ? static_cast<T>(static_cast<double>(out) + y) : static_cast<T>(y);
}

// One numpy multiplication `c * u` of a Python float (or numpy scalar) `c` and an array
// of dtype U: numpy 1.x casts the scalar to U and multiplies in U. The product of two
// floats is exact in double, so rounding it once to U is the float32 product.
template <class U>
inline U scalar_times(U c, U u) {
    return static_cast<U>(static_cast<double>(c) * static_cast<double>(u));
}

// Filters n input values of dtype U into an output view of dtype T, keeping its state in
// the signal buffer (so Engine::reset restores it with every other signal).
template <class T, class U>
class SynapseCore {
public:
    virtual ~SynapseCore() = default;
    // `u` holds the n inputs as nengo's step function receives them.
    virtual void step(const U* u, Vec<T> y, bool inc) = 0;
};

// What a synapse is, for the ops that build a core (bindings fill it from Python).
struct SynapseSpec {
    enum class Kind : int { None = 0, Linear = 1, Triangle = 2 };
    Kind kind = Kind::None;
    // Linear: the discrete state space (A is k x k row-major; B and C have k entries) and
    // the state X as a (k, n) view (-1 for the stateless NoX form).
    FilterForm form = FilterForm::NoX;
    std::vector<double> A, B, C;
    double D = 0.0;
    int x_view = -1;
    // Triangle: nengo's state Y (n), X (n_taps, n) and the tap counter Xi (1), and the
    // first and last filter coefficient (n0, ndiff), exactly as nengo computes them.
    int y_view = -1;
    int xi_view = -1;
    double n0 = 0.0;
    double ndiff = 0.0;
};

template <class T, class U>
std::unique_ptr<SynapseCore<T, U>> make_synapse_core(SignalBuffer& buf, const SynapseSpec& spec,
                                                     std::int64_t n);

// nengo's LinearFilter step objects (NoX, OneX, OneXScalar, NoD, General).
template <class T, class U>
class LinearCore final : public SynapseCore<T, U> {
public:
    LinearCore(SignalBuffer& buf, const SynapseSpec& spec, std::int64_t n);
    void step(const U* u, Vec<T> y, bool inc) override;

private:
    Mat<T> x_;
    FilterForm form_;
    std::vector<double> A_, B_, C_;
    double D_;
    std::int64_t k_;
    std::int64_t n_;
    std::vector<T> tmp_;
};

// nengo's Triangle step: a running sum over a ring of n_taps scaled past inputs.
template <class T, class U>
class TriangleCore final : public SynapseCore<T, U> {
public:
    TriangleCore(SignalBuffer& buf, const SynapseSpec& spec, std::int64_t n);
    void step(const U* u, Vec<T> y, bool inc) override;

private:
    Vec<T> ystate_;
    Mat<T> x_;
    T* xi_;
    double n0_, ndiff_;
    std::int64_t n_;
    std::vector<T> sum_;
};

// A Connection's synapse (or any SimProcess of a synapse with an input signal): copies
// the input first, as SimProcess does (np.copy), so an output that overlaps the input
// cannot change what the filter reads.
template <class T>
class Synapse final : public Op {
public:
    Synapse(SignalBuffer& buf, int input_view, int output_view, WriteMode mode,
            const SynapseSpec& spec);
    void step() override;
    const char* kind() const override;

private:
    Vec<T> u_;
    Vec<T> y_;
    bool inc_;
    SynapseSpec::Kind kind_;
    std::unique_ptr<SynapseCore<T, T>> core_;
    std::vector<T> u_copy_;
};

}  // namespace nengo_mpi
