"""What the ids in the audit log stand for, so the audit page can show names beside them.

Audit entries keep ids (they must stay meaningful after renames and deletions); people read
names. A staff id becomes its username, a source id its designation, an item id its kind and
its source's designation. An id whose row was deleted has no name and the page shows the id
alone. Three queries, whatever the number of ids.
"""

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.models import Reply, Source, Submission


def name_audit_objects(
    database: Session, uuids: list[str], usernames: dict[str, str]
) -> dict[str, str]:
    """What each object id on an audit page stands for: a username, a source's designation, or
    an item and the designation of its source. Ids of deleted rows have no name."""
    wanted = set(uuids)
    named = {uuid: name for uuid, name in usernames.items() if uuid in wanted}
    if not wanted:
        return named
    for uuid, designation in database.execute(
        select(Source.uuid, Source.journalist_designation).where(Source.uuid.in_(wanted))
    ):
        named[uuid] = designation
    for uuid, kind, designation in database.execute(
        select(Submission.uuid, Submission.kind, Source.journalist_designation)
        .join(Source, Submission.source_id == Source.id)
        .where(Submission.uuid.in_(wanted))
    ):
        named[uuid] = f"{kind} from {designation}"
    for uuid, designation in database.execute(
        select(Reply.uuid, Source.journalist_designation)
        .join(Source, Reply.source_id == Source.id)
        .where(Reply.uuid.in_(wanted))
    ):
        named[uuid] = f"reply to {designation}"
    return named
