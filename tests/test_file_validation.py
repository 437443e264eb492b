"""Every field read from a file is checked before it is used: crafted files (checksums
recomputed, as an attacker would) end in a `FileFormatError` naming the field, never in
a crash, a huge allocation or a hang. The fuzz campaign (tests/test_fuzz_files.py,
``make fuzz``) tries random crafts; these are the ones each check exists for."""

import os
import shutil
import sys

import h5py
import numpy as np
import pytest

import nengo_mpi
from nengo_mpi import _engine
from nengo_mpi.files.format import crc32, seal

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from fuzz import seeds  # noqa: E402  pylint: disable=wrong-import-position


@pytest.fixture(name="files", scope="module")
def fixture_files(tmp_path_factory):
    return seeds.make_seeds(str(tmp_path_factory.mktemp("seeds")))


@pytest.fixture(name="copy")
def fixture_copy(files, tmp_path):
    def copy(kind):
        path = tmp_path / f"{kind}.h5"
        shutil.copyfile(files[kind], path)
        return path
    return copy


def rewrite(path, name, edit, recompute=True):
    """Replace dataset ``name`` by ``edit(its values)``, CRC recomputed."""
    with h5py.File(path, "r+") as f:
        ds = f[name]
        strings = h5py.check_string_dtype(ds.dtype) is not None
        data = np.asarray(ds.asstr()[()], dtype=object) if strings else ds[()]
        attrs = dict(ds.attrs)
        new = edit(data)
        parent, key = ds.parent, name.rsplit("/", 1)[1]
        del parent[key]
        out = parent.create_dataset(
            key, data=new, dtype=h5py.string_dtype("utf-8") if strings else None)
        for k, v in attrs.items():
            out.attrs[k] = v
        if recompute:
            out.attrs["crc32"] = np.uint32(crc32(np.asarray(new)))


def set_field(field, row, value):
    def edit(data):
        data[row][field] = value
        return data
    return edit


def run(path, tmp_path, **kwargs):
    seal(path)  # crafted files come sealed: the checks behind the seal must hold
    return nengo_mpi.run_file(path, 0.005, out=tmp_path / "out.h5", **kwargs)


def refused(path, tmp_path, match, **kwargs):
    with pytest.raises(nengo_mpi.FileFormatError, match=match):
        run(path, tmp_path, **kwargs)


# -- model files -----------------------------------------------------------------------

def test_a_declared_shape_larger_than_the_stored_data_is_not_read(copy, tmp_path):
    path = copy("model")
    with h5py.File(path, "r+") as f:
        attrs = dict(f["components/0/buffer"].attrs)
        del f["components/0/buffer"]
        ds = f["components/0"].create_dataset("buffer", shape=(2**40,), dtype="u1",
                                              chunks=(1024,))
        ds.attrs.update(attrs)
    refused(path, tmp_path, r"declares shape \(1099511627776,\).* but stores 0 bytes")


def test_a_dataset_of_another_dtype_is_refused_by_name(copy, tmp_path):
    path = copy("model")
    rewrite(path, "components/1/ops/int", lambda d: d.astype(np.float32))
    refused(path, tmp_path, r"/components/1/ops/int holds float32, expected int64")


def test_a_dataset_without_its_checksum_is_refused(copy, tmp_path):
    path = copy("model")
    with h5py.File(path, "r+") as f:
        del f["components/0/views"].attrs["crc32"]
    refused(path, tmp_path, "views has no readable checksum")


def _row(path, name, wanted):
    """The index of the first row of dataset ``name`` for which ``wanted(row)``."""
    with h5py.File(path, "r") as f:
        return next(i for i, row in enumerate(f[name][()]) if wanted(row))


@pytest.mark.parametrize("field, value, match", [
    ("strides", [2**62, 0, 0, 0], "view {i} .* outside the component's"),
    ("strides", [-(2**62), 0, 0, 0], "view {i} .* outside the component's"),
    ("offset", 2**62, "view {i}'s offset is 4611686018427387904"),
    ("ndim", 9, "view {i}'s dimension count is 9"),
    ("dtype", 77, "view {i} has an unknown dtype code 77"),
    ("shape", [-1, 0, 0, 0], "view {i} has a negative shape"),
    # In bounds (a zero stride repeats one element), but 2^32 elements of work per op.
    ("shape", [2**32, 0, 0, 0], r"view {i} has 4294967296 elements"),
])
def test_views_stay_inside_their_buffer_without_overflow(copy, tmp_path, field, value,
                                                         match):
    path = copy("model")
    # A vector view of more than one element, so that its stride matters.
    i = _row(path, "components/1/views", lambda r: r["ndim"] == 1 and r["shape"][0] > 1)
    rewrite(path, "components/1/views", set_field(field, i, value))
    if field == "shape" and value[0] > 0:
        rewrite(path, "components/1/views", set_field("strides", i, [0, 0, 0, 0]))
    refused(path, tmp_path, match.format(i=i))


