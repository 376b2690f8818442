"""Guidance pages for sources: reaching the service safely, after sending, metadata, what next.

Written for a frightened reader who is not technical, in every supported language, linked from
every page of the source interface. The pages are static text: they work at Tor Browser's
Safest level, load nothing from elsewhere and show web addresses as plain text only.
"""

from collections.abc import Callable
from dataclasses import dataclass

from flask import Blueprint, Flask, render_template
from flask_babel import LazyString, lazy_gettext


@dataclass(frozen=True)
class GuidePage:
    """One page of the guide: where it lives, what it is called, how long it takes to read."""

    endpoint: str
    path: str
    template: str
    title: LazyString
    summary: LazyString
    minutes: int


def guide_pages() -> tuple[GuidePage, ...]:
    """The pages in reading order (the index page lists them)."""
    return (
        GuidePage(
            "tor",
            "/tor",
            "guidance/tor.html",
            lazy_gettext("Reaching this site safely from Belarus"),
            lazy_gettext(
                "Tor Browser, bridges when Tor is blocked, the Safest security level, Tails, "
                "and why not to use your work or personal phone."
            ),
            5,
        ),
        GuidePage(
            "after",
            "/after",
            "guidance/after.html",
            lazy_gettext("After you send something"),
            lazy_gettext(
                "Remembering your codename, clearing traces, borders and checkpoints, "
                "and what to do if something goes wrong."
            ),
            3,
        ),
        GuidePage(
            "metadata",
            "/metadata",
            "guidance/metadata.html",
            lazy_gettext("Hidden information in photos and documents"),
            lazy_gettext(
                "Location and device details in photos, printer tracking dots, marked documents, "
                "and how we protect you from them."
            ),
            4,
        ),
        GuidePage(
            "what_next",
            "/what-next",
            "guidance/what_next.html",
            lazy_gettext("What happens to your material"),
            lazy_gettext(
                "Who sees it, how it is kept as evidence, and how your consent decides where "
                "it may go."
            ),
            3,
        ),
    )


def make_guidance_blueprint() -> Blueprint:
    """The `guidance` blueprint, mounted at /guide."""
    blueprint = Blueprint("guidance", __name__, url_prefix="/guide")
    pages = guide_pages()

    @blueprint.get("/")
    def index() -> str:
        return render_template("guidance/index.html", pages=pages, page=None)

    for page in pages:
        blueprint.add_url_rule(page.path, page.endpoint, _page_view(page, pages))
    return blueprint


def _page_view(page: GuidePage, pages: tuple[GuidePage, ...]) -> Callable[[], str]:
    def view() -> str:
        return render_template(page.template, pages=pages, page=page)

    view.__name__ = f"guide_{page.endpoint}"
    return view


def register_guidance(app: Flask, bridge_lines: tuple[str, ...] = ()) -> None:
    """Serve the guide under /guide and let every template link to its pages.

    ``bridge_lines`` are the operator's own bridges (already checked by core.bridges when the
    settings loaded), shown on the landing page and in the guide's bridge section.
    """
    app.register_blueprint(make_guidance_blueprint())
    pages = guide_pages()

    @app.context_processor
    def guide_context() -> dict[str, object]:
        return {"guide_pages": pages, "bridge_lines": bridge_lines}
