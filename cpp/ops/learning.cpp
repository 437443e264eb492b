#include "ops/learning.hpp"
