"""Registration over HTTP, without a login: codeRequest, codeRegister, checkCredentials (§4.8).

    sent = await code_request(server, "49", "1110000009", identity=device_id)
    code = server.http.registrar.code_for("491110000009")       # the "SMS"
    creds = await code_register(server, "49", "1110000009", code, identity=device_id)
    async with open_client(server, creds.login, creds.password) as bot: ...

``target`` is an in-process :class:`~simulator.server.Server` (no sockets) or the base URL
of a server's HTTP side (``"http://127.0.0.1:8080"``, see ``simulator serve --http-port``).

The documented events become results and exceptions:

==================================  =========================================================
onCodeRequest                       :func:`code_request` returns :class:`CodeSent`
onCodeRequestFailed                 :func:`code_request` raises :class:`CodeRequestFailed`
onCodeRequestFailedTooRecent        ... raises :class:`CodeRequestFailedTooRecent`
onCodeRequestFailedTooManyGuesses   ... raises :class:`CodeRequestFailedTooManyGuesses`
onCodeRegister                      :func:`code_register` returns :class:`Credentials`; so does
                                    :func:`code_request` when the number is already registered
                                    with this identity (Chat-API fires onCodeRegister then too)
onCodeRegisterFailed                :func:`code_register` raises :class:`CodeRegisterFailed`
onCredentialsGood                   :func:`check_credentials` returns :class:`Credentials`
onCredentialsBad                    :func:`check_credentials` raises :class:`CredentialsBad`
==================================  =========================================================

Every failure is a :class:`RegistrationFailed` carrying ``status``, ``reason``, ``param``
and ``retry_after`` as the service sent them. An unreachable or broken HTTP side raises
:class:`~simulator.client._http.HttpError`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import field
from typing import TYPE_CHECKING, Final
from urllib.parse import urlencode

from simulator.client._http import HttpError, http_request
from simulator.errors import ClientError
from simulator.records import record
from simulator.transport.connectors import http_opener

if TYPE_CHECKING:
    from simulator.server.server import Server

__all__ = [
    "DEFAULT_USER_AGENT",
    "DOCUMENTED",
    "CodeRegisterFailed",
    "CodeRequestFailed",
    "CodeRequestFailedTooManyGuesses",
    "CodeRequestFailedTooRecent",
    "CodeSent",
    "Credentials",
    "CredentialsBad",
    "RegistrationFailed",
    "check_credentials",
    "code_register",
    "code_request",
]

DEFAULT_USER_AGENT: Final = "WhatsApp/2.12.53 S40Version/14.26 Device/Nokia302"
DEFAULT_TOKEN: Final = "simulator-token"
"""The client-build token (the service accepts any non-empty one)."""


@record(kw_only=True)
class CodeSent:
    """onCodeRequest: a code is on its way (``status: sent``)."""

    method: str
    length: int
    retry_after: int
    sms_wait: int
    voice_wait: int
    answer: Mapping[str, object] = field(repr=False, compare=False)


@record(kw_only=True)
class Credentials:
    """onCodeRegister / onCredentialsGood: the login and password (``status: ok``)."""

    login: str
    password: str
    """Base64 of the 20-byte password, as :func:`~simulator.client.open_client` takes it."""
    type: str
    """``new`` or ``existing``."""
    expiration: int
    kind: str
    price: str
    cost: str
    currency: str
    price_expiration: int
    answer: Mapping[str, object] = field(repr=False, compare=False)


class RegistrationFailed(ClientError):
    """The service said no (``status: fail``); the fields are what it sent."""

    def __init__(self, endpoint: str, answer: Mapping[str, object]) -> None:
        self.answer = answer
        self.status = str(answer.get("status", ""))
        self.reason = str(answer.get("reason", ""))
        param = answer.get("param")
        self.param = str(param) if param is not None else None
        retry = answer.get("retry_after")
        self.retry_after = (
            int(retry) if isinstance(retry, int | str) and str(retry).isdigit() else None
        )
        detail = f" (param {self.param})" if self.param else ""
        wait = f", retry after {self.retry_after} s" if self.retry_after is not None else ""
        super().__init__(f"{endpoint}: {self.status} {self.reason}{detail}{wait}")


class CodeRequestFailed(RegistrationFailed):
    """onCodeRequestFailed: no code was sent (``blocked``, ``too_many``, ``bad_param``...)."""


class CodeRequestFailedTooRecent(CodeRequestFailed):
    """onCodeRequestFailedTooRecent: a code went out too recently; wait ``retry_after``."""


class CodeRequestFailedTooManyGuesses(CodeRequestFailed):
    """onCodeRequestFailedTooManyGuesses: locked after wrong codes; wait ``retry_after``."""


class CodeRegisterFailed(RegistrationFailed):
    """onCodeRegisterFailed: the code was not accepted (``mismatch``, ``stale``...)."""


class CredentialsBad(RegistrationFailed):
    """onCredentialsBad: not registered with this identity (``incorrect``), or ``blocked``."""


DOCUMENTED: Final[dict[str, type[object]]] = {
    "onCodeRequest": CodeSent,
    "onCodeRequestFailed": CodeRequestFailed,
    "onCodeRequestFailedTooRecent": CodeRequestFailedTooRecent,
    "onCodeRequestFailedTooManyGuesses": CodeRequestFailedTooManyGuesses,
    "onCodeRegister": Credentials,
    "onCodeRegisterFailed": CodeRegisterFailed,
    "onCredentialsGood": Credentials,
    "onCredentialsBad": CredentialsBad,
}
"""Documented registration event -> the result or exception type that stands for it."""


async def code_request(
    target: Server | str,
    cc: str,
    number: str,
    *,
    identity: str | bytes,
    method: str = "sms",
    token: str = DEFAULT_TOKEN,
    user_agent: str = DEFAULT_USER_AGENT,
    timeout: float = 30,
    **params: str,
) -> CodeSent | Credentials:
    """codeRequest: ask for a verification code by SMS or voice call.

    Returns :class:`Credentials` instead when the number is already registered with this
    ``identity``. Extra keyword arguments go out as parameters (``lc``, ``lg``, ``mcc``...).

    Raises:
        CodeRequestFailed: (or its ``TooRecent`` / ``TooManyGuesses`` subclasses) no code.
    """
    query = {"cc": cc, "in": number, "id": _identity(identity), "token": token, "method": method}
    query |= {
        "lc": "GB",
        "lg": "en",
        "mcc": "000",
        "mnc": "000",
        "sim_mcc": "000",
        "sim_mnc": "000",
    }
    answer = await _get(target, "/v2/code", {**query, **params}, user_agent, timeout)
    if answer.get("status") == "sent":
        return CodeSent(
            method=str(answer.get("method", method)),
            length=_int(answer.get("length")),
            retry_after=_int(answer.get("retry_after")),
            sms_wait=_int(answer.get("sms_wait")),
            voice_wait=_int(answer.get("voice_wait")),
            answer=answer,
        )
    if answer.get("status") == "ok":
        return _credentials(answer)
    failure = {
        "too_recent": CodeRequestFailedTooRecent,
        "too_many_guesses": CodeRequestFailedTooManyGuesses,
    }.get(str(answer.get("reason")), CodeRequestFailed)
    raise failure("/v2/code", answer)


async def code_register(
    target: Server | str,
    cc: str,
    number: str,
    code: str,
    *,
    identity: str | bytes,
    user_agent: str = DEFAULT_USER_AGENT,
    timeout: float = 30,
    **params: str,
) -> Credentials:
    """codeRegister: submit the code (``123456`` or ``123-456``); returns the credentials.

    Raises:
        CodeRegisterFailed: ``mismatch``, ``stale``, ``missing``, ``too_many_guesses``...
    """
    query = {"cc": cc, "in": number, "id": _identity(identity), "code": code, **params}
    answer = await _get(target, "/v2/register", query, user_agent, timeout)
    if answer.get("status") == "ok":
        return _credentials(answer)
    raise CodeRegisterFailed("/v2/register", answer)


async def check_credentials(
    target: Server | str,
    cc: str,
    number: str,
    *,
    identity: str | bytes,
    token: str = DEFAULT_TOKEN,
    user_agent: str = DEFAULT_USER_AGENT,
    timeout: float = 30,
    **params: str,
) -> Credentials:
    """checkCredentials: the current password of a number registered with this identity.

    Raises:
        CredentialsBad: ``incorrect`` (not registered, or another identity) or ``blocked``.
    """
    query = {
        "cc": cc,
        "in": number,
        "id": _identity(identity),
        "token": token,
        "lg": "en",
        "lc": "GB",
    }
    answer = await _get(target, "/v2/exist", {**query, **params}, user_agent, timeout)
    if answer.get("status") == "ok":
        return _credentials(answer)
    raise CredentialsBad("/v2/exist", answer)


# -------------------------------------------------------------------- plumbing


def _identity(identity: str | bytes) -> str:
    # Raw identity bytes (yowsup 2.5, Chat-API) travel URL-encoded byte for byte.
    return identity.decode("latin-1") if isinstance(identity, bytes) else identity


async def _get(
    target: Server | str, path: str, query: Mapping[str, str], user_agent: str, timeout: float
) -> dict[str, object]:
    via = None if isinstance(target, str) else http_opener(target)
    base = target.rstrip("/") if isinstance(target, str) else "http://in-process"
    url = f"{base}{path}?{urlencode(query, encoding='latin-1')}"
    headers = {"User-Agent": user_agent, "Accept": "text/json"}
    reply = await http_request("GET", url, via=via, headers=headers, timeout=timeout)
    if reply.status != 200:
        raise HttpError(f"GET {path}: HTTP {reply.status}", status=reply.status, body=reply.body)
    try:
        answer = json.loads(reply.body)
    except ValueError:
        answer = None
    if not isinstance(answer, dict):
        raise HttpError(
            f"GET {path}: the answer is not a JSON object", status=reply.status, body=reply.body
        )
    return answer


def _int(value: object) -> int:
    if isinstance(value, int):
        return value
    text = str(value) if value is not None else ""
    return int(text) if text.isdigit() else 0


def _credentials(answer: Mapping[str, object]) -> Credentials:
    return Credentials(
        login=str(answer.get("login", "")),
        password=str(answer.get("pw", "")),
        type=str(answer.get("type", "")),
        expiration=_int(answer.get("expiration")),
        kind=str(answer.get("kind", "")),
        price=str(answer.get("price", "")),
        cost=str(answer.get("cost", "")),
        currency=str(answer.get("currency", "")),
        price_expiration=_int(answer.get("price_expiration")),
        answer=answer,
    )
