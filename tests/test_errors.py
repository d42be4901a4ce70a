"""One exception hierarchy (errors/__init__.py, docs/architecture.md "Errors"): every exception class the
project defines is an `MlpathError`, and the command line turns any of them into one line."""

from __future__ import annotations

import importlib
import inspect
import pkgutil

import errors
from errors import MlpathError, UserError

PACKAGES = ["errors", "mlpath", "bot", "knowledge", "progress", "ingest"]
OUTSIDE = {
    "mlpath.terminal._Leave",  # control flow of the chat loop, not an error
}


def project_exceptions() -> dict[str, type[BaseException]]:
    found: dict[str, type[BaseException]] = {}
    for package in PACKAGES:
        module = importlib.import_module(package)
        names = [package] + [m.name for m in pkgutil.walk_packages(module.__path__, package + ".")
                             if ".migrations" not in m.name and not m.name.endswith("onnx_export")]
        for name in names:
            for cls_name, cls in inspect.getmembers(importlib.import_module(name), inspect.isclass):
                if issubclass(cls, BaseException) and cls.__module__ == name:
                    found[f"{name}.{cls_name}"] = cls
    return found


def test_every_exception_the_project_defines_is_an_mlpath_error():
    found = project_exceptions()
    assert {"progress.mentoring.MentoringError", "mlpath.app.commands.UsageError", "ingest.readers.ReadError",
            "knowledge.llm.LLMUnavailable", "progress.scheduler.CannotCheck"} <= set(found)
    strays = {name for name, cls in found.items() if not issubclass(cls, MlpathError)} - OUTSIDE
    assert not strays, f"not in the hierarchy of errors/__init__.py: {sorted(strays)}"
    assert errors.__doc__ and all(name.rsplit(".", 1)[1] in errors.__doc__ for name in found if name not in OUTSIDE)


def test_the_command_line_prints_any_of_them_as_one_line(monkeypatch, capsys):
    from mlpath import cli
    from progress.service import UnknownMember

    for exc, code in ((UserError("DATABASE_URL is not a URL", exit_code=3), 3), (UnknownMember("no member U1"), 2)):
        def fail(_args, exc=exc):
            raise exc

        monkeypatch.setattr(cli, "cmd_path", fail)
        assert cli.main(["path"]) == code
        err = capsys.readouterr().err
        assert err == f"mlpath: error: {exc}\n"
