"""Error pages in the source's language.

core.web gives every app short English error pages that work even when templates fail; for
sources, who may read no English, the same situations get a page of the site in their language.
Slow uploads over Tor make an expired form the most common of them. If rendering the page
itself fails, core.web's plain page is the fallback. Nothing about the request is logged.
"""

import logging

from flask import Flask, Response, render_template, request
from flask_babel import lazy_gettext
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException, InternalServerError

from core.outage import RETRY_AFTER_SECONDS, Outage, outage_of
from core.submissions import MAX_FILES_PER_SUBMISSION
from core.web import render_error_page
from source_app.drain import refuse_upload
from source_app.errors import MalformedUpload, ServerBusy, SpoolingRefused, TooManyParts

# Titles and explanations by status code; anything else gets the general wording.
_PAGES = {
    400: (
        lazy_gettext("The request could not be understood"),
        lazy_gettext("Go back, reload the page and try again."),
    ),
    403: (lazy_gettext("Not allowed"), lazy_gettext("This page is not open to you.")),
    404: (
        lazy_gettext("Page not found"),
        lazy_gettext("Check the address, or start again from the first page."),
    ),
    405: (
        lazy_gettext("Not allowed here"),
        lazy_gettext("Go back, reload the page and try again."),
    ),
    413: (
        lazy_gettext("Too large"),
        lazy_gettext("What you sent is larger than this site accepts."),
    ),
    429: (
        lazy_gettext("Too many attempts"),
        lazy_gettext("Wait a few minutes, then try again."),
    ),
}
_GENERAL = (
    lazy_gettext("Something went wrong"),
    lazy_gettext("Please try again in a few minutes."),
)
_UNAVAILABLE = (
    lazy_gettext("Please try again later"),
    lazy_gettext(
        "The site cannot take what you sent right now. Nothing you sent was kept. Please try "
        "again later: your codename still works."
    ),
)
_FILE_ELSEWHERE = lazy_gettext(
    "Files can be sent only with the form on your page. Nothing was kept; go back and use that "
    "form."
)
_EXPIRED_FORM = lazy_gettext(
    "This form has expired or was sent twice. Go back, reload the page and try again."
)


def register_error_pages(app: Flask) -> None:
    """Replace core.web's English error pages with translated ones for the source app."""
    app.register_error_handler(CSRFError, _expired_form)
    # The source app's own errors that can escape a view (source_app.errors); the others are
    # raised at start-up only (TranslationsUnavailable) and stop the app from being built.
    app.register_error_handler(SpoolingRefused, _file_elsewhere)
    app.register_error_handler(MalformedUpload, _malformed_upload)
    app.register_error_handler(TooManyParts, _too_many_parts)
    app.register_error_handler(ServerBusy, _busy)
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(Exception, _unexpected_error)


def _page(code: int, title: str, message: str) -> Response:
    try:
        html = render_template("error.html", title=title, message=message)
    except Exception:  # noqa: BLE001 (a broken page must still answer, in plain English)
        logging.getLogger("skrynka").error("The error page itself failed to render")
        return render_error_page(code, str(message))
    return Response(html, status=code, mimetype="text/html")


def _expired_form(error: CSRFError) -> Response:
    return _page(400, str(_PAGES[400][0]), str(_EXPIRED_FORM))


def _file_elsewhere(error: SpoolingRefused) -> Response:
    # A file sent to a form that takes none: nothing was read into a file; the rest of the
    # body is left to drain so that the browser shows this page.
    return refuse_upload(_page(400, str(_PAGES[400][0]), str(_FILE_ELSEWHERE)))


def _malformed_upload(error: MalformedUpload) -> Response:
    html = render_template("upload_malformed.html")
    return refuse_upload(Response(html, status=400, mimetype="text/html"))


def _too_many_parts(error: TooManyParts) -> Response:
    # The form of a source who chose more files than a submission may hold.
    html = render_template("too_many_files.html", max_files=MAX_FILES_PER_SUBMISSION)
    return refuse_upload(Response(html, status=413, mimetype="text/html"))


def _busy(error: ServerBusy) -> Response:
    response = Response(render_template("busy.html"), status=503, mimetype="text/html")
    response.headers["Retry-After"] = "60"
    return response


def _http_error(error: HTTPException) -> Response:
    code = error.code or 500
    title, message = _PAGES.get(code, _GENERAL)
    return _page(code, str(title), str(message))


def _unexpected_error(error: Exception) -> Response:
    outage = outage_of(error)
    if outage is not None:
        return _outage_page(outage)
    # The type only: a message or traceback may contain what a source typed.
    logging.getLogger("skrynka").error("Unhandled %s in a request", type(error).__name__)
    title, message = _GENERAL
    return _page(InternalServerError.code, str(title), str(message))


def _outage_page(outage: Outage) -> Response:
    # The operator learns what failed and what to do; the source, that nothing was kept and
    # that coming back later works. Neither line carries anything of the request.
    logging.getLogger("skrynka").error("Request refused (%s): %s", outage.kind, outage.advice)
    page = _page(503, str(_UNAVAILABLE[0]), str(_UNAVAILABLE[1]))
    page.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
    # An upload may be refused half-way: the page must still reach the browser.
    return refuse_upload(page) if request.endpoint == "main.submit" else page