@pytest.mark.parametrize("field, value, match", [
    ("dst_component", 2**40, "channel {i}'s destination component"),
    ("src_view", -1, "channel {i}'s source view"),
    ("tag", -5, "channel {i}'s id is -5"),
    ("dst_component", 1, "runs from component 1 to 1"),
])
def test_channels_name_existing_components_and_views(copy, tmp_path, field, value,
                                                     match):
    path = copy("model")
    # A channel component 1 sends on: its source view is component 1's.
    i = _row(path, "components/1/channels", lambda r: r["src_component"] == 1)
    rewrite(path, "components/1/channels", set_field(field, i, value))
    refused(path, tmp_path, match.format(i=i))


@pytest.mark.parametrize("method", ["close", "__init__", "run_steps", "nonexistent"])
def test_a_call_to_anything_but_a_kernel_is_refused(copy, tmp_path, method):
    path = copy("model")

    def rename(methods):
        methods[list(methods).index("add_copy")] = method
        return methods

    rewrite(path, "kinds/method", rename)
    refused(path, tmp_path, f"'{method}' is not an engine call a model file may make")


def test_a_setup_call_for_an_op_that_does_not_exist_is_refused(copy, tmp_path):
    path = copy("model")
    rewrite(path, "components/1/setup/op", lambda d: d + 2**48)
    refused(path, tmp_path, "a setup call's op is 281474976710659")


def test_a_seed_slot_beyond_the_models_is_refused(copy, tmp_path):
    path = copy("model")
    rewrite(path, "components/1/ops/seed_slot", lambda d: d + 10**6)
    refused(path, tmp_path, "op 0's seed slot is")


def test_a_forged_array_shape_in_a_call_cannot_overflow(copy, tmp_path):
    path = copy("model")
    # The first dim entries of component 0 describe a time table's arrays.
    rewrite(path, "components/0/ops/dim",
            lambda d: np.concatenate([[2], [2**62, 2**62], d[3:]]))
    refused(path, tmp_path, "run past their 'bytes' data|stored calls")


def test_huge_counts_in_the_attributes_are_refused(copy, tmp_path):
    path = copy("model")
    with h5py.File(path, "r+") as f:
        f.attrs["n_components"] = 2**31 - 1
    refused(path, tmp_path, "component 2 of 2147483647 is missing")
    with h5py.File(path, "r+") as f:
        f.attrs["n_components"] = 2
        f.attrs["n_seed_slots"] = 2**62
    refused(path, tmp_path, "'n_seed_slots' is 4611686018427387904, outside")
    with h5py.File(path, "r+") as f:
        f.attrs["n_seed_slots"] = 100
        f.attrs["dt"] = np.array([0.001, 0.002])
    refused(path, tmp_path, "attribute 'dt' is .*expected one float")


@pytest.mark.parametrize("column, edit, match", [
    ("name", lambda d: np.array(["a/b"] + list(d[1:]), dtype=object), "'a/b'"),
    ("shape", lambda d: d * 1000, "does not fit its view"),
    ("period", lambda d: d * np.nan, "sampling period nan"),
    ("ndim", lambda d: d + 1, "shape entries for"),
    ("view", lambda d: d + 10**9, "view is 1000000"),
])
def test_probe_tables_are_checked(copy, tmp_path, column, edit, match):
    path = copy("model")
    rewrite(path, f"probes/{column}", edit)
    refused(path, tmp_path, match)


# -- checkpoints -----------------------------------------------------------------------

def resume(files, ckpt, tmp_path):
    seal(ckpt)
    return nengo_mpi.run_file(files["model"], 0.003, out=tmp_path / "out.h5",
                              resume=ckpt)


