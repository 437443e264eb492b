// Matrix-vector products: dense, CSR sparse and block-sparse (nengo's DotInc family).
// Each reads A and X and increments Y.
#pragma once

#include <cstdint>
#include <vector>

#include "ops/op.hpp"
#include "signals/buffer.hpp"

namespace nengo_mpi {

// Y += A @ X, A given as a 2-D (m, n) view, X as an n-vector, Y as an m-vector.
template <class T>
class DotInc final : public Op {
public:
    DotInc(SignalBuffer& buf, int a_view, int x_view, int y_view);
    void step() override;
    const char* kind() const override { return "DotInc"; }

private:
    Mat<T> a_;
    Vec<T> x_;
    Vec<T> y_;
    std::vector<T> xs_;   // X gathered, when strided
    std::vector<T> row_;  // one row of A gathered, when strided
};

// Y += A @ X with A in CSR form: the nonzero values are a signal (learning may change
// them), the structure (indptr, indices) is fixed at build time.
template <class T>
class SparseDotInc final : public Op {
public:
    SparseDotInc(SignalBuffer& buf, int data_view, int x_view, int y_view,
                 std::vector<std::int64_t> indptr, std::vector<std::int64_t> indices);
    void step() override;
    const char* kind() const override { return "SparseDotInc"; }

private:
    Vec<T> data_;
    Vec<T> x_;
    Vec<T> y_;
    std::vector<std::int64_t> indptr_;
    std::vector<std::int64_t> indices_;
};

// Y += A @ X with A block-sparse (scipy's BSR): data holds nnz_blocks blocks of
// (block_rows, block_cols), stored contiguously; indptr/indices index block rows/cols.
template <class T>
class BsrDotInc final : public Op {
public:
    BsrDotInc(SignalBuffer& buf, int data_view, int x_view, int y_view, std::int64_t block_rows,
              std::int64_t block_cols, std::vector<std::int64_t> indptr,
              std::vector<std::int64_t> indices);
    void step() override;
    const char* kind() const override { return "BsrDotInc"; }

private:
    T* data_;  // the blocks, contiguous (checked), one after another
    Vec<T> x_;
    Vec<T> y_;
    std::int64_t br_;
    std::int64_t bc_;
    std::vector<std::int64_t> indptr_;
    std::vector<std::int64_t> indices_;
    std::vector<T> xs_;  // one block's X gathered, when strided
};

}  // namespace nengo_mpi
