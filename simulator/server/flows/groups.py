"""Groups v2 (``w:g2``): the group store, admin rules, notifications, message fan-out (§3.5).

Theory of operation
-------------------
Every ``w:g2`` iq is routed by its first child: ``query`` (info), ``participating`` /
``owning`` (lists), ``list`` (participant JIDs, yowsup 2.5) as ``get``; ``create``,
``subject``, ``add``, ``remove``, ``promote``, ``demote``, ``leave`` as ``set``. Anything
else, and every legacy groups-v1 iq (``xmlns="w:g"``), is left unrouted and answered
``501 feature-not-implemented`` (§3.0, §3.5 allows it for v1).

Group ids are ``<creator number>-<creation unix time>``; a second group created by the
same user in the same second takes the next free second in its id (its ``creation``
stays the true time), so ids are unique and deterministic.

Refusals, checked in this order (§4.2): unknown group ``404 item-not-found``; requester
not a participant ``401 not-authorized``; not an admin (add, remove, promote, demote)
``403 forbidden``; no subject or no participant ``400 bad-request``; subject longer than
the ``max_subject`` property ``406 not-acceptable``; a create or add that would make the
group larger than ``max_participants`` ``406 not-acceptable`` — the whole request is
refused, nothing is added. Leaving a group one is not in is ``405 not-allowed``; a leave
naming several groups is refused as a whole if any of them is wrong. JIDs that cannot be
added (unregistered, already members, or users who blocked the requester) or removed (not
members) are left out of the success list (§3.5: the era's only per-JID failure form);
a user who blocked the requester is neither added nor told anything, on create as on add.

Who is told (§4.6): every ``w:gp2`` notification goes to the participants except the
actor, delivered with ``ctx.deliver`` (kept pending until acked, replayed at login). The
removed users are always told; on create every invited user gets the full GROUP
(``<create type="new">``), and a user added to an existing group gets it too, as
``<create>`` without ``type``, while the members already in get ``<add>``. When a group
is left without an admin (its last admin left, was removed or was demoted), its oldest
remaining participant becomes admin and every participant gets a ``<promote>``
notification naming the user whose action caused it. The last participant out deletes
the group.

The iq result always goes out before the notifications (§4.3).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from simulator import stanzas
from simulator.errors import StanzaError
from simulator.jid import group_jid, phone_of, user_jid
from simulator.server.parse import int_or, parse_user_jid
from simulator.wire.node import Node

if TYPE_CHECKING:
    from collections.abc import Iterable

    from simulator.server.context import HandlerContext
    from simulator.server.router import Router
    from simulator.server.state import Group

__all__ = ["fan_out", "group_node", "member_group", "register"]

XMLNS: Final = "w:g2"
ADMIN: Final = "admin"


def register(router: Router) -> None:
    gets = {
        "query": handle_info,
        "participating": handle_list,
        "owning": handle_list,
        "list": handle_participants,
    }
    sets = {
        "create": handle_create,
        "subject": handle_subject,
        "add": handle_add,
        "remove": handle_remove,
        "promote": handle_promote,
        "demote": handle_demote,
        "leave": handle_leave,
    }
    for child, handler in gets.items():
        router.add("iq", handler, type="get", xmlns=XMLNS, child=child, section="§3.5")
    for child, handler in sets.items():
        router.add("iq", handler, type="set", xmlns=XMLNS, child=child, section="§3.5")


# -------------------------------------------------------------------- nodes


def group_node(group: Group) -> Node:
    """GROUP (§3.5): the bare id, integer ``creation``/``s_t``, one ``participant`` each."""
    attrs = {
        "id": group.id,
        "creator": group.creator,
        "creation": str(group.creation),
        "subject": group.subject,
        "s_t": str(group.subject_time),
        "s_o": group.subject_owner,
    }
    members = [
        Node("participant", {"jid": jid, "type": role} if role else {"jid": jid})
        for jid, role in group.participants.items()
    ]
    return Node("group", attrs, members)


def _participants(tag: str, jids: Iterable[str], attrs: dict[str, str] | None = None) -> Node:
    return Node(tag, attrs, [Node("participant", {"jid": jid}) for jid in jids])


def _notification(ctx: HandlerContext, group: Group, payload: Node) -> Node:
    """The ``w:gp2`` envelope (§3.15): from the group, the actor as ``participant``."""
    return stanzas.notification.build(
        group.jid,
        "w:gp2",
        ctx.new_id(),
        str(ctx.now()),
        [payload],
        participant=ctx.jid,
        notify=ctx.account.push_name,
    )


# -------------------------------------------------------------------- checks


def _group(ctx: HandlerContext, node: Node, *, admin: bool = False) -> Group:
    """The group the iq is addressed to, if the requester may act on it."""
    return member_group(ctx, node.get("to", ""), admin=admin)


def member_group(ctx: HandlerContext, gjid: str, *, admin: bool = False) -> Group:
    """Group ``gjid`` if the requester is in it (and an admin, with ``admin``), else the
    refusal in the order of the module docstring: 404, 401, 403."""
    group = ctx.state.groups.get(group_jid(gjid))
    if group is None:
        raise StanzaError(404, "item-not-found")
    if ctx.jid not in group.participants:
        raise StanzaError(401, "not-authorized")
    if admin and not group.is_admin(ctx.jid):
        raise StanzaError(403, "forbidden")
    return group


def _subject(ctx: HandlerContext, subject: str | None) -> str:
    if not subject:
        raise StanzaError(400, "bad-request")
    if len(subject) > _limit(ctx, "max_subject", 25):
        raise StanzaError(406, "not-acceptable")
    return subject


def _jids(payload: Node) -> list[str]:
    """The ``<participant jid/>`` JIDs of a payload, once each, in order."""
    jids = (
        parse_user_jid(p.get("jid"), "participant jid")
        for p in payload.children_named("participant")
    )
    return list(dict.fromkeys(jids))


def _requested(node: Node) -> list[str]:
    """The participants an add/remove/promote/demote names; at least one."""
    jids = _jids(node.children[0])
    if not jids:
        raise StanzaError(400, "bad-request")
    return jids


def _addable(ctx: HandlerContext, jid: str) -> bool:
    """Whether the requester may put ``jid`` into a group: a registered user who has not
    blocked the requester. A user who blocked you hears nothing from you, and a group
    would be a way around that (§3.4)."""
    return jid in ctx.state.accounts and not ctx.state.blocks(jid, ctx.jid)


def _check_size(ctx: HandlerContext, size: int) -> None:
    if size > _limit(ctx, "max_participants", 101):
        raise StanzaError(406, "not-acceptable")


def _limit(ctx: HandlerContext, prop: str, default: int) -> int:
    return int_or(ctx.server.config.props.get(prop), default)


def _new_group_jid(ctx: HandlerContext, creation: int) -> str:
    """``<creator>-<creation>@g.us``, bumping the second until the id is free."""
    creator, second = phone_of(ctx.jid), creation
    while group_jid(f"{creator}-{second}") in ctx.state.groups:
        second += 1
    return group_jid(f"{creator}-{second}")


def _others(group: Group, actor: str) -> list[str]:
    return [jid for jid in group.participants if jid != actor]


# -------------------------------------------------------------------- handlers


async def handle_create(ctx: HandlerContext, node: Node) -> None:
    """Create a group (creator = admin) and send every invited user the full GROUP."""
    request = node.children[0]
    subject = _subject(ctx, request.get("subject"))
    invited = [j for j in _jids(request) if j != ctx.jid and _addable(ctx, j)]
    _check_size(ctx, 1 + len(invited))
    now = ctx.now()
    members: dict[str, str | None] = {ctx.jid: ADMIN, **dict.fromkeys(invited)}
    group = ctx.state.add_group(_new_group_jid(ctx, now), subject, ctx.jid, now, members)
    ctx.result(node, [Node("group", {"id": group.id})])
    created = Node("create", {"type": "new"}, [group_node(group)])
    ctx.notify(invited, _notification(ctx, group, created))


async def handle_info(ctx: HandlerContext, node: Node) -> None:
    """A group's GROUP element: subject, creator, times, participants and admins."""
    ctx.result(node, [group_node(_group(ctx, node))])


