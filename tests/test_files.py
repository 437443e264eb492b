"""Model files, probe files and checkpoints in one process.

``nengo_mpi.files.run.main`` is what ``python -m nengo_mpi run`` calls on every rank;
here it runs in the test's own process (one rank). tests/test_files_cli.py runs it
under mpirun at several rank counts.
"""

import os
import subprocess
import sys
import threading

import h5py
import numpy as np
import pytest

import nengo
import nengo_mpi
from nengo.exceptions import BuildError
from nengo_mpi.files import probes_out
from nengo_mpi.files.checkpoint import Checkpoint
from nengo_mpi.files.codec import CallReader, CallWriter, read_kinds, write_kinds
from nengo_mpi.files.format import seal, write
from nengo_mpi.files.load import ModelFile
from nengo_mpi.files import run as file_run
from nengo_mpi.files.run import main as run_main

from models import chain, sine_squared


def run_file(*args):
    """``python -m nengo_mpi run args`` in this process, trusting the file (these tests
    save their own; tests/test_trust.py checks the refusal)."""
    return run_main([str(a) for a in args] + ["--trust"])


def saved(tmp_path, net, n_components=3, name="model.h5"):
    path = tmp_path / name
    nengo_mpi.save(net, path, partitioner=nengo_mpi.Partitioner(n_components))
    return path


@pytest.mark.parametrize("make_net", [sine_squared, chain])
def test_file_run_equals_simulator(tmp_path, make_net):
    """A saved model run from its file gives the Simulator's probe data, bitwise."""
    net = make_net()
    path = saved(tmp_path, net)
    out = tmp_path / "probes.h5"
    assert run_file(path, "--time", 0.25, "--out", out) == 0
    data = nengo_mpi.load_probes(out)
    assert data.complete and data.n_steps == 250 and data.dt == 0.001
    with ModelFile(path, trust=True) as model:
        seed = model.seed
    with nengo_mpi.Simulator(net, partitioner=nengo_mpi.Partitioner(3), seed=seed,
                             progress_bar=False) as sim:
        sim.run(0.25)
        for index, probe in enumerate(sim.model.probes):
            assert np.array_equal(data[index], sim.data[probe]), index
            every = probe.sample_every
            assert np.array_equal(data.trange(index), sim.trange(sample_every=every))


def test_model_file_layout_is_typed(tmp_path):
    path = saved(tmp_path, chain())
    with h5py.File(path, "r") as f:
        a = f.attrs
        assert a["format"] == "nengo_mpi model" and a["format_version"] == 2
        assert a["nengo_mpi_version"] == nengo_mpi.__version__
        assert a["nengo_version"] == nengo.__version__
        assert a["dt"] == 0.001 and a["n_components"] == 3 and "seed" in a
        assert sorted(f["components"]) == ["0", "1", "2"]
        for c in f["components"].values():
            assert c["buffer"].dtype == np.uint8
            assert c["views"].dtype.names[:3] == ("offset", "dtype", "ndim")
            assert c["channels"].dtype.names[0] == "tag"
            assert c["ops/int"].dtype == np.int64
            assert c["ops/float"].dtype == np.float64
            assert c["ops/kind"].dtype == np.int32
            assert len(c["ops/order"]) == len(c["ops/kind"]) > 0
        # The chain's ensemble of a user's neuron type runs through Python.
        assert sum("python" in c for c in f["components"].values()) == 1
        methods = set(f["kinds/method"].asstr()[()])
        # Seed-dependent set-up (Poisson and noise generators, WhiteSignal's table) is
        # stored as the engine calls it makes.
        assert {"add_lif", "add_dot_inc", "set_rng_state", "set_process_table"} <= methods


