"""Error pages for staff that say what happened in the words of the view that refused.

core.web's generic pages use Werkzeug's stock descriptions only (right for sources, where a
message could echo input). Staff views pass fixed, specific messages to ``abort`` ("This item
was deleted while you were opening it"), and those are shown here.
"""

from flask import Flask, Response, render_template, request
from werkzeug.exceptions import HTTPException

from core.web import ERROR_TITLES, render_error_page


def install_error_pages(app: Flask) -> None:
    @app.errorhandler(HTTPException)
    def staff_error(error: HTTPException) -> Response:
        code = error.code or 500
        description = error.description or type(error).description or ""
        if request.path.startswith("/api/") or code >= 500:
            return render_error_page(code, type(error).description or "")
        body = render_template(
            "error.html", code=code, title=ERROR_TITLES.get(code, "Error"), message=description
        )
        return Response(body, status=code, mimetype="text/html")
