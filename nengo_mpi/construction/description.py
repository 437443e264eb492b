"""How a network's description travels from rank 0 to the other ranks.

Distributed construction (`nengo_mpi.construction.distributed`) sends every rank the
network it builds from, cloudpickled so that a script's own functions and classes travel
by value. Two things here make that cheaper than plain cloudpickle:

- **Restoring without validating again.** nengo restores a pickled object by setting
  every parameter through its validation: each set reads nengo's rc file and each
  ``FrozenObject`` lists its class's members again. On the 1M-neuron grid that is 4.1 s
  on each receiving rank, against 1.8 s here (the rest is nengo's own per-parameter
  tables). The values were validated when the script set them on rank 0, so
  `DescriptionPickler` restores nengo's objects by writing each parameter's stored value
  back where nengo keeps it (the parameter's per-object table), as rank 0 has it.
  Classes that pickle themselves their own way keep it.
- **Only what a rank builds.** For a halo build (`nengo_mpi.construction.halo`), a rank
  needs only its components' objects and their neighbours. With ``keep``, the networks
  are sent with only the listed objects (and without subnetworks left empty); everything
  else of the network stays on rank 0. (A network class that pickles itself its own way
  travels whole; the halo build skips what is not its rank's part either way.)
"""

import functools
import inspect
import io
import pickle

import cloudpickle
import nengo
from nengo.base import NengoObject
from nengo.params import FrozenObject, ObsoleteParam, Parameter, iter_params


class _Unset:
    """Marks a parameter an object never set (it reads its default); pickles as a
    reference to `_UNSET`, so it is the same object once restored."""

    def __reduce__(self):
        return "_UNSET"


_UNSET = _Unset()


@functools.lru_cache(maxsize=None)
def _object_params(cls):
    """The names of ``cls``'s parameters (a NengoObject's, as its ``params``)."""
    return tuple(iter_params(cls))


@functools.lru_cache(maxsize=None)
def _frozen_params(cls):
    """``{name: parameter}`` of a FrozenObject class, as ``FrozenObject.__init__``
    lists them."""
    return {name: value for name, value in inspect.getmembers(cls)
            if isinstance(value, Parameter) and not isinstance(value, ObsoleteParam)}


def _pickles_as(cls, base):
    """Whether instances of ``cls`` pickle as ``base``'s do (no method of their own)."""
    return (cls.__getstate__ is base.__getstate__
            and cls.__setstate__ is base.__setstate__
            and cls.__reduce_ex__ is object.__reduce_ex__
            and cls.__reduce__ is object.__reduce__)


def _new(cls):
    return cls.__new__(cls)


def _restore_object(obj, state):
    """Set a NengoObject's attributes and parameter values, as rank 0 had them."""
    attributes, names, values = state
    obj.__dict__.update(attributes)
    cls = type(obj)
    for name, value in zip(names, values):
        if value is not _UNSET:
            getattr(cls, name).data[obj] = value


def _restore_frozen(obj, state):
    """Set a FrozenObject's attributes and parameter values, as rank 0 had them."""
    attributes, names, values = state
    params = _frozen_params(type(obj))
    obj.__dict__["_paramdict"] = dict(params)
    obj.__dict__.update(attributes)
    for name, value in zip(names, values):
        if value is not _UNSET:
            params[name].data[obj] = value


def _values(obj, cls, names):
    """``obj``'s stored value of each parameter ``names`` of ``cls`` (`_UNSET` where
    it never set one)."""
    values = []
    for name in names:
        data = getattr(cls, name).data
        values.append(data[obj] if obj in data else _UNSET)
    return values


