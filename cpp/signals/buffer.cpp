#include "signals/buffer.hpp"

#include <cstdlib>
#include <cstring>
#include <stdexcept>

namespace nengo_mpi {

std::size_t dtype_size(DType dtype) {
    switch (dtype) {
        case DType::f64: return 8;
        case DType::f32: return 4;
        case DType::i64: return 8;
        case DType::i32: return 4;
        case DType::boolean: return 1;
        case DType::f16: return 2;
        case DType::i16: return 2;
        case DType::i8: return 1;
        case DType::u8: return 1;
        case DType::u16: return 2;
        case DType::u32: return 4;
        case DType::u64: return 8;
        case DType::c64: return 8;
        case DType::c128: return 16;
    }
    throw std::invalid_argument("unknown dtype code");
}

const char* dtype_name(DType dtype) {
    switch (dtype) {
        case DType::f64: return "float64";
        case DType::f32: return "float32";
        case DType::i64: return "int64";
        case DType::i32: return "int32";
        case DType::boolean: return "bool";
        case DType::f16: return "float16";
        case DType::i16: return "int16";
        case DType::i8: return "int8";
        case DType::u8: return "uint8";
        case DType::u16: return "uint16";
        case DType::u32: return "uint32";
        case DType::u64: return "uint64";
        case DType::c64: return "complex64";
        case DType::c128: return "complex128";
    }
    return "unknown";
}

std::int64_t View::size() const {
    std::int64_t n = 1;
    for (int d = 0; d < ndim; ++d) n *= shape[d];
    return n;
}

void SignalBuffer::FreeDeleter::operator()(std::uint8_t* p) const { std::free(p); }

// 64-byte alignment: a cache line, and what AVX-512 loads want, so kernels can later
// assume aligned bases without the lowering having to know about the machine.
constexpr std::size_t kAlign = 64;

SignalBuffer::SignalBuffer(const std::uint8_t* initial, std::size_t nbytes)
    : nbytes_(nbytes) {
    std::size_t padded = ((nbytes + kAlign - 1) / kAlign) * kAlign;
    if (padded == 0) padded = kAlign;
    data_.reset(static_cast<std::uint8_t*>(std::aligned_alloc(kAlign, padded)));
    if (!data_) throw std::bad_alloc();
    if (initial != nullptr) {
        if (nbytes_ > 0) std::memcpy(data_.get(), initial, nbytes_);
    } else {
        std::memset(data_.get(), 0, padded);
    }
}

int SignalBuffer::add_view(const View& view) {
    if (view.ndim < 0 || view.ndim > kMaxDims) {
        throw std::invalid_argument("view has " + std::to_string(view.ndim) +
                                    " dimensions; the engine supports up to " +
                                    std::to_string(kMaxDims));
    }
    const auto item = static_cast<std::int64_t>(dtype_size(view.dtype));
    if (view.byte_offset % static_cast<std::size_t>(item) != 0) {
        throw std::invalid_argument("view offset is not a multiple of its item size");
    }
    // The lowest and highest element the view can address must both be in the buffer.
    std::int64_t lo = 0, hi = 0;
    bool empty = false;
    for (int d = 0; d < view.ndim; ++d) {
        if (view.shape[d] < 0) throw std::invalid_argument("negative view shape");
        if (view.shape[d] == 0) empty = true;
        const std::int64_t span = (view.shape[d] - 1) * view.strides[d];
        if (span < 0) lo += span; else hi += span;
    }
    if (!empty) {
        const std::int64_t first = static_cast<std::int64_t>(view.byte_offset) + lo * item;
        const std::int64_t last = static_cast<std::int64_t>(view.byte_offset) + hi * item + item;
        if (first < 0 || last > static_cast<std::int64_t>(nbytes_)) {
            throw std::out_of_range("view addresses bytes [" + std::to_string(first) + ", " +
                                    std::to_string(last) + ") outside a buffer of " +
                                    std::to_string(nbytes_) + " bytes");
        }
    }
    views_.push_back(view);
    return static_cast<int>(views_.size()) - 1;
}

const View& SignalBuffer::view(int id) const {
    if (id < 0 || id >= static_cast<int>(views_.size())) {
        throw std::out_of_range("no view " + std::to_string(id));
    }
    return views_[static_cast<std::size_t>(id)];
}

const View& SignalBuffer::typed_view(int id, DType want) const {
    const View& v = view(id);
    if (v.dtype != want) {
        throw std::invalid_argument(std::string("view ") + std::to_string(id) + " is " +
                                    dtype_name(v.dtype) + ", the kernel expects " +
                                    dtype_name(want));
    }
    return v;
}

std::pair<std::int64_t, std::int64_t> SignalBuffer::vector_extent(int id) const {
    const View& v = view(id);
    if (v.ndim == 0) return {1, 1};
    // Size-1 leading or trailing axes (column vectors, (1, n) rows) are common in nengo;
    // a vector is any view with at most one axis longer than 1.
    std::int64_t n = 1, s = 1;
    int long_axes = 0;
    for (int d = 0; d < v.ndim; ++d) {
        if (v.shape[d] != 1) {
            n = v.shape[d];
            s = v.strides[d];
            ++long_axes;
        }
    }
    if (long_axes > 1) {
        throw std::invalid_argument("view " + std::to_string(id) + " is not a vector");
    }
    return {n, s};
}

const View& SignalBuffer::matrix_view(int id) const {
    const View& v = view(id);
    if (v.ndim != 2) {
        throw std::invalid_argument("view " + std::to_string(id) + " has " +
                                    std::to_string(v.ndim) + " dimensions, expected 2");
    }
    return v;
}

}  // namespace nengo_mpi
