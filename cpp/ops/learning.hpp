// Learning rules (nengo's SimPES, SimBCM, SimOja, SimVoja, SimRLS), plus a Copy between
// signals of different real dtypes, which nengo's RLS builder needs under 32-bit precision.
//
// Each rule reads filtered activities (and an error, weights or encoders) and updates a
// `delta` matrix; nengo's ordinary Copy then adds delta to the weights or encoders. The
// arithmetic follows nengo's numpy expressions operation by operation (same grouping,
// same precision, with Python-float factors rounded to the signal dtype as numpy does),
// so that every rule but RLS matches nengo bit for bit.
#pragma once

#include <cstdint>
#include <type_traits>
#include <vector>

#include "ops/op.hpp"
#include "signals/buffer.hpp"

namespace nengo_mpi {

// delta = outer(alpha * error, pre), alpha = -learning_rate * dt / n_pre (nengo's SimPES).
// `alpha` is computed in Python exactly as nengo's make_step does.
template <class T>
class SimPES final : public Op {
public:
    SimPES(SignalBuffer& buf, int pre_view, int error_view, int delta_view, double alpha);
    void step() override;
    const char* kind() const override { return "SimPES"; }

private:
    Vec<T> pre_;
    Vec<T> error_;
    Mat<T> delta_;
    T alpha_;
};

// delta = outer(alpha * post * (post - theta), pre), alpha = learning_rate * dt (SimBCM).
template <class T>
class SimBCM final : public Op {
public:
    SimBCM(SignalBuffer& buf, int pre_view, int post_view, int theta_view, int delta_view,
           double alpha);
    void step() override;
    const char* kind() const override { return "SimBCM"; }

private:
    Vec<T> pre_;
    Vec<T> post_;
    Vec<T> theta_;
    Mat<T> delta_;
    T alpha_;
};

// delta = -beta * weights * (alpha * post * post)[:, None] + outer(alpha * post, pre)
// (nengo's SimOja, in its order: the forgetting term is stored first, the Hebbian term
// added to it).
template <class T>
class SimOja final : public Op {
public:
    SimOja(SignalBuffer& buf, int pre_view, int post_view, int weights_view, int delta_view,
           double alpha, double beta);
    void step() override;
    const char* kind() const override { return "SimOja"; }

private:
    Vec<T> pre_;
    Vec<T> post_;
    Mat<T> weights_;
    Mat<T> delta_;
    T alpha_;
    T neg_beta_;
};

// delta = alpha * learning * (scale[:, None] * outer(post, pre) - post[:, None] * encoders)
// (nengo's SimVoja; `learning` is a one-element signal, `scale` the constant gain/radius).
template <class T>
class SimVoja final : public Op {
public:
    SimVoja(SignalBuffer& buf, int pre_view, int post_view, int encoders_view,
            int learning_view, int delta_view, double alpha, const std::vector<double>& scale);
    void step() override;
    const char* kind() const override { return "SimVoja"; }

private:
    Vec<T> pre_;
    Vec<T> post_;
    Mat<T> encoders_;
    T* learning_;
    Mat<T> delta_;
    T alpha_;
    std::vector<T> scale_;
};

// Recursive least squares (nengo's SimRLS):
//   Pr = P r;  g = 1 / (1 + r.Pr);  P -= Pr Pr^T g;  delta = error[:, None] * (-g Pr^T).
// R is the dtype of r and delta, Q that of P and error. nengo's builder makes P and error
// float64 whatever the precision, so under 32-bit precision R = float and Q = double, and
// numpy then computes in double (the common type C) and rounds delta to float on store.
// The two dot products are summed in index order; numpy hands them to BLAS, whose
// (vectorised, CPU-dependent) order cannot be reproduced, so RLS matches nengo to
// rounding, not bit for bit.
template <class R, class Q>
class SimRLS final : public Op {
public:
    using C = std::common_type_t<R, Q>;

    SimRLS(SignalBuffer& buf, int pre_view, int error_view, int delta_view, int p_view);
    void step() override;
    const char* kind() const override { return "SimRLS"; }

private:
    Vec<R> r_;
    Vec<Q> error_;
    Mat<R> delta_;
    Mat<Q> p_;
    std::vector<C> pr_;  // scratch: P r, recomputed every step (no state)
};

}  // namespace nengo_mpi
