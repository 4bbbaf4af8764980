"""Celery discovers `workflows.tasks`; this imports the tasks module of every sub-package
(engine, apply, workbench, progress) that has one, so each registers its tasks."""

import importlib
import importlib.util

SUBPACKAGES = ("engine", "apply", "workbench", "progress")

for _name in SUBPACKAGES:
    if importlib.util.find_spec(f"workflows.{_name}.tasks") is not None:
        importlib.import_module(f"workflows.{_name}.tasks")
