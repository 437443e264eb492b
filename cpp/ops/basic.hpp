// Bookkeeping ops: time, resets, copies and elementwise products.
#pragma once

#include <cstdint>
#include <type_traits>
#include <vector>

#include "ops/op.hpp"
#include "signals/buffer.hpp"

namespace nengo_mpi {

// Writes step += 1 and time = step * dt (nengo's TimeUpdate; sets both). The step
// counter is int64 or int32 and the time float64 or float32, following nengo's precision.
template <class T, class I>
class TimeUpdate final : public Op {
public:
    TimeUpdate(SignalBuffer& buf, int step_view, int time_view, double dt);
    void step() override;
    const char* kind() const override { return "TimeUpdate"; }

private:
    I* step_;
    T* time_;
    double dt_;
};

// Sets every element of dst to a constant (nengo's Reset).
template <class T>
class Reset final : public Op {
public:
    Reset(SignalBuffer& buf, int dst_view, double value);
    void step() override;
    const char* kind() const override { return "Reset"; }

private:
    Vec<T> dst_;
    T value_;
};

// dst[dst_index] (+)= src[src_index]; reads src, sets or increments dst (nengo's Copy).
// Empty index lists mean "all elements". A src of length 1 broadcasts. Repeated dst
// indices with inc accumulate one after another, as numpy's add.at does. Between float32
// and float64 (nengo's RLS keeps its error in float64 under 32-bit precision), numpy
// computes `dst += src` in the wider type and rounds the sum to dst's type.
template <class S, class D = S>
class Copy final : public Op {
public:
    Copy(SignalBuffer& buf, int src_view, int dst_view, std::vector<std::int64_t> src_index,
         std::vector<std::int64_t> dst_index, bool inc);
    void step() override;
    const char* kind() const override {
        return std::is_same_v<S, D> ? "Copy" : "CastCopy";
    }

private:
    Vec<S> src_;
    Vec<D> dst_;
    std::vector<std::int64_t> src_index_;
    std::vector<std::int64_t> dst_index_;
    std::int64_t n_;
    bool inc_;
};

// Y += A * X with numpy broadcasting over 2-D shapes (nengo's ElementwiseInc).
// All three views are given as 2-D; broadcast axes have length 1 and are read with stride 0.
template <class T>
class ElementwiseInc final : public Op {
public:
    ElementwiseInc(SignalBuffer& buf, int a_view, int x_view, int y_view);
    void step() override;
    const char* kind() const override { return "ElementwiseInc"; }

private:
    Mat<T> a_;
    Mat<T> x_;
    Mat<T> y_;
};

}  // namespace nengo_mpi
