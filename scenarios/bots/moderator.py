"""A group moderator bot: it removes members who post a banned word, and promotes on request.

It is an admin of the groups it moderates (see ``worlds/team.world.yaml``):

* a group message with a banned word from a member who is not an admin: the bot removes
  the author and says why in the group;
* ``promote me`` sent to the bot directly: the sender becomes an admin of each group the
  bot administers that the sender is in, or is told that it is in none.

Run in-process by ``moderator.yaml``, or over TCP like ``bots.echo``.
"""

from __future__ import annotations

from typing import Final

from simulator.client import Client
from simulator.client.events import GetGroupMessage, GetMessage

BANNED: Final = ("casino", "lottery")


async def run(client: Client) -> None:
    """Moderate every group message and answer direct messages, until the connection ends."""
    async for event in client.events():
        if isinstance(event, GetGroupMessage):
            await moderate(client, event)
        elif isinstance(event, GetMessage):
            await answer(client, event)


def banned_word(text: str) -> str | None:
    """The first banned word in ``text``, if any."""
    words = text.casefold()
    return next((word for word in BANNED if word in words), None)


async def moderate(client: Client, message: GetGroupMessage) -> None:
    """Remove the author of a message with a banned word (admins may say anything)."""
    word = banned_word(message.text)
    if word is None:
        return
    group = await client.group_info(message.from_)
    if message.author in group.admins:
        return
    await remove(client, message.from_, message.author)
    await client.send_text(message.from_, f"Removed {message.notify}: no {word} talk here.")


async def remove(client: Client, group: str, member: str) -> None:
    await client.remove_participants(group, member)


async def answer(client: Client, message: GetMessage) -> None:
    """``promote me``: make the sender an admin of the bot's groups it is in."""
    if message.text.strip().casefold() != "promote me":
        await client.send_text(message.chat, "I moderate groups. Say 'promote me' to become admin.")
        return
    mine = [g for g in await client.get_groups(owning=True) if message.author in g.participants]
    if not mine:
        await client.send_text(message.chat, "You are not in any group I moderate.")
        return
    for group in mine:
        if message.author not in group.admins:
            await client.promote(group.jid, message.author)
    subjects = ", ".join(g.subject for g in mine)
    await client.send_text(message.chat, f"You are now an admin of {subjects}.")
