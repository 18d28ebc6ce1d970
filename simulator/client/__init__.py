"""The Python client library bots and scripted users are written with."""

from __future__ import annotations

from simulator.client import events
from simulator.client._http import HttpError
from simulator.client.client import Client, ClientState, open_client
from simulator.client.registration import (
    CodeRegisterFailed,
    CodeRequestFailed,
    CodeRequestFailedTooManyGuesses,
    CodeRequestFailedTooRecent,
    CodeSent,
    Credentials,
    CredentialsBad,
    RegistrationFailed,
    check_credentials,
    code_register,
    code_request,
)
from simulator.errors import ClientError, ConnectionClosed, IqError, IqTimeout, LoginFailed

__all__ = [
    "Client",
    "ClientError",
    "ClientState",
    "CodeRegisterFailed",
    "CodeRequestFailed",
    "CodeRequestFailedTooManyGuesses",
    "CodeRequestFailedTooRecent",
    "CodeSent",
    "ConnectionClosed",
    "Credentials",
    "CredentialsBad",
    "HttpError",
    "IqError",
    "IqTimeout",
    "LoginFailed",
    "RegistrationFailed",
    "check_credentials",
    "code_register",
    "code_request",
    "events",
    "open_client",
]
