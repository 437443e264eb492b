"""What each dataset of nengo_mpi's files holds: its dtype, and the limits on values.

Readers ask for a dataset by its expected dtype (`nengo_mpi.files.format.read`), so a
dataset stored in another dtype (a crafted file, or another program's output) is an
error naming it, never a silent conversion. The checks on values are in `.validate`.
"""

import numpy as np

#: The engine's kMaxDims (cpp/signals/buffer.hpp).
MAX_DIMS = 4

#: Stands for a variable-length UTF-8 string dataset.
STRING = "string"

VIEW_DTYPE = np.dtype([
    ("offset", "<i8"), ("dtype", "i1"), ("ndim", "i1"),
    ("shape", "<i8", (MAX_DIMS,)), ("strides", "<i8", (MAX_DIMS,)),
])
CHANNEL_DTYPE = np.dtype([
    ("tag", "<i8"), ("src_component", "<i8"), ("dst_component", "<i8"),
    ("src_view", "<i8"), ("dst_view", "<i8"), ("send_after", "<i8"),
    ("recv_before", "<i8"), ("same_step", "?"),
])
#: numpy RandomState (MT19937) state in a checkpoint: key, position, cached Gaussian.
RNG_DTYPE = np.dtype([
    ("order", "<i8"), ("python", "?"), ("key", "<u4", (624,)), ("pos", "<i8"),
    ("has_gauss", "<i8"), ("gauss", "<f8"),
])

I64, I32, I8 = np.dtype("<i8"), np.dtype("<i4"), np.dtype("i1")
F64, U8, BOOL = np.dtype("<f8"), np.dtype("u1"), np.dtype("?")

#: The typed pools of a group of engine calls (`.codec`).
POOL_DTYPES = {"int": I64, "float": F64, "bool": BOOL, "dim": I64, "bytes": U8,
               "str": STRING}
CALL_DTYPES = {"kind": I32}
OPS_DTYPES = {"order": I64, "seed_slot": I64, "label": STRING}
SETUP_DTYPES = {"op": I64}
COMPONENT_DTYPES = {"buffer": U8, "views": VIEW_DTYPE, "channels": CHANNEL_DTYPE,
                    "python": U8, "python_parts": STRING}
KINDS_DTYPES = {"method": STRING, "signature": STRING}
PROBE_DTYPES = {"index": I64, "component": I64, "view": I64, "period": F64, "dtype": I8,
                "ndim": I64, "shape": I64, "sample_every": F64, "label": STRING,
                "name": STRING}
CHECKPOINT_DTYPES = {"buffer": U8, "rng": RNG_DTYPE}

#: Engine calls a setup group may hold (what reseed hooks call, see
#: `nengo_mpi.lower.translators`); an ops group holds kernel methods only.
SETUP_METHODS = ("set_rng_state", "set_process_table")

#: Largest id of a channel: MPI promises tags up to 32767 only, and the engine keeps
#: ids in an int.
MAX_TAG = 2**31 - 1
#: Operator orders (and a channel's send/receive points) are below the engine's end of
#: a step (`nengo_mpi.runtime.rank_engine.END_OF_STEP`).
MAX_ORDER = 2**62 - 1
#: Largest step a checkpoint may start from: a run of any length from it stays far
#: from int64's limit, and its times (step * dt) stay exact in float64.
MAX_STEP = 2**53
#: numpy's RandomState seeds are 32-bit.
MAX_SEED = 2**32 - 1
#: Seed slots a model file may declare: one per operator of the model before merging,
#: far beyond any model that builds. Loading draws seeds up to the largest slot its ops
#: use (`nengo_mpi.runtime.rank_engine.slot_seeds`), a few seconds at this bound.
MAX_SEED_SLOTS = 2**27
#: Dimensions of an array argument of an engine call.
MAX_ARRAY_DIMS = 32
