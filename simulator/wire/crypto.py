"""WAUTH-2 key derivation and record protection (PROTOCOL.md §2.5-§2.7).

Four keys come out of the account password and a 20-byte nonce (§2.5)::

    K_i = PBKDF2-HMAC-SHA1(password, nonce || byte(i), iterations=2, dkLen=20)   i = 1..4

(K1, K2) protect client -> server, (K3, K4) server -> client. Each direction is one
:class:`KeyStream`: RC4 keyed with K1 or K3, its first 768 bytes thrown away, then running
on across every frame of the connection; an HMAC-SHA1 keyed with K2 or K4; and a frame
counter ``seq`` starting at 0 (§2.6). A sealed frame is ``C || MAC4`` where
``MAC4 = HMAC(C || seq_be32)[:4]``. The login blob (§2.7) is sealed the same way with
seq 0, but with the MAC in *front* of the ciphertext.

The object keeps the RC4 state and the counter explicitly, so a caller can neither
re-key per frame nor skip a number; nothing here draws randomness or reads a clock.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Final, final

from cryptography.hazmat.decrepit.ciphers.algorithms import ARC4
from cryptography.hazmat.primitives.ciphers import Cipher

from simulator.errors import RemoteProtocolError

__all__ = ["DROP", "MAC_SIZE", "KeyStream", "derive_keys"]

DROP: Final = 768
"""Keystream bytes discarded after the RC4 key schedule (RC4-drop768, §2.6)."""
MAC_SIZE: Final = 4
"""Bytes of the truncated HMAC-SHA1 on every sealed frame and blob (§2.6)."""

_SEQ_MASK: Final = 0xFFFFFFFF
_SHA1_BLOCK: Final = 64
_IPAD: Final = bytes(byte ^ 0x36 for byte in range(256))
"""``bytes.translate`` table: every key byte XOR 0x36 (the HMAC inner pad)."""
_OPAD: Final = bytes(byte ^ 0x5C for byte in range(256))
"""``bytes.translate`` table: every key byte XOR 0x5C (the HMAC outer pad)."""


_KEY_SALT_TAILS: Final = tuple(bytes((i, 0, 0, 0, 1)) for i in (1, 2, 3, 4))
"""What follows the nonce in each key's first PBKDF2 block: ``byte(i)`` (§2.5), then the
block index 1 (big-endian, RFC 8018 §5.2)."""


def _hmac_states(key: bytes) -> tuple[hashlib._Hash, hashlib._Hash]:
    """HMAC-SHA1 (RFC 2104) keyed with ``key``: the inner and outer SHA-1 states primed
    with the padded key, to be copied per message."""
    if len(key) > _SHA1_BLOCK:
        key = hashlib.sha1(key).digest()
    padded = key.ljust(_SHA1_BLOCK, b"\0")
    return hashlib.sha1(padded.translate(_IPAD)), hashlib.sha1(padded.translate(_OPAD))


def derive_keys(password: bytes, nonce: bytes) -> tuple[bytes, bytes, bytes, bytes]:
    """K1..K4 for one login (§2.5): c->s RC4, c->s HMAC, s->c RC4, s->c HMAC.

    ``password`` is the raw 20-byte account secret (base64-decoded), ``nonce`` the
    challenge nonce, or the stored success nonce of a fast re-login (§2.8).

    Each key is PBKDF2-HMAC-SHA1 with 2 iterations and one 20-byte block: ``U1 =
    HMAC(password, nonce || byte(i) || 00000001)``, ``U2 = HMAC(password, U1)``, ``K_i =
    U1 xor U2``, computed here with the password's HMAC states primed once for all four
    keys (``hashlib.pbkdf2_hmac`` sets up HMAC and the digest anew for each key: 2.7x the
    time); a test holds it equal to ``hashlib.pbkdf2_hmac``.
    """
    inner, outer = _hmac_states(password)
    keys = []
    for tail in _KEY_SALT_TAILS:
        first = inner.copy()
        first.update(nonce)
        first.update(tail)
        mac = outer.copy()
        mac.update(first.digest())
        u1 = mac.digest()
        second = inner.copy()
        second.update(u1)
        mac = outer.copy()
        mac.update(second.digest())
        keys.append((int.from_bytes(u1) ^ int.from_bytes(mac.digest())).to_bytes(20))
    k1, k2, k3, k4 = keys
    return k1, k2, k3, k4


@final
class KeyStream:
    """One direction of record protection: RC4-drop768, HMAC-SHA1/4 and a sequence number.

    Use one instance per direction per connection and call it in wire order: every
    :meth:`seal`/:meth:`open` advances both the RC4 state and ``seq``. The login blob
    (:meth:`seal_blob`/:meth:`open_blob`) is the first use, seq 0, for client -> server.
    """

    __slots__ = ("_cipher", "_inner", "_outer", "_seq")

    def __init__(self, cipher_key: bytes, mac_key: bytes) -> None:
        # One encryptor context for the whole connection: RC4 state carries across frames.
        self._cipher = Cipher(ARC4(cipher_key), mode=None).encryptor()
        self._cipher.update(bytes(DROP))
        # HMAC-SHA1 as two primed SHA-1 states, copied per frame: the key blocks are
        # hashed once per connection, and a frame costs two C-level copies and hashes
        # (about half of what copying an ``hmac.HMAC`` costs).
        self._inner, self._outer = _hmac_states(mac_key)
        self._seq = 0

    @property
    def seq(self) -> int:
        """The sequence number the next sealed or opened frame uses."""
        return self._seq

    def _tag(self, ciphertext: bytes) -> bytes:
        inner = self._inner.copy()
        inner.update(ciphertext)
        inner.update(self._seq.to_bytes(4, "big"))
        outer = self._outer.copy()
        outer.update(inner.digest())
        return outer.digest()[:MAC_SIZE]

    def seal(self, plain: bytes) -> bytes:
        """Encrypt a frame payload: ``ciphertext || MAC4`` (§2.6). Advances ``seq``."""
        ciphertext = self._cipher.update(plain)
        tag = self._tag(ciphertext)
        self._seq = (self._seq + 1) & _SEQ_MASK
        return ciphertext + tag

    def open(self, payload: bytes, *, offset: int) -> bytes:
        """Check the MAC of ``ciphertext || MAC4`` and decrypt it (§2.6). Advances ``seq``.

        ``offset`` (the frame's position in the stream) only goes into the error.

        Raises:
            RemoteProtocolError: the payload is shorter than a MAC, or the MAC does not
                match (the peer's keys or counter differ from ours: fatal for the
                connection, §2.6). The state is left unchanged.
        """
        if len(payload) < MAC_SIZE:
            raise RemoteProtocolError(
                f"encrypted frame seq {self._seq} at offset {offset} is shorter than its MAC",
                offset=offset,
            )
        ciphertext, tag = payload[:-MAC_SIZE], payload[-MAC_SIZE:]
        if not hmac.compare_digest(tag, self._tag(ciphertext)):
            raise RemoteProtocolError(
                f"bad MAC on frame seq {self._seq} at offset {offset}", offset=offset
            )
        self._seq = (self._seq + 1) & _SEQ_MASK
        return self._cipher.update(ciphertext)

    def seal_blob(self, plain: bytes) -> bytes:
        """The login blob: ``MAC4 || ciphertext`` (§2.7, MAC in front). Advances ``seq``."""
        ciphertext = self._cipher.update(plain)
        tag = self._tag(ciphertext)
        self._seq = (self._seq + 1) & _SEQ_MASK
        return tag + ciphertext

    def open_blob(self, blob: bytes) -> bytes:
        """Check and decrypt a login blob (§2.7 steps 2-3). Advances ``seq``.

        Raises:
            RemoteProtocolError: the blob is too short or its MAC does not match (a wrong
                password or a forgotten nonce). The state is left unchanged.
        """
        if len(blob) < MAC_SIZE:
            raise RemoteProtocolError(f"auth blob of {len(blob)} bytes is shorter than its MAC")
        tag, ciphertext = blob[:MAC_SIZE], blob[MAC_SIZE:]
        if not hmac.compare_digest(tag, self._tag(ciphertext)):
            raise RemoteProtocolError(f"bad MAC on auth blob seq {self._seq}")
        self._seq = (self._seq + 1) & _SEQ_MASK
        return self._cipher.update(ciphertext)
