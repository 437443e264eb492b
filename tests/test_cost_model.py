"""The cost model: per-object costs from a network's description, the calibration
file's handling, and what the partitioner and plan make of them."""

import json
import warnings

import nengo
import numpy as np
import pytest

import nengo_mpi
from nengo_mpi.partition import cost_model
from nengo_mpi.partition.cost_model import (
    FEATURES,
    Costs,
    load_costs,
    object_costs,
    shipped_costs,
)


def only(feature, value=1e-6, neuron=0.0):
    """Costs where one feature costs ``value`` and everything else nothing."""
    per_feature = dict.fromkeys(FEATURES, 0.0)
    if feature is not None:
        per_feature[feature] = value
    return Costs(neuron={"default": neuron}, per_feature=per_feature)


def test_features_follow_the_description():
    with nengo.Network() as net:
        stim = nengo.Node(lambda t: [t, t])
        a = nengo.Ensemble(30, 2, neuron_type=nengo.LIF())
        b = nengo.Ensemble(20, 1, neuron_type=nengo.RectifiedLinear())
        nengo.Connection(stim, a, synapse=None)
        nengo.Connection(a, b, function=lambda x: x[0], synapse=nengo.Alpha(0.01))
        nengo.Probe(b, synapse=0.01)
    costs = object_costs(net)
    assert costs[stim].units["python"] == 1
    assert costs[a].neurons == {"LIF": 30}
    # Encoders 30 x 2, decoders 1 x 30 (the connection leaves a).
    assert costs[a].units["dense"] == 30 * 2 + 1 * 30
    # Alpha keeps two states per dimension; the probe's Lowpass one.
    assert costs[a].units["filter_state"] == 2
    assert costs[b].units["filter_state"] == 1
    assert costs[b].units["probe"] == 1
    assert costs[a].units["filter"] == costs[b].units["filter"] == 1
    assert costs[stim].units["filter"] == 0


def test_rates_to_spikes_types_count_their_base_type():
    with nengo.Network() as net:
        ens = nengo.Ensemble(10, 1, neuron_type=nengo.RegularSpiking(nengo.LIFRate()))
    assert object_costs(net)[ens].neurons == {"RegularSpiking": 10, "LIFRate": 10}


def test_seconds_weigh_features_and_neuron_types():
    with nengo.Network() as net:
        ens = nengo.Ensemble(100, 1, neuron_type=nengo.Tanh())
    cost = object_costs(net)[ens]
    costs = only(None, neuron=1e-9)
    costs.neuron["Tanh"] = 5e-9
    assert cost.seconds(costs) == pytest.approx(100 * 5e-9)
    assert costs.neuron_step(nengo.Tanh()) == 5e-9
    assert costs.neuron_step(nengo.LIF()) == 1e-9  # not listed: the default


def test_shipped_costs_are_valid():
    costs = shipped_costs()
    assert set(costs.per_feature) == set(FEATURES)
    assert costs.neuron["LIF"] > 0 and costs.per_feature["python"] > 0


@pytest.fixture
def fresh_cache(monkeypatch):
    monkeypatch.setattr(cost_model, "_loaded", {})


