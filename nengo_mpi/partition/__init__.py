"""Partitioning of Nengo networks into components, one per MPI process.

This subpackage depends on Nengo (and optionally pymetis), and on the rest
of nengo_mpi only where it must know the engine: `calibrate` runs it, and
`tiles` asks which neuron types it steps elementwise (both import lazily).
"""

from .partitioner import Partitioner

__all__ = ["Partitioner"]
