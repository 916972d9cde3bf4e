import sys
from pathlib import Path

# Tests import the package as `toolchain`, the way the wrappers run it.
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
