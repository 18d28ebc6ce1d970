"""``simulator decode``, through ``main`` as a user runs it."""

from __future__ import annotations

import io

import pytest

from simulator.cli import main
from tests.golden import Session, sessions

CHALLENGE_FRAME = "000019f80218fc14000102030405060708090a0b0c0d0e0f10111213"  # 2.5.7 frame 6


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(["decode", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_decode_node_bytes(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(capsys, "--dialect", "1.6", "f803013f9b") == (
        0,
        '<stream:start from="s.whatsapp.net"/>\n',
        "",
    )


def test_decode_pretty_prints_by_default(capsys: pytest.CaptureFixture[str]) -> None:
    wire = "F8 08 4A 3A 91 44 FC 01 37 A7 2C F8 01 F8 05 2C 19 EC 1C A2 4B"  # PROTOCOL §1.4.4
    code, out, _ = run(capsys, "--dialect", "1.5", *wire.split())
    assert code == 0
    assert out == (
        '<iq from="s.whatsapp.net" id="7" type="error">\n'
        '  <error code="404" text="item-not-found"/>\n'
        "</iq>\n"
    )


def test_decode_compact(capsys: pytest.CaptureFixture[str]) -> None:
    wire = "F8084A3A9144FC0137A72CF801F8052C19EC1CA24B"
    code, out, _ = run(capsys, "--dialect", "1.5", "--compact", wire)
    assert code == 0
    assert out == (
        '<iq from="s.whatsapp.net" id="7" type="error">'
        '<error code="404" text="item-not-found"/></iq>\n'
    )


def test_decode_frame(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "--dialect", "1.6", "--frame", "--compact", CHALLENGE_FRAME)
    assert (code, out) == (
        0,
        "<challenge>hex:000102030405060708090a0b0c0d0e0f10111213</challenge>\n",
    )


def test_decode_reads_stdin(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO("  0000 05\nf8 03 01 3f 9b\n"))
    assert run(capsys, "--dialect", "1.6", "--frame")[:2] == (
        0,
        '<stream:start from="s.whatsapp.net"/>\n',
    )


@pytest.mark.parametrize("session", sessions(), ids=lambda s: s.file)
def test_decode_every_plaintext_vector_frame(
    session: Session, capsys: pytest.CaptureFixture[str]
) -> None:
    for frame in session.frames:
        if frame.encrypted:
            continue
        code, out, _ = run(capsys, "--dialect", session.dialect.value, "--frame", frame.wire.hex())
        assert code == 0
        assert out.strip() == frame.node.to_text(indent=2)


@pytest.mark.parametrize(
    ("argv", "error"),
    [
        (["zz"], "error: the input is not hex: 'z' at character 0\n"),
        (["f8", "0g"], "error: the input is not hex: 'g' at character 4\n"),
        (["f80"], "error: the input has an odd number of hex digits (3)\n"),
        ([" "], "error: no bytes to decode: give them as HEX arguments or on stdin\n"),
        (
            ["f8034a44f5"],
            "error: cannot decode: unknown token 0xF5 in dialect 1.5 at offset 4\n",
        ),
        (
            ["--frame", "000005f8034a44f5"],
            "error: cannot decode: unknown token 0xF5 in dialect 1.5 at offset 7\n",
        ),
        (
            ["--frame", "400005f8034a44c2"],
            "error: cannot decode: compressed frame (flags 0x4) at offset 0\n",
        ),
        (
            ["--frame", "800005f8034a44c2"],
            "error: the frame at offset 0 is encrypted (flag 0x8): decrypt it and pass the"
            " node bytes without --frame\n",
        ),
        (["--frame", "0000"], "error: 2 bytes are too short for a frame header\n"),
        (
            ["--frame", "000009f8034a44c2"],
            "error: the frame header announces 9 bytes but 5 follow\n",
        ),
        (["--frame", "000005f8034a44c2ff"], "error: 1 bytes follow the frame, from offset 8\n"),
    ],
)
def test_decode_bad_input(argv: list[str], error: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(capsys, "--dialect", "1.5", *argv) == (1, "", error)


@pytest.mark.parametrize(
    ("argv", "error"),
    [
        ([], "the following arguments are required: --dialect"),
        (["--dialect", "1.7", "f801"], "argument --dialect: invalid choice: '1.7'"),
        (["--dialect", "1.5", "--bogus", "f801"], "unrecognized arguments: --bogus"),
    ],
)
def test_decode_usage_errors(
    argv: list[str], error: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(capsys, *argv)
    assert (code, out) == (2, "")
    assert err.startswith("usage: simulator")
    assert error in err


def test_decode_help(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "--help")
    assert code == 0
    assert "--frame" in out
    assert "plaintext frame" in out
