"""How many fuzzed inputs each category tried; conftest prints it at the end of the run."""
from collections import Counter

FUZZED = Counter()
