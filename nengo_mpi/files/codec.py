"""Store engine calls (a method name and its arguments) as typed arrays.

A native op is the engine call that creates it, e.g. ``add_lif(local, order, j, out, ...,
tau_rc, tau_ref, ...)``: ints, floats, bools, lists of numbers and numpy arrays. A
component's calls are written as a handful of typed pools (all its ints in one int64
array, floats in one float64 array, and so on) plus one *kind* per call, an index into a
table of ``(method, signature)`` pairs. The signature lists the argument types in order,
so reading a call back takes the next values from each pool. For example the signature
``"i i f lf a<f8"`` is two ints, a float, a list of floats and a float64 array.

Tokens of a signature (space separated):

==========  =====================================  =====================================
token       Python value                           stored as
==========  =====================================  =====================================
``i``       int                                    one value in ``int`` (int64)
``f``       float                                  one value in ``float`` (float64)
``b``       bool                                   one value in ``bool``
``s``       str                                    one value in ``str`` (UTF-8)
``n``       None                                   nothing
``li``      list of int                            its length in ``dim``, values in ``int``
``lf``      list of float                          its length in ``dim``, values in
                                                   ``float``
``lb``      list of bool                           its length in ``dim``, values in ``bool``
``le``      empty list                             nothing
``a<dt>``   numpy array of dtype ``dt``            ndim and shape in ``dim``, C-order
            (e.g. ``a<f8``, ``a<u4``)              bytes in ``bytes``
``g<dt>``   numpy scalar of dtype ``dt``           its bytes in ``bytes``
``(`` `)``  tuple of the values between            nothing itself
``p``       anything else (opaque)                 cloudpickle bytes in ``bytes``, length
                                                   in ``dim``
==========  =====================================  =====================================

None of nengo_mpi's own kernels need ``p``; it exists so that a call with an argument
of another type still round-trips. Reading one back unpickles it, which runs code: a
reader does so only for a trusted file (`.trust`).
"""

import math

import cloudpickle
import numpy as np

from . import schema
from .format import FileFormatError, read, write
from .trust import require_trust

POOLS = ("int", "float", "bool", "dim", "bytes", "str")


def _scalar_list_token(values):
    if not values:
        return "le"
    if all(isinstance(v, bool) for v in values):
        return "lb"
    if all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in values):
        return "li"
    if all(isinstance(v, float) for v in values):
        return "lf"
    return None


class CallWriter:
    """Collects calls ``(method, args)`` into typed pools.

    Parameters
    ----------
    kinds : dict
        ``(method, signature) -> kind id``, shared by every component of a file (new
        kinds are added to it).
    """

    def __init__(self, kinds):
        self.kinds = kinds
        self.kind_ids = []
        self.pools = {name: [] for name in POOLS}

    def add(self, method, args):
        """Append one call; returns nothing."""
        tokens = []
        self._leaf(tuple(args), tokens, top=True)
        key = (method, " ".join(tokens))
        kind = self.kinds.setdefault(key, len(self.kinds))
        self.kind_ids.append(kind)

    def _leaf(self, value, tokens, top=False):
        pools = self.pools
        if isinstance(value, tuple):
            if not top:
                tokens.append("(")
            for v in value:
                self._leaf(v, tokens)
            if not top:
                tokens.append(")")
        elif value is None:
            tokens.append("n")
        elif isinstance(value, bool):
            tokens.append("b")
            pools["bool"].append(value)
        elif isinstance(value, int):
            tokens.append("i")
            pools["int"].append(value)
        elif isinstance(value, float):
            tokens.append("f")
            pools["float"].append(value)
        elif isinstance(value, str):
            tokens.append("s")
            pools["str"].append(value)
        elif isinstance(value, list) and _scalar_list_token(value) is not None:
            token = _scalar_list_token(value)
            tokens.append(token)
            if token != "le":
                pools["dim"].append(len(value))
                pools[{"li": "int", "lf": "float", "lb": "bool"}[token]].extend(value)
        elif isinstance(value, np.ndarray) and value.dtype.kind in "biufc":
            tokens.append("a" + value.dtype.str)
            pools["dim"].append(value.ndim)
            pools["dim"].extend(value.shape)
            pools["bytes"].append(np.ascontiguousarray(value).view(np.uint8).reshape(-1))
        elif isinstance(value, np.generic) and value.dtype.kind in "biufc":
            tokens.append("g" + value.dtype.str)
            pools["bytes"].append(np.asarray(value).reshape(1).view(np.uint8))
        else:
            raw = np.frombuffer(cloudpickle.dumps(value), dtype=np.uint8)
            tokens.append("p")
            pools["dim"].append(raw.size)
            pools["bytes"].append(raw)

    def write(self, group):
        """Write ``kind`` and the pools as datasets of ``group``."""
        write(group, "kind", np.asarray(self.kind_ids, dtype=np.int32))
        p = self.pools
        write(group, "int", np.asarray(p["int"], dtype=np.int64))
        write(group, "float", np.asarray(p["float"], dtype=np.float64))
        write(group, "bool", np.asarray(p["bool"], dtype=np.bool_))
        write(group, "dim", np.asarray(p["dim"], dtype=np.int64))
        raw = np.concatenate(p["bytes"]) if p["bytes"] else np.zeros(0, np.uint8)
        write(group, "bytes", raw)
        write(group, "str", p["str"], strings=True)


