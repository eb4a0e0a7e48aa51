"""Write ``environment.yml`` from ``requirements-lock.txt`` so the conda route installs the same pins.

Run after changing the lock: ``python tools/write_environment.py``.
``tests/test_environment.py`` fails when the two files disagree.
"""

import pathlib
import sys

ROOT = pathlib.Path(__file__).resolve().parents[1]
PYTHON = "3.11"


def lock_pins() -> list[str]:
    lines = (ROOT / "requirements-lock.txt").read_text().splitlines()
    return [line.strip() for line in lines if line.strip() and not line.startswith("#")]


def render() -> str:
    pins = "\n".join(f"      - {pin}" for pin in lock_pins())
    return f"""# Conda environment for the factorlab book and package (`conda env create -f environment.yml`).
# Generated from requirements-lock.txt by tools/write_environment.py: edit the lock, not this.
name: factorlab
channels:
  - conda-forge
dependencies:
  - python={PYTHON}
  - pip
  - pip:
{pins}
      - -e ./pkg
"""


if __name__ == "__main__":
    (ROOT / "environment.yml").write_text(render())
    sys.exit(0)
