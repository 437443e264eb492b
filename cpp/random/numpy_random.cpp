#include "random/numpy_random.hpp"

#include <cmath>
#include <stdexcept>

namespace nengo_mpi {

namespace {
// MT19937's parameters (Matsumoto & Nishimura 1998).
constexpr int kN = NumpyRandom::kStateWords;
constexpr int kM = 397;
constexpr std::uint32_t kMatrixA = 0x9908b0dfU;
constexpr std::uint32_t kUpper = 0x80000000U;
constexpr std::uint32_t kLower = 0x7fffffffU;

std::uint32_t twist(std::uint32_t hi, std::uint32_t lo, std::uint32_t far) {
    const std::uint32_t y = (hi & kUpper) | (lo & kLower);
    return far ^ (y >> 1) ^ ((y & 1U) ? kMatrixA : 0U);
}
}  // namespace

void NumpyRandom::set_state(const std::uint32_t* key, int pos, bool has_gauss, double gauss) {
    if (pos < 0 || pos > kN) throw std::invalid_argument("MT19937 position out of range");
    // The one state MT19937 cannot leave: every bit zero but the top bit of word 0
    // (numpy refuses it too). From it every draw is zero.
    bool degenerate = (key[0] & 0x7FFFFFFFu) == 0;
    for (int i = 1; i < kN && degenerate; ++i) degenerate = key[i] == 0;
    if (degenerate) throw std::invalid_argument("MT19937 state is all zeros");
    for (int i = 0; i < kN; ++i) mt_[static_cast<std::size_t>(i)] = key[i];
    pos_ = pos;
    has_gauss_ = has_gauss;
    gauss_ = gauss;
    seeded_ = true;
}

void NumpyRandom::get_state(std::uint32_t* key, int& pos, bool& has_gauss,
                            double& gauss) const {
    for (int i = 0; i < kN; ++i) key[i] = mt_[static_cast<std::size_t>(i)];
    pos = pos_;
    has_gauss = has_gauss_;
    gauss = gauss_;
}

void NumpyRandom::refill() {
    for (int i = 0; i < kN; ++i) {
        const auto at = [this](int k) { return mt_[static_cast<std::size_t>(k % kN)]; };
        mt_[static_cast<std::size_t>(i)] = twist(at(i), at(i + 1), at(i + kM));
    }
    pos_ = 0;
}

std::uint32_t NumpyRandom::next_u32() {
    if (pos_ >= kN) refill();
    std::uint32_t y = mt_[static_cast<std::size_t>(pos_++)];
    // Tempering.
    y ^= y >> 11;
    y ^= (y << 7) & 0x9d2c5680U;
    y ^= (y << 15) & 0xefc60000U;
    y ^= y >> 18;
    return y;
}

double NumpyRandom::random_sample() {
    const std::uint32_t a = next_u32() >> 5;  // 27 bits
    const std::uint32_t b = next_u32() >> 6;  // 26 bits
    return (a * 67108864.0 + b) / 9007199254740992.0;
}

double NumpyRandom::gauss() {
    if (has_gauss_) {
        has_gauss_ = false;
        return gauss_;
    }
    double x1, x2, r2;
    do {
        x1 = 2.0 * random_sample() - 1.0;
        x2 = 2.0 * random_sample() - 1.0;
        r2 = x1 * x1 + x2 * x2;
    } while (r2 >= 1.0 || r2 == 0.0);
    const double f = std::sqrt(-2.0 * std::log(r2) / r2);
    gauss_ = f * x1;
    has_gauss_ = true;
    return f * x2;
}

}  // namespace nengo_mpi
