"""Sources: list, show, star, flag, delete the conversation or the whole source."""

from http import HTTPStatus

from flask import Blueprint, Response, request
from sqlalchemy.orm import Session

from core.inbox import count_visible_sources, find_source, list_all_sources
from core.models import Journalist, Source
from core.staff_actions import delete_sources, set_star
from journalist_app.api.context import (
    api,
    authenticated,
    json_response,
    list_response,
    read_page,
)
from journalist_app.api.errors import UnknownObject
from journalist_app.api.serialization import serialize_source


def require_source(db: Session, source_uuid: str) -> Source:
    """The source staff may see (``core.inbox.find_source``), or a JSON 404."""
    source = find_source(db, source_uuid)
    if source is None:
        raise UnknownObject(f"No source with uuid {source_uuid}.")
    return source


@authenticated
def list_sources(db: Session, journalist: Journalist) -> Response:
    page = read_page(request.args)
    rows = list_all_sources(db, page=page)
    return list_response(
        "sources", rows, serialize_source, page, lambda: count_visible_sources(db)
    )


@authenticated
def show_source(db: Session, journalist: Journalist, source_uuid: str) -> Response:
    rows = list_all_sources(db, uuid=source_uuid)
    if not rows:
        raise UnknownObject(f"No source with uuid {source_uuid}.")
    return json_response(serialize_source(rows[0]))


@authenticated
def delete_source(db: Session, journalist: Journalist, source_uuid: str) -> Response:
    source = require_source(db, source_uuid)
    delete_sources(api().actor(db, journalist), [source], whole_source=True)
    return json_response({"message": "Source and submissions deleted"})


@authenticated
def delete_conversation(db: Session, journalist: Journalist, source_uuid: str) -> Response:
    source = require_source(db, source_uuid)
    delete_sources(api().actor(db, journalist), [source], whole_source=False)
    return json_response({"message": "Source data deleted"})


@authenticated
def add_star(db: Session, journalist: Journalist, source_uuid: str) -> Response:
    source = require_source(db, source_uuid)
    set_star(api().actor(db, journalist), [source], True)
    return json_response({"message": "Star added"}, HTTPStatus.CREATED)


@authenticated
def remove_star(db: Session, journalist: Journalist, source_uuid: str) -> Response:
    source = require_source(db, source_uuid)
    set_star(api().actor(db, journalist), [source], False)
    return json_response({"message": "Star removed"})


@authenticated
def flag_source(db: Session, journalist: Journalist, source_uuid: str) -> Response:
    # SecureDrop once flagged sources for a new reply key; every Skrynka source has one
    # from the start, so this only answers the old clients that still call it.
    require_source(db, source_uuid)
    return json_response({"message": "Source flagged for reply"})


def add_source_routes(bp: Blueprint) -> None:
    bp.get("/sources")(list_sources)
    bp.get("/sources/<source_uuid>")(show_source)
    bp.delete("/sources/<source_uuid>")(delete_source)
    bp.delete("/sources/<source_uuid>/conversation")(delete_conversation)
    bp.post("/sources/<source_uuid>/add_star")(add_star)
    bp.delete("/sources/<source_uuid>/remove_star")(remove_star)
    bp.post("/sources/<source_uuid>/flag")(flag_source)
