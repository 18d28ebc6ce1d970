"""Key derivation and the keystream against PROTOCOL.md §2.13 and the recorded sessions."""

from __future__ import annotations

import hashlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from simulator.errors import RemoteProtocolError
from simulator.wire.crypto import DROP, MAC_SIZE, KeyStream, derive_keys
from tests.wire.sessions import SESSIONS, Session, session_ids

# -------------------------------------------------------------------- §2.13 inputs

PASSWORD = bytes(range(0x01, 0x15))
NONCE = bytes(range(0xA0, 0xB4))
NEXT_NONCE = bytes(range(0xC0, 0xD4))
USER = b"491234567890"
TIMESTAMP = b"1450000000"

K1 = bytes.fromhex("9aba8b88216f4e9dc76e120a8b3429aba63386bc")
K2 = bytes.fromhex("aa081e5ed8e864e4b207b04febda69d68466427b")
K3 = bytes.fromhex("99d035f126508e4223566c688ef8e7a904dbe5ea")
K4 = bytes.fromhex("930662f16e6381c644381321e4cf00092ad1a208")

BLOB = bytes.fromhex(
    "ccc4a746a8ff480cb8ea50a093197bbcdaab8eef0e7ec6092bf25fc7d09c7a19b83ed5a9f336c5fa2a476ab76ea5"
)


def fc(raw: bytes) -> bytes:
    return bytes([0xFC, len(raw)]) + raw