def test_missing_default_file_is_silent(tmp_path, monkeypatch, fresh_cache):
    monkeypatch.delenv(cost_model.COSTS_ENV, raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        costs = load_costs()
    assert costs.source == "shipped defaults"


def test_missing_named_file_warns_once(tmp_path, monkeypatch, fresh_cache):
    missing = tmp_path / "nope.json"
    monkeypatch.setenv(cost_model.COSTS_ENV, str(missing))
    with pytest.warns(UserWarning, match="does not exist") as record:
        costs = load_costs()
        load_costs()
    assert len(record) == 1
    assert costs.source == "shipped defaults"


@pytest.mark.parametrize(
    "text, why",
    [
        ("{not json", "not usable"),
        ('{"neuron": {"default": 1}}', "per_feature"),
        (json.dumps(dict(shipped_costs().to_dict(), latency=-1)), ">= 0"),
    ],
)
def test_corrupt_file_warns_and_uses_defaults(tmp_path, monkeypatch, fresh_cache, text, why):
    path = tmp_path / "costs.json"
    path.write_text(text)
    monkeypatch.setenv(cost_model.COSTS_ENV, str(path))
    with pytest.warns(UserWarning, match=why):
        costs = load_costs()
    assert costs.source == "shipped defaults"


def test_written_file_is_read_back(tmp_path, monkeypatch, fresh_cache):
    from nengo_mpi.partition.calibrate import write_costs

    path = tmp_path / "sub" / "costs.json"
    mine = only("python", 7e-6, neuron=3e-9)
    write_costs(mine, str(path))
    monkeypatch.setenv(cost_model.COSTS_ENV, str(path))
    costs = load_costs()
    assert costs.source == str(path)
    assert costs.per_feature["python"] == 7e-6


def pinned_python_network(n_inputs=4, n_ensembles=32, n_neurons=300):
    """The issue's case in small: Python Nodes (pinned to component 0) feed ensembles."""
    with nengo.Network(seed=0) as net:
        ens = [nengo.Ensemble(n_neurons, 1) for _ in range(n_ensembles)]
        for k in range(n_inputs):
            node = nengo.Node(lambda t, k=k: np.sin(t + k))
            for e in ens[k::n_inputs]:
                nengo.Connection(node, e)
        for a, b in zip(ens, ens[1:]):
            nengo.Connection(a, b, synapse=0.01)
    return net


def test_pinned_work_counts_where_it_is_pinned():
    net = pinned_python_network()
    costs = shipped_costs()
    plan = nengo_mpi.plan(net, 2, costs=costs)
    nodes = [n for n in net.all_nodes]
    assert all(plan.assignments[n] == 0 for n in nodes)
    # Component 0 holds the Python calls, so it gets fewer ensembles; the predicted
    # compute is balanced to within 10%.
    on_zero = sum(plan.assignments[e] == 0 for e in net.all_ensembles)
    assert on_zero < len(net.all_ensembles) / 2
    assert plan.imbalance < 0.10
    # Weighed by neurons alone (the old weights), component 0 would be overloaded.
    naive = nengo_mpi.plan(
        net, 2, costs=costs,
        partitioner=nengo_mpi.Partitioner(2, costs=only(None, neuron=1e-9)),
    )
    assert naive.imbalance > 0.2


def test_plan_adds_up():
    net = pinned_python_network()
    costs = shipped_costs()
    one = nengo_mpi.plan(net, 1, costs=costs)
    assert one.t_step == pytest.approx(one.t_one_rank)
    assert one.speedup == pytest.approx(1.0)
    three = nengo_mpi.plan(net, 3, costs=costs)
    # Compute is shared out, one component constant per rank.
    assert three.compute.sum() == pytest.approx(one.compute.sum() + 2 * costs.component)
    assert three.neurons.sum() == 32 * 300
    assert (three.bytes_sent.sum() == three.bytes_received.sum()) and three.bytes_sent.sum() > 0
    assert three.messages.sum() % 2 == 0  # every message has two ends
    assert "load imbalance" in str(three)


def test_plan_for_many_ranks_is_a_dry_run():
    net = pinned_python_network()
    plan = nengo_mpi.plan(net, 100000, costs=shipped_costs())
    assert len(plan.compute) == 100000
    text = str(plan)
    assert "more |" in text and "hold nothing" in text
    assert len(text.splitlines()) < 30


def test_partitioner_rejects_bad_costs():
    with pytest.raises(nengo.exceptions.ValidationError, match="costs"):
        nengo_mpi.Partitioner(2, costs={"python": 1})


def run_plan_command(tmp_path, body, *args):
    import subprocess
    import sys

    script = tmp_path / "script.py"
    script.write_text(body)
    return subprocess.run(
        [sys.executable, "-m", "nengo_mpi", "plan", str(script), *args],
        capture_output=True, text=True, check=False, timeout=120,
    )


def test_plan_command_prints_a_table_per_rank_count(tmp_path):
    body = (
        "import sys, nengo, nengo_mpi\n"
        "with nengo.Network() as net:\n"
        "    a = nengo.Ensemble(int(sys.argv[1]), 1)\n"
        "    b = nengo.Ensemble(100, 1)\n"
        "    nengo.Connection(a, b)\n"
        "with nengo_mpi.Simulator(net) as sim:\n"
        "    raise RuntimeError('the plan must not build or run')\n"
    )
    proc = run_plan_command(tmp_path, body, "--ranks", "1", "2", "--", "250")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.count("nengo_mpi plan:") == 2
    assert "| 350 |" in proc.stdout  # the 1-rank table: 250 + 100 neurons


def test_plan_command_without_a_simulator_says_so(tmp_path):
    proc = run_plan_command(tmp_path, "import nengo\nnet = nengo.Network()\n",
                            "--ranks", "2")
    assert proc.returncode != 0
    assert "builds no Simulator" in proc.stderr


def test_plan_with_shared_cores_is_no_faster_than_the_cores_allow():
    net = pinned_python_network()
    costs = shipped_costs()
    own = nengo_mpi.plan(net, 8, costs=costs)
    shared = nengo_mpi.plan(net, 8, costs=costs, cores=2)
    busy = shared.compute + shared.comm
    assert shared.t_step >= busy.sum() / 2
    assert shared.t_step >= own.t_step
    assert "sharing 2 cores" in str(shared)


def test_calibrate_writes_costs_that_load(tmp_path, monkeypatch, fresh_cache):
    """The calibrate command end to end, on three of its networks and few steps."""
    from nengo_mpi.partition import calibrate

    monkeypatch.setattr(calibrate, "NETWORKS", calibrate.NETWORKS[:1]
                        + calibrate.NETWORKS[6:7] + calibrate.NETWORKS[12:13])
    monkeypatch.setattr(calibrate, "_neuron_network",
                        lambda n, real=calibrate._neuron_network: real(200))
    path = tmp_path / "costs.json"
    assert calibrate.main(["--out", str(path), "--steps", "20", "--repeats", "1"]) == 0
    monkeypatch.setenv(cost_model.COSTS_ENV, str(path))
    costs = load_costs()
    assert costs.source == str(path)
    assert costs.neuron["LIF"] > 0 and costs.neuron["default"] >= costs.neuron["LIF"]
    assert costs.per_feature["python"] > 1e-7  # the Python Nodes' network was fitted
    assert costs.machine["network_measured"] is False


def test_writing_costs_replaces_what_was_loaded(tmp_path, monkeypatch, fresh_cache):
    from nengo_mpi.partition.calibrate import write_costs

    path = tmp_path / "costs.json"
    monkeypatch.setenv(cost_model.COSTS_ENV, str(path))
    write_costs(only("python", 1e-6), str(path))
    assert load_costs().per_feature["python"] == 1e-6
    write_costs(only("python", 2e-6), str(path))
    assert load_costs().per_feature["python"] == 2e-6
