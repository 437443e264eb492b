#include "ops/processes.hpp"
