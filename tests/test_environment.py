"""The conda environment and the pip lock install the same packages."""

import pathlib

import yaml

ROOT = pathlib.Path(__file__).resolve().parents[1]


def pip_entries():
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    for dep in env["dependencies"]:
        if isinstance(dep, dict) and "pip" in dep:
            return dep["pip"]
    raise AssertionError("environment.yml has no pip section")


def test_environment_pins_equal_the_lock():
    lock = {line.strip() for line in (ROOT / "requirements-lock.txt").read_text().splitlines()
            if line.strip() and not line.startswith("#")}
    conda = {entry for entry in pip_entries() if not entry.startswith("-e")}
    assert conda == lock, ("environment.yml and requirements-lock.txt differ; run "
                           f"`python tools/write_environment.py`. Only in the lock: "
                           f"{sorted(lock - conda)}; only in environment.yml: {sorted(conda - lock)}")


def test_environment_installs_the_package_editable():
    assert "-e ./pkg" in pip_entries()


def test_lock_pins_every_package_and_the_local_torch_wheel():
    lines = [l for l in (ROOT / "requirements-lock.txt").read_text().splitlines() if l.strip()]
    assert all("==" in line for line in lines), "every lock entry must be pinned with =="
    assert "torch==2.13.0" in lines  # the CPU wheel on the build machines; unpinned pulls CUDA
    names = {line.split("==")[0].lower() for line in lines}
    for needed in ("jupyter-book", "myst-nb", "nbval", "pytest", "pytest-xdist", "hypothesis",
                   "scikit-learn", "ipykernel", "numpy", "scipy", "matplotlib", "ipywidgets",
                   "tensorly", "tqdm", "selenium"):
        assert needed in names, f"{needed} is missing from the lock"
