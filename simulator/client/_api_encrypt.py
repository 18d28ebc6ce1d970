"""Client methods of one flow family: end-to-end encryption keys (``xmlns="encrypt"``, §3.12).

The library does no encryption itself: a bot that speaks end-to-end encryption brings its
own keys, uploads their public halves with :meth:`EncryptApi.upload_keys`, fetches other
users' bundles with :meth:`EncryptApi.get_key_bundles`, and sends the ciphertexts as
``<enc>`` children with :meth:`~simulator.client.client.MessagingApi.send_message`. When
the service runs low on our one-time pre-keys it says so with a
:class:`~simulator.client._events_account.PreKeysLow` event.

None of this is a documented Chat-API function (Chat-API did it inside its own axolotl
store), so the docstrings here name no documented function.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Final

from simulator import stanzas
from simulator.client.core import ClientCore
from simulator.jid import SERVER, user_jid
from simulator.records import record
from simulator.wire.node import Node

__all__ = ["DJB_TYPE", "EncryptApi", "KeyBundle", "PreKey", "SignedPreKey"]

XMLNS: Final = "encrypt"
DJB_TYPE: Final = 5
"""The key type every client uploads (Curve25519, ``0x05``)."""


@record
class PreKey:
    """A one-time pre-key: its id (3 big-endian bytes on the wire) and public key."""

    id: int
    value: bytes


@record
class SignedPreKey:
    """The signed pre-key: id, public key and the identity key's signature over it."""

    id: int
    value: bytes
    signature: bytes


@record(kw_only=True)
class KeyBundle:
    """What the service hands out to start a session with one user (``<user jid>``)."""

    jid: str
    registration: int
    type: int
    identity: bytes
    signed_prekey: SignedPreKey
    prekey: PreKey | None
    """The one-time pre-key handed out (the service uses it up); ``None`` if it sent none."""
    node: Node
    """The ``<user>`` element as received."""

    @classmethod
    def from_node(cls, node: Node) -> KeyBundle:
        """Read a ``<user jid>`` element of a get-keys result."""
        skey = node.child("skey") or Node("skey")
        key = node.child("key")
        return cls(
            jid=node.get("jid", ""),
            registration=_number(node, "registration"),
            type=_number(node, "type"),
            identity=_bytes(node, "identity"),
            signed_prekey=SignedPreKey(
                _number(skey, "id"), _bytes(skey, "value"), _bytes(skey, "signature")
            ),
            prekey=PreKey(_number(key, "id"), _bytes(key, "value")) if key is not None else None,
            node=node,
        )


def _bytes(parent: Node, tag: str) -> bytes:
    child = parent.child(tag)
    return (child.data or b"") if child is not None else b""


def _number(parent: Node, tag: str) -> int:
    return int.from_bytes(_bytes(parent, tag), "big")


def _id_bytes(key_id: int) -> bytes:
    """A key id as the clients send it: big-endian, 3 bytes (4 if it needs them)."""
    return key_id.to_bytes(max(3, (key_id.bit_length() + 7) // 8), "big")


class EncryptApi(ClientCore):
    """Upload our public keys and fetch other users' key bundles (§3.12)."""

    async def upload_keys(
        self,
        identity: bytes,
        registration: int,
        signed_prekey: SignedPreKey,
        prekeys: Iterable[PreKey],
        *,
        key_type: int = DJB_TYPE,
    ) -> None:
        """Upload our public identity key, registration id, signed and one-time pre-keys.

        The service replaces what an earlier upload said about the identity and the
        signed pre-key, and adds the one-time pre-keys to those it still holds.

        Raises:
            IqError: the service refused the upload (``400`` for a malformed one).
        """
        keys = [
            Node("key", children=[Node("id", data=_id_bytes(k.id)), Node("value", data=k.value)])
            for k in prekeys
        ]
        skey = Node(
            "skey",
            children=[
                Node("id", data=_id_bytes(signed_prekey.id)),
                Node("value", data=signed_prekey.value),
                Node("signature", data=signed_prekey.signature),
            ],
        )
        # yowsup's order: the list first; the service finds the parts by tag.
        children = [
            Node("list", children=keys),
            Node("identity", data=identity),
            Node("registration", data=registration.to_bytes(4, "big")),
            Node("type", data=bytes([key_type])),
            skey,
        ]
        await self.iq(stanzas.iq.request("set", children, xmlns=XMLNS, to=SERVER))

    async def get_key_bundles(self, jids: str | Iterable[str]) -> dict[str, KeyBundle]:
        """Fetch a key bundle for each user, keyed by JID; users without keys are left out.

        Each bundle uses up one of that user's one-time pre-keys at the service; a user
        who never uploaded keys, or has no one-time pre-keys left, is not in the answer.
        """
        wanted = [jids] if isinstance(jids, str) else list(jids)
        users = [Node("user", {"jid": user_jid(jid)}) for jid in wanted]
        answer = await self.iq(
            stanzas.iq.request("get", [Node("key", children=users)], xmlns=XMLNS, to=SERVER)
        )
        listing = answer.child("list")
        bundles = (
            KeyBundle.from_node(u) for u in (listing.children_named("user") if listing else ())
        )
        return {bundle.jid: bundle for bundle in bundles}
