"""Several reports from one scan: which format goes where.

``undone scan --format html --format json --output report.html --output result.json`` writes
both from the one result document, as InSpec writes several reporters in one run; so does
``--format html --format json --output reports/`` (an existing folder, or a path ending in
``/``), where each format gets its usual file name (:data:`FILE_NAMES`). One format without
``--output`` goes to standard output, as before; several formats need a place each, so that
two reports never interleave on standard output.
"""

from __future__ import annotations

import io
import os
from typing import TYPE_CHECKING

from reports import FILE_NAMES, RENDERERS
from scanner.errors import InputError

if TYPE_CHECKING:
    from scanner.result import ResultDocument

__all__ = ["FILE_NAMES", "folder_to_create", "is_folder", "plan", "render"]


def is_folder(path: str) -> bool:
    return path.endswith(("/", os.sep)) or os.path.isdir(path)


def plan(formats: tuple[str, ...] | list[str], outputs: tuple[str, ...] | list[str]
         ) -> list[tuple[str, str | None]]:
    """(format, file or None for standard output) for each format asked for, in order."""
    wanted = list(dict.fromkeys(formats or ("console",)))
    if len(wanted) < len(formats or ()):
        raise InputError("--format: a format is given twice; give each once")
    outs = list(outputs or ())
    if not outs:
        if len(wanted) > 1:
            raise InputError(f"--format {' '.join(wanted)}: several reports need a place each: "
                             "an --output per format, in the same order, or one --output "
                             "FOLDER/")
        return [(wanted[0], None)]
    if len(outs) == 1 and is_folder(outs[0]):
        return [(f, os.path.join(outs[0], FILE_NAMES[f])) for f in wanted]
    if any(is_folder(o) for o in outs):
        raise InputError("--output: a folder takes every report; give it alone, or one file "
                         "per --format")
    if len(outs) != len(wanted):
        raise InputError(f"--output given {len(outs)} times for {len(wanted)} formats "
                         f"({', '.join(wanted)}): give one file per format, in the same order, "
                         "or one folder")
    if len(set(outs)) != len(outs):
        raise InputError("--output: one file is given for two formats; each needs its own")
    return list(zip(wanted, outs, strict=True))


def folder_to_create(outputs: tuple[str, ...] | list[str]) -> str | None:
    """The folder the reports go to when it must be made first: one ``--output`` ending in
    ``/`` that does not exist yet. A file whose folder is missing is never a reason to make
    one: that is a mistyped path, refused before the scan (scanner/safeio.py)."""
    if len(outputs) == 1 and outputs[0].endswith(("/", os.sep)) and not os.path.isdir(outputs[0]):
        return outputs[0].rstrip("/" + os.sep) or outputs[0]
    return None


def _module(fmt: str) -> str:
    return {"json": "jsonout", "summary": "html", "console": "console"}.get(fmt) or RENDERERS[fmt]


def load_renderers(formats: tuple[str, ...] | list[str]) -> None:
    """Import the renderers of ``formats`` now, before a scan, so that a scan stopped by a
    signal writes its reports without waiting for an import."""
    import importlib

    for fmt in formats:
        importlib.import_module(f"reports.{_module(fmt)}")


def render(doc: ResultDocument, fmt: str, pretty: bool = False, verbose: bool = False,
           color: bool | None = False, width: int | None = 110) -> str:
    """The result document in ``fmt`` (one module per format in ``reports``). ``color`` and
    ``width`` are the console's (None: decide from a terminal); ``pretty`` indents JSON."""
    import importlib

    buf = io.StringIO()
    if fmt == "json":
        from reports import jsonout

        jsonout.render(doc, buf, indent=2 if pretty else None)
    elif fmt == "summary":
        from reports import html

        html.render_summary(doc, buf)
    elif fmt == "console":
        from reports import console

        console.render(doc, buf, color=color, width=width, verbose=verbose)
    else:
        importlib.import_module(f"reports.{_module(fmt)}").render(doc, buf)
    return buf.getvalue()