def write_kinds(group, kinds):
    """Write the ``(method, signature)`` table of a file's kinds."""
    ordered = sorted(kinds, key=kinds.get)
    write(group, "method", [m for m, _ in ordered], strings=True)
    write(group, "signature", [s for _, s in ordered], strings=True)


def read_kinds(group, where, allowed=None):
    """The ``[(method, parsed signature)]`` table written by `write_kinds`.

    Every method must be one of ``allowed`` (default: the registered kernels' and the
    setup calls, `.schema.SETUP_METHODS`): a file names engine methods, and must not
    reach any other (``close``, ``__init__``). A registered kernel's signature must fit
    its registry entry (`check_kernel_signature`).
    """
    methods = read(group, "method", where, schema.STRING)
    signatures = read(group, "signature", where, schema.STRING)
    if len(methods) != len(signatures):
        raise FileFormatError(f"{where}: {len(methods)} call kinds but "
                              f"{len(signatures)} signatures")
    kinds = [(str(m), _parse(str(s), where)) for m, s in zip(methods, signatures)]
    known = (kernel_methods() | set(schema.SETUP_METHODS)) if allowed is None else allowed
    for method, tokens in kinds:
        if method not in known:
            raise FileFormatError(f"{where}: {method!r} is not an engine call a model "
                                  "file may make (no kernel registers it)")
        check_kernel_signature(method, tokens, where)
    return kinds


def kernel_methods():
    """The engine methods registered kernels create their ops with."""
    # Imported here: the registry reads the engine module, which files need not.
    # pylint: disable-next=import-outside-toplevel
    from ..kernels import neuron_kernels, operator_kernels

    methods = {m for kernel in operator_kernels() for m in (kernel.methods or {})}
    return methods | {kernel.method for kernel in neuron_kernels()}


def check_kernel_signature(method, tokens, where):
    """Raise FileFormatError if ``method`` is a registered kernel's and ``tokens`` (a
    parsed signature) are not its arguments: as many as its entry names, and for a
    neuron kernel a view (``i``) for J, the output and each state signal, then a float
    or bool per parameter."""
    # Imported here: the registry reads the engine module, which files need not.
    # pylint: disable-next=import-outside-toplevel
    from ..kernels import neuron_kernels, operator_kernels

    for kernel in operator_kernels():
        names = (kernel.methods or {}).get(method)
        if names is not None and len(tokens) != len(names):
            raise FileFormatError(
                f"{where}: {method} takes {list(names)}, but the file stores "
                f"{len(tokens)} arguments ({tokens})")
    for kernel in neuron_kernels():
        if kernel.method != method:
            continue
        n_views = 2 + len(kernel.state)
        ok = (len(tokens) == n_views + len(kernel.params)
              and all(t == "i" for t in tokens[:n_views])
              and all(t in ("f", "b") for t in tokens[n_views:]))
        if not ok:
            raise FileFormatError(
                f"{where}: {method} takes {list(kernel.arguments[2:])} (views, then "
                f"numbers), but the file stores the arguments {tokens}")
        return


def _numeric_dtype(text, where):
    """The numpy dtype of an array or scalar token: numbers only (never objects)."""
    try:
        dtype = np.dtype(text)
    except (TypeError, ValueError):
        raise FileFormatError(f"{where}: unknown dtype {text!r} in a call") from None
    if dtype.kind not in "biufc" or dtype.hasobject or dtype.itemsize == 0:
        raise FileFormatError(f"{where}: a call argument of dtype {dtype} (numbers only)")
    return dtype