async def handle_list(ctx: HandlerContext, node: Node) -> None:
    """The groups the user is in (``participating``) or administers (``owning``)."""
    groups = ctx.state.groups_of(ctx.jid, admin=node.children[0].tag == "owning")
    ctx.result(node, [Node("groups", children=[group_node(g) for g in groups])])


async def handle_participants(ctx: HandlerContext, node: Node) -> None:
    """The participant JIDs alone (yowsup 2.5's ``<list/>`` request)."""
    group = _group(ctx, node)
    ctx.result(node, [Node("participant", {"jid": jid}) for jid in group.participants])


async def handle_subject(ctx: HandlerContext, node: Node) -> None:
    """Change the subject; the other participants get a ``<subject>`` notification."""
    group = _group(ctx, node)
    subject = _subject(ctx, node.children[0].text)
    now = ctx.now()
    ctx.state.set_subject(group.jid, subject, ctx.jid, now)
    ctx.result(node)
    payload = Node("subject", {"subject": subject, "s_o": ctx.jid, "s_t": str(now)})
    ctx.notify(_others(group, ctx.jid), _notification(ctx, group, payload))


async def handle_add(ctx: HandlerContext, node: Node) -> None:
    """An admin adds users: the members get ``<add>``, each added user the whole GROUP.

    The iq result has one ``<add type="success">`` per user added. The members already
    in the group get ``<add>``; each added user gets ``<create>`` (without ``type="new"``)
    carrying the whole GROUP, as the real service sent it in 2015 (a bot decides on that
    ``<create>`` whether to stay; docs/corrections.md).
    """
    group = _group(ctx, node, admin=True)
    added = [
        jid for jid in _requested(node) if _addable(ctx, jid) and jid not in group.participants
    ]
    _check_size(ctx, len(group.participants) + len(added))
    ctx.state.add_participants(group.jid, added)
    ctx.result(node, [Node("add", {"type": "success", "participant": jid}) for jid in added])
    if not added:
        return
    # The docs' recorded <add> carries the subject (§3.15 [subject]).
    payload = _participants("add", added, {"subject": group.subject})
    already = [jid for jid in _others(group, ctx.jid) if jid not in added]
    ctx.notify(already, _notification(ctx, group, payload))
    joined = Node("create", children=[group_node(group)])
    ctx.notify(added, _notification(ctx, group, joined))


