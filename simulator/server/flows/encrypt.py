"""End-to-end encryption keys (``xmlns="encrypt"``): key upload and bundle fetch (§3.12).

Theory of operation
-------------------
The service never decrypts. Each client uploads its public key material; any client may
fetch a bundle for a user, which it uses to start an encrypted session with that user.

Upload (``set``): ``identity``, ``registration``, ``type``, the signed pre-key ``skey``
(``id``, ``value``, ``signature``) and a ``list`` of one-time pre-keys ``key`` (``id``,
``value``). The clients send these children in different orders (yowsup the list first,
Chat-API the identity first), so they are found by tag. An upload replaces the identity,
registration, type and signed pre-key and *adds* its one-time pre-keys (ids are
big-endian, 3 bytes from every client; up to 4 are accepted; a re-sent id replaces that
key). An upload with a *different identity* is a re-installed client: its old one-time
pre-keys (and old signed pre-key) died with the old install, so they are all dropped and
only the new upload's keys are handed out (a bundle with an old key makes the recipient
fail with ``No such prekeyRecord!`` and lose the message). Answer: an empty result. A
part missing or without data is ``400 bad-request`` and nothing is stored.

Fetch (``get``): ``<key><user jid/>…</key>`` is answered with one ``<user jid>`` bundle per
requested user, in request order, each with the oldest one-time pre-key, which is thereby
used up. Left out of the ``<list>``:

* users who never uploaded keys — clients then send them plaintext (§3.12);
* users whose one-time stock is empty. No client accepts a bundle without ``<key>``
  (yowsup reads its ``id`` unconditionally), and handing one key out twice breaks the
  second session (the owner deletes a key when it is first used). So a user without
  one-time keys counts as keyless until it uploads more.

Limit: one requester may take at most ``key_fetch_limit`` one-time pre-keys of one
user within ``key_fetch_window`` seconds (server config; default 5 per hour). A fetch that
would go over is refused as a whole, ``406 not-acceptable`` with ``backoff`` = seconds
until the oldest of those fetches leaves the window (§4.2: throttling), and takes
nothing. A bundle without a one-time key would be the Signal protocol's answer, but no
client of the era accepts one (above), so the limit is an error the client can wait out.
One peer alone can thus no longer drain another user's stock; the owner is still told
when it runs low and tops it up. An upload with a new identity forgets who fetched.

Low stock: a fetch that leaves a user fewer than :data:`LOW_PREKEYS` one-time keys sends
that user ``<notification type="encrypt"><count value="N"/></notification>`` (N = keys
left; yowsup then uploads ``200 - N``), delivered like every notification (kept until
acked, replayed at the next login). Once per drop: the next one goes out only after an
upload has brought the stock back to :data:`LOW_PREKEYS` or more. Only users who uploaded
keys are ever told (§6.3: yowsup without its axolotl layer crashes on this notification).

Encrypted messages need no route of their own: ``messages`` relays a 1:1 ``<enc>``
unchanged, ``groups.fan_out`` gives each participant its own entry of ``<participants>``,
and ``receipts`` forwards ``retry`` receipts with their children.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Final

from simulator import stanzas
from simulator.errors import StanzaError
from simulator.jid import SERVER
from simulator.server.parse import parse_user_jid
from simulator.server.state import EncryptionKeys
from simulator.wire.node import Node

if TYPE_CHECKING:
    from simulator.server.context import HandlerContext
    from simulator.server.router import Router

__all__ = ["LOW_PREKEYS", "register"]

XMLNS: Final = "encrypt"
LOW_PREKEYS: Final = 10
"""A fetch that leaves fewer one-time pre-keys than this tells the owner (once per drop)."""
MAX_ID_BYTES: Final = 4


def register(router: Router) -> None:
    router.add("iq", handle_upload, type="set", xmlns=XMLNS, section="§3.12")
    router.add("iq", handle_fetch, type="get", xmlns=XMLNS, section="§3.12")


# -------------------------------------------------------------------- parsing


def _data(parent: Node, tag: str) -> bytes:
    """The non-empty data of ``parent``'s ``tag`` child; 400 if there is none."""
    child = parent.child(tag)
    if child is None or not child.data:
        raise StanzaError(400, "bad-request")
    return child.data