def test_codec_round_trip(tmp_path):
    """Every argument type the codec knows comes back equal, with its type."""
    calls = [
        ("m1", (1, 2.5, True, "x", None, [1, 2], [0.5], [True, False], [])),
        ("m1", (3, -1.0, False, "yz", None, [7], [1.5, 2.5], [False], [])),
        ("m2", (np.arange(6, dtype=np.float32).reshape(2, 3),
                ("MT19937", np.arange(4, dtype=np.uint32), 5, 0, 0.0))),
        ("m3", (np.int16(-3), np.zeros((0, 2)), {"opaque": [1, (2, 3)]})),
    ]
    kinds = {}
    writer = CallWriter(kinds)
    for method, args in calls:
        writer.add(method, args)
    with h5py.File(tmp_path / "c.h5", "w") as f:
        writer.write(f.create_group("calls"))
        write_kinds(f.create_group("kinds"), kinds)
    with h5py.File(tmp_path / "c.h5", "r") as f:
        kinds_back = read_kinds(f["kinds"], "c.h5", {"m1", "m2", "m3"})
        reader = CallReader(f["calls"], kinds_back, "c.h5", trusted=True)
        back = list(reader.calls())
    assert len(kinds) == 3  # m1's two calls share one signature
    for (method, args), (method2, args2) in zip(calls, back):
        assert method == method2 and len(args) == len(args2)
        for a, b in zip(args, args2):
            if isinstance(a, np.ndarray):
                assert a.dtype == b.dtype and np.array_equal(a, b)
            elif isinstance(a, tuple):
                assert a[0] == b[0] and np.array_equal(a[1], b[1]) and a[2:] == b[2:]
            else:
                assert type(a) is type(b) and a == b


def test_unpicklable_node_is_refused_naming_it(tmp_path):
    lock = threading.Lock()
    with nengo.Network(seed=0) as net:
        node = nengo.Node(lambda t: 0.0 if lock.locked() else 1.0, label="locked_node")
        ens = nengo.Ensemble(10, 1)
        nengo.Connection(node, ens)
    with pytest.raises(BuildError, match="locked_node"):
        nengo_mpi.save(net, tmp_path / "m.h5")
    assert not os.listdir(tmp_path)  # nothing half-written left behind


@pytest.mark.parametrize("make_net", [sine_squared, chain])
def test_simulator_save_file(tmp_path, make_net):
    """The saving simulator runs as the file it wrote: with ``chain``'s Poisson
    neurons too, whose generator writing the file once left unseeded in the engine."""
    net = make_net()
    path = tmp_path / "from_sim.h5"
    with nengo_mpi.Simulator(net, partitioner=nengo_mpi.Partitioner(2), seed=5,
                             save_file=path, progress_bar=False) as sim:
        sim.run(0.1)
        expected = [sim.data[p] for p in sim.model.probes]
    out = tmp_path / "p.h5"
    assert run_file(path, "--time", 0.1, "--out", out) == 0
    data = nengo_mpi.load_probes(out)
    for index, values in enumerate(expected):
        assert np.array_equal(data[index], values)


def test_streamed_simulator_equals_in_memory(tmp_path, monkeypatch):
    """With a probe file, data goes to disk block by block and reads back the same."""
    monkeypatch.setattr(probes_out, "BLOCK_BYTES", 2000)  # blocks of a few steps
    net = chain()
    path = tmp_path / "streamed.h5"
    with nengo_mpi.Simulator(net, seed=3, progress_bar=False) as ref:
        ref.run(0.2)
        expected = {p: ref.data[p] for p in ref.model.probes}
    sim = nengo_mpi.Simulator(net, seed=3, progress_bar=False, probe_file=path)
    assert sim._probe_writer.block < 50
    sim.run(0.1)
    sim.run_steps(100)
    # Before close the file is the .partial one, readable, marked incomplete.
    with pytest.warns(probes_out.IncompleteProbeFileWarning):
        partial = nengo_mpi.load_probes(str(path) + ".partial")
    assert 0 < partial.n_steps <= 200 and not partial.complete
    for probe in sim.model.probes:
        assert np.array_equal(sim.data[probe], expected[probe])
    sim.close()
    assert not os.path.exists(str(path) + ".partial")
    data = nengo_mpi.load_probes(path)
    assert data.complete and data.n_steps == 200
    for index, probe in enumerate(sim.model.probes):
        assert np.array_equal(data[index], expected[probe])
    assert np.array_equal(data["e4.decoded_output"], expected[sim.model.probes[2]])


def test_resume_equals_uninterrupted(tmp_path):
    path = saved(tmp_path, chain())
    assert run_file(path, "--time", 0.3, "--out", tmp_path / "full.h5") == 0
    assert run_file(path, "--time", 0.1, "--out", tmp_path / "a.h5",
                    "--checkpoint", tmp_path / "ck.h5") == 0
    assert run_file(path, "--time", 0.2, "--out", tmp_path / "b.h5",
                    "--resume", tmp_path / "ck.h5") == 0
    full, a, b = (nengo_mpi.load_probes(tmp_path / n) for n in ("full.h5", "a.h5", "b.h5"))
    assert b.start_step == 100 and b.n_steps == 200
    for key in full:
        assert np.array_equal(full[key], np.concatenate([a[key], b[key]])), key
        assert np.array_equal(full.trange(key), np.concatenate([a.trange(key),
                                                                b.trange(key)]))


