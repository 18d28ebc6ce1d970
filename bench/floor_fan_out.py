"""How fast can a group delivery with receipts be in CPython? The floor under the fan-out row.

    .venv/bin/python bench/floor_fan_out.py [--members 256] [--messages 200] [--rounds 5]

One delivery of a group message with receipts is six stanza hops: the member's copy, the
member's delivery receipt, the server's ack of it, the receipt forwarded to the author,
the author's ack, and the member's look at the server's ack. This script times the least
Python work those hops need, with no routing, no state, no mailbox, no tasks and no
scheduler: only making and reading the stanzas, in two versions.

* ``nodes``: the bare minimum with our ``Node`` type. Each stanza is made once from a
  dict literal, and each receiver reads the attributes it needs (a recognizer that makes
  no event); the member's copy is shared (made once per message, as the server does).
* ``library``: the same hops through the functions the simulator uses on its hot path:
  the client's parser (typed events), its automatic receipt and ack, the server's ack of a
  receipt, the ids it confirms and the forwarded copy. What the fan-out row pays on top of
  this is routing, state (mailboxes, membership), the relay and the members' tasks.

Figures are deliveries per CPU second (``time.process_time``), medians of ``--rounds``.
Nothing here is a test: it prints a ceiling to compare the fan-out row with.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from simulator import stanzas  # noqa: E402
from simulator.client.parse import parse  # noqa: E402
from simulator.wire.node import Node  # noqa: E402

GROUP = "492220000000-1420070400@g.us"
OWNER = "492220000000@s.whatsapp.net"
PAYLOAD = b"x" * 64


def _members(count: int) -> list[str]:
    return [f"49222{index:07d}@s.whatsapp.net" for index in range(1, count + 1)]


def nodes_floor(members: list[str], messages: int) -> float:
    """Deliveries per CPU second: the stanzas made and read, nothing else."""
    start = time.process_time()
    for number in range(messages):
        msg_id = f"1420070400-{number}"
        t = "1420070400"
        body = Node("body", data=PAYLOAD)
        copy = Node(
            "message",
            {
                "from": GROUP,
                "participant": OWNER,
                "type": "text",
                "id": msg_id,
                "t": t,
                "notify": "",
                "offline": "0",
            },
            (body,),
        )
        for member in members:
            # The member reads its copy and sends its delivery receipt.
            get = copy.attrs.get
            _seen = (get("from"), get("id"), get("participant"), copy.children[0].data)
            receipt = Node(
                "receipt", {"to": get("from", ""), "id": get("id", ""), "participant": OWNER}
            )
            # The server reads the receipt, acks it and forwards it to the author.
            rget = receipt.attrs.get
            to, rid = rget("to", ""), rget("id", "")
            ack = Node("ack", {"class": "receipt", "id": rid, "from": to, "participant": OWNER})
            forwarded = Node(
                "receipt", {"from": to, "participant": member, "id": rid, "t": t, "offline": "0"}
            )
            # The member reads the server's ack; the author reads the receipt and acks it.
            _acked = ack.attrs.get("class"), ack.attrs.get("id")
            fget = forwarded.attrs.get
            author_ack = Node(
                "ack",
                {
                    "to": fget("from", ""),
                    "class": "receipt",
                    "id": fget("id", ""),
                    "participant": fget("participant", ""),
                },
            )
            # The server reads the author's ack.
            _done = (
                author_ack.attrs.get("class"),
                author_ack.attrs.get("id"),
                author_ack.attrs.get("to"),
            )
    return len(members) * messages / (time.process_time() - start)


def library_floor(members: list[str], messages: int) -> float:
    """Deliveries per CPU second through the simulator's own builders and parsers."""
    start = time.process_time()
    for number in range(messages):
        msg_id = f"1420070400-{number}"
        t = "1420070400"
        sent = stanzas.message.outgoing(GROUP, msg_id, [stanzas.message.text(PAYLOAD)])
        copy = stanzas.message.incoming(sent, sender=GROUP, t=t, notify="", participant=OWNER)
        for member in members:
            parse(copy)  # the member's client: a GetGroupMessage
            receipt = stanzas.receipt.delivery_for(copy)  # its automatic receipt
            ack = stanzas.ack.receipt_ack(receipt)  # the server: ack, ids, forwarded copy
            stanzas.receipt.confirmed_ids(receipt)
            forwarded = stanzas.receipt.incoming(receipt, sender=GROUP, t=t, participant=member)
            parse(ack)  # the member's client reads the server's ack
            parse(forwarded)  # the author's client: GetReceipt + MessageReceivedClient
            author_ack = stanzas.ack.for_stanza(forwarded, "receipt")  # and its ack
            get = author_ack.attrs.get  # the server reads it
            _done = get("class"), get("id"), get("to")
    return len(members) * messages / (time.process_time() - start)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--members", type=int, default=256)
    parser.add_argument("--messages", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args(argv)
    members = _members(args.members)
    results: dict[str, list[float]] = {"nodes": [], "library": []}
    for _ in range(args.rounds):
        results["nodes"].append(nodes_floor(members, args.messages))
        results["library"].append(library_floor(members, args.messages))
    for name, rates in results.items():
        median = statistics.median(rates)
        print(f"fan-out floor, {name}: {median:,.0f} deliveries/s ({1e6 / median:.2f} us each)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
