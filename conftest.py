"""Repository-wide pytest set-up.

Docstring examples in the package run as tests (like ``--doctest-modules``), unless the doctest
plugin is switched off with ``-p no:doctest`` (handy for notebook-only runs).
"""

import matplotlib

matplotlib.use("Agg")  # no display in tests; notebooks keep their inline backend


def pytest_configure(config):
    if config.pluginmanager.has_plugin("doctest"):
        config.option.doctestmodules = True