def test_checkpoint_restores_random_streams(tmp_path):
    """Resuming continues Poisson neurons' and noise processes' generators (restarting
    them would give different spikes after the checkpoint)."""
    with nengo.Network(seed=4) as net:
        ens = nengo.Ensemble(50, 1, neuron_type=nengo.PoissonSpiking(nengo.LIFRate()))
        ens.noise = nengo.processes.WhiteNoise(nengo.dists.Gaussian(0, 0.1))
        probe = nengo.Probe(ens.neurons)
    path = saved(tmp_path, net, n_components=1)
    assert run_file(path, "--time", 0.2, "--out", tmp_path / "full.h5") == 0
    assert run_file(path, "--time", 0.1, "--out", tmp_path / "a.h5",
                    "--checkpoint", tmp_path / "ck.h5") == 0
    with ModelFile(path, trust=True) as model, h5py.File(tmp_path / "ck.h5", "r") as f:
        ck = Checkpoint(tmp_path / "ck.h5", model)
        assert ck.step == 100
        ck.close()
        assert len(f["components/0/rng"]) == 2  # the Poisson op and the noise process
    assert run_file(path, "--time", 0.1, "--out", tmp_path / "b.h5",
                    "--resume", tmp_path / "ck.h5") == 0
    full = nengo_mpi.load_probes(tmp_path / "full.h5")[0]
    rest = nengo_mpi.load_probes(tmp_path / "b.h5")[0]
    assert np.array_equal(full[100:], rest) and rest.any()
    del probe