async def handle_remove(ctx: HandlerContext, node: Node) -> None:
    """An admin removes members; the removed and the remaining members are told."""
    group = _group(ctx, node, admin=True)
    removed = [jid for jid in _requested(node) if jid in group.participants]
    ctx.state.remove_participants(group.jid, removed)
    ctx.result(node, [Node("remove", {"type": "success", "participant": jid}) for jid in removed])
    if removed:
        payload = _participants("remove", removed, {"subject": group.subject})
        ctx.notify([*_others(group, ctx.jid), *removed], _notification(ctx, group, payload))
    _keep_an_admin(ctx, group)


async def handle_promote(ctx: HandlerContext, node: Node) -> None:
    """An admin makes members admins; the other participants are told."""
    _set_role(ctx, node, ADMIN)


async def handle_demote(ctx: HandlerContext, node: Node) -> None:
    """An admin makes admins plain members; the other participants are told."""
    _set_role(ctx, node, None)


def _set_role(ctx: HandlerContext, node: Node, role: str | None) -> None:
    group = _group(ctx, node, admin=True)
    changed = [
        jid
        for jid in _requested(node)
        if jid in group.participants and group.participants[jid] != role
    ]
    ctx.state.set_role(group.jid, changed, role)
    ctx.result(node)
    if changed:
        payload = _participants(node.children[0].tag, changed)
        ctx.notify(_others(group, ctx.jid), _notification(ctx, group, payload))
    _keep_an_admin(ctx, group, passed_over=changed)


