"""The one pipeline from a network to lowered components: build, partition, lower.

`nengo_mpi.Simulator` and `nengo_mpi.save` both start here. Under an MPI job whose other
ranks serve rank 0, the network is partitioned first and every rank builds and lowers
its own components (`nengo_mpi.runtime.distributed_build.construct_everywhere`);
otherwise this process builds the whole model (decoders solved by worker processes or
by the other ranks), partitions the network and lowers every component.
"""

from dataclasses import dataclass

from nengo.exceptions import ValidationError
from nengo.utils.progress import Progress, ProgressTracker

from .construction.construct import build_into
from .construction.distributed import distributes
from .lower.program import lower_model
from .partition import Partitioner
from .runtime.distributed_build import construct_everywhere


@dataclass
class Distributed:
    """What a distributed construction left on rank 0 (see `construct_everywhere`)."""

    sim_id: int  # the id the other ranks keep their parts under
    built: object  # rank 0's LocalBuild
    fallbacks: list  # names of the classes that run through Python, every rank's
    order: object  # the build order every rank built from


@dataclass
class Prepared:
    """A network built, partitioned and lowered.

    Attributes
    ----------
    model : nengo.builder.Model
        The built model (after a distributed construction, rank 0's, which may be a
        new one: see `nengo_mpi.construction.distributed.build_part`).
    lowered : nengo_mpi.lower.program.LoweredModel
        Every component's program (this rank's alone after a distributed
        construction) and the channels between them.
    assignments : dict
        Ensemble/Node -> component.
    decoders_solved_ahead : int
        Connections whose decoders a worker solved (built here only).
    distributed : Distributed or None
        Set if every rank built its own components.
    """

    model: object
    lowered: object
    assignments: dict
    decoders_solved_ahead: int = 0
    distributed: Distributed = None


def checked_partitioner(partitioner, obj, n_ranks=1):
    """``partitioner``, or one component per rank if None; a ValidationError naming
    ``obj`` if it is not a `nengo_mpi.Partitioner`."""
    if partitioner is None:
        return Partitioner(n_ranks)
    if not isinstance(partitioner, Partitioner):
        raise ValidationError(
            f"must be a nengo_mpi.Partitioner (got {type(partitioner).__name__})",
            attr="partitioner", obj=obj)
    return partitioner


def prepare(network, model, partitioner, assignments=None, optimize=True, session=None,
            build_workers=None, distribute=True, progress_bar=False):
    """Build ``network`` into ``model``, partition it and lower its components.

    Parameters
    ----------
    network : nengo.Network
    model : nengo.builder.Model
        The model to build into.
    partitioner : nengo_mpi.Partitioner
    assignments : dict, optional
        ``{object: component}`` overriding the partitioner.
    optimize : bool
        Merge operators within components (see `nengo_mpi.lower.program.lower_model`).
    session : nengo_mpi.runtime.session.Session or None
        The MPI job, if any.
    build_workers : int, optional
        Worker processes solving decoders when built here (`build_into`).
    distribute : bool
        Whether every rank may build its own components (when the job allows it:
        `nengo_mpi.construction.distributed.distributes`).
    progress_bar : bool or ProgressBar
        Shown while building.

    Returns
    -------
    Prepared
    """
    if distribute and distributes(session, partitioner):
        with ProgressTracker(progress_bar, Progress("Building", "Build")) as pt:
            done = construct_everywhere(session, network, partitioner, assignments,
                                        optimize, model,
                                        progress=pt.next_stage("Building", "Build"))
        if done is not None:
            sim_id, built, fallbacks, assignments, order = done
            return Prepared(built.model, built.lowered, assignments,
                            distributed=Distributed(sim_id, built, fallbacks, order))
    with ProgressTracker(progress_bar, Progress("Building", "Build")) as pt:
        solved = build_into(model, network, build_workers=build_workers, session=session,
                            progress=pt.next_stage("Building", "Build"))
    assignments = partitioner.partition(network, assignments=assignments)
    lowered = lower_model(model, assignments, partitioner.n_components, optimize=optimize)
    return Prepared(model, lowered, assignments, solved)
