"""Rank 0's side of a simulation: run a lowered model here or across the session's ranks."""

import pickle
import traceback

from nengo.exceptions import BuildError

from ..placement import rank_of_component
from . import protocol, timing
from .rank_engine import RankEngine
from .signals import ComponentSignals, SimulatorSignals


def _pickle_part(part, rank):
    """Pickle one rank's programs, naming the operator that cannot travel if one can't."""
    try:
        return pickle.dumps(part, protocol=pickle.HIGHEST_PROTOCOL)
    except Exception as e:
        for program in part[0]:
            for rec in program.fallback_ops():
                try:
                    pickle.dumps(rec.op)
                except Exception as op_error:
                    raise BuildError(
                        f"component {program.component} runs on rank {rank}, but its "
                        f"operator {rec.label} needs Python objects that cannot be sent "
                        f"there ({type(op_error).__name__}: {op_error}). Assign the "
                        "object that owns it to component 0."
                    ) from op_error
        raise BuildError(f"cannot send the programs of rank {rank}: {e}") from e


class Runtime:
    """Drives the engines of one Simulator.

    Parameters
    ----------
    lowered : LoweredModel
        The model's programs and channels.
    dt : float
        Time step.
    seed : int
        Seed for the Python fallbacks' random streams.
    session : Session or None
        The MPI job; None (or a job of one rank) runs every component here.
    label : str, optional
        What the ``--timing`` report calls this simulator.
    prebuilt : int, optional
        The id of a distributed construction (`nengo_mpi.runtime.distributed_build`):
        every rank built its own programs, so nothing is shipped; ``lowered`` holds
        only this rank's operators.

    Attributes
    ----------
    final_timing : list of dict or None
        The timing of every rank when the runtime was closed (if it ran any step).
    """

    def __init__(self, lowered, dt, seed, session=None, label=None, prebuilt=None):
        self.session = session if session is not None and session.size > 1 else None
        self.label = label
        self.final_timing = None
        n = lowered.n_components
        self.data_comm = None
        self.host = None
        if self.session is None:
            self.rank_of = [0] * n
            self.host = RankEngine(lowered.programs, lowered.channels, self.rank_of, dt,
                                   lowered.n_seed_slots)
            self.host.make_fallback_steps(seed)
        else:
            self._open_distributed(lowered, dt, seed, prebuilt)
        self.use_layouts(lowered)
        log = timing.active_log()
        if log is not None:
            log.opened(self)

    def use_layouts(self, lowered):
        """Read and write signals by ``lowered``'s layouts: this one's, or those of a
        build of the whole model whose layouts are the same (`Simulator.model` after a
        halo build), whose signals are then the ones ``signals`` knows."""
        layouts = [None if p is None else p.layout for p in lowered.programs]
        # The engine's own fallback operators keep looking theirs up in host.signals.
        local = {comp: (signals if signals.layout is layouts[comp]
                        else ComponentSignals(layouts[comp], signals.buffer))
                 for comp, signals in self.host.signals.items()}
        self.signals = SimulatorSignals(
            lowered.home,
            local,
            self.rank_of,
            layouts=layouts,
            remote=None if self.session is None else self,
        )

    def _open_distributed(self, lowered, dt, seed, prebuilt):
        s = self.session
        self.rank_of = [rank_of_component(c, s.size) for c in range(lowered.n_components)]
        # Channel ids are MPI tags; the standard only promises tags up to 32767.
        from mpi4py import MPI  # pylint: disable=import-outside-toplevel

        tag_ub = s.comm.Get_attr(MPI.TAG_UB)
        if len(lowered.channels) > tag_ub + 1:
            raise BuildError(
                f"{len(lowered.channels)} channels exceed this MPI's largest tag ({tag_ub})"
            )
        parts = protocol.ship(lowered, self.rank_of, s.size)
        if prebuilt is None:
            # Pickle before telling anyone: a failure here leaves the other ranks
            # untouched.
            shipped = [None] + [_pickle_part(parts[r], r) for r in range(1, s.size)]
            self.sim_id = s.new_id()
        else:
            self.sim_id = prebuilt
        protocol.send_command(s.comm, (protocol.OPEN, self.sim_id, dt, self.rank_of,
                                       lowered.n_seed_slots, seed, prebuilt is not None))
        if prebuilt is None:
            s.comm.scatter(shipped, root=0)
        self.data_comm = s.comm.Dup()
        host, error = protocol.open_engine(
            s, self.data_comm, parts[0], self.rank_of, dt, lowered.n_seed_slots, seed
        )
        shipped = protocol.first_error(s.comm.gather(None, root=0))
        error = shipped if error is None else error
        if error is not None:
            protocol.send_command(s.comm, (protocol.CLOSE, self.sim_id))
            if host is not None:
                host.close()
            self.data_comm.Free()
            raise error
        self.host = host
        _open_runtimes[self.sim_id] = self

    def run(self, steps):
        """Run ``steps`` steps everywhere; returns probe index -> new samples."""
        if self.session is None:
            self.host.run(steps)
            return self.host.take_probes()
        s = self.session
        protocol.send_command(s.comm, (protocol.RUN, self.sim_id, steps))
        error = None
        try:
            self.host.run(steps)
        except Exception as e:  # the engine kept our messages going; raised below
            error = e
        except BaseException as e:
            # KeyboardInterrupt and the like: the other ranks are inside the same steps,
            # waiting for our messages; there is no consistent state, so the job ends.
            s.abort(f"{type(e).__name__}: {e}\n{traceback.format_exc()}")
        samples = {}
        replies = s.comm.gather((self.host.take_probes(), None), root=0)
        for part, _ in replies:
            samples.update(part)
        shipped = protocol.first_error(packed for _, packed in replies)
        error = shipped if error is None else error
        if error is not None:
            raise error
        return samples

    def read(self, comp, offset, nbytes):
        """Bytes of component ``comp``'s buffer, from the rank that runs it."""
        s = self.session
        protocol.send_command(s.comm, (protocol.READ, self.sim_id, comp, offset, nbytes))
        return s.comm.recv(source=self.rank_of[comp])

    def write(self, comp, offset, raw):
        protocol.send_command(self.session.comm,
                              (protocol.WRITE, self.sim_id, comp, offset, raw))

    def timing(self):
        """Every rank's timing entry, by rank (see `nengo_mpi.Simulator.timing`)."""
        if self.session is None:
            return [self.host.timing()]
        s = self.session
        protocol.send_command(s.comm, (protocol.TIMING, self.sim_id))
        error = None
        try:
            own = self.host.timing()
        except Exception as e:  # pylint: disable=broad-except
            own, error = None, e
        replies = s.comm.gather((own, None), root=0)
        shipped = protocol.first_error(packed for _, packed in replies)
        error = shipped if error is None else error
        if error is not None:
            raise error
        return [entry for entry, _ in replies]

    def rng_states(self):
        """Every rank's native generator states: ``{(component, order): state}``."""
        if self.session is None:
            return self.host.native_rng_states()
        s = self.session
        protocol.send_command(s.comm, (protocol.RNG, self.sim_id))
        error = None
        try:
            own = self.host.native_rng_states()
        except Exception as e:  # pylint: disable=broad-except
            own, error = {}, e
        replies = s.comm.gather((own, None), root=0)
        shipped = protocol.first_error(packed for _, packed in replies)
        error = shipped if error is None else error
        if error is not None:
            raise error
        states = {}
        for part, _ in replies:
            states.update(part)
        return states

    def set_steps(self, steps):
        """Continue from step ``steps`` on every rank (before any run)."""
        if self.session is not None:
            protocol.send_command(self.session.comm,
                                  (protocol.STEPS, self.sim_id, int(steps)))
        self.host.set_steps(steps)

    def set_profile(self, enabled):
        """Time every operator by kind on every rank from now on (or stop)."""
        if self.session is not None:
            protocol.send_command(self.session.comm,
                                  (protocol.PROFILE, self.sim_id, bool(enabled)))
        self.host.set_profile(enabled)

    def reset(self, seed):
        if self.session is not None:
            protocol.send_command(self.session.comm, (protocol.RESET, self.sim_id, seed))
        self.host.reset(seed)

    def close(self):
        if self.host is None:
            return
        # Kept so that a closed Simulator (and the --timing report) can still tell where
        # its time went; a runtime that never ran has nothing to tell.
        if self.host.engine.timing()["steps"] > 0:
            try:
                self.final_timing = self.timing()
            except Exception:  # pylint: disable=broad-except
                pass  # every rank replied, so closing stays safe; only the record is lost
        if self.session is not None:
            protocol.send_command(self.session.comm, (protocol.CLOSE, self.sim_id))
            _open_runtimes.pop(self.sim_id, None)
        self.host.close()
        self.host = None
        self.signals = None
        if self.data_comm is not None:
            self.data_comm.Free()
            self.data_comm = None


#: Distributed runtimes still open, closed before rank 0 tells the others to exit. Held
#: strongly: an engine must not vanish while its peers still expect its messages.
_open_runtimes = {}


def close_all():
    """Close every distributed runtime still open (so no rank exits mid-message)."""
    for runtime in list(_open_runtimes.values()):
        runtime.close()