def _damage(path, how):
    """Damage (or craft) the model file ``path``: crafts are re-sealed, as their crafter
    would, so that the checks behind the seal are what meets them."""
    if how.endswith("_resealed"):
        _damage(path, how[: -len("_resealed")])
        seal(path)
    elif how == "truncated":
        size = os.path.getsize(path)
        with open(path, "r+b") as f:
            f.truncate(size // 2)
    elif how == "corrupted":
        with h5py.File(path, "r") as f:
            offset = f["components/1/buffer"].id.get_offset()
        with open(path, "r+b") as f:
            f.seek(offset + 10)
            byte = f.read(1)
            f.seek(offset + 10)
            f.write(bytes([byte[0] ^ 0xFF]))
    elif how == "version":
        with h5py.File(path, "a") as f:
            f.attrs["format_version"] = 99
    elif how == "missing":
        with h5py.File(path, "a") as f:
            del f["components/2"]
    elif how == "not_hdf5":
        with open(path, "wb") as f:
            f.write(b"not an HDF5 file at all" * 10)
    elif how in ("kernel_arguments", "operator_arguments"):
        # A forged LIF (or Copy) call with one argument fewer, its CRC recomputed: the
        # reader would take the next call's values for the missing one.
        with h5py.File(path, "a") as f:
            kinds = f["kinds"]
            methods = [m.decode() for m in kinds["method"][()]]
            signatures = [s.decode() for s in kinds["signature"][()]]
            i = methods.index("add_lif" if how == "kernel_arguments" else "add_copy")
            signatures[i] = signatures[i].rsplit(" ", 1)[0]
            del kinds["signature"]
            write(kinds, "signature", signatures, strings=True)


@pytest.mark.parametrize("how, message", [
    ("truncated", "do not match its SHA-256 seal"),
    ("corrupted", "do not match its SHA-256 seal"),
    ("corrupted_resealed", "components/1/buffer is corrupted"),
    ("version_resealed", "format version 99"),
    ("missing_resealed", "component 2 of 3 is missing"),
    ("not_hdf5", "is not a sealed nengo_mpi file"),
    ("kernel_arguments_resealed",
     "add_lif takes ['J', 'output', 'voltage', 'refractory_time', 'tau_rc', 'tau_ref', "
     "'min_voltage', 'amplitude']"),
    ("operator_arguments_resealed",
     "add_copy takes ['src', 'dst', 'src_index', 'dst_index', 'inc'], but the file "
     "stores 4 arguments"),
])
def test_bad_model_file_is_refused(tmp_path, capsys, how, message):
    path = saved(tmp_path, sine_squared())
    _damage(path, how)
    out = tmp_path / "p.h5"
    assert run_file(path, "--time", 0.1, "--out", out) != 0
    err = capsys.readouterr().err
    assert message in err, err
    assert not os.path.exists(out) and not os.path.exists(str(out) + ".partial")


@pytest.mark.parametrize("args, message", [
    (["--time", "-0.5"], "--time must be a number of seconds >= 0 (got -0.5)"),
    (["--time", "0.1", "--out", "/no/such/dir/p.h5"], "cannot write '/no/such/dir/p.h5'"),
    (["--time", "0.1", "--checkpoint-every", "5"], "--checkpoint-every needs --checkpoint"),
    (["--time", "0.1", "--resume", "/no/such/ck.h5"], "does not exist"),
    ([], "--time"),
])
def test_bad_arguments_are_refused(tmp_path, capsys, args, message):
    path = saved(tmp_path, sine_squared(), n_components=1)
    assert run_file(path, *args) != 0
    assert message in capsys.readouterr().err


def test_exit_codes_come_from_error_types(tmp_path, monkeypatch):
    """Bad arguments exit with 2 (as argparse's own); every other problem with 1,
    whatever its message says."""
    path = saved(tmp_path, sine_squared(), n_components=1)
    assert run_file(path, "--time", "-0.5") == 2
    assert run_file(path, "--bogus") == 2
    assert run_file(path, "--time", "0.1", "--out", "/no/such/dir/p.h5") == 1

    def fails(path):
        raise file_run.RunError("arguments of the model file's ops are out of range")

    monkeypatch.setattr(file_run, "_open_model", fails)
    assert run_file(path, "--time", "0.1") == 1
    monkeypatch.setattr(file_run, "_run", lambda job, argv: fails(None))
    assert run_file(path, "--time", "0.1") == 1


def test_output_that_is_a_directory_is_refused(tmp_path, capsys):
    path = saved(tmp_path, sine_squared(), n_components=1)
    assert run_file(path, "--time", 0.1, "--out", tmp_path) != 0
    assert "it is a directory" in capsys.readouterr().err


def test_checkpoint_of_another_model_is_refused(tmp_path, capsys):
    one = saved(tmp_path, sine_squared(), name="one.h5")
    two = saved(tmp_path, sine_squared(), name="two.h5")
    assert run_file(one, "--time", 0.01, "--checkpoint", tmp_path / "ck.h5",
                    "--out", tmp_path / "p.h5") == 0
    assert run_file(two, "--time", 0.01, "--resume", tmp_path / "ck.h5",
                    "--out", tmp_path / "q.h5") != 0
    assert "was written for another model file" in capsys.readouterr().err


def test_failing_operator_leaves_partial_file(tmp_path, capsys, monkeypatch):
    """A run that fails mid-way exits non-zero and leaves its blocks so far readable,
    under the .partial name, marked incomplete."""
    monkeypatch.setattr(probes_out, "BLOCK_BYTES", 800)  # 100 steps of one float64

    def fail_late(t):
        if t > 0.35:
            raise ValueError("node failed on purpose")
        return t

    with nengo.Network(seed=1) as net:
        node = nengo.Node(fail_late, label="late")
        nengo.Probe(node)
    path = saved(tmp_path, net, n_components=1)
    out = tmp_path / "p.h5"
    assert run_file(path, "--time", 1.0, "--out", out) == 1
    assert "node failed on purpose" in capsys.readouterr().err
    assert not os.path.exists(out)
    with pytest.warns(probes_out.IncompleteProbeFileWarning):
        data = nengo_mpi.load_probes(str(out) + ".partial")
    assert not data.complete and data.n_steps == 300
    assert np.array_equal(data[0][:, 0], data.trange(0))


def test_streaming_memory_is_bounded_by_blocks(tmp_path, monkeypatch):
    """Pending samples never exceed one block (plus one engine call)."""
    monkeypatch.setattr(probes_out, "BLOCK_BYTES", 4000)
    with nengo.Network(seed=1) as net:
        node = nengo.Node(lambda t: [t, -t])
        nengo.Probe(node)
        nengo.Probe(node, sample_every=0.0025)
    sim = nengo_mpi.Simulator(net, progress_bar=False, probe_file=tmp_path / "p.h5")
    writer = sim._probe_writer
    most = 0
    for _ in range(20):
        sim.run_steps(37)
        most = max(most, sum(len(a) for parts in writer.pending.values() for a in parts))
    assert most <= 2 * writer.block
    sim.close()
    data = nengo_mpi.load_probes(tmp_path / "p.h5")
    assert np.array_equal(data[0][:, 0], data.trange(0))
    assert np.allclose(data.trange(0), np.arange(1, 741) * 0.001)
    t = data.trange(1)
    assert len(t) == 296 and np.allclose(t[:3], [0.003, 0.005, 0.008])


def test_pickled_streaming_simulator_keeps_its_data(tmp_path):
    import pickle  # pylint: disable=import-outside-toplevel

    with nengo.Network(seed=2) as net:
        u = nengo.Node(np.sin)  # picklable, unlike a lambda
        a = nengo.Ensemble(30, 1)
        nengo.Connection(u, a)
        nengo.Probe(a, synapse=0.01)
        nengo.Probe(u, sample_every=0.003)
    with nengo_mpi.Simulator(net, seed=2, progress_bar=False,
                             probe_file=tmp_path / "p.h5") as sim:
        sim.run(0.05)
        clone = pickle.loads(pickle.dumps(sim))
        sim.run(0.05)
        expected = [sim.data[p] for p in sim.model.probes]
    with clone:
        clone.run(0.05)
        for probe, values in zip(clone.model.probes, expected):
            assert np.array_equal(clone.data[probe], values)


def test_engine_continues_only_while_no_receive_is_posted():
    """set_steps (resuming) is refused once the engine has run and posted the receives
    of its next step; settling (as before a checkpoint) completes them."""
    with nengo_mpi.Simulator(sine_squared(), progress_bar=False) as sim:
        engine = sim._runtime.host.engine
        engine.set_steps(7)
        engine.settle()  # nothing posted yet: a no-op
        sim.run_steps(3)
        assert engine.steps == 10
        with pytest.raises(RuntimeError, match="already run"):
            engine.set_steps(0)
        engine.settle()
        engine.set_steps(20)
        sim.run_steps(1)
        assert engine.steps == 21
        with pytest.raises(ValueError, match="negative"):
            sim.reset()
            engine.set_steps(-1)


def test_flipped_bits_anywhere_fail_cleanly_or_change_nothing(tmp_path, capsys):
    """One flipped bit at 40 places spread over the file: every run either fails with a
    message naming the damage (no traceback, no wrong numbers) or, where the bit was
    unused, gives the undamaged file's data."""
    path = saved(tmp_path, sine_squared(), n_components=2)
    assert run_file(path, "--time", 0.03, "--out", tmp_path / "ref.h5") == 0
    ref = nengo_mpi.load_probes(tmp_path / "ref.h5")
    original = path.read_bytes()
    rng = np.random.RandomState(0)
    failed = 0
    for pos in np.linspace(0, len(original) - 1, 40).astype(int):
        damaged = bytearray(original)
        damaged[pos] ^= 1 << rng.randint(8)
        bad = tmp_path / "bad.h5"
        bad.write_bytes(bytes(damaged))
        out = tmp_path / f"out{pos}.h5"
        capsys.readouterr()
        if run_file(bad, "--time", 0.03, "--out", out) == 0:
            data = nengo_mpi.load_probes(out)
            assert all(np.array_equal(data[k], ref[k]) for k in ref), pos
        else:
            failed += 1
            err = capsys.readouterr().err
            assert "nengo_mpi run: error:" in err and "Traceback" not in err, err
            assert not out.exists()
    assert failed > 0


def test_h5py_is_imported_only_for_files():
    """A Simulator without files does not pay h5py's import (~12 MiB resident)."""
    code = (
        "import sys, nengo, nengo_mpi\n"
        "with nengo.Network() as net:\n"
        "    nengo.Probe(nengo.Ensemble(5, 1))\n"
        "with nengo_mpi.Simulator(net, progress_bar=False) as sim:\n"
        "    sim.run(0.01)\n"
        "assert 'h5py' not in sys.modules, 'h5py imported by a plain Simulator'\n"
        "assert callable(nengo_mpi.save) and callable(nengo_mpi.load_probes)\n"
        "assert 'h5py' in sys.modules\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
