// numpy's legacy RandomState stream (MT19937 plus its uniform and Gaussian draws),
// reproduced so native ops with noise draw exactly the numbers nengo's numpy code would.
//
// Why reproduce numpy instead of using <random>: nengo seeds every process and
// stochastic neuron type with a numpy RandomState. Starting from that generator's own
// state makes a native op's stream a function of the process's seed only (never of the
// rank or component), and lets tests compare against nengo's numpy steps value by value.
#pragma once

#include <array>
#include <cstdint>

namespace nengo_mpi {

class NumpyRandom {
public:
    static constexpr int kStateWords = 624;

    // The state as numpy's RandomState.get_state() gives it: key, pos, and the cached
    // second Gaussian of the polar method.
    void set_state(const std::uint32_t* key, int pos, bool has_gauss, double gauss);
    void get_state(std::uint32_t* key, int& pos, bool& has_gauss, double& gauss) const;

    std::uint32_t next_u32();
    // RandomState.random_sample(): 53 random bits in [0, 1).
    double random_sample();
    // RandomState.standard_normal() (legacy polar Box-Muller, caching one value).
    double gauss();
    // Whether set_state has given this generator a state. Until then it holds zeros,
    // from which MT19937 draws zeros forever (and a rejection sampler never returns).
    bool seeded() const { return seeded_; }

    // RandomState.normal(loc, scale) and uniform(low, high), per element.
    double normal(double loc, double scale) { return loc + scale * gauss(); }
    double uniform(double low, double high) { return low + (high - low) * random_sample(); }

private:
    void refill();

    std::array<std::uint32_t, kStateWords> mt_{};
    int pos_ = kStateWords;
    bool has_gauss_ = false;
    double gauss_ = 0.0;
    bool seeded_ = false;
};

}  // namespace nengo_mpi
