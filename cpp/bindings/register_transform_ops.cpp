// Engine.add_* for transform operators (nengo's ConvInc and ConvTransposeInc).
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <stdexcept>
#include <string>
#include <utility>

#include "bindings/op_binding.hpp"
#include "ops/transforms.hpp"

namespace py = pybind11;
using nengo_mpi::ConvGeometry;
using nengo_mpi::DType;
using nengo_mpi::Engine;
using nengo_mpi::bindings::add;
using nengo_mpi::bindings::Index;

namespace {

void check_len(const char* what, const Index& v, std::size_t n) {
    if (v.size() != n) {
        throw std::invalid_argument(std::string(what) + " needs " + std::to_string(n) +
                                    " entries, got " + std::to_string(v.size()));
    }
}

// in_shape / out_shape are (height, width, channels), the others (height, width).
ConvGeometry geometry(const Index& in_shape, const Index& out_shape, const Index& kernel,
                      const Index& strides, const Index& pad, bool channels_last) {
    check_len("in_shape", in_shape, 3);
    check_len("out_shape", out_shape, 3);
    check_len("kernel", kernel, 2);
    check_len("strides", strides, 2);
    check_len("pad", pad, 2);
    ConvGeometry g;
    g.in_h = in_shape[0], g.in_w = in_shape[1], g.in_c = in_shape[2];
    g.out_h = out_shape[0], g.out_w = out_shape[1], g.out_c = out_shape[2];
    g.k_h = kernel[0], g.k_w = kernel[1];
    g.stride_h = strides[0], g.stride_w = strides[1];
    g.pad_h = pad[0], g.pad_w = pad[1];
    g.channels_last = channels_last;
    return g;
}

bool is_real(DType d) { return d == DType::f64 || d == DType::f32; }

// X and Y share one dtype (T); the kernel W may differ (TW): nengo samples kernels in
// float64 whatever the precision setting.
template <template <class, class> class OpT>
int add_conv(Engine& e, int local, std::int64_t order, int w, int x, int y,
             const ConvGeometry& g) {
    const DType xt = e.buffer(local).view(x).dtype;
    const DType wt = e.buffer(local).view(w).dtype;
    if (!is_real(xt) || !is_real(wt) || e.buffer(local).view(y).dtype != xt) {
        throw std::invalid_argument(
            "convolution kernels need X and Y of one dtype and W, each float64 or float32");
    }
    if (xt == DType::f64) {
        if (wt == DType::f64) return add<OpT<double, double>>(e, local, order, w, x, y, g);
        return add<OpT<double, float>>(e, local, order, w, x, y, g);
    }
    if (wt == DType::f64) return add<OpT<float, double>>(e, local, order, w, x, y, g);
    return add<OpT<float, float>>(e, local, order, w, x, y, g);
}

}  // namespace

void register_transform_ops(py::module_& m) {
    nengo_mpi::bindings::engine_class(m)
        .def(
            "add_conv_inc",
            [](Engine& e, int local, std::int64_t order, int w, int x, int y, Index in_shape,
               Index out_shape, Index kernel, Index strides, Index pad, std::int64_t groups,
               bool channels_last) {
                ConvGeometry g = geometry(in_shape, out_shape, kernel, strides, pad,
                                          channels_last);
                g.groups = groups;
                return add_conv<nengo_mpi::ConvInc>(e, local, order, w, x, y, g);
            },
            "Y += conv(W, X), nengo's ConvInc; shapes as (height, width[, channels]).",
            py::arg("local"), py::arg("order"), py::arg("w"), py::arg("x"), py::arg("y"),
            py::arg("in_shape"), py::arg("out_shape"), py::arg("kernel"),
            py::arg("strides"), py::arg("pad"), py::arg("groups"),
            py::arg("channels_last"))
        .def(
            "add_conv_transpose_inc",
            [](Engine& e, int local, std::int64_t order, int w, int x, int y, Index in_shape,
               Index out_shape, Index kernel, Index strides, Index pad, Index extent,
               bool channels_last) {
                check_len("extent", extent, 2);
                ConvGeometry g = geometry(in_shape, out_shape, kernel, strides, pad,
                                          channels_last);
                g.extent_h = extent[0], g.extent_w = extent[1];
                return add_conv<nengo_mpi::ConvTransposeInc>(e, local, order, w, x, y, g);
            },
            "Y += conv_transpose(W, X), nengo's ConvTransposeInc.",
            py::arg("local"), py::arg("order"), py::arg("w"), py::arg("x"), py::arg("y"),
            py::arg("in_shape"), py::arg("out_shape"), py::arg("kernel"),
            py::arg("strides"), py::arg("pad"), py::arg("extent"),
            py::arg("channels_last"));
}
