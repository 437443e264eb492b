#include "ops/linalg.hpp"
#include "ops/checks.hpp"
#include "ops/clones.hpp"

#include <stdexcept>
#include <string>

namespace nengo_mpi {

namespace {

void check_csr(const char* op, const std::vector<std::int64_t>& indptr,
               const std::vector<std::int64_t>& indices, std::int64_t rows, std::int64_t nnz,
               std::int64_t cols) {
    check_len(op, "indptr", std::int64_t(indptr.size()), rows + 1);
    check_len(op, "indices", std::int64_t(indices.size()), nnz);
    if (indptr.front() != 0 || indptr.back() != nnz) {
        throw std::invalid_argument(std::string(op) + ": indptr does not span the nonzeros");
    }
    for (std::size_t r = 0; r + 1 < indptr.size(); ++r) {
        if (indptr[r] > indptr[r + 1]) {
            throw std::invalid_argument(std::string(op) + ": indptr is not monotonic");
        }
    }
    for (auto c : indices) {
        if (c < 0 || c >= cols) throw std::out_of_range(std::string(op) + ": column index");
    }
}
// sum(a[j] * x[j]) in a fixed order with kLanes running sums. A single running sum is a
// chain of dependent adds that IEEE rules forbid the compiler to reorder; independent
// sums fill the vector registers instead (4x to 8x faster on long rows). The order is a
// function of n only, so every rank and every machine adds in the same order.
template <class T>
NENGO_MPI_INLINE T dot(const T* a, const T* x, std::int64_t n) {
    constexpr int kLanes = 64 / sizeof(T);  // one cache line of each operand per pass
    T tail = 0;
    if (n < kLanes) {
        for (std::int64_t j = 0; j < n; ++j) tail += a[j] * x[j];
        return tail;
    }
    T acc[kLanes] = {};
    std::int64_t j = 0;
    for (; j + kLanes <= n; j += kLanes) {
        for (int k = 0; k < kLanes; ++k) acc[k] += a[j + k] * x[j + k];
    }
    for (; j < n; ++j) tail += a[j] * x[j];
    for (int width = kLanes / 2; width > 0; width /= 2) {
        for (int k = 0; k < width; ++k) acc[k] += acc[k + width];
    }
    return acc[0] + tail;
}
// dot() for four rows at once, each with exactly dot()'s operations in dot()'s order.
// One row's running sums form two chains of dependent vector adds, which leave the
// core waiting on add latency; four rows give eight independent chains, and share
// each load of x. The lane sums then reduce in dot()'s tree, in registers. Written
// with GCC vector types (32 bytes: half of dot()'s lanes), which the baseline clone
// splits into SSE2 pairs. Results are bitwise those of dot(), row by row.
template <class T>
struct Half {
    typedef T type __attribute__((vector_size(32)));
};

template <class V, class T>
NENGO_MPI_INLINE V load(const T* p) {
    V v;
    __builtin_memcpy(&v, p, sizeof v);
    return v;
}

template <class T>
NENGO_MPI_INLINE void dot_rows_impl(const T* a, std::int64_t rows, std::int64_t cols,
                                    std::int64_t rs, const T* x, T* y, std::int64_t ys) {
    using V = typename Half<T>::type;
    constexpr int kHalf = sizeof(V) / sizeof(T);
    constexpr int kLanes = 2 * kHalf;
    static_assert(kLanes == 64 / sizeof(T), "dot()'s lanes");
    std::int64_t i = 0;
    if (cols >= kLanes) {
        const std::int64_t full = cols / kLanes * kLanes;
        for (; i + 4 <= rows; i += 4) {
            const T* r[4] = {a + i * rs, a + (i + 1) * rs, a + (i + 2) * rs, a + (i + 3) * rs};
            V lo[4] = {}, hi[4] = {};
            for (std::int64_t j = 0; j < full; j += kLanes) {
                const V xl = load<V>(x + j), xh = load<V>(x + j + kHalf);
                for (int k = 0; k < 4; ++k) {
                    lo[k] += load<V>(r[k] + j) * xl;
                    hi[k] += load<V>(r[k] + j + kHalf) * xh;
                }
            }
            for (int k = 0; k < 4; ++k) {
                T tail = 0;
                for (std::int64_t j = full; j < cols; ++j) tail += r[k][j] * x[j];
                const V first = lo[k] + hi[k];  // dot()'s first level: acc[l] += acc[l + half]
                T acc[kHalf];
                __builtin_memcpy(acc, &first, sizeof acc);
                for (int width = kHalf / 2; width > 0; width /= 2) {
                    for (int l = 0; l < width; ++l) acc[l] += acc[l + width];
                }
                y[(i + k) * ys] += acc[0] + tail;
            }
        }
    }
    for (; i < rows; ++i) y[i * ys] += dot(a + i * rs, x, cols);
}

// y[i] += dot(row i of a, x) for a row-major block, in an AVX2 and a baseline clone.
NENGO_MPI_CLONES
void dot_rows(const double* a, std::int64_t rows, std::int64_t cols, std::int64_t rs,
              const double* x, double* y, std::int64_t ys) {
    dot_rows_impl(a, rows, cols, rs, x, y, ys);
}

NENGO_MPI_CLONES
void dot_rows(const float* a, std::int64_t rows, std::int64_t cols, std::int64_t rs,
              const float* x, float* y, std::int64_t ys) {
    dot_rows_impl(a, rows, cols, rs, x, y, ys);
}
}  // namespace

template <class T>
DotInc<T>::DotInc(SignalBuffer& buf, int a_view, int x_view, int y_view)
    : a_(buf.mat<T>(a_view)), x_(buf.vec<T>(x_view)), y_(buf.vec<T>(y_view)) {
    check_len("DotInc", "X", x_.n, a_.cols);
    check_len("DotInc", "Y", y_.n, a_.rows);
}

template <class T>
void DotInc<T>::step() {
    // Row-major A with unit column stride is the common case (decoders, encoders,
    // transforms); keeping the inner loop free of strides lets the compiler vectorise it.
    // A one-element X or a one-column A has no stride that matters: the layout may give
    // it any (a merged one-element signal often has none), and the strided path below
    // costs a gather and a call per row (7 ns a row, measured on a 6400 x 1 transform).
    if ((a_.cs == 1 || a_.cols <= 1) && x_.contiguous()) {
        if (a_.cols == 1 && y_.contiguous()) {
            // Encoders of 1-D ensembles: a scaled copy, which vectorises. `0 + a * x` is
            // the one-term sum dot() would form (it turns a -0 product into +0).
            const T x0 = x_.p[0];
            const T* a = a_.p;
            T* y = y_.p;
            const std::int64_t rs = a_.rs;
            for (std::int64_t i = 0; i < a_.rows; ++i) y[i] += T(0) + a[i * rs] * x0;
            return;
        }
        dot_rows(a_.p, a_.rows, a_.cols, a_.rs, x_.p, y_.p, y_.s);
        return;
    }
    // Strided operands are gathered first, so that every layout adds in dot()'s order:
    // merging operators changes layouts, and must not change results.
    xs_.resize(static_cast<std::size_t>(a_.cols));
    row_.resize(static_cast<std::size_t>(a_.cols));
    for (std::int64_t j = 0; j < a_.cols; ++j) xs_[j] = x_[j];
    for (std::int64_t i = 0; i < a_.rows; ++i) {
        for (std::int64_t j = 0; j < a_.cols; ++j) row_[j] = a_(i, j);
        dot_rows(row_.data(), 1, a_.cols, a_.cols, xs_.data(), &y_[i], 1);
    }
}

template <class T>
SparseDotInc<T>::SparseDotInc(SignalBuffer& buf, int data_view, int x_view, int y_view,
                           std::vector<std::int64_t> indptr, std::vector<std::int64_t> indices)
    : data_(buf.vec<T>(data_view)),
      x_(buf.vec<T>(x_view)),
      y_(buf.vec<T>(y_view)),
      indptr_(std::move(indptr)),
      indices_(std::move(indices)) {
    check_csr("SparseDotInc", indptr_, indices_, y_.n, data_.n, x_.n);
}

template <class T>
void SparseDotInc<T>::step() {
    for (std::int64_t r = 0; r < y_.n; ++r) {
        T acc = 0;
        for (std::int64_t k = indptr_[r]; k < indptr_[r + 1]; ++k) {
            acc += data_[k] * x_[indices_[k]];
        }
        y_[r] += acc;
    }
}

template <class T>
BsrDotInc<T>::BsrDotInc(SignalBuffer& buf, int data_view, int x_view, int y_view,
                     std::int64_t block_rows, std::int64_t block_cols,
                     std::vector<std::int64_t> indptr, std::vector<std::int64_t> indices)
    : data_(buf.vec<T>(data_view).p),
      x_(buf.vec<T>(x_view)),
      y_(buf.vec<T>(y_view)),
      br_(block_rows),
      bc_(block_cols),
      indptr_(std::move(indptr)),
      indices_(std::move(indices)) {
    if (br_ <= 0 || bc_ <= 0) throw std::invalid_argument("BsrDotInc: empty blocks");
    if (y_.n % br_ != 0 || x_.n % bc_ != 0) {
        throw std::invalid_argument("BsrDotInc: X or Y is not a whole number of blocks");
    }
    // The block shape comes from Python as it is: an overflowing product would be
    // undefined, and one that wrapped to 0 would divide by zero below.
    std::int64_t block_size = 0;
    if (__builtin_mul_overflow(br_, bc_, &block_size)) {
        throw std::invalid_argument("BsrDotInc: blocks of " + std::to_string(br_) + " x " +
                                    std::to_string(bc_) + " elements overflow 64 bits");
    }
    // step() reads the blocks as one run of elements from the view's first: a strided
    // (or reversed, or repeating) view would be read outside the elements it has.
    const Vec<T> data = buf.vec<T>(data_view);
    if (!data.contiguous()) {
        throw std::invalid_argument("BsrDotInc: the blocks must be contiguous (stride " +
                                    std::to_string(data.s) + ")");
    }
    const std::int64_t nnz_blocks = data.n / block_size;
    check_csr("BsrDotInc", indptr_, indices_, y_.n / br_, nnz_blocks, x_.n / bc_);
}

template <class T>
void BsrDotInc<T>::step() {
    const std::int64_t block_size = br_ * bc_;
    const std::int64_t n_block_rows = y_.n / br_;
    if (bc_ == 1 && y_.contiguous()) {
        // Encoders of 1-D ensembles, merged: scaled copies, as in DotInc's fast path.
        for (std::int64_t bi = 0; bi < n_block_rows; ++bi) {
            T* y = y_.p + bi * br_;
            for (std::int64_t k = indptr_[bi]; k < indptr_[bi + 1]; ++k) {
                const T* a = data_ + k * block_size;
                const T x0 = x_[indices_[k]];
                for (std::int64_t r = 0; r < br_; ++r) y[r] += T(0) + a[r] * x0;
            }
        }
        return;
    }
    for (std::int64_t bi = 0; bi < n_block_rows; ++bi) {
        for (std::int64_t k = indptr_[bi]; k < indptr_[bi + 1]; ++k) {
            const T* block = data_ + k * block_size;
            const std::int64_t x0 = indices_[k] * bc_;
            // The same sums as a DotInc of each block (nengo's optimizer makes this op
            // out of DotIncs that share a shape), so merging does not change results.
            const T* x = x_.p + x0 * x_.s;
            if (x_.s != 1) {
                xs_.resize(static_cast<std::size_t>(bc_));
                for (std::int64_t c = 0; c < bc_; ++c) xs_[c] = x_[x0 + c];
                x = xs_.data();
            }
            dot_rows(block, br_, bc_, bc_, x, y_.p + bi * br_ * y_.s, y_.s);
        }
    }
}

template class DotInc<double>;
template class DotInc<float>;
template class SparseDotInc<double>;
template class SparseDotInc<float>;
template class BsrDotInc<double>;
template class BsrDotInc<float>;

}  // namespace nengo_mpi
