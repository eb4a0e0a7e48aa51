"""Print a copy of ``_config.yml`` that builds the book from the stored notebook outputs.

``make test`` uses it after nbval has verified those outputs, so nothing is executed twice.
"""

import pathlib

import yaml

ROOT = pathlib.Path(__file__).resolve().parents[1]

config = yaml.safe_load((ROOT / "_config.yml").read_text())
config["execute"]["execute_notebooks"] = "off"
# Paths in the config are read relative to the config file, which this copy is not beside.
local = config["sphinx"].get("local_extensions", {})
config["sphinx"]["local_extensions"] = {name: str(ROOT / path) for name, path in local.items()}
print(yaml.safe_dump(config, sort_keys=False))
