"""Sign-in, sign-out and the staff accounts: /token, /logout, /user, /users."""

from http import HTTPStatus

from flask import Blueprint, Response, request
from sqlalchemy.orm import Session

from core.audit_actions import AuditAction
from core.errors import AuthenticationFailed, LoginThrottled
from core.models import Journalist
from core.sign_in import authenticate_journalist
from core.staff_accounts import find_journalist, list_journalists
from core.staff_sessions import open_session, revoke_session
from journalist_app.api.body import read_body_object
from journalist_app.api.context import api, authenticated, json_response, read_token
from journalist_app.api.errors import InvalidField, MissingField, SignInFailed
from journalist_app.api.serialization import (
    format_datetime,
    serialize_current_user,
    serialize_user,
)

TOKEN_FIELDS = ("username", "passphrase", "one_time_code")
# The same answer for every refusal, so a client learns nothing about which factor was wrong.
SIGN_IN_FAILED = "Token authentication failed."


def issue_token() -> Response:
    document = read_body_object(request)
    for name in TOKEN_FIELDS:
        if name not in document:
            raise MissingField(f"{name} field is missing")
        if not isinstance(document[name], str):
            raise InvalidField(f"{name} must be a string")
    context = api()
    with context.instance.sessions() as db:
        try:
            # Records the attempt and commits it even when it fails (throttling).
            journalist = authenticate_journalist(
                db,
                context.instance.settings,
                username=document["username"],
                passphrase=document["passphrase"],
                code=document["one_time_code"],
                # API clients keep no device cookie: they count among the unknown clients.
                client=f"unknown:{request.remote_addr or ''}",
                throttle=context.sign_in_throttle,
            )
        except AuthenticationFailed as exc:
            db.rollback()
            known = find_journalist(db, document["username"])
            context.record(
                db,
                known,
                AuditAction.SIGN_IN_FAILED,
                detail="throttled" if isinstance(exc, LoginThrottled) else None,
            )
            db.commit()
            raise SignInFailed(SIGN_IN_FAILED) from exc
        token, expires = open_session(db, journalist, kind="api", lifetime=context.session_lifetime)
        context.record(db, journalist, AuditAction.SIGN_IN)
        db.commit()
        return json_response(
            {
                "token": token,
                "expiration": format_datetime(expires),
                "journalist_uuid": journalist.uuid,
                "journalist_first_name": journalist.first_name,
                "journalist_last_name": journalist.last_name,
            }
        )


@authenticated
def logout(db: Session, journalist: Journalist) -> Response:
    revoke_session(db, read_token(request.headers.get("Authorization")))
    api().record(db, journalist, AuditAction.SIGN_OUT)
    return json_response({"message": "Your token has been revoked."}, HTTPStatus.OK)


@authenticated
def current_user(db: Session, journalist: Journalist) -> Response:
    return json_response(serialize_current_user(journalist))


@authenticated
def all_users(db: Session, journalist: Journalist) -> Response:
    return json_response({"users": [serialize_user(j) for j in list_journalists(db)]})


def add_account_routes(bp: Blueprint) -> None:
    bp.post("/token")(issue_token)
    bp.post("/logout")(logout)
    bp.get("/user")(current_user)
    bp.get("/users")(all_users)
