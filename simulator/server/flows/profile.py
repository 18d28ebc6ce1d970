"""Profile and group pictures (``w:profile:picture``) and statuses (``status``) (§3.2, §3.3).

Who may see what (§3.4, §4.6), for a user ``owner`` and a ``viewer``: ``State.can_see``
with the ``profile`` category for pictures and ``status`` for statuses, so a block, a
``none`` setting, or a ``contacts`` setting without the viewer in the owner's address
book hides it. A group picture is visible to the group's participants.

Who is told about a change: the users whose address book holds the owner's number and
who may see it (own picture, status), or every other participant (group picture, with
the setter as ``participant``). A picture id is the upload time in server seconds,
bumped past the previous id of the same owner so that two uploads never share one.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from simulator import stanzas
from simulator.errors import StanzaError
from simulator.jid import is_group, user_jid
from simulator.server.flows.groups import member_group
from simulator.server.parse import int_or
from simulator.server.state import Picture, Status
from simulator.wire.node import Node

if TYPE_CHECKING:
    from collections.abc import Iterable

    from simulator.server.context import HandlerContext
    from simulator.server.router import Router

__all__ = ["DEFAULT_STATUS", "register"]

PICTURE: Final = "w:profile:picture"
STATUS: Final = "status"
DEFAULT_STATUS: Final = b"Hey there! I am using WhatsApp."
"""What a user who never set a status shows (§3.3)."""
PICTURE_TYPES: Final = frozenset({"preview", "image"})


def register(router: Router) -> None:
    router.add("iq", handle_get_picture, type="get", xmlns=PICTURE, child="picture", section="§3.2")
    router.add("iq", handle_set_picture, type="set", xmlns=PICTURE, child="picture", section="§3.2")
    router.add("iq", handle_list_pictures, type="get", xmlns=PICTURE, child="list", section="§3.2")
    router.add("iq", handle_legacy_set_picture, type="set", child="picture", section="§3.2")
    router.add("iq", handle_set_status, type="set", xmlns=STATUS, child="status", section="§3.3")
    router.add("iq", handle_get_statuses, type="get", xmlns=STATUS, child="status", section="§3.3")


# -------------------------------------------------------------------- pictures


def _picture_access(ctx: HandlerContext, target: str) -> None:
    """Raise unless the requester may see ``target``'s picture (404 unknown, 401 hidden)."""
    if is_group(target):
        member_group(ctx, target)
    elif target not in ctx.state.accounts:
        raise StanzaError(404, "item-not-found")
    elif not ctx.state.can_see(target, ctx.jid, "profile"):
        raise StanzaError(401, "not-authorized")


async def handle_get_picture(ctx: HandlerContext, node: Node) -> None:
    """A user's or group's picture, ``preview`` or ``image`` (404 none, 401 hidden)."""
    target = node.get("to") or ctx.jid
    kind = node.children[0].get("type", "")
    if kind not in PICTURE_TYPES:
        raise StanzaError(400, "bad-request")
    _picture_access(ctx, target)
    picture = ctx.state.pictures.get(target)
    if picture is None:
        raise StanzaError(404, "item-not-found")
    data = picture.image if kind == "image" else picture.preview
    ctx.result(node, [Node("picture", {"type": kind, "id": picture.id}, data=data)], sender=target)


async def handle_list_pictures(ctx: HandlerContext, node: Node) -> None:
    """The picture id of each listed user or group (no ``id``: none, or hidden)."""
    users = []
    for user in node.children[0].children_named("user"):
        jid = user.get("jid", "")
        picture = ctx.state.pictures.get(jid)
        try:
            _picture_access(ctx, jid)
        except StanzaError:
            picture = None
        users.append(Node("user", {"jid": jid, "id": picture.id} if picture else {"jid": jid}))
    ctx.result(node, [Node("list", children=users)])


