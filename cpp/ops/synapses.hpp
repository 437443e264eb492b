// Linear filters (nengo's SimProcess for LinearFilter, Lowpass and Alpha): a discrete
// state-space system x' = A x + B u, y = C x + D u applied to every element independently.
#pragma once

#include <vector>

#include "ops/op.hpp"
#include "signals/buffer.hpp"

namespace nengo_mpi {

// nengo picks one of these step forms from (A, B, C, D); each form's order of operations
// is kept, because it decides whether y sees the old or the new state.
enum class FilterForm : int {
    NoX = 0,      // y = D u
    OneX = 1,     // x = a x + (C B) u; y = x
    NoD = 2,      // x = A x + B u; y = C x (new state)
    General = 3,  // y = C x + D u (old state); x = A x + B u
};

// How the output is written: nengo's SimProcess modes ("set" and "update" both assign).
enum class WriteMode : int { Set = 0, Inc = 1, Update = 2 };

template <class T>
class LinearFilter final : public Op {
public:
    // A is k x k row-major, B and C have k entries; state X is a (k, n) view.
    LinearFilter(SignalBuffer& buf, int input_view, int output_view, int state_view,
                 FilterForm form, WriteMode mode, std::vector<double> A, std::vector<double> B,
                 std::vector<double> C, double D);
    void step() override;
    const char* kind() const override { return "LinearFilter"; }

private:
    Vec<T> u_;
    Vec<T> y_;
    Mat<T> x_;
    FilterForm form_;
    WriteMode mode_;
    std::vector<double> A_, B_, C_;
    double D_;
    std::int64_t k_;
    std::vector<T> tmp_;
};

}  // namespace nengo_mpi
