// Engine construction and stepping, plus the one op that calls back into Python.
// Native ops are added by the register_*_ops.cpp files, one per family.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <memory>
#include <string>
#include <vector>

#include "bindings/numpy_state.hpp"
#include "bindings/op_binding.hpp"
#include "engine.hpp"
#include "random/numpy_random.hpp"

namespace py = pybind11;
using nengo_mpi::Engine;
using nengo_mpi::bindings::Index;

namespace {

// The fallback for every operator the engine has no kernel for: it calls the step
// function that the operator's own make_step built on zero-copy views of our buffer.
class PythonOp final : public nengo_mpi::Op {
public:
    explicit PythonOp(py::object fn) : fn_(std::move(fn)) {}
    void step() override { fn_(); }
    const char* kind() const override { return "Python"; }

private:
    py::object fn_;
};

nengo_mpi::View make_view(std::size_t byte_offset, int dtype, const Index& shape,
                          const Index& strides) {
    if (shape.size() != strides.size()) throw std::invalid_argument("shape/strides lengths");
    if (shape.size() > static_cast<std::size_t>(nengo_mpi::kMaxDims)) {
        throw std::invalid_argument("view has too many dimensions");
    }
    if (dtype < 0 || dtype > nengo_mpi::kLastDType) {
        throw std::invalid_argument("unknown dtype code " + std::to_string(dtype));
    }
    nengo_mpi::View v;
    v.byte_offset = byte_offset;
    v.dtype = static_cast<nengo_mpi::DType>(dtype);
    v.ndim = static_cast<int>(shape.size());
    for (std::size_t d = 0; d < shape.size(); ++d) {
        v.shape[d] = shape[d];
        v.strides[d] = strides[d];
    }
    return v;
}

}  // namespace

