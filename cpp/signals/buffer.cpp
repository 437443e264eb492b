#include "signals/buffer.hpp"

#include <cstdlib>
#include <cstring>
#include <new>
#include <stdexcept>
#include <string>

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
    // Sizes come from model files: one near SIZE_MAX would wrap the padded size below
    // around to a small allocation while nbytes_ stays huge, and views are checked
    // against nbytes_. Every byte offset must also fit in the int64 arithmetic of views.
    if (nbytes > kMaxBufferBytes) {
        throw std::length_error("a component buffer of " + std::to_string(nbytes) +
                                " bytes is larger than the engine can address (" +
                                std::to_string(kMaxBufferBytes) + " bytes)");
    }
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

namespace {

// The arithmetic of add_view on numbers that come from model files, checkpoints and
// Python callers: an overflow there is undefined behaviour, and a wrapped result can
// turn a view far outside the buffer into one that looks in bounds. Each step refuses
// with the numbers involved instead.
std::int64_t checked_mul(std::int64_t a, std::int64_t b, const char* what) {
    std::int64_t r = 0;
    if (__builtin_mul_overflow(a, b, &r)) {
        throw std::out_of_range(std::string("view ") + what + ": " + std::to_string(a) +
                                " * " + std::to_string(b) + " overflows 64 bits");
    }
    return r;
}

std::int64_t checked_add(std::int64_t a, std::int64_t b, const char* what) {
    std::int64_t r = 0;
    if (__builtin_add_overflow(a, b, &r)) {
        throw std::out_of_range(std::string("view ") + what + ": " + std::to_string(a) +
                                " + " + std::to_string(b) + " overflows 64 bits");
    }
    return r;
}

}  // namespace

int SignalBuffer::add_view(const View& view) {
    if (view.ndim < 0 || view.ndim > kMaxDims) {
        throw std::invalid_argument("view has " + std::to_string(view.ndim) +
                                    " dimensions; the engine supports up to " +
                                    std::to_string(kMaxDims));
    }
    const auto code = static_cast<int>(view.dtype);
    if (code < 0 || code > kLastDType) {
        throw std::invalid_argument("unknown dtype code " + std::to_string(code));
    }
    const auto item = static_cast<std::int64_t>(dtype_size(view.dtype));
    // The offset is unsigned; compared while still unsigned, so a huge one cannot turn
    // negative (or wrap) on its way into the signed arithmetic below. An empty view has
    // no element to check, but kernels still take its address: it must point into the
    // buffer or just past it.
    if (view.byte_offset > nbytes_) {
        throw std::out_of_range("view offset " + std::to_string(view.byte_offset) +
                                " is outside a buffer of " + std::to_string(nbytes_) +
                                " bytes");
    }
    if (view.byte_offset % static_cast<std::size_t>(item) != 0) {
        throw std::invalid_argument("view offset is not a multiple of its item size");
    }
    // The lowest and highest element the view can address must both be in the buffer.
    // Its element count (and byte size) must fit in 64 bits too, even for views that
    // repeat one element (stride 0), which any count keeps in bounds: probes, messages
    // and copies size their buffers by it.
    std::int64_t lo = 0, hi = 0, count = 1;
    for (int d = 0; d < view.ndim; ++d) {
        const std::int64_t n = view.shape[d];
        if (n < 0) throw std::invalid_argument("negative view shape " + std::to_string(n));
        count = checked_mul(count, n, "element count");
        if (n == 0) continue;
        const std::int64_t span = checked_mul(n - 1, view.strides[d], "extent");
        if (span < 0) lo = checked_add(lo, span, "extent");
        else hi = checked_add(hi, span, "extent");
    }
    checked_mul(count, item, "size in bytes");
    if (count > 0) {
        const auto offset = static_cast<std::int64_t>(view.byte_offset);  // <= nbytes_
        const std::int64_t first = checked_add(offset, checked_mul(lo, item, "extent"),
                                               "first byte");
        const std::int64_t last = checked_add(
            checked_add(offset, checked_mul(hi, item, "extent"), "last byte"), item,
            "last byte");
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