async def handle_set_picture(ctx: HandlerContext, node: Node) -> None:
    """Set (or, with empty pictures, delete) one's own or a group's picture; tell who may see it."""
    target = node.get("to") or ctx.jid
    _may_change_picture(ctx, target)
    pictures = node.children_named("picture")
    image = next((p.data for p in pictures if p.get("type", "image") == "image" and p.data), None)
    preview = next((p.data for p in pictures if p.get("type") == "preview" and p.data), None)
    if image is None:
        if preview is not None:
            raise StanzaError(400, "bad-request")
        _delete_picture(ctx, node, target)
        return
    previous = ctx.state.pictures.get(target)
    after = int_or(previous.id, -1) + 1 if previous is not None else 0
    picture_id = str(max(ctx.now(), after))
    ctx.state.set_picture(target, Picture(picture_id, image, preview or image))
    # yowsup 2.5 reads this answer with its get-picture parser: the child is mandatory (§3.2).
    ctx.result(node, [Node("picture", {"type": "image", "id": picture_id})], sender=target)
    _tell_picture_audience(ctx, target, Node("set", {"jid": target, "id": picture_id}))


async def handle_legacy_set_picture(ctx: HandlerContext, node: Node) -> None:
    """The 2014 WhatsAPI form: no iq ``xmlns``, ``<picture xmlns="w:profile:picture">``."""
    if node.get("xmlns") is not None or node.children[0].get("xmlns") != PICTURE:
        raise StanzaError(501, "feature-not-implemented")
    await handle_set_picture(ctx, node)


def _may_change_picture(ctx: HandlerContext, target: str) -> None:
    """Only the user itself, or a group admin (403; 401 outside the group; 404 no group)."""
    if is_group(target):
        member_group(ctx, target, admin=True)
    elif user_jid(target) != ctx.jid:
        raise StanzaError(401, "not-authorized")


def _delete_picture(ctx: HandlerContext, node: Node, target: str) -> None:
    existed = ctx.state.delete_picture(target)
    ctx.result(node, sender=target)
    if existed:
        _tell_picture_audience(ctx, target, Node("delete", {"jid": target}))


def _tell_picture_audience(ctx: HandlerContext, target: str, change: Node) -> None:
    stanza_id, t = ctx.new_id(), str(ctx.now())
    extra: dict[str, str] = {}
    if is_group(target):
        extra["participant"] = ctx.jid
        audience: Iterable[str] = (m for m in ctx.state.group_members(target) if m != ctx.jid)
    else:
        audience = _audience(ctx, "profile")
    node = stanzas.notification.build(target, "picture", stanza_id, t, [change], **extra)
    ctx.notify(audience, node)


def _audience(ctx: HandlerContext, category: str) -> list[str]:
    """Who hears about the requester's ``profile``/``status`` changes (§4.6)."""
    return [
        jid
        for jid in ctx.state.synced_by(ctx.jid)
        if jid != ctx.jid and ctx.state.can_see(ctx.jid, jid, category)
    ]


# -------------------------------------------------------------------- statuses


async def handle_set_status(ctx: HandlerContext, node: Node) -> None:
    """Store the status text (raw bytes) and tell the contacts who may see it."""
    text = node.children[0].data
    if not text:
        raise StanzaError(400, "bad-request")
    request_id = node.get("id", "")
    current = ctx.state.statuses.get(ctx.jid)
    ctx.result(node)
    if current is not None and current.request_id == request_id and current.text == text:
        return  # the same iq again (yowsup 2.5.7 sends each one twice): answered, nothing new
    ctx.state.set_status(ctx.jid, Status(text, ctx.now(), request_id))
    change = Node("set", data=text)
    node = stanzas.notification.build(ctx.jid, "status", ctx.new_id(), str(ctx.now()), [change])
    ctx.notify(_audience(ctx, "status"), node)


async def handle_get_statuses(ctx: HandlerContext, node: Node) -> None:
    """Each listed user's status and when it was set; hidden and unknown users are left out."""
    users = []
    for user in node.children[0].children_named("user"):
        jid = user.get("jid", "")
        account = ctx.state.accounts.get(jid)
        if account is None or not ctx.state.can_see(jid, ctx.jid, "status"):
            continue
        status = ctx.state.statuses.get(jid)
        text, t = (status.text, status.t) if status else (DEFAULT_STATUS, account.creation)
        users.append(Node("user", {"jid": jid, "t": str(t)}, data=text))
    ctx.result(node, [Node("status", children=users)])