async def handle_leave(ctx: HandlerContext, node: Node) -> None:
    """Leave groups; the remaining members are told, the last one out deletes the group."""
    named = (group_jid(g.get("id", "")) for g in node.children[0].children_named("group"))
    gjids = list(dict.fromkeys(named))
    if not gjids:
        raise StanzaError(400, "bad-request")
    for gjid in gjids:
        group = ctx.state.groups.get(gjid)
        if group is None:
            raise StanzaError(404, "item-not-found")
        if ctx.jid not in group.participants:
            raise StanzaError(405, "not-allowed")
    ctx.result(node, [Node("leave", children=[Node("group", {"id": gjid}) for gjid in gjids])])
    for gjid in gjids:
        group = ctx.state.groups[gjid]
        ctx.state.remove_participants(gjid, [ctx.jid])
        payload = _participants("remove", [ctx.jid])
        ctx.notify(list(group.participants), _notification(ctx, group, payload))
        _keep_an_admin(ctx, group)


def _keep_an_admin(ctx: HandlerContext, group: Group, passed_over: Iterable[str] = ()) -> None:
    """Delete an empty group; give an admin-less one its oldest participant as admin.

    Users just demoted are passed over unless nobody else is left.
    """
    if not group.participants:
        ctx.state.delete_group(group.jid)
        return
    if group.admins:
        return
    skip = set(passed_over)
    eligible = [jid for jid in group.participants if jid not in skip]
    heir = eligible[0] if eligible else next(iter(group.participants))
    ctx.state.set_role(group.jid, [heir], ADMIN)
    payload = _participants("promote", [heir])
    ctx.notify(list(group.participants), _notification(ctx, group, payload))


# -------------------------------------------------------------------- messages


def fan_out(ctx: HandlerContext, node: Node, t: str) -> None:
    """Deliver a group message to every other participant (§3.10, §4.5).

    A sender that is not a participant is acked and nothing is delivered; a member who
    blocked the sender gets nothing (§3.4). An end-to-end encrypted message is split:
    each member gets only its own ``<participants>`` entry (:func:`_own_copy`).
    """
    gjid = node.get("to", "")
    members = ctx.state.group_members(gjid)
    if ctx.jid not in members:
        return
    ctx.state.record_group_message(gjid, node.get("id", ""), ctx.jid)
    copy = stanzas.message.incoming(
        node, sender=gjid, t=t, notify=ctx.account.push_name, participant=ctx.jid
    )
    author = ctx.jid
    recipients = ctx.state.not_blocking(members, author)
    if node.child("participants") is None:
        ctx.deliver_each(recipients, copy)  # one copy for all: nothing in it is per member
        return
    for member in recipients:  # end-to-end encrypted (§3.12): each gets its own entry
        own = _own_copy(copy, member)
        if own is not None:
            ctx.deliver(member, own)


def _own_copy(copy: Node, member: str) -> Node | None:
    """An encrypted group message as ``member`` gets it (§3.12): ``<participants>`` is
    replaced by the ``<enc>`` of its ``<to jid=member>`` entry, if it has one.

    The shared ``skmsg`` ``<enc>`` stays. ``None`` when nothing is left for ``member`` (a
    re-send after a ``retry`` receipt carries only the asker's entry).
    """
    children: list[Node] = []
    for child in copy.children:
        if child.tag != "participants":
            children.append(child)
            continue
        for entry in child.children_named("to"):
            if user_jid(entry.get("jid", "")) == member:
                children.extend(entry.children_named("enc"))
                break
    return copy.replace(children=children) if children else None
