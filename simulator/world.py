"""The world a server starts with: accounts (and, as flows grow, contacts, groups...).

A world is written in YAML, on its own (``simulator serve --world world.yaml``) or under
the ``world:`` key of a scenario, and validated by these pydantic models::

    accounts:
      - phone: "491110000001"
        name: Alice
        password: AQIDBAUGBwgJCgsMDQ4PEBESExQ=   # optional: derived from the phone if absent
      - phone: "491110000002"
        name: Bob

Passwords are what the service issued at registration: base64 of 20 bytes. When a
world leaves one out, the account gets :func:`default_password` of its phone, so test
files stay short and every run logs in the same way.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from pathlib import Path
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

from simulator.server.state import State
from simulator.yamlfile import load_model

__all__ = ["AccountSpec", "World", "build_state", "default_password", "load_world"]

Phone = Annotated[str, StringConstraints(pattern=r"^[0-9]{5,15}$")]


def default_password(phone: str) -> str:
    """The password an account gets when the world does not give one (deterministic)."""
    return base64.b64encode(hashlib.sha1(b"simulator:" + phone.encode()).digest()).decode()


class AccountSpec(BaseModel):
    """One registered phone number."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    phone: Phone
    """Digits only, country code first (``491110000001``)."""
    name: str = ""
    """The push name others see as ``notify``."""
    password: str | None = None
    """Base64 of the 20-byte password; default: derived from the phone."""
    kind: str = "free"
    status: str = "active"

    @field_validator("phone", mode="before")
    @classmethod
    def _phone_as_text(cls, value: object) -> object:
        # YAML reads an unquoted 491110000001 as an int; a phone number is text.
        return str(value) if isinstance(value, int) else value

    @field_validator("password")
    @classmethod
    def _base64(cls, value: str | None) -> str | None:
        if value is None:
            return None
        try:
            raw = base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise ValueError("password must be base64 (as issued by the service)") from exc
        if not raw:
            raise ValueError("password must not be empty")
        return value

    @property
    def effective_password(self) -> str:
        return self.password or default_password(self.phone)


class World(BaseModel):
    """Everything the service knows before the first connection."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    accounts: list[AccountSpec] = Field(default_factory=list)

    @field_validator("accounts")
    @classmethod
    def _unique_phones(cls, accounts: list[AccountSpec]) -> list[AccountSpec]:
        seen: set[str] = set()
        for account in accounts:
            if account.phone in seen:
                raise ValueError(f"phone {account.phone} is listed twice")
            seen.add(account.phone)
        return accounts


def load_world(path: Path | str) -> World:
    """Read a world file; raises ``ScenarioSyntaxError`` listing every problem with its line."""
    return load_model(World, path)


def build_state(world: World, state: State | None = None) -> State:
    """A server state holding the world."""
    state = state or State()
    for spec in world.accounts:
        account = state.add_account(spec.phone, spec.effective_password, push_name=spec.name)
        account.kind = spec.kind
        account.status = spec.status
    return state
