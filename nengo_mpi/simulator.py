"""`nengo_mpi.Simulator`: nengo.Simulator's interface on the C++/MPI engine."""

import warnings

import nengo
import numpy as np
from nengo.exceptions import (
    ReadonlyError, SimulationError, SimulatorClosed, ValidationError,
)
from nengo.simulator import SimulationData
from nengo.utils.progress import Progress, ProgressTracker
import nengo.utils.numpy as npext

from .construction.construct import new_model
from .construction.distributed import fetchable
from .construction.halo import build_sequence
from .construction.shadow import overwrite_initial_value
from .placement import rank_of_component
from .testing.split_log import record_split
from .lower.program import lower_model, probe_records
from .lower.state import attach, lowering_state
from .partition import Partitioner
from .prepare import checked_partitioner, prepare
from .runtime import session as mpi_session
from .runtime import protocol
from .runtime.runtime import Runtime
from .runtime.distributed_build import (
    INITIAL, PARAMS, fetch, save_everywhere, whole_on_root,
)

#: Steps per engine call when a progress bar is shown (the bar's resolution).
PROGRESS_CHUNKS = 100


class Simulator:
    """Simulate a nengo model on the nengo_mpi engine, split into components.

    Parameters
    ----------
    network : nengo.Network or None
        The network to build and simulate. If None, ``model`` must be given.
    dt : float, optional
        Time step in seconds.
    seed : int, optional
        Seed for stochastic operators; ``network.seed + 1`` if not given, as in nengo.
    model : nengo.builder.Model, optional
        A model to build into (or an already built one when ``network`` is None).
    progress_bar : bool or nengo.utils.progress.ProgressBar, optional
        Progress bar for building and simulating.
    optimize : bool, optional
        Merge same-kind operators within each component, as nengo's op-merge
        optimizer would (operators of objects on different components are never
        merged; see `nengo_mpi.lower.merge` and `nengo_mpi.lower.planner`).
    partitioner : Partitioner, optional
        How to split the network into components. Default: one component per MPI rank
        of the running job (one component without MPI).
    assignments : dict, optional
        ``{object: component}`` for Ensembles and Nodes, overriding the partitioner.
    save_file : str or os.PathLike, optional
        Also write the partitioned, lowered model to this HDF5 file (see
        `nengo_mpi.save`), to run later with ``python -m nengo_mpi run``.
    probe_file : str or os.PathLike, optional
        Stream probe data to this HDF5 file (read it with `nengo_mpi.load_probes`)
        instead of keeping it in memory: memory stays flat however long the runs.
        ``sim.data[probe]`` reads it back. The file is ``<probe_file>.partial`` until
        the simulator is closed; `reset` starts it over.
    build_workers : int, optional
        Worker processes that solve the connections' decoders while the rest of the
        network is built (the decoders are nengo's, to the bit, whatever the number).
        Default: ``$NENGO_MPI_BUILD_WORKERS``, else every core this process may use.
        Under MPI the other ranks solve instead (no process is forked). 0 solves in this
        process.

    Attributes
    ----------
    assignments : dict
        Every Ensemble and Node of the network -> its component.
    closed : bool
        Whether the simulator has been closed.
    data : nengo.simulator.SimulationData
        Probe data and built objects' parameters.
    distributed_build : bool
        Whether every rank built and lowered its own components (distributed
        construction; see "How it works" in the docs) rather than rank 0 alone.
    halo_build : bool
        Whether, in a distributed construction, every rank built only its own
        components and their neighbours (`nengo_mpi.construction.halo`) rather than the
        whole model's structure.
    model : nengo.builder.Model
        The built model.
    signals : Mapping
        Signal -> numpy view of the engine's memory (components on this rank only).
    """

    def __init__(
        self,
        network,
        dt=0.001,
        seed=None,
        model=None,
        progress_bar=True,
        optimize=True,
        partitioner=None,
        assignments=None,
        save_file=None,
        probe_file=None,
        build_workers=None,
    ):
        self.closed = True  # until construction succeeds, as in nengo
        self._runtime = None
        self._probe_writer = None
        self._closed_timing = None
        self.progress_bar = progress_bar
        self.optimize = optimize
        session = mpi_session.active()
        self.partitioner = checked_partitioner(
            partitioner, self, session.size if session is not None else 1)

        self._model = new_model(dt, f"{network}, dt={dt:f}") if model is None else model

        #: How many connections took their decoders from a worker or another rank.
        self.decoders_solved_ahead = 0
        #: Distributed construction: the id the other ranks keep their parts under, and
        #: the objects whose ``model.params`` here are shadows -> (rank, index) to fetch.
        self._prebuilt = None
        self._remote = {}
        self._complete = False
        #: After a halo build: (the build order, rank 0's LocalBuild) until rank 0 has
        #: built the whole model (see `model`).
        self._halo = None
        self.distributed_build = self.halo_build = False
        if network is None:
            self._lower_prebuilt(assignments, optimize)
        else:
            # Into a model of the user's own, only this process builds.
            prepared = prepare(network, self._model, self.partitioner, assignments,
                               optimize, session, build_workers, distribute=model is None,
                               progress_bar=self.progress_bar)
            self._model, self._lowered = prepared.model, prepared.lowered
            self.assignments = prepared.assignments
            self.decoders_solved_ahead = prepared.decoders_solved_ahead
            if prepared.distributed is not None:
                self._use_distributed(prepared.distributed, network)
            else:
                self._fallbacks = [rec.op for program in self._lowered.programs
                                   for rec in program.fallback_ops()]
        if self._halo is None:
            self._probes = list(self._model.probes)
            self._probe_records = probe_records(self._lowered)
        self._open(network, seed, session, save_file, probe_file)

    def _open(self, network, seed, session, save_file, probe_file):
        """Start the engines on the lowered model (the end of construction)."""
        if network is not None:
            record_split(self)

        if seed is None:
            if network is not None and network.seed is not None:
                seed = network.seed + 1
            else:
                seed = np.random.randint(npext.maxint)
        self.seed = seed
        # Imported here: h5py costs memory that runs without files need not pay.
        if save_file is not None and self._prebuilt is not None:
            save_everywhere(session, self._prebuilt, save_file, seed, self._lowered,
                            self._model, probes=(self._probe_records, self._probes))
        elif save_file is not None:
            from .files.saving import write_model  # pylint: disable=import-outside-toplevel

            write_model(save_file, self._lowered, self._model, seed)
        if probe_file is not None:
            from .files.format import check_writable  # pylint: disable=import-outside-toplevel

            check_writable(probe_file)
        self._runtime = Runtime(self._lowered, self._model.dt, seed, session=session,
                                label=str(self._model.label), prebuilt=self._prebuilt)
        try:
            if probe_file is not None:
                # pylint: disable=import-outside-toplevel
                from .files.probes_out import ProbeWriter
                from .files.saving import probe_table

                self._probe_writer = ProbeWriter(
                    probe_file, probe_table(self._probe_records, self._probes),
                    self._model.dt)
            self._sim_data = self._model.params
            self.data = _Data(self._sim_data, self._probe_writer, self._probes,
                              fetch=self._fetch_params if self._remote else None,
                              complete=None if self._halo is None else
                              self._complete_model)
            self._n_steps = 0
            self._time = 0.0
            self.clear_probes()
        except BaseException:
            # The engines are open on every rank: a Simulator that never existed for
            # the user (no ``with``, no close) must not leave them behind.
            self.close()
            raise
        self.closed = False

    def _lower_prebuilt(self, assignments, optimize):
        """Partition and lower a model built before (``model`` without a network)."""
        # A prebuilt model has no network to partition; explicit assignments (e.g.
        # from a pickled Simulator) still apply if its builder recorded op owners.
        self.assignments = dict(assignments or {})
        for obj, comp in self.assignments.items():
            if not 0 <= comp < self.partitioner.n_components:
                raise ValidationError(
                    f"component {comp} of {obj} is out of range", attr="assignments"
                )
        # Without a record of op owners there is nothing to split: one component.
        n_components = self.partitioner.n_components if self.assignments else 1
        self._lowered = lower_model(
            self._model, self.assignments, n_components, optimize=optimize
        )
        self._fallbacks = [rec.op for program in self._lowered.programs
                           for rec in program.fallback_ops()]

    def _use_distributed(self, distributed, network):
        """Keep what a distributed construction (`nengo_mpi.prepare`) left here: every
        rank built and lowered its own components."""
        built = distributed.built
        self.distributed_build = True
        self.halo_build = built.halo is not None
        self._fallbacks = distributed.fallbacks
        self._prebuilt = distributed.sim_id
        # The other ranks keep what they built (for sim.data) until this one is gone,
        # whether or not the engines open.
        protocol.forget_later(self, distributed.sim_id)
        self._remote = self._remote_objects(built, network)
        self.decoders_solved_ahead = sum(
            1 for obj in self._remote if isinstance(obj, nengo.Connection))
        if built.halo is not None:
            self._halo = (distributed.order, built)
            index = built.halo.probe_index
            self._probes = sorted(index, key=index.get)
            self._probe_records = built.probes

    @staticmethod
    def _remote_objects(built, network):
        """The objects whose parameters another rank built (shadows here, or not built
        here at all) -> (that rank, their place in the build, `fetchable`)."""
        locality, params = built.locality, built.model.params
        return {obj: (locality.owner_rank(obj), place)
                for place, obj in fetchable(build_sequence(network)).items()
                if obj in locality.shadowed or obj not in params}

    def _build_whole(self):
        """After a halo build: build the whole model here (the other ranks' objects as
        shadows, see `whole_on_root`) and use it from now on."""
        order, built = self._halo
        whole = whole_on_root(order, built, mpi_session.active().size)
        for probe in self._probes:
            whole.model.params[probe] = self._sim_data[probe]
        self._halo = None
        self._model = whole.model
        self._lowered = whole.lowered
        self._remote = self._remote_objects(whole, order.network)
        self._sim_data = self._model.params
        self.data.raw = self._sim_data
        if self.data.fetch is None and self._remote:
            self.data.fetch = self._fetch_params
        self.data.complete = None
        if self._runtime is not None:
            self._runtime.use_layouts(whole.lowered)

    def _fetch_params(self, objs):
        """Put the real ``model.params`` of ``objs`` (shadows here) into the model."""
        by_rank = {}
        for obj in objs:
            if obj in self._remote:
                rank, index = self._remote[obj]
                by_rank.setdefault(rank, []).append((obj, index))
        for rank, items in by_rank.items():
            values = fetch(mpi_session.active(), self._prebuilt, rank, PARAMS,
                           [index for _, index in items])
            for (obj, _), value in zip(items, values):
                self._model.params[obj] = value
                del self._remote[obj]

    def _complete_model(self):
        """Replace every shadow in this rank's model by the real values (parameters
        and signals' initial values), fetched from the ranks that built them (after
        a halo build, build the whole model here first)."""
        if self._halo is not None:
            self._build_whole()
        self._fetch_params(list(self._remote))
        size = mpi_session.active().size
        by_rank = {}
        places = {}
        for base, comp in self._lowered.home.items():
            rank = rank_of_component(comp, size)
            if rank != 0 and not base.sparse:
                if comp not in places:
                    places[comp] = {b: i for i, b in
                                    enumerate(self._lowered.programs[comp].layout.bases)}
                by_rank.setdefault(rank, []).append((base, (comp, places[comp][base])))
        for rank, items in by_rank.items():
            values = fetch(mpi_session.active(), self._prebuilt, rank, INITIAL,
                           [index for _, index in items])
            for (base, _), value in zip(items, values):
                overwrite_initial_value(base, value)
        self._complete = True

    def __del__(self):
        if not getattr(self, "closed", True):
            warnings.warn(
                f"Simulator with model={self._model} was deallocated while open. Please "
                "close simulators manually to ensure resources are properly freed.",
                ResourceWarning,
            )

    def __enter__(self):
        if self.closed:
            raise SimulatorClosed("Cannot re-open after simulator is closed")
        return self

    def __exit__(self, exc_type, exc_value, traceback):
        self.close()

    def __getstate__(self):
        if self._runtime is not None:
            self._keep_neuron_rngs()
        signals = {}
        if self.signals is not None:
            signals = {k: np.array(v) for k, v in self.signals.items() if not k.readonly}
        model = self.model  # complete: no shadow is pickled as a value
        return {
            "model": model,
            # Ours, not nengo's: how the model was lowered (owners, seed slots), so
            # that lowering it again places and seeds every operator the same way.
            "lowering": lowering_state(model),
            "signals": signals,
            # Streamed probes are read back from their file (a restored simulator keeps
            # its data in memory).
            "probe_outputs": {
                p: self._sim_data[p] if self._probe_writer is None else list(self.data[p])
                for p in self._probes
            },
            "dt": self.dt,
            "seed": self.seed,
            "progress_bar": self.progress_bar,
            "optimize": self.optimize,
            "closed": self.closed,
            "n_components": self.partitioner.n_components,
            "assignments": self.assignments,
            "n_steps": self._n_steps,
        }

    def __setstate__(self, state):
        attach(state["model"], state["lowering"])
        self.__init__(
            network=None,
            model=state["model"],
            dt=state["dt"],
            seed=state["seed"],
            progress_bar=state["progress_bar"],
            optimize=state["optimize"],
            partitioner=Partitioner(state["n_components"]),
            assignments=state["assignments"],
        )
        for key, value in state["signals"].items():
            if key in self.signals:
                self.signals[key] = value
        for key, value in state["probe_outputs"].items():
            self._sim_data[key].extend(value)
        # nengo keeps time in signals, which were restored above; the engine continues
        # from the same step (probes with sample_every keep their phase).
        self._n_steps = state["n_steps"]
        self._time = self._n_steps * self.dt
        if self._runtime is not None:
            self._runtime.set_steps(self._n_steps)
        if state["closed"]:
            self.close()

    def _keep_neuron_rngs(self):
        """Store the engine's stochastic neuron generators in their operators.

        nengo's builder gives StochasticSpiking and PoissonSpiking their own RandomState
        (``op.state_extra["rng"]``), which nengo's simulator advances in place, so a
        pickled nengo simulator continues those streams. The engine draws from its own
        copy; putting its state back into the operator makes the pickled model (and a
        simulator restored from it) continue them too.
        """
        ops = self._lowered.ops
        with_rng = {i for i, op in enumerate(ops)
                    if isinstance(getattr(op, "state_extra", None), dict)
                    and "rng" in op.state_extra}
        if not with_rng:
            return
        for (_, order), state in self._runtime.rng_states().items():
            if order in with_rng:
                ops[order].state_extra["rng"].set_state(state)

    @property
    def model(self):
        """(nengo.builder.Model) The built model.

        After a distributed construction, this rank built the objects of other ranks as
        shadows (placeholder values); the first look at the model fetches their real
        parameters and signals from the ranks that built them.
        """
        if self._prebuilt is not None and not self._complete:
            self._complete_model()
        return self._model

    @property
    def dt(self):
        """(float) The time step of the simulator."""
        return self._model.dt

    @dt.setter
    def dt(self, dummy):
        raise ReadonlyError(attr="dt", obj=self)

    @property
    def n_steps(self):
        """(int) The current time step of the simulator."""
        return self._n_steps

    @property
    def time(self):
        """(float) The current time of the simulator."""
        return self._time

    @property
    def signals(self):
        """Signal -> numpy array sharing memory with the engine (None once closed)."""
        if self._halo is not None and self._runtime is not None:
            self._complete_model()  # signals are the whole model's (see `model`)
        return None if self._runtime is None else self._runtime.signals

    @property
    def n_components(self):
        """(int) Number of components the model was split into."""
        return self._lowered.n_components

    def clear_probes(self):
        """Clear all probe histories."""
        for probe in self._probes:
            self._sim_data[probe] = []
        self.data.reset()

    def close(self):
        """Close the simulator; running or resetting it afterwards raises."""
        self.closed = True
        if self._runtime is not None:
            self._runtime.close()
            self._closed_timing = self._runtime.final_timing
            self._runtime = None
        if self._probe_writer is not None:
            self._probe_writer.close(complete=not self._probe_writer.failed)

    def timing(self):
        """Where each rank's time went while this simulator ran.

        Times are summed over every run since the simulator was made (`reset` does not
        clear them), and ``compute_s + wait_s + exchange_s`` is the wall time a rank
        spent inside the engine's step loop. Waits are timed on every step; to keep the
        cost of timing negligible, compute and exchange are told apart on one step in
        16 (a clock read at every switch between operators and messages) and the time
        of the other steps is split in the same proportion. Collected from every rank
        of the job; on a closed simulator, the timing it had when it was closed.

        Returns
        -------
        list of dict
            One dict per MPI rank (a single one without MPI), in rank order, with keys:

            rank : int
                The MPI rank.
            components : list of int
                The components that rank runs.
            steps : int
                Steps timed.
            compute_s : float
                Seconds running operators, copying between components on the same
                rank and recording probes.
            wait_s : float
                Seconds blocked until a peer's message arrived (or our previous message
                to it had left): the cost of other ranks being slower, of latency that
                computing did not hide, and of the MPI library's own work on arrived
                messages (matching, copying), which it does inside that wait.
            exchange_s : float
                Seconds packing, unpacking, starting and completing messages.
            bytes_sent, bytes_received : int
                Bytes sent to / received from other ranks over the ``steps``.
            bytes_sent_to, bytes_received_from : list of int
                The same per peer rank (indexed by rank).
            messages_sent, messages_received : int
                Messages per step (one per channel crossing ranks).
            blocked_waits : int
                How many times, over the ``steps``, the rank had to wait for a message
                (the others had arrived, or left, by the time they were needed).
            peak_rss_mib : float
                Peak resident memory of that rank's process, in MiB.
            ops : dict, optional
                Only after `profile_ops`: operator kind -> ``{"seconds", "calls",
                "ops"}``, the time spent in operators of that kind.

        Raises
        ------
        nengo.exceptions.SimulatorClosed
            If the simulator was closed before it ran any step.
        """
        if self._runtime is not None:
            return self._runtime.timing()
        if self._closed_timing is None:
            raise SimulatorClosed("Simulator was closed before it ran; it has no timing.")
        return [dict(entry) for entry in self._closed_timing]

    def profile_ops(self, enabled=True):
        """Time every operator, by kind, on every rank from now on (off by default).

        The per-kind times appear under ``"ops"`` in `timing`. Profiling costs two clock
        reads per operator per step, so it slows runs of many small operators.

        Parameters
        ----------
        enabled : bool, optional
            Whether to profile from now on.
        """
        if self.closed:
            raise SimulatorClosed("Cannot profile a closed Simulator.")
        self._runtime.set_profile(enabled)

    def reset(self, seed=None):
        """Reset the simulator state (signals, probes, time); optionally a new seed."""
        if self.closed:
            raise SimulatorClosed("Cannot reset closed Simulator.")
        if seed is not None:
            self.seed = seed
        self._runtime.reset(self.seed)
        self._n_steps = 0
        self._time = 0.0
        self.clear_probes()
        if self._probe_writer is not None:
            self._probe_writer.restart()

    def run(self, time_in_seconds, progress_bar=None):
        """Simulate for the given length of time (rounded to a whole number of steps)."""
        if time_in_seconds < 0:
            raise ValidationError(
                f"Must be positive (got {time_in_seconds:g})", attr="time_in_seconds"
            )
        steps = int(np.round(float(time_in_seconds) / self.dt))
        if steps == 0:
            warnings.warn(
                f"{time_in_seconds} results in running for 0 timesteps. Simulator "
                f"still at time {self.time}."
            )
        else:
            self.run_steps(steps, progress_bar=progress_bar)

    def run_steps(self, steps, progress_bar=None):
        """Simulate for the given number of ``dt`` steps."""
        if self.closed:
            raise SimulatorClosed("Simulator cannot run because it is closed.")
        steps = int(steps)
        if steps < 0:
            raise ValidationError(f"Must be positive (got {steps})", attr="steps")
        if progress_bar is None:
            progress_bar = self.progress_bar
        with ProgressTracker(
            progress_bar, Progress("Simulating", "Simulation", steps)
        ) as pt:
            show = pt.total_progress is not None and progress_bar is not False
            chunk = max(1, steps // PROGRESS_CHUNKS) if show else max(steps, 1)
            if self._probe_writer is not None:
                # The engine holds a chunk's samples until it returns: keep it to a block.
                chunk = min(chunk, self._probe_writer.block)
            done = 0
            while done < steps:
                n = min(chunk, steps - done)
                self._advance(n)
                done += n
                if show:
                    pt.total_progress.step(n)

    def step(self):
        """Advance the simulator by 1 step (``dt`` seconds)."""
        self.run_steps(1, progress_bar=False)

    def _advance(self, steps):
        engine = self._runtime.host.engine
        before = engine.steps
        writer = self._probe_writer
        if writer is not None and writer.failed:
            raise SimulationError(
                f"the probe file {writer.path} stopped at step {writer.step} after an "
                "error; reset the simulator to start it over")
        try:
            samples = self._runtime.run(steps)
        except BaseException:
            if writer is not None:
                # The samples of the failed run are lost, so the file cannot go on.
                writer.failed = True
            raise
        finally:
            # Even after an error mid-run, time reflects the steps the engine completed.
            self._n_steps += int(engine.steps - before)
            self._time = self._n_steps * self.dt
        if writer is not None:
            writer.add(samples, self._n_steps)
            return
        for index, rows in samples.items():
            self._sim_data[self._probes[index]].extend(rows)

    def trange(self, dt=None, sample_every=None):
        """Times matching the probed data (starting at ``dt``, as in nengo)."""
        if dt is not None:
            if sample_every is not None:
                raise ValidationError(
                    "Cannot specify both `dt` and `sample_every`. "
                    "Use `sample_every` only.",
                    attr="dt",
                    obj=self,
                )
            warnings.warn(
                "`dt` is deprecated. Use `sample_every` instead.", DeprecationWarning
            )
            sample_every = dt
        period = 1 if sample_every is None else sample_every / self.dt
        steps = np.arange(1, self.n_steps + 1)
        return self.dt * steps[steps % period < 1]


class _Data(SimulationData):
    """``sim.data``: nengo's, but probe data streamed to a file (``writer``) is read
    back from it (and the samples not yet written) on every lookup, and the parameters
    of objects built on other ranks are fetched from there on first use (``fetch``)."""

    def __init__(self, raw, writer, probes, fetch=None, complete=None):
        super().__init__(raw)
        self.writer = writer
        self.fetch = fetch
        self.complete = complete
        self.index = ({} if writer is None
                      else {probe: i for i, probe in enumerate(probes)})

    def __getitem__(self, key):
        if key in self.index:
            data = self.writer.read(self.index[key])
            data.setflags(write=False)
            return data
        if self.complete is not None:
            try:
                missing = key not in self.raw
            except TypeError:
                missing = False  # unhashable: nengo's own lookup says why
            if missing:
                self.complete()  # an object this rank did not build (after a halo build)
        if self.fetch is not None:
            try:
                self.fetch([key])
            except TypeError:
                pass  # not a nengo object (unhashable): nengo's own lookup says why
        return super().__getitem__(key)
