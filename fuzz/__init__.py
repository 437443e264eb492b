"""The fuzz campaign on nengo_mpi's files (`make fuzz`; a fast subset runs in
``tests/test_fuzz_files.py``): crafted model files, checkpoints and probe files must each
end in a clear error, a run, or a refusal to unpickle, never in a crash, a hang or a
memory blow-up. See ``fuzz/README.md``."""