def _parse(signature, where):
    """A signature as a nested list of tokens (tuples become sub-lists)."""
    stack = [[]]
    for token in signature.split():
        if token == "(":
            stack.append([])
        elif token == ")":
            if len(stack) == 1:
                raise FileFormatError(f"{where}: malformed call signature {signature!r}")
            inner = stack.pop()
            stack[-1].append(inner)
        elif token in ("i", "f", "b", "s", "n", "li", "lf", "lb", "le", "p"):
            stack[-1].append(token)
        elif token[0] in "ag" and len(token) > 1:
            _numeric_dtype(token[1:], where)
            stack[-1].append(token)
        else:
            raise FileFormatError(f"{where}: unknown argument type {token!r} in a call")
    if len(stack) != 1:
        raise FileFormatError(f"{where}: malformed call signature {signature!r}")
    return stack[0]


class CallReader:
    """Reads back the calls a `CallWriter` wrote to a group.

    Parameters
    ----------
    group : h5py.Group
        The group holding ``kind`` and the pools.
    kinds : list
        The file's kind table, from `read_kinds`.
    where : str
        Names the file and group in error messages.
    trusted : bool, optional
        Whether the file may unpickle arguments of type ``p``.
    methods : collection of str, optional
        The engine methods these calls may name (None: any of the kinds table).
    """

    def __init__(self, group, kinds, where, trusted=False, methods=None):
        self.where = where
        self.trusted = trusted
        self.kinds = kinds
        self.methods = methods
        self.kind_ids = read(group, "kind", where, schema.CALL_DTYPES["kind"])
        self.pools = {name: read(group, name, where, schema.POOL_DTYPES[name])
                      for name in POOLS}
        self.pos = dict.fromkeys(POOLS, 0)

    def __len__(self):
        return len(self.kind_ids)

    def calls(self):
        """Yield ``(method, args)`` for every call, in the order they were added."""
        try:
            for kind in self.kind_ids:
                kind = int(kind)
                if not 0 <= kind < len(self.kinds):
                    raise FileFormatError(f"{self.where}: call kind {kind} is not in the "
                                          f"file's table of {len(self.kinds)}")
                method, tokens = self.kinds[kind]
                if self.methods is not None and method not in self.methods:
                    raise FileFormatError(f"{self.where}: a call to {method} where only "
                                          f"{sorted(self.methods)} may be")
                yield method, tuple(self._values(tokens))
            if any(self.pos[k] != len(v) for k, v in self.pools.items()):
                raise FileFormatError(
                    f"{self.where}: stored calls do not use all their data")
        except FileFormatError:
            raise
        except (IndexError, ValueError, TypeError) as e:
            raise FileFormatError(
                f"{self.where}: stored calls are inconsistent: {e}") from None

    def _take(self, pool, n):
        if n < 0:
            raise FileFormatError(f"{self.where}: a stored call takes {n} values")
        start = self.pos[pool]
        end = start + n
        values = self.pools[pool]
        if end > len(values):
            raise FileFormatError(
                f"{self.where}: stored calls run past their '{pool}' data")
        self.pos[pool] = end
        return values[start:end]

    def _values(self, tokens):
        for token in tokens:
            if isinstance(token, list):
                yield tuple(self._values(token))
            elif token == "i":
                yield int(self._take("int", 1)[0])
            elif token == "f":
                yield float(self._take("float", 1)[0])
            elif token == "b":
                yield bool(self._take("bool", 1)[0])
            elif token == "s":
                yield str(self._take("str", 1)[0])
            elif token == "n":
                yield None
            elif token == "le":
                yield []
            elif token in ("li", "lf", "lb"):
                n = int(self._take("dim", 1)[0])
                pool = {"li": "int", "lf": "float", "lb": "bool"}[token]
                yield self._take(pool, n).tolist()
            elif token[0] == "a":
                dtype = np.dtype(token[1:])
                ndim = int(self._take("dim", 1)[0])
                if not 0 <= ndim <= schema.MAX_ARRAY_DIMS:
                    raise FileFormatError(
                        f"{self.where}: a stored array has {ndim} dimensions")
                shape = tuple(int(d) for d in self._take("dim", ndim))
                if any(d < 0 for d in shape):
                    raise FileFormatError(
                        f"{self.where}: a stored array has the shape {shape}")
                # Python ints: a forged shape cannot overflow into a small size.
                nbytes = math.prod(shape) * dtype.itemsize
                raw = self._take("bytes", nbytes)
                yield np.frombuffer(raw.tobytes(), dtype=dtype).reshape(shape).copy()
            elif token[0] == "g":
                dtype = np.dtype(token[1:])
                yield np.frombuffer(self._take("bytes", dtype.itemsize).tobytes(), dtype)[0]
            else:  # "p"
                require_trust(self.trusted, self.where,
                              "a Python argument of an engine call")
                n = int(self._take("dim", 1)[0])
                yield cloudpickle.loads(self._take("bytes", n).tobytes())
