import os
import sys

# Shared test models (tests/models.py) import as a plain module.
sys.path.insert(0, os.path.dirname(__file__))