class DescriptionPickler(cloudpickle.Pickler):
    """cloudpickle's pickler, restoring nengo's objects without validating them again.

    Parameters
    ----------
    file : file-like
    keep : set, optional
        If given, every `nengo.Network` is sent with only the ensembles, nodes,
        connections, probes and subnetworks in ``keep``. Objects outside it that are
        reachable otherwise (an attribute of a network subclass, say) still travel, but
        are not part of any network there.
    lists : dict, optional
        With ``keep``: network -> its object lists already pruned to ``keep``
        (`PartIndex.part`), so that a network is not filtered again for every rank.
    """

    def __init__(self, file, keep=None, lists=None):
        super().__init__(file, protocol=pickle.HIGHEST_PROTOCOL)
        self.keep = keep
        self.lists = {} if lists is None else lists

    def reducer_override(self, obj):
        cls = type(obj)
        if (isinstance(obj, nengo.Network) and self.keep is not None
                and _pickles_as(cls, nengo.Network)):
            return self._pruned_network(obj)
        if isinstance(obj, NengoObject) and _pickles_as(cls, NengoObject):
            attributes = dict(obj.__dict__)
            names = _object_params(cls)
            return (_new, (cls,), (attributes, names, _values(obj, cls, names)),
                    None, None, _restore_object)
        if isinstance(obj, FrozenObject) and _pickles_as(cls, FrozenObject):
            attributes = dict(obj.__dict__)
            attributes.pop("_paramdict", None)
            names = tuple(_frozen_params(cls))
            return (_new, (cls,), (attributes, names, _values(obj, cls, names)), None,
                    None, _restore_frozen)
        return super().reducer_override(obj)

    def _pruned_network(self, net):
        """``net`` reduced to the objects in ``keep`` (its state, as nengo pickles it,
        with its object lists filtered)."""
        state = net.__getstate__()
        lists = state["_objects"]
        kept = self.lists.get(net)
        if kept is None:
            kept = {kind: [obj for obj in objs if obj in self.keep]
                    for kind, objs in lists.items()}
        for key, value in list(state.items()):
            for kind, objs in lists.items():
                if value is objs:  # nengo's per-kind lists alias the dict's
                    state[key] = kept[kind]
        state["_objects"] = kept
        reduced = net.__reduce_ex__(pickle.HIGHEST_PROTOCOL)
        return (reduced[0], reduced[1], state) + tuple(reduced[3:])


def dumps(obj, keep=None, lists=None):
    """``obj`` as bytes by `DescriptionPickler` (see there for ``keep`` and
    ``lists``)."""
    buffer = io.BytesIO()
    DescriptionPickler(buffer, keep=keep, lists=lists).dump(obj)
    return buffer.getvalue()


class PartIndex:
    """Where every object of a network is, found once, so that each rank's part of it
    (`part`) costs time in proportion to that part, not to the network.

    Parameters
    ----------
    network : nengo.Network
    """

    def __init__(self, network):
        self.network = network
        self.place = {}  # object or subnetwork -> (its network, kind, place in list)
        stack = [network]
        while stack:
            net = stack.pop()
            for kind, objs in net.objects.items():
                for i, obj in enumerate(objs):
                    self.place[obj] = (net, kind, i)
                    if kind is nengo.Network:
                        stack.append(obj)

    def part(self, needed):
        """What to keep of the network for a rank that builds ``needed`` (ensembles,
        nodes, connections, probes of the network): ``(keep, lists)`` as
        `DescriptionPickler` takes them. ``keep`` holds ``needed``, the networks that
        hold any of it, and the network itself."""
        keep = set(needed)
        keep.add(self.network)
        held = {}  # network -> kind -> [(place, object)]

        def add(obj):
            net, kind, i = self.place[obj]
            held.setdefault(net, {}).setdefault(kind, []).append((i, obj))
            return net

        for obj in needed:
            net = add(obj)
            # The networks holding it, up to one already kept.
            while net not in keep:
                keep.add(net)
                net = add(net)
        lists = {}
        for net, kinds in held.items():
            lists[net] = {kind: [obj for _, obj in sorted(kinds.get(kind, ()),
                                                          key=lambda p: p[0])]
                          for kind in net.objects}
        for net in keep:
            if isinstance(net, nengo.Network) and net not in lists:
                lists[net] = {kind: [] for kind in net.objects}
        return keep, lists