void register_engine(py::module_& m) {
    py::class_<Engine>(m, "Engine")
        .def(py::init([](double dt, py::object fortran_comm) {
                 auto comm = fortran_comm.is_none()
                                 ? nengo_mpi::make_local_comm()
                                 : nengo_mpi::make_mpi_comm(fortran_comm.cast<std::int64_t>());
                 return std::make_unique<Engine>(dt, std::move(comm));
             }),
             py::arg("dt"), py::arg("fortran_comm") = py::none())
        .def_property_readonly("dt", &Engine::dt)
        .def_property_readonly("rank", [](Engine& e) { return e.comm().rank(); })
        .def_property_readonly("size", [](Engine& e) { return e.comm().size(); })
        .def_property_readonly("steps", &Engine::steps)
        .def("set_steps", &Engine::set_steps, py::arg("steps"))
        .def("settle", &Engine::settle)
        .def("op_has_rng", &Engine::op_has_rng, py::arg("handle"))
        .def("check_seeded", &Engine::check_seeded)
        .def_property_readonly("n_ops", &Engine::n_ops)
        .def_property_readonly("n_components", &Engine::n_components)
        .def("op_kind", &Engine::op_kind)
        .def("add_component",
             [](Engine& e, int component_id,
                py::array_t<std::uint8_t, py::array::c_style | py::array::forcecast> initial) {
                 return e.add_component(component_id, initial.data(),
                                        static_cast<std::size_t>(initial.size()));
             })
        .def("add_zeroed_component",
             // The caller then writes the initial values into buffer(local) in place.
             [](Engine& e, int component_id, std::size_t nbytes) {
                 return e.add_component(component_id, nullptr, nbytes);
             })
        .def("add_view",
             [](Engine& e, int local, std::size_t byte_offset, int dtype, const Index& shape,
                const Index& strides) {
                 return e.buffer(local).add_view(make_view(byte_offset, dtype, shape, strides));
             })
        .def("buffer",
             // base=self keeps the engine alive as long as any view of its memory exists.
             [](py::object self, int local) {
                 auto& buf = self.cast<Engine&>().buffer(local);
                 return py::array_t<std::uint8_t>({static_cast<py::ssize_t>(buf.nbytes())},
                                                  {static_cast<py::ssize_t>(1)}, buf.data(),
                                                  self);
             })
        .def("add_python_op",
             [](Engine& e, int local, std::int64_t order, py::object fn) {
                 return e.add_op(local, order, std::make_unique<PythonOp>(std::move(fn)));
             })
        .def("set_python_op",
             [](Engine& e, int handle, py::object fn) {
                 e.replace_op(handle, std::make_unique<PythonOp>(std::move(fn)));
             })
        .def("set_rng_state",
             // Takes numpy's RandomState.get_state() tuple as it is.
             [](Engine& e, int handle, py::tuple state) {
                 nengo_mpi::NumpyRandom* rng = e.op(handle).random();
                 if (rng == nullptr) {
                     throw std::invalid_argument(std::string("op ") + e.op(handle).kind() +
                                                 " draws no random numbers");
                 }
                 nengo_mpi::bindings::load_numpy_state(*rng, state);
             })
        .def("get_rng_state",
             [](Engine& e, int handle) {
                 nengo_mpi::NumpyRandom* rng = e.op(handle).random();
                 if (rng == nullptr) throw std::invalid_argument("op draws no random numbers");
                 return nengo_mpi::bindings::dump_numpy_state(*rng);
             })
        .def("add_local_channel", &Engine::add_local_channel)
        .def("add_send", &Engine::add_send, py::arg("tag"), py::arg("src_local"),
             py::arg("src_view"), py::arg("dst_rank"), py::arg("send_after"),
             py::arg("same_step") = false, py::arg("recv_before") = -1)
        .def("add_recv", &Engine::add_recv, py::arg("tag"), py::arg("dst_local"),
             py::arg("dst_view"), py::arg("src_rank"), py::arg("recv_before"),
             py::arg("same_step") = false, py::arg("send_after") = -1)
        .def("add_probe", &Engine::add_probe)
        .def("finalize", &Engine::finalize)
        .def("run",
             // Between steps, Python's pending signals: Ctrl-C raises KeyboardInterrupt
             // within a step, as in nengo, instead of when the whole run ends.
             [](Engine& e, std::int64_t steps) {
                 e.run(steps, [] {
                     if (PyErr_CheckSignals() != 0) throw py::error_already_set();
                 });
             },
             py::arg("steps"))
        .def("drain", &Engine::drain)
        .def("reset", &Engine::reset)
        .def("probe_samples", &Engine::probe_samples)
        .def("timing",
             // A dict rather than a bound struct: it goes through pickle to rank 0.
             [](const Engine& e) {
                 const nengo_mpi::EngineTiming t = e.timing();
                 py::dict d;
                 d["compute_s"] = t.compute_s;
                 d["wait_s"] = t.wait_s;
                 d["exchange_s"] = t.exchange_s;
                 d["steps"] = t.steps;
                 d["blocked_waits"] = t.blocked;
                 d["step_bytes_sent"] = e.step_bytes_sent();
                 d["step_bytes_received"] = e.step_bytes_received();
                 d["step_messages_sent"] = e.step_messages_sent();
                 d["step_messages_received"] = e.step_messages_received();
                 return d;
             })
        .def_property("timing_enabled", &Engine::timing_enabled, &Engine::set_timing)
        .def_property("profile", &Engine::profile, &Engine::set_profile)
        .def("op_seconds", &Engine::op_seconds)
        .def("op_calls", &Engine::op_calls)
        .def("op_profile",
             [](const Engine& e) {
                 py::dict d;
                 for (const nengo_mpi::OpKindTime& k : e.op_profile()) {
                     py::dict entry;
                     entry["seconds"] = k.seconds;
                     entry["calls"] = k.calls;
                     entry["ops"] = k.ops;
                     d[py::str(k.kind)] = entry;
                 }
                 return d;
             })
        .def("take_probe", [](Engine& e, int probe) {
            std::vector<std::uint8_t> data = e.take_probe(probe);
            return py::bytes(reinterpret_cast<const char*>(data.data()), data.size());
        });
}