@pytest.mark.parametrize("field, value, match", [
    ("pos", 700, "a generator's position is 700"),
    ("key", np.zeros(624, np.uint32), "a generator's state is all zeros"),
    ("gauss", np.inf, "cached Gaussian is inf"),
    ("order", 0, "which draws no random numbers"),
])
def test_checkpoint_generator_states_are_checked(files, copy, tmp_path, field, value,
                                                 match):
    path = copy("checkpoint")
    rewrite(path, "components/1/rng", set_field(field, 0, value))
    with pytest.raises(nengo_mpi.FileFormatError, match=match):
        resume(files, path, tmp_path)


def test_a_checkpoint_step_beyond_any_run_is_refused(files, copy, tmp_path):
    path = copy("checkpoint")
    with h5py.File(path, "r+") as f:
        f.attrs["step"] = 2**62
    with pytest.raises(nengo_mpi.FileFormatError, match="'step' is 4611686018427387904"):
        resume(files, path, tmp_path)


# -- probe files -----------------------------------------------------------------------

def test_probe_files_are_checked_before_their_data_is_read(copy):
    path = copy("probes")
    with h5py.File(path, "r+") as f:
        del f["times/a #0"]
    with pytest.raises(nengo_mpi.FileFormatError, match="lacks its data or its times"):
        nengo_mpi.load_probes(path)


def test_a_probe_dataset_declaring_more_than_it_stores_is_not_read(copy):
    path = copy("probes")
    with h5py.File(path, "r+") as f:
        del f["times/c #2"]
        f["times"].create_dataset("c #2", shape=(2**31,), dtype="f8", chunks=(1024,))
    with pytest.raises(nengo_mpi.FileFormatError, match="declares shape"):
        nengo_mpi.load_probes(path)


# -- the engine's own checks -----------------------------------------------------------

def test_the_engine_refuses_to_run_an_unseeded_generator():
    """A native op drawing random numbers with no state set would draw zeros forever
    (a Poisson sampler never returns): the run is refused instead."""
    eng = _engine.Engine(0.001, None)
    local = eng.add_zeroed_component(0, 64)
    view = eng.add_view(local, 0, 0, (4,), (1,))
    handle = eng.add_white_noise(local, 0, view, mode=0, dist=0, p0=0.0, p1=1.0,
                                 scale=False, alpha=1.0)
    eng.finalize()
    with pytest.raises(ValueError, match="white_noise|generator was never seeded"):
        eng.run(1)
    eng.set_rng_state(handle, np.random.RandomState(1).get_state())
    eng.run(1)  # seeded, it runs


def test_the_engine_refuses_an_all_zero_generator_state():
    state = np.random.RandomState(0).get_state()
    zero = (state[0], np.zeros(624, np.uint32), state[2], state[3], state[4])
    with pytest.raises(ValueError, match="all zeros"):
        _engine.numpy_random_draws(zero, "random_sample", 3)
    assert _engine.numpy_random_draws(state, "random_sample", 3).shape == (3,)


def test_the_engine_refuses_a_probe_period_that_is_not_finite():
    eng = _engine.Engine(0.001, None)
    local = eng.add_zeroed_component(0, 64)
    view = eng.add_view(local, 0, 0, (4,), (1,))
    for period in (np.inf, np.nan, 0.0, -1.0):
        with pytest.raises(ValueError, match="probe period"):
            eng.add_probe(local, view, period)


MPIRUN = os.path.join(os.path.dirname(sys.executable), "mpirun")


@pytest.mark.skipif(not (_engine.config["mpi"] and os.path.exists(MPIRUN)),
                    reason="needs the engine built with MPI and the environment's mpirun")
def test_ranks_whose_channel_tables_disagree_stop_before_stepping(copy, tmp_path):
    """Each rank reads only its own components' channel tables: a channel renumbered in
    one of them would leave its peer waiting for a message that never comes."""
    import subprocess  # pylint: disable=import-outside-toplevel

    path = copy("model")
    rewrite(path, "components/1/channels", set_field("tag", 0, 9999))
    seal(path)
    proc = subprocess.run(
        [MPIRUN, "-np", "2", sys.executable, "-m", "nengo_mpi", "run", str(path),
         "--time", "0.01", "--out", str(tmp_path / "out.h5")],
        capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1, proc.stderr
    assert "checking the channels between ranks" in proc.stderr
    assert "disagree about channel" in proc.stderr and "Traceback" not in proc.stderr
