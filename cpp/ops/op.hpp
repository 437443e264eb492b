// The operator contract is nengo's: within a step, every signal is first set, then
// incremented, then read, then updated. The global op order computed by the lowering
// already respects that, so an Op only has to do its own arithmetic.
#pragma once

#include <string>

namespace nengo_mpi {

class NumpyRandom;

class Op {
public:
    virtual ~Op() = default;
    virtual void step() = 0;
    // Name of the kernel, for error messages and timing reports.
    virtual const char* kind() const = 0;
    // Called by Engine::reset after the signal buffers are restored: ops that keep state
    // outside the buffer (random generators, counters) restore it here.
    virtual void reset() {}
    // Ops that draw random numbers expose their generator, which Python seeds (at setup
    // and on every reset) from the same numpy RandomState nengo would give the op.
    virtual NumpyRandom* random() { return nullptr; }
};

}  // namespace nengo_mpi