def _key_id(parent: Node) -> bytes:
    key_id = _data(parent, "id")
    if len(key_id) > MAX_ID_BYTES:
        raise StanzaError(400, "bad-request")
    return key_id


def _prekeys(node: Node) -> list[tuple[bytes, bytes]]:
    listing = node.child("list")
    if listing is None or any(child.tag != "key" for child in listing.children):
        raise StanzaError(400, "bad-request")
    return [(_key_id(key), _data(key, "value")) for key in listing.children]


# -------------------------------------------------------------------- handlers


async def handle_upload(ctx: HandlerContext, node: Node) -> None:
    """Store the uploaded public keys: replace identity and signed pre-key, add one-time keys."""
    skey = node.child("skey")
    if skey is None:
        raise StanzaError(400, "bad-request")
    signed = (_key_id(skey), _data(skey, "value"), _data(skey, "signature"))
    identity = _data(node, "identity")
    registration = _data(node, "registration")
    key_type = _data(node, "type")
    prekeys = _prekeys(node)
    # First upload, or a re-install: nothing of an older identity is handed out again.
    ctx.state.upload_keys(
        ctx.jid, identity, registration, key_type, signed, prekeys, low=LOW_PREKEYS
    )
    ctx.result(node)


async def handle_fetch(ctx: HandlerContext, node: Node) -> None:
    """One key bundle per requested user with keys, each using up a one-time pre-key."""
    request = node.child("key")
    if request is None:
        raise StanzaError(400, "bad-request")
    bundles: list[Node] = []
    running_low: list[tuple[str, int]] = []
    users = request.children_named("user")
    jids = list(dict.fromkeys(parse_user_jid(u.get("jid"), "user jid") for u in users))
    _check_fetch_limit(ctx, jids)
    for jid in jids:
        keys = ctx.state.encryption_keys.get(jid)
        if keys is None:
            continue  # never uploaded keys: left out, the sender goes plaintext
        prekey = ctx.state.take_prekey(ctx.jid, jid, ctx.now())
        if prekey is not None:
            bundles.append(_bundle(jid, keys, prekey))
        left = ctx.state.prekeys_running_low(jid, LOW_PREKEYS)
        if left is not None:
            running_low.append((jid, left))
    ctx.result(node, [Node("list", children=bundles)])
    for jid, count in running_low:
        stock = Node("count", {"value": str(count)})
        ctx.deliver(
            jid, stanzas.notification.build(SERVER, XMLNS, ctx.new_id(), str(ctx.now()), [stock])
        )


def _check_fetch_limit(ctx: HandlerContext, jids: list[str]) -> None:
    """Refuse (406 + backoff) a fetch that would take more one-time keys of a user than
    ``key_fetch_limit`` per ``key_fetch_window``; nothing is taken then."""
    config = ctx.server.config
    limit, window = config.key_fetch_limit, config.key_fetch_window
    if limit is None:
        return
    now = ctx.now()
    backoff = 0
    for jid in jids:
        keys = ctx.state.encryption_keys.get(jid)
        if keys is None or not keys.prekeys:
            continue  # nothing would be taken
        times = ctx.state.key_fetches_since(ctx.jid, jid, now - window)
        if len(times) >= limit:
            backoff = max(backoff, times[len(times) - limit] + window - now)
    if backoff:
        raise StanzaError(406, "not-acceptable", backoff=max(1, math.ceil(backoff)))


def _bundle(jid: str, keys: EncryptionKeys, prekey: tuple[bytes, bytes]) -> Node:
    """``<user jid>``: registration, type, identity, signed pre-key, one one-time pre-key."""
    skey_id, skey_value, signature = keys.signed_prekey
    return Node(
        "user",
        {"jid": jid},
        [
            Node("registration", data=keys.registration),
            Node("type", data=keys.type),
            Node("identity", data=keys.identity),
            Node(
                "skey",
                children=[
                    Node("id", data=skey_id),
                    Node("value", data=skey_value),
                    Node("signature", data=signature),
                ],
            ),
            Node("key", children=[Node("id", data=prekey[0]), Node("value", data=prekey[1])]),
        ],
    )
