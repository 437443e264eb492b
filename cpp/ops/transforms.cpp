#include "ops/transforms.hpp"
