"""Repository-wide pytest set-up.

Docstring examples in the package run as tests (like ``--doctest-modules``), unless the doctest
plugin is switched off with ``-p no:doctest`` (handy for notebook-only runs). nbval accepts
printed decimals that differ in their last digits between CPU models (``tools/nbval_numbers.py``).
"""

import importlib.util
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # no display in tests; notebooks keep their inline backend


def _load_tool(name):
    spec = importlib.util.spec_from_file_location(name, Path(__file__).parent / "tools" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def pytest_configure(config):
    if config.pluginmanager.has_plugin("doctest"):
        config.option.doctestmodules = True
    if config.pluginmanager.has_plugin("nbval"):
        import nbval.plugin

        _load_tool("nbval_numbers").install(nbval.plugin.IPyNbCell)
