// Helpers shared by the files that expose native ops as Engine.add_<kind> methods.
//
// Every add_<kind>(local, order, views..., params...) method builds one op in a local
// component and returns its handle. Real-valued kernels exist in float64 and float32; the
// dtype of the op's first view picks the instantiation, and the op's constructor checks
// that every other view has the same dtype.
#pragma once

#include <pybind11/pybind11.h>

#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "engine.hpp"

namespace nengo_mpi::bindings {

using Index = std::vector<std::int64_t>;

// The Engine class object registered by register_engine, for other files to add methods to.
inline pybind11::class_<Engine> engine_class(pybind11::module_& m) {
    return pybind11::reinterpret_borrow<pybind11::class_<Engine>>(m.attr("Engine"));
}

template <class OpT, class... Args>
int add(Engine& e, int local, std::int64_t order, Args&&... args) {
    return e.add_op(local, order,
                    std::make_unique<OpT>(e.buffer(local), std::forward<Args>(args)...));
}

// Builds OpT<double> or OpT<float> after the dtype of `first_view`, which is passed on as
// the constructor's first view argument.
template <template <class> class OpT, class... Args>
int add_real(Engine& e, int local, std::int64_t order, int first_view, Args&&... args) {
    const DType dtype = e.buffer(local).view(first_view).dtype;
    if (dtype == DType::f64) {
        return add<OpT<double>>(e, local, order, first_view, std::forward<Args>(args)...);
    }
    if (dtype == DType::f32) {
        return add<OpT<float>>(e, local, order, first_view, std::forward<Args>(args)...);
    }
    throw std::invalid_argument(std::string("native kernels compute in float64 or float32, "
                                            "not ") +
                                dtype_name(dtype));
}

}  // namespace nengo_mpi::bindings