def nib(digits: str) -> bytes:
    """A 1.6 nibble-packed string, as written in §2.13 (``ff <len> <bcd>``)."""
    packed = digits + ("f" if len(digits) % 2 else "")
    return bytes([0xFF, (len(digits) % 2) << 7 | len(packed) // 2]) + bytes.fromhex(packed)


# The success plaintexts exactly as §2.13 spells them out, byte group by byte group.
SUCCESS_15 = (
    bytes.fromhex("f80e9f")
    + b"\xa1" + fc(b"1450000000")
    + b"\x7c" + fc(b"4")
    + bytes.fromhex("5139 9a06")
    + b"\x1f" + fc(b"1420000000")
    + b"\x2e" + fc(b"1500000000")
    + fc(NEXT_NONCE)
)  # fmt: skip
SUCCESS_16 = (
    bytes.fromhex("f80eac")
    + b"\xae" + nib("1450000000")
    + b"\x85" + nib("4")
    + bytes.fromhex("573e a706")
    + b"\x21" + nib("1420000000")
    + b"\x31" + nib("1500000000")
    + fc(NEXT_NONCE)
)  # fmt: skip

# (plaintext, sealed payload = ciphertext || MAC) per dialect, in wire order per direction.
SERVER_FRAMES = {
    "1.5": [
        (
            SUCCESS_15,
            "15a245b0f131616f697599686744b0b2073b29fddbac9cb849bbc28d921c3af3fcbb54a5313ecf2a"
            "d8f3405c41647c1eae26e3165e43febebe96b2611661db1b079c5365e8c49299" + "20fcd02f",
        ),
        (bytes.fromhex("f804433a91f801f803681dfc0130"), "c55335bb8c8582e162d9b6f358e1c25da804"),
    ],
    "1.6": [
        (
            SUCCESS_16,
            "15a276bff23e440b5c45a9dda8f5cfd545602ee87590129e5647c88d592b1fc3cc8b646915d0f2e2"
            "2a02b5aab69c85e455dad2cc5152edafa9" + "71eaf479",
        ),
        (bytes.fromhex("f804493f9bf801f803701fff810f"), "ab70efe133e9d13352edb5c7944f02df1be6"),
    ],
}
CLIENT_PRESENCE = {
    "1.5": (bytes.fromhex("f80378a70e"), "b47e0ba56b335c96ae"),
    "1.6": (bytes.fromhex("f80381b50f"), "b47ef2b76a26c5f6b7"),
}


def test_derive_keys_worked_example() -> None:
    assert derive_keys(PASSWORD, NONCE) == (K1, K2, K3, K4)


@given(password=st.binary(max_size=100), nonce=st.binary(max_size=40))
def test_derive_keys_is_pbkdf2_hmac_sha1_with_2_iterations(password: bytes, nonce: bytes) -> None:
    """The derivation's own HMAC states give what ``hashlib.pbkdf2_hmac`` gives, for any
    password (also one longer than a SHA-1 block, which HMAC hashes first) and nonce."""
    expected = tuple(
        hashlib.pbkdf2_hmac("sha1", password, nonce + bytes([i]), 2, 20) for i in (1, 2, 3, 4)
    )
    assert derive_keys(password, nonce) == expected


def test_seal_blob_worked_example() -> None:
    c2s = KeyStream(K1, K2)
    assert c2s.seal_blob(USER + NONCE + TIMESTAMP) == BLOB
    assert c2s.seq == 1


def test_open_blob_worked_example() -> None:
    c2s = KeyStream(K1, K2)
    assert c2s.open_blob(BLOB) == USER + NONCE + TIMESTAMP
    assert c2s.seq == 1


@pytest.mark.parametrize("dialect", ["1.5", "1.6"])
def test_seal_server_frames_worked_example(dialect: str) -> None:
    s2c = KeyStream(K3, K4)
    for seq, (plain, sealed) in enumerate(SERVER_FRAMES[dialect]):
        assert s2c.seq == seq
        assert s2c.seal(plain).hex() == sealed


@pytest.mark.parametrize("dialect", ["1.5", "1.6"])
def test_open_server_frames_worked_example(dialect: str) -> None:
    s2c = KeyStream(K3, K4)
    for offset, (plain, sealed) in enumerate(SERVER_FRAMES[dialect]):
        assert s2c.open(bytes.fromhex(sealed), offset=offset) == plain


@pytest.mark.parametrize("dialect", ["1.5", "1.6"])
def test_client_frame_after_blob_worked_example(dialect: str) -> None:
    """The blob takes seq 0 and advances RC4 (§2.6): the presence is seq 1."""
    plain, sealed = CLIENT_PRESENCE[dialect]
    client, server = KeyStream(K1, K2), KeyStream(K1, K2)
    server.open_blob(client.seal_blob(USER + NONCE + TIMESTAMP))
    assert client.seal(plain).hex() == sealed
    assert server.open(bytes.fromhex(sealed), offset=0) == plain
    assert client.seq == server.seq == 2


def test_rc4_drops_768_bytes() -> None:
    """Sealing zeros shows the raw keystream: it must not be RC4's first bytes."""
    from cryptography.hazmat.decrepit.ciphers.algorithms import ARC4
    from cryptography.hazmat.primitives.ciphers import Cipher

    raw = Cipher(ARC4(K1), mode=None).encryptor().update(bytes(DROP + 16))
    assert KeyStream(K1, K2).seal(bytes(16))[:16] == raw[DROP:]


@pytest.mark.parametrize("mac_key", [K2, bytes(64), bytes(range(65)), b""], ids=len)
def test_mac_is_hmac_sha1_of_ciphertext_and_seq(mac_key: bytes) -> None:
    """The MAC is HMAC-SHA1(C || seq_be32)[:4] for any key length (a key over one SHA-1
    block is hashed first, as RFC 2104 says), frame after frame."""
    import hashlib
    import hmac

    stream = KeyStream(K1, mac_key)
    for seq, size in enumerate((0, 1, 63, 64, 200)):
        sealed = stream.seal(bytes(range(size % 256)) * (size // 256 + 1))
        ciphertext, tag = sealed[:-MAC_SIZE], sealed[-MAC_SIZE:]
        expected = hmac.new(mac_key, ciphertext + seq.to_bytes(4, "big"), hashlib.sha1)
        assert tag == expected.digest()[:MAC_SIZE]


# -------------------------------------------------------------------- recorded sessions

WITH_KEYS = [s for s in SESSIONS if s.auth]


@pytest.mark.parametrize("session", WITH_KEYS, ids=session_ids)
def test_derive_keys_matches_recorded_keys(session: Session) -> None:
    nonce = bytes.fromhex(session.auth["nonce_hex"])
    assert derive_keys(session.password, nonce) == session.keys


@pytest.mark.parametrize("session", WITH_KEYS, ids=session_ids)
def test_seal_blob_matches_recorded_blob(session: Session) -> None:
    k1, k2, _, _ = session.keys
    blob = KeyStream(k1, k2).seal_blob(bytes.fromhex(session.auth["blob_plain_hex"]))
    assert blob.hex() == session.auth["blob_hex"]
    assert blob[:MAC_SIZE].hex() == session.auth["blob_mac_hex"]


@pytest.mark.parametrize("session", WITH_KEYS, ids=session_ids)
def test_open_recorded_frames_with_recorded_seqs(session: Session) -> None:
    """Every sealed frame opens with its direction's keystream at the recorded seq."""
    k1, k2, k3, k4 = session.keys
    c2s, s2c = KeyStream(k1, k2), KeyStream(k3, k4)
    c2s.open_blob(bytes.fromhex(session.auth["blob_hex"]))
    for frame in session.frames:
        if not frame.encrypted:
            continue
        stream = c2s if frame.c2s else s2c
        assert stream.seq == frame.mac_seq
        assert stream.open(frame.raw[3:], offset=frame.index) == frame.plain


# -------------------------------------------------------------------- tampering


@pytest.mark.parametrize("position", [0, 3, -5, -1])
def test_open_rejects_a_flipped_bit(position: int) -> None:
    plain, sealed = SERVER_FRAMES["1.5"][0]
    payload = bytearray(bytes.fromhex(sealed))
    payload[position] ^= 0x01
    s2c = KeyStream(K3, K4)
    with pytest.raises(RemoteProtocolError, match="bad MAC on frame seq 0 at offset 42") as info:
        s2c.open(bytes(payload), offset=42)
    assert info.value.offset == 42
    # The failed frame changed nothing: the genuine frame still opens.
    assert s2c.seq == 0
    assert s2c.open(bytes.fromhex(sealed), offset=42) == plain


def test_open_rejects_a_frame_out_of_sequence() -> None:
    """The second frame presented first fails: its MAC covers seq 1, not 0."""
    _, second = SERVER_FRAMES["1.5"][1]
    with pytest.raises(RemoteProtocolError, match="seq 0"):
        KeyStream(K3, K4).open(bytes.fromhex(second), offset=0)


def test_open_rejects_a_payload_shorter_than_a_mac() -> None:
    with pytest.raises(RemoteProtocolError, match="shorter than its MAC"):
        KeyStream(K3, K4).open(b"\x00\x01\x02", offset=7)


def test_open_blob_rejects_a_wrong_password() -> None:
    wrong = derive_keys(bytes(20), NONCE)
    with pytest.raises(RemoteProtocolError, match="bad MAC on auth blob"):
        KeyStream(wrong[0], wrong[1]).open_blob(BLOB)


def test_open_blob_rejects_a_short_blob() -> None:
    with pytest.raises(RemoteProtocolError, match="shorter than its MAC"):
        KeyStream(K1, K2).open_blob(b"\x01")
