"""Built models as files: save once, run on any number of ranks, stream results."""
