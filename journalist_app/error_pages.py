"""Error pages for staff that say what happened in the words of the view that refused.

core.web's generic pages use Werkzeug's stock descriptions only (right for sources, where a
message could echo input). Staff views pass fixed, specific messages to ``abort`` ("This item
was deleted while you were opening it"), already translated, and those are shown here under a
title in the staff member's language. An ``abort`` without a description of its own carries
Werkzeug's stock English sentence; staff read a short translated one instead, and a form whose
security token expired gets its own translated page rather than core.web's English one. API
errors and server errors (500 and above) keep core.web's self-contained English page: it needs
no template, so it still works when rendering is what failed.
"""

from flask import Flask, Response, render_template, request
from flask_babel import LazyString, lazy_gettext
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from core.web import render_error_page

# The same statuses as core.web.ERROR_TITLES (tests/journalist_app/test_i18n.py keeps them in
# step), translated when the page is rendered.
ERROR_TITLES: dict[int, LazyString] = {
    400: lazy_gettext("The request could not be understood"),
    403: lazy_gettext("Not allowed"),
    404: lazy_gettext("Page not found"),
    405: lazy_gettext("Not allowed here"),
    413: lazy_gettext("Too large"),
    429: lazy_gettext("Too many attempts"),
    500: lazy_gettext("Something went wrong"),
    503: lazy_gettext("Please try again later"),
}
OTHER_ERROR_TITLE = lazy_gettext("Error")
# What staff read when the view gave no reason of its own (Werkzeug's stock text is English).
GENERIC_MESSAGES: dict[int, LazyString] = {
    400: lazy_gettext("Go back, reload the page and try again."),
    403: lazy_gettext("Your account may not open this page."),
    404: lazy_gettext("Check the address, or go back to the inbox."),
    405: lazy_gettext("Go back, reload the page and try again."),
    413: lazy_gettext("What you sent is larger than this server accepts."),
    429: lazy_gettext("Wait a few minutes, then try again."),
}
OTHER_ERROR_MESSAGE = lazy_gettext("Go back and try again.")
EXPIRED_FORM = lazy_gettext(
    "This form has expired or was sent twice. Go back, reload the page and try again."
)


def error_title(code: int) -> str:
    """The page title for an HTTP status, in the language of the request."""
    return str(ERROR_TITLES.get(code, OTHER_ERROR_TITLE))


def error_message(error: HTTPException) -> str:
    """What went wrong, in the language of the request: the view's own (already translated)
    description, or a generic sentence when ``abort`` gave none of its own."""
    if error.description and error.description != type(error).description:
        return str(error.description)
    return str(GENERIC_MESSAGES.get(error.code or 500, OTHER_ERROR_MESSAGE))


def install_error_pages(app: Flask) -> None:
    @app.errorhandler(HTTPException)
    def staff_error(error: HTTPException) -> Response:
        code = error.code or 500
        if request.path.startswith("/api/") or code >= 500:
            return render_error_page(code, type(error).description or "")
        return _staff_page(code, error_message(error))

    @app.errorhandler(CSRFError)
    def expired_form(error: CSRFError) -> Response:
        # Flask-WTF's reasons ("The CSRF token has expired.") are English and technical; the
        # API is exempt from CSRF, so only pages come here.
        return _staff_page(400, str(EXPIRED_FORM))


def _staff_page(code: int, message: str) -> Response:
    body = render_template("error.html", code=code, title=error_title(code), message=message)
    return Response(body, status=code, mimetype="text/html")
