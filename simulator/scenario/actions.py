"""Carrying out the actions of :class:`~simulator.scenario.plan.UserAction` and
:class:`~simulator.scenario.plan.ServerAction` steps: the plan holds what to do as data
(:data:`~simulator.scenario.plan.ClientOp`, :data:`~simulator.scenario.plan.ServiceOp`);
this module is the one place that knows how, one ``match`` each. The runtime calls it
with the user's client and itself as the :class:`~simulator.scenario.plan.Context`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, assert_never

from simulator.client.registration import RegistrationFailed, code_register, code_request
from simulator.scenario.plan import (
    AskWebPairing,
    ClearFaults,
    EndSession,
    ExpireAccount,
    MarkDirty,
    NotifyContacts,
    NotifyFeatures,
    Pay,
    RegisterCode,
    ReleaseFault,
    RequestCode,
    Ring,
    SetBlocked,
    SetFault,
    SetPicture,
    SuspendAccount,
    Upload,
)
from simulator.server.faults import FaultError
from simulator.server.flows import account
from simulator.server.flows.contacts import notify_contacts
from simulator.stanzas.errors import stream_error
from simulator.wire.node import Node

if TYPE_CHECKING:
    from simulator.client import Client
    from simulator.scenario.plan import ClientOp, Context, Party, ServiceOp

__all__ = ["answer_node", "run_client_op", "run_service_op"]


async def run_client_op(op: ClientOp, client: Client, rt: Context) -> Node | None:
    """Do ``op`` with the user's client; the service's answer, if the operation has one."""
    match op:
        case SetBlocked():
            for target in [rt.render_text(jid) for jid in op.targets]:
                await (client.block(target) if op.block else client.unblock(target))
            return None
        case SetPicture():
            pictures = (
                [Node("picture"), Node("picture", {"type": "preview"})]
                if op.image is None
                else [
                    Node("picture", {"type": "image"}, data=op.image),
                    Node("picture", {"type": "preview"}, data=op.image),
                ]
            )
            attrs = {"type": "set", "xmlns": "w:profile:picture", "to": rt.render_text(op.to)}
            return await client.iq(Node("iq", attrs, pictures))
        case Upload():
            sent = await client.upload_media(
                rt.render_text(op.to),
                op.data,
                op.kind,
                filename=op.filename,
                caption=rt.render_text(op.caption) if op.caption is not None else None,
                mimetype=op.mimetype,
            )
            if op.bind_id is not None:
                rt.bind({op.bind_id: sent.id})
            return None
        case _:  # pragma: no cover - every operation is listed above
            assert_never(op)


async def run_service_op(op: ServiceOp, rt: Context) -> Node | None:
    """Make the service do ``op``; the answer to check, if the operation has one."""
    service = rt.server
    match op:
        case NotifyContacts():
            notify_contacts(service, op.jid, op.change)
        case Ring():
            if account.inject_call(service, op.callee.jid, op.caller.jid) is None:
                rt.fail(f"the server cannot ring {op.callee.label}: not connected")
        case Pay():
            account.notify_payment(
                service, op.party.jid, author=op.author, delta=op.delta, sku=op.sku
            )
        case MarkDirty():
            _live(rt, op.party, account.mark_dirty(service, op.party.jid, list(op.categories)))
        case AskWebPairing():
            account.notify_web_sync(service, op.jid, sync=op.sync, code=op.code, name=op.name)
        case NotifyFeatures():
            account.notify_features(service, op.jid, op.sender, encrypt=op.encrypt)
        case EndSession():
            _end_session(rt, op)
        case RequestCode():
            try:
                asked = await code_request(
                    service, op.cc, op.number, identity=op.identity, method=op.method
                )
            except RegistrationFailed as exc:
                return answer_node(exc.answer)
            return answer_node(asked.answer)
        case RegisterCode():
            sent = service.http.registrar.code_for(op.party.phone) or ""
            given = rt.render_text(op.code) if op.code is not None else sent
            try:
                creds = await code_register(service, op.cc, op.number, given, identity=op.identity)
            except RegistrationFailed as exc:
                return answer_node(exc.answer)
            rt.passwords[op.party.label] = creds.password
            return answer_node(creds.answer)
        case SetFault():
            try:
                fault = op.spec.add_to(service.faults)
            except FaultError as exc:
                rt.fail(f"the fault cannot be set: {exc}")
            rt.fault_set(fault, op.name)
        case ExpireAccount():
            service.faults.expire(op.party.jid)
        case SuspendAccount():
            rt.fault_set(service.faults.suspend(op.party.jid, for_=op.for_), op.name)
        case ReleaseFault():
            held = rt.named_faults.get(op.name)
            if held is None:
                rt.fail(f"the fault {op.name!r} was not set")
            rt.note(f"fault #{held.id} ({op.name}) releases {held.release()} stanzas")
        case ClearFaults():
            if op.name == "all":
                service.faults.clear()
                rt.named_faults.clear()
                return None
            named = rt.named_faults.pop(op.name, None)
            if named is None:
                rt.fail(f"the fault {op.name!r} was not set")
            named.clear()
        case _:  # pragma: no cover - every operation is listed above
            assert_never(op)
    return None


def _live(rt: Context, party: Party, sent: bool | int) -> None:
    if not sent:
        rt.fail(f"the server cannot send dirty flags to {party.label}: not connected")


def _end_session(rt: Context, op: EndSession) -> None:
    session = rt.server.live(op.party.jid)
    if session is None:
        rt.fail(f"the server cannot end {op.party.label}'s session: not connected")
    match op.how:
        case "disconnect":
            account.shut_down(rt.server, op.party.jid, op.reason)
        case "conflict":
            session.close(stream_error("conflict", "Replaced by new connection"), "conflict")
        case "kill":
            session.kill("killed by the scenario")


def answer_node(answer: Mapping[str, object]) -> Node:
    """A JSON answer of the HTTP side as a node (``<answer status="sent" .../>``) to match."""
    attrs = {
        key: value if isinstance(value, str) else json.dumps(value) for key, value in answer.items()
    }
    return Node("answer", attrs)
