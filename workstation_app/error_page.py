"""A clear page for every failure: each workstation error, each HTTP error, anything unexpected.

Every `WorkstationError` class has its own entry here (a test walks the classes and checks), so
a person reads what happened in their language, what to do next, and the workstation's own
detailed message; the status code is chosen here, at the edge. Nothing shows a traceback: an
unexpected exception becomes a short page and one line on the desk's terminal.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from flask import Flask, render_template
from flask_babel import LazyString
from flask_babel import lazy_gettext as _l
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from workstation import errors as ws

LOG = logging.getLogger("skrynka.desk")


@dataclass(frozen=True)
class Explanation:
    status: int
    title: LazyString
    advice: LazyString


_STORE = _l("Check that the evidence store is where the desk was started with, then try again.")
_REFUSED = Explanation(422, _l("The file was not converted"), _l(
    "The original is unchanged. Do not open it on this machine; tell the security lead if the "
    "source may be hostile."))
EXPLANATIONS: dict[type[ws.WorkstationError], Explanation] = {
    ws.WorkstationError: Explanation(400, _l("This could not be done"), _l(
        "Nothing was changed. Read the details below; they say what to do.")),
    # These say in their details exactly what happened and what to do; the page adds no more.
    **{cls: Explanation(status, _l("This could not be done"), _l(
        "Nothing was changed. Read the details below; they say what to do."))
       for cls, status in ((ws.AssessmentRefused, 400), (ws.BundleNotImported, 404),
                           (ws.OwnAssessmentNotConfirmable, 400),
                           (ws.FixityFailed, 500),
                           (ws.NoSpaceLeft, 507), (ws.SearchIndexError, 500),
                           (ws.StampTokenRefused, 400), (ws.StampTokenUnmatched, 400),
                           (ws.TsaRootsUnusable, 400))},
    ws.EvidenceStoreError: Explanation(500, _l("The evidence store cannot be used"), _STORE),
    ws.StoreExists: Explanation(409, _l("There is already an evidence store there"), _STORE),
    ws.StoreMissing: Explanation(500, _l("The evidence store is missing"), _STORE),
    ws.StoreLocked: Explanation(409, _l("Someone else is changing the store"), _l(
        "Another command is changing the evidence store right now. Wait a moment and try "
        "again.")),
    ws.CatalogueIndexBroken: Explanation(500, _l("The list of items cannot be read"), _l(
        "The evidence itself is safe. Ask the administrator to rebuild the list with "
        "“skrynka-workstation catalogue rebuild”.")),
    ws.KeySetupError: Explanation(500, _l("A key cannot be used"), _STORE),
    ws.BundleRejected: Explanation(422, _l("The bundle was refused"), _l(
        "Nothing from this bundle was imported. Do not use it: ask intake staff for a fresh "
        "download.")),
    ws.ItemNotFound: Explanation(404, _l("No such item"), _l(
        "The item may have been deleted. Go back to the list of items.")),
    ws.AmbiguousItem: Explanation(404, _l("More than one item matches"), _l(
        "Open the item from the list of items instead.")),
    ws.CaseError: Explanation(400, _l("The case cannot be used like this"), _l(
        "Check the case name: letters, digits, dot, underscore or dash, starting with a letter "
        "or digit.")),
    ws.IncidentRefused: Explanation(400, _l("The incident was not changed"), _l(
        "Nothing was recorded. Read the details below; they say what to do.")),
    ws.IncidentNotFound: Explanation(404, _l("No such incident"), _l(
        "Open the incident from the timeline instead.")),
    ws.CustodyBroken: Explanation(409, _l("The custody log is broken"), _l(
        "Stop handling evidence on this workstation, leave the store as it is and tell the "
        "person responsible for it.")),
    ws.ConsentRecordInvalid: Explanation(422, _l("A consent record cannot be read"), _l(
        "The item is treated as allowed for this platform only.")),
    ws.MetadataToolError: Explanation(500, _l("The metadata tool failed"), _l(
        "No working copy was made. Check that mat2 is installed.")),
    ws.ExportError: Explanation(400, _l("The package was not written"), _l(
        "Nothing was exported and the custody log does not mention it. Check the folder and "
        "the free space, then try again.")),
    ws.ExportPreviewMismatch: Explanation(409, _l("The case changed since the preview"), _l(
        "Nothing was exported. Look at the new preview and export again.")),
    ws.SandboxUnavailable: Explanation(500, _l("The sandbox cannot start"), _l(
        "No file is opened without the sandbox. Ask the person responsible for this "
        "workstation to install bubblewrap.")),
    ws.ConversionRefused: _REFUSED,
    ws.ConversionTimedOut: _REFUSED,
    ws.ConversionLimitHit: _REFUSED,
    ws.ConversionFailed: _REFUSED,
    ws.PackageInvalid: Explanation(422, _l("The package does not verify"), _l(
        "Do not rely on this package; ask the sender for a new copy.")),
}

HTTP_TITLES: dict[int, LazyString] = {
    400: _l("The request could not be understood"),
    403: _l("Not allowed"),
    404: _l("Page not found"),
    405: _l("Not allowed here"),
    413: _l("Too large"),
    421: _l("Wrong address"),
    500: _l("Something went wrong"),
}


def explain(error: ws.WorkstationError) -> Explanation:
    for cls in type(error).__mro__:
        if cls in EXPLANATIONS and issubclass(cls, ws.WorkstationError):
            return EXPLANATIONS[cls]
    return EXPLANATIONS[ws.WorkstationError]


def _workstation_error(error: ws.WorkstationError) -> tuple[str, int]:
    found = explain(error)
    return render_template("error.html", title=found.title, advice=found.advice,
                           detail=str(error)), found.status


def _csrf_error(error: CSRFError) -> tuple[str, int]:
    return render_template(
        "error.html", title=_l("This form cannot be accepted"),
        advice=_l("The form came without its security token, or from another page. Nothing was "
                  "changed. Go back, reload the page and try again."),
        detail=None), 400


def _http_error(error: HTTPException) -> tuple[str, int]:
    code = error.code or 500
    return render_template("error.html", title=HTTP_TITLES.get(code, HTTP_TITLES[500]),
                           advice=None, detail=None), code


def _unexpected_error(error: Exception) -> tuple[str, int]:
    LOG.error("desk: unexpected %s: %s", type(error).__name__, error)
    return render_template(
        "error.html", title=HTTP_TITLES[500],
        advice=_l("Nothing more is known. Try again; if it happens again, tell the person "
                  "responsible for this workstation."), detail=None), 500


def register_error_pages(app: Flask) -> None:
    app.register_error_handler(ws.WorkstationError, _workstation_error)
    app.register_error_handler(CSRFError, _csrf_error)
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(Exception, _unexpected_error)
