"""``python -m nengo_mpi.testing LOG``: summarise a split log (see `split_log`)."""

import json
import sys

from .split_log import summarise_split_log


def main(path):
    """Print the summary of the split log at ``path``."""
    summary = summarise_split_log(path)
    unsplit = summary.pop("not_split_tests")
    fallbacks = summary.pop("fallback_classes")
    print(json.dumps(summary, indent=1))
    print("classes run through Python (number of tests):")
    for name, count in fallbacks.items():
        print(f"   {name}: {count}")
    print(f"{len(unsplit)} tests with a model left in one component:")
    for test in unsplit:
        print("  ", test)


if __name__ == "__main__":
    main(sys.argv[1])
