"""Sources: list, show, star, flag, delete the conversation or the whole source."""

from datetime import UTC, datetime
from http import HTTPStatus

from flask import Blueprint, Response, request
from sqlalchemy.orm import Session

from core import deletion
from core.models import Journalist, Source
from journalist_app.api.context import ApiContext, json_response, list_response, read_page
from journalist_app.api.errors import UnknownObject
from journalist_app.api.listing import count_sources, find_source, load_sources
from journalist_app.api.serialization import serialize_source


def require_source(db: Session, source_uuid: str) -> Source:
    source = find_source(db, source_uuid)
    if source is None:
        raise UnknownObject(f"No source with uuid {source_uuid}.")
    return source


def add_source_routes(bp: Blueprint, ctx: ApiContext) -> None:
    @bp.get("/sources")
    @ctx.authenticated
    def list_sources(db: Session, journalist: Journalist) -> Response:
        page = read_page(request.args)
        rows = load_sources(db, page=page)
        return list_response("sources", rows, serialize_source, page, lambda: count_sources(db))

    @bp.get("/sources/<source_uuid>")
    @ctx.authenticated
    def show_source(db: Session, journalist: Journalist, source_uuid: str) -> Response:
        rows = load_sources(db, uuid=source_uuid)
        if not rows:
            raise UnknownObject(f"No source with uuid {source_uuid}.")
        return json_response(serialize_source(rows[0]))

    @bp.delete("/sources/<source_uuid>")
    @ctx.authenticated
    def delete_source(db: Session, journalist: Journalist, source_uuid: str) -> Response:
        source = require_source(db, source_uuid)
        ctx.record(db, journalist, "delete_source", object=source.uuid)
        deletion.delete_source(db, ctx.instance, source)
        return json_response({"message": "Source and submissions deleted"})

    @bp.delete("/sources/<source_uuid>/conversation")
    @ctx.authenticated
    def delete_conversation(db: Session, journalist: Journalist, source_uuid: str) -> Response:
        source = require_source(db, source_uuid)
        ctx.record(db, journalist, "delete_conversation", object=source.uuid)
        deletion.delete_conversation(db, ctx.instance, source)
        return json_response({"message": "Source data deleted"})

    @bp.post("/sources/<source_uuid>/add_star")
    @ctx.authenticated
    def add_star(db: Session, journalist: Journalist, source_uuid: str) -> Response:
        source = require_source(db, source_uuid)
        source.is_starred = True
        ctx.record(db, journalist, "star", object=source.uuid)
        return json_response({"message": "Star added"}, HTTPStatus.CREATED)

    @bp.delete("/sources/<source_uuid>/remove_star")
    @ctx.authenticated
    def remove_star(db: Session, journalist: Journalist, source_uuid: str) -> Response:
        source = require_source(db, source_uuid)
        source.is_starred = False
        ctx.record(db, journalist, "unstar", object=source.uuid)
        return json_response({"message": "Star removed"})

    @bp.post("/sources/<source_uuid>/flag")
    @ctx.authenticated
    def flag_source(db: Session, journalist: Journalist, source_uuid: str) -> Response:
        # SecureDrop once flagged sources for a new reply key; every Skrynka source has one
        # from the start, so this only answers the old clients that still call it.
        require_source(db, source_uuid)
        return json_response({"message": "Source flagged for reply"})


def touch_source(source: Source) -> None:
    """A reply is activity: the source moves up the list, as in the web interface."""
    source.last_updated = datetime.now(UTC)
