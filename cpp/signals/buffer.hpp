// One component's signal memory: a single aligned byte buffer plus a table of views.
//
// This follows nengo's own model (every Signal is a base array or a strided view of one)
// and nengo_ocl's RaggedArray idea: ops never own memory, they refer to views by index,
// so the whole state of a component is one contiguous block that can be reset, copied,
// checkpointed or shipped with one memcpy.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace nengo_mpi {

// Element types a signal may have. Native kernels compute in f64 or f32 (nengo's 64- and
// 32-bit precision settings); the others exist so that every nengo signal (the step
// counter, or everything under nengo's 16-bit setting) lives in the same buffer, for the
// Python fallback to use.
enum class DType : int {
    f64 = 0, f32 = 1, i64 = 2, i32 = 3, boolean = 4, f16 = 5, i16 = 6, i8 = 7,
    u8 = 8, u16 = 9, u32 = 10, u64 = 11, c64 = 12, c128 = 13,
};
constexpr int kLastDType = 13;

std::size_t dtype_size(DType dtype);
const char* dtype_name(DType dtype);

constexpr int kMaxDims = 4;

// The largest component buffer: byte offsets and view extents are computed in int64,
// and the buffer's size is rounded up to whole cache lines without wrapping around.
constexpr std::size_t kMaxBufferBytes = (std::size_t(1) << 62);

// Where a signal's elements are: byte offset into the buffer, shape, strides in elements.
struct View {
    std::size_t byte_offset = 0;
    DType dtype = DType::f64;
    int ndim = 0;
    std::array<std::int64_t, kMaxDims> shape{};
    std::array<std::int64_t, kMaxDims> strides{};

    std::int64_t size() const;
};

// The element type each real dtype code stands for; kernels are templates over it.
template <class T> struct dtype_of;
template <> struct dtype_of<double> { static constexpr DType value = DType::f64; };
template <> struct dtype_of<float> { static constexpr DType value = DType::f32; };
template <> struct dtype_of<std::int64_t> { static constexpr DType value = DType::i64; };
template <> struct dtype_of<std::int32_t> { static constexpr DType value = DType::i32; };

// A 1-D strided run of elements (ndim 0 views are length-1 vectors).
template <class T>
struct Vec {
    T* p;
    std::int64_t n;
    std::int64_t s;
    T& operator[](std::int64_t i) const { return p[i * s]; }
    bool contiguous() const { return s == 1 || n <= 1; }
};

// A 2-D strided block of elements.
template <class T>
struct Mat {
    T* p;
    std::int64_t rows;
    std::int64_t cols;
    std::int64_t rs;
    std::int64_t cs;
    T& operator()(std::int64_t i, std::int64_t j) const { return p[i * rs + j * cs]; }
};

class SignalBuffer {
public:
    // `initial` holds the initial value of every signal, laid out by the lowering step;
    // null: all zeros (the caller writes the initial values in place through data(), so
    // that they are not held twice while the engine opens). The buffer keeps no copy of
    // them: the caller writes them back on reset (a copy per component would double the
    // engine's memory for a rarely used operation).
    SignalBuffer(const std::uint8_t* initial, std::size_t nbytes);

    std::uint8_t* data() { return data_.get(); }
    std::size_t nbytes() const { return nbytes_; }

    // Adds a view after checking that every element it can address lies in the buffer
    // and that its element count and byte size fit in an int64 (std::out_of_range or
    // std::invalid_argument otherwise, naming the numbers).
    int add_view(const View& view);
    const View& view(int id) const;
    int n_views() const { return static_cast<int>(views_.size()); }

    // Typed access for kernels; these throw when the view's dtype or rank does not fit,
    // so a lowering mistake is an exception at setup, never a wrong number at run time.
    template <class T>
    T* ptr(int id) {
        return reinterpret_cast<T*>(data_.get() + typed_view(id, dtype_of<T>::value).byte_offset);
    }
    template <class T>
    Vec<T> vec(int id) {
        const auto [n, s] = vector_extent(id);
        return Vec<T>{ptr<T>(id), n, s};
    }
    template <class T>
    Mat<T> mat(int id) {
        const View& v = matrix_view(id);
        return Mat<T>{ptr<T>(id), v.shape[0], v.shape[1], v.strides[0], v.strides[1]};
    }
    double* f64(int id) { return ptr<double>(id); }
    std::int64_t* i64(int id) { return ptr<std::int64_t>(id); }

private:
    const View& typed_view(int id, DType want) const;
    // Length and stride of a view with at most one axis longer than 1.
    std::pair<std::int64_t, std::int64_t> vector_extent(int id) const;
    const View& matrix_view(int id) const;

    struct FreeDeleter {
        void operator()(std::uint8_t* p) const;
    };
    std::unique_ptr<std::uint8_t[], FreeDeleter> data_;
    std::size_t nbytes_;
    std::vector<View> views_;
};

}  // namespace nengo_mpi
