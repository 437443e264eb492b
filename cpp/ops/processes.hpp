// Placeholder: processes kernels are added here.
#pragma once

#include "ops/op.hpp"
#include "signals/buffer.hpp"
