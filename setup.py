"""The package layout pyproject.toml cannot say: each top-level folder installs inside `kindling`,
with every folder below it (data folders too: prompts, migrations, the studio's templates)."""

from setuptools import find_namespace_packages, setup

FOLDERS = {"kindling": "kindling", "kindling.agents": "agents", "kindling.graphs": "graphs",
           "kindling.store": "store", "kindling.ingest": "ingest", "kindling.rl": "rl",
           "kindling.prompts": "prompts", "kindling.configs": "configs"}

packages = [name + (f".{sub}" if sub else "") for name, folder in FOLDERS.items()
            for sub in ["", *find_namespace_packages(folder, exclude=["*__pycache__*"])]]
setup(packages=packages, package_dir=FOLDERS)
