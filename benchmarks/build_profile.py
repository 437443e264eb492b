"""Where a Simulator's construction spends its time: a cProfile run, grouped by stage.

``end_to_end.py --profile MODEL BACKEND`` runs ``e2e_run.py --profile``, which profiles
one construction and prints `report`. The stages are found by the cumulative time of
the function that does each (cProfile counts a recursive function's outermost calls
only, so a stage's cumulative time is its wall time under the profiler):

- decoder solves: nengo's ``build_decoders`` (evaluation points, neuron rates at them,
  targets, the least-squares solve or a decoder cache lookup);
- op merging: nengo's op-merge optimizer (``nengo.builder.optimizer.optimize``) in
  nengo.Simulator, ``nengo_mpi.lower.merge.merge_within_components`` in nengo_mpi;
- lowering: ``nengo_mpi.lower.program.lower_model`` minus its merging;
- partitioning: ``nengo_mpi.Partitioner.partition``;
- engine start: ``nengo_mpi.runtime.runtime.Runtime.__init__`` (programs into the
  engine, shipped to the other ranks if any);
- rest of nengo's build: nengo's ``Model.build`` minus the decoder solves (building
  objects, signals, operators);
- other: the constructor's remainder (nengo.Simulator: its operator graph, signal
  initialisation and step functions; nengo_mpi: bookkeeping).

Time in worker processes is invisible to cProfile; the constructing process's wait for
them shows up in the stage that waits.
"""

import io
import pstats

#: (stage, functions as (path suffix, function name)). cProfile keys functions by file,
#: line and plain name (not qualified), so two methods of one file with the same name
#: both match; a stage takes the largest cumulative time among its matches, which for
#: nengo's Model.build / Builder.build (one calls the other) is the outer one.
STAGES = [
    ("decoder solves", [("nengo/builder/connection.py", "build_decoders")]),
    ("op merging", [("nengo/builder/optimizer.py", "optimize"),
                    ("nengo_mpi/lower/merge.py", "merge_within_components")]),
    ("lowering", [("nengo_mpi/lower/program.py", "lower_model")]),
    ("partitioning", [("nengo_mpi/partition/partitioner.py", "partition")]),
    ("engine start", [("nengo_mpi/runtime/runtime.py", "__init__")]),
    ("rest of nengo's build", [("nengo/builder/builder.py", "build")]),
]

#: The constructors, whose cumulative time is the whole.
CONSTRUCTORS = [("nengo/simulator.py", "__init__"), ("nengo_mpi/simulator.py", "__init__")]

#: Stage -> the stages nested inside it, subtracted so that stages do not overlap.
NESTED = {
    "lowering": ["op merging"],
    "rest of nengo's build": ["decoder solves"],
}


def _cumulative(stats, functions):
    """The largest cumulative seconds among ``stats`` entries matching ``functions``."""
    best = 0.0
    for (filename, _, name), (_, _, _, cumulative, _) in stats.items():
        path = filename.replace("\\", "/")
        if any(path.endswith(suffix) and name == fname for suffix, fname in functions):
            best = max(best, cumulative)
    return best


def stage_seconds(profile):
    """Seconds per construction stage.

    Parameters
    ----------
    profile : cProfile.Profile
        A profile of one Simulator construction (nothing else).

    Returns
    -------
    dict
        Stage -> seconds, in the order of `STAGES`, then ``"other"`` and ``"total"``.
        Stages that did not run (e.g. lowering in nengo.Simulator) are left out.
    """
    stats = pstats.Stats(profile).stats
    raw = {stage: _cumulative(stats, functions) for stage, functions in STAGES}
    seconds = {}
    for stage, value in raw.items():
        value -= sum(raw[inner] for inner in NESTED.get(stage, ()))
        if raw[stage] > 0:
            seconds[stage] = max(value, 0.0)
    total = _cumulative(stats, CONSTRUCTORS)
    seconds["other"] = max(total - sum(seconds.values()), 0.0)
    seconds["total"] = total
    return seconds


def report(profile, top=25):
    """Text: the stages of one construction, then the top cumulative entries.

    Parameters
    ----------
    profile : cProfile.Profile
        A profile of one Simulator construction.
    top : int, optional
        How many of the functions with the largest cumulative time to list.
    """
    seconds = stage_seconds(profile)
    total = seconds["total"] or 1.0
    lines = ["Construction by stage (seconds under cProfile, which inflates Python-heavy "
             "stages):", ""]
    for stage, value in seconds.items():
        lines.append(f"  {stage:24s} {value:8.3f} s  {100 * value / total:5.1f}%")
    out = io.StringIO()
    pstats.Stats(profile, stream=out).sort_stats("cumulative").print_stats(top)
    lines += ["", f"Top {top} functions by cumulative time:", out.getvalue()]
    return "\n".join(lines)
