"""Partitioning of Nengo networks into components, one per MPI process.

This subpackage depends only on Nengo (and optionally pymetis), not on
the rest of nengo_mpi, so it can be used and tested on its own.
"""

from .partitioner import Partitioner

__all__ = ["Partitioner"]
