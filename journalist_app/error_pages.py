"""Error pages for staff that say what happened in the words of the view that refused.

core.web's generic pages use Werkzeug's stock descriptions only (right for sources, where a
message could echo input). Staff views pass fixed, specific messages to ``abort`` ("This item
was deleted while you were opening it"), already translated, and those are shown here under a
title in the staff member's language. API errors and server errors (500 and above) keep
core.web's self-contained English page: it needs no template, so it still works when rendering
is what failed.
"""

from flask import Flask, Response, render_template, request
from flask_babel import LazyString, lazy_gettext
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


def error_title(code: int) -> str:
    """The page title for an HTTP status, in the language of the request."""
    return str(ERROR_TITLES.get(code, OTHER_ERROR_TITLE))


def install_error_pages(app: Flask) -> None:
    @app.errorhandler(HTTPException)
    def staff_error(error: HTTPException) -> Response:
        code = error.code or 500
        description = error.description or type(error).description or ""
        if request.path.startswith("/api/") or code >= 500:
            return render_error_page(code, type(error).description or "")
        body = render_template(
            "error.html", code=code, title=error_title(code), message=description
        )
        return Response(body, status=code, mimetype="text/html")
