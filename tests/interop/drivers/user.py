"""A scriptable yowsup user: the peer a bot built on our client library talks to.

Built from yowsup's own layers, without ``YowInterfaceLayer`` (it cannot be imported with
yowsup 2.5.7 on Python >= 3.7) and without the axolotl layer: yowsup's network, stanza
regulator, crypt, coder and logger layers, its full set of protocol layers (2.0.x:
``YOWSUP_PROTOCOL_LAYERS_FULL``; 2.4+: ``YowStackBuilder.getProtocolLayers()``, the layers
the demo stacks use), a transparent node tap (``yowdriver.make_node_tap``) between the two,
and on top a small layer of ours that turns commands into yowsup protocol entities.

Commands: JSON objects, one per line on stdin. End of stdin means ``quit``.

    {"op": "send", "to": JID, "text": STR [, "id": STR]}         a text message
    {"op": "receipt", "to": JID, "id": ID_OR_IDS [, "read": BOOL] [, "participant": JID]}
    {"op": "ack", "id": ID, "to": JID [, "class": "receipt"] [, "type": STR]}
    {"op": "presence", "type": "available" | "unavailable"}
    {"op": "presence", "type": "subscribe" | "unsubscribe", "to": JID}
    {"op": "iq", "entity": CLASS_NAME [, "args": {KEYWORD: VALUE, ...}]}
    {"op": "media", "to": JID, "type": "image" | "audio" | "video", "path": FILE
        [, "width": W, "height": H] [, "duration": SECONDS] [, "caption": STR]}
    {"op": "location", "to": JID, "latitude": STR, "longitude": STR [, "name": STR]}
    {"op": "vcard", "to": JID, "name": STR, "card": VCARD_TEXT}
    {"op": "download", "url": URL}
    {"op": "quit"}

``media`` does what yowsup's demo CLI does for ``/image send`` etc.: the ``w:m`` upload
request (``RequestUploadIqProtocolEntity``), yowsup's own ``MediaUploader`` (HTTPS POST of
the file to the URL the server gave), then the media message built with the entity's
``fromFilePath``. It reports ``upload_slot`` (the iq answer), ``uploaded`` (the URL) or
``error``. ``download`` fetches a URL with yowsup's ``MediaDownloader`` (urllib over HTTPS)
and reports ``downloaded`` (``size``, ``sha256`` hex) or ``error``. With ``SIM_HTTP_PORT``
set, yowsup's HTTPS hosts (port 443) are redirected to it (``redirect_service_hosts``).
Workarounds, each for a fault of the client on Python 3, not of the server:
``mediauploader.py`` is imported with its ``async`` parameter renamed (a keyword since
3.7); image dimensions and video properties come from the command (yowsup reads them
with PIL and ffvideo, which are not installed; without them ``fromFilePath`` asserts).

``iq`` builds one of this yowsup version's own iq entity classes (any ``*IqProtocolEntity``
its protocol layers import, e.g. ``GetSyncIqProtocolEntity``) with ``args`` as keyword
arguments, reports ``requested`` (``entity``, ``id``) and hands it to the stack, whose
layers send it (and register their own result callbacks) exactly as for an application.

Events: JSON objects, one per line on stdout (see README.md): ``ready``, ``connected``,
``authed``/``auth_failed``, ``message``/``receipt``/``ack``/``node`` for every node received,
``sent`` for every node yowsup writes, ``requested`` for every ``iq`` command sent,
``entity`` for every iq, presence, notification or ib entity yowsup's protocol layers hand
up (what yowsup parsed: ``entity`` class, ``tag``, ``fields``, ``text``; see
``yowdriver.entity_fields``), ``error`` for a command that could not be run, then
``disconnected`` or ``stopped``.

Options: ``--echo`` answers every incoming text message the way the version's demo echo
bot does (2.0.x: delivery receipt, then the text back; 2.4+: the text back, then delivery
and read receipts) -- a stand-in bot for yowsup 2.5.7, whose demo cannot run;
``--no-auto-ack`` stops the driver from acking incoming receipts (by default it acks each
one as the demo bots do: 2.0.x ``type="delivery"`` without ``to``, 2.4+ ``entity.ack()``).

Environment, HOME and exit codes: as for ``echo_bot.py``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import traceback
from dataclasses import dataclass
from typing import Any

import yowdriver as yd


@dataclass(frozen=True)
class Options:
    echo: bool
    auto_ack: bool
    legacy: bool
    own_jid: str
    e2e: bool = False


class CommandError(Exception):
    """A command line that cannot be run; reported as an ``error`` event."""


def build_stack(
    endpoint: yd.Endpoint, layers_on_top: tuple[type[Any], ...], legacy: bool, e2e: bool = False
) -> Any:
    """yowsup's own layers, the node tap and ``layers_on_top``, pointed at the simulator.

    ``e2e`` (2.4+ with the axolotl packages installed): yowsup's axolotl layers go between
    the tap and the protocol layers, as ``YowStackBuilder.getDefaultLayers(axolotl=True)``
    puts them, so the tap sees the ciphertext and the driver layer the plaintext."""
    from yowsup.layers.auth import YowAuthenticationProtocolLayer, YowCryptLayer
    from yowsup.layers.coder import YowCoderLayer
    from yowsup.layers.logger import YowLoggerLayer
    from yowsup.layers.network import YowNetworkLayer
    from yowsup.layers.stanzaregulator import YowStanzaRegulator
    from yowsup.stacks import YowStack

    tap, *top = layers_on_top
    if legacy:
        from yowsup.common import YowConstants
        from yowsup.stacks import YOWSUP_PROTOCOL_LAYERS_FULL

        core = (YowLoggerLayer, YowCoderLayer, YowCryptLayer, YowStanzaRegulator, YowNetworkLayer)
        # 2.0.x: top first; a tuple is a parallel layer; no default properties.
        stack = YowStack((*reversed(top), YOWSUP_PROTOCOL_LAYERS_FULL, tap, *core))
        stack.setProp(YowCoderLayer.PROP_DOMAIN, YowConstants.DOMAIN)
        stack.setProp(YowCoderLayer.PROP_RESOURCE, YowConstants.RESOURCE)
    else:
        from yowsup.layers import YowParallelLayer
        from yowsup.stacks import YowStackBuilder

        protocol = YowParallelLayer(YowStackBuilder.getProtocolLayers())
        crypto: tuple[Any, ...] = ()
        if e2e:
            from yowsup.layers.axolotl import (
                AxolotlControlLayer,
                AxolotlReceivelayer,
                AxolotlSendLayer,
            )

            crypto = (
                AxolotlControlLayer,
                YowParallelLayer((AxolotlSendLayer, AxolotlReceivelayer)),
            )
        layers = (*YowStackBuilder.getCoreLayers(), tap, *crypto, protocol, *top)
        stack = YowStack(layers, reversed=False)  # sets domain and resource (env) itself
    stack.setProp(YowNetworkLayer.PROP_ENDPOINT, endpoint.address)
    stack.setProp(YowAuthenticationProtocolLayer.PROP_CREDENTIALS, endpoint.credentials)
    return stack


REPORTED_ENTITIES = frozenset({"iq", "presence", "notification", "ib"})
"""Tags whose parsed entities are reported as ``entity`` events."""


def make_driver_layer(events: yd.Events, session: yd.Session, options: Options) -> type[Any]:
    """The top layer: runs commands, acks receipts, optionally echoes.

    Commands that arrive before the login completed are held back until ``success``
    (yowsup itself would send them unencrypted in the middle of the handshake).
    """
    from yowsup.layers import YowLayer
    from yowsup.layers.protocol_acks.protocolentities import OutgoingAckProtocolEntity
    from yowsup.layers.protocol_messages.protocolentities import TextMessageProtocolEntity
    from yowsup.layers.protocol_presence.protocolentities import (
        AvailablePresenceProtocolEntity,
        SubscribePresenceProtocolEntity,
        UnavailablePresenceProtocolEntity,
        UnsubscribePresenceProtocolEntity,
    )
    from yowsup.layers.protocol_receipts.protocolentities import OutgoingReceiptProtocolEntity

    class DriverLayer(YowLayer):
        def __init__(self) -> None:
            super().__init__()
            self.held: list[dict[str, Any]] = []
            self.iq_classes: dict[str, type[Any]] | None = None
            self.uploads: dict[str, dict[str, Any]] = {}
            """Upload request iq id -> the ``media`` command waiting for its slot."""
            self.ready = False
            """Logged in for good: with ``--e2e``, the passive key-upload login is not."""

        # ---------------------------------------------------------------- incoming
        def receive(self, entity: Any) -> None:
            tag = entity.getTag()
            if tag in REPORTED_ENTITIES:
                events.emit("entity", **yd.entity_fields(entity))
            if tag == "message" and getattr(entity, "getType", lambda: "")() == "text":
                events.emit(
                    "text",
                    id=entity.getId(),
                    **{"from": entity.getFrom()},
                    participant=entity.getParticipant(),
                    body=yd.wire_text(entity.getBody()),
                )
            if tag == "message" and hasattr(entity, "getMediaType"):
                events.emit("media", **yd.entity_fields(entity))
            if tag == "iq" and entity.getId() in self.uploads:
                self._upload(self.uploads.pop(entity.getId()), entity)
            if tag == "success":
                self.ready = not (options.e2e and self._passive())
                events.emit("ready_for_commands", ready=self.ready)
                if self.ready:
                    held, self.held = self.held, []
                    for command in held:
                        self._execute(command)

            elif tag == "receipt" and options.auto_ack:
                self._ack_receipt(entity)
            elif tag == "message" and options.echo:
                self._echo(entity)

        def _passive(self) -> bool:
            from yowsup.layers.auth import YowAuthenticationProtocolLayer

            return bool(self.getProp(YowAuthenticationProtocolLayer.PROP_PASSIVE, False))

        def _ack_receipt(self, receipt: Any) -> None:
            if options.legacy:
                self.toLower(OutgoingAckProtocolEntity(receipt.getId(), "receipt", "delivery"))
            else:
                self.toLower(receipt.ack())

        def _echo(self, message: Any) -> None:
            if message.getType() != "text" or message.isGroupMessage():
                return
            if options.legacy:
                sender = message.getFrom()
                self.toLower(OutgoingReceiptProtocolEntity(message.getId(), sender))
                self.toLower(TextMessageProtocolEntity(message.getBody(), to=sender))
            else:
                self.toLower(message.forward(message.getFrom()))
                self.toLower(message.ack())
                self.toLower(message.ack(True))

        # ---------------------------------------------------------------- commands
        def run(self, command: dict[str, Any]) -> None:
            """Run a command now, or once logged in; report one that cannot run."""
            op = command.get("op")
            if not isinstance(op, str) or not hasattr(self, f"_op_{op}"):
                events.emit("error", kind="command", message=f"unknown op {op!r}", command=command)
            elif self.ready or op == "quit":
                self._execute(command)
            else:
                self.held.append(command)

        def _execute(self, command: dict[str, Any]) -> None:
            try:
                getattr(self, f"_op_{command['op']}")(command)
            except CommandError as exc:
                events.emit("error", kind="command", message=str(exc), command=command)

        def _op_send(self, cmd: dict[str, Any]) -> None:
            text = _require(cmd, "text")
            entity = TextMessageProtocolEntity(
                yd.to_wire_str(text), _id=cmd.get("id"), to=_require(cmd, "to")
            )
            self.toLower(entity)

        def _op_receipt(self, cmd: dict[str, Any]) -> None:
            to, ids = _require(cmd, "to"), cmd.get("id")
            read, participant = bool(cmd.get("read", False)), cmd.get("participant")
            if options.legacy:
                if not isinstance(ids, str) or participant is not None:
                    raise CommandError("yowsup 2.0.x receipts take one id and no participant")
                receipt = OutgoingReceiptProtocolEntity(ids, to, "read" if read else None)
            else:
                if not (isinstance(ids, str) or (isinstance(ids, list) and ids)):
                    raise CommandError("'id' must be a message id or a non-empty list of ids")
                receipt = OutgoingReceiptProtocolEntity(ids, to, read, participant=participant)
            self.toLower(receipt)

        def _op_ack(self, cmd: dict[str, Any]) -> None:
            msg_id, ack_class = _require(cmd, "id"), cmd.get("class", "receipt")
            if options.legacy:
                ack = OutgoingAckProtocolEntity(msg_id, ack_class, cmd.get("type", "delivery"))
            else:
                to = _require(cmd, "to")
                ack = OutgoingAckProtocolEntity(
                    msg_id, ack_class, cmd.get("type"), to, cmd.get("participant")
                )
            self.toLower(ack)

        def _op_presence(self, cmd: dict[str, Any]) -> None:
            kinds = {
                "available": AvailablePresenceProtocolEntity,
                "unavailable": UnavailablePresenceProtocolEntity,
            }
            watch = {
                "subscribe": SubscribePresenceProtocolEntity,
                "unsubscribe": UnsubscribePresenceProtocolEntity,
            }
            kind = cmd.get("type", "available")
            if kind in watch:
                self.toLower(watch[kind](_require(cmd, "to")))
            elif kind in kinds:
                self.toLower(kinds[kind]())
            else:
                raise CommandError(f"presence type must be one of {sorted([*kinds, *watch])}")

        def _op_iq(self, cmd: dict[str, Any]) -> None:
            name, args = _require(cmd, "entity"), cmd.get("args", {})
            if not isinstance(args, dict):
                raise CommandError("'args' must be an object of keyword arguments")
            if self.iq_classes is None:
                self.iq_classes = yd.iq_entity_classes()
            cls = self.iq_classes.get(name)
            if cls is None:
                raise CommandError(f"this yowsup has no iq entity class {name!r}")
            try:
                entity = cls(**{key: _wire_args(value) for key, value in args.items()})
            except (TypeError, AssertionError, ValueError) as exc:
                raise CommandError(f"{name}(**{args!r}): {type(exc).__name__}: {exc}") from exc
            events.emit("requested", entity=name, id=yd.wire_text(entity.getId()))
            self.toLower(entity)

        def _op_media(self, cmd: dict[str, Any]) -> None:
            from yowsup.layers.protocol_media.protocolentities import (
                RequestUploadIqProtocolEntity,
            )

            kind, path = _require(cmd, "type"), _require(cmd, "path")
            _require(cmd, "to")
            if kind not in ("image", "audio", "video"):
                raise CommandError("'type' must be image, audio or video")
            entity = RequestUploadIqProtocolEntity(kind, filePath=path)
            self.uploads[entity.getId()] = cmd
            events.emit("requested", entity="RequestUploadIqProtocolEntity", id=entity.getId())
            self.toLower(entity)

        def _upload(self, cmd: dict[str, Any], answer: Any) -> None:
            url = answer.getUrl() if hasattr(answer, "getUrl") else None
            events.emit(
                "upload_slot",
                entity=type(answer).__name__,
                url=url,
                duplicate=bool(getattr(answer, "isDuplicate", lambda: False)()),
            )
            if url is None:
                events.emit("error", kind="upload", message=f"no upload slot: {answer}")
                return
            if answer.isDuplicate():
                self._send_media(cmd, url)
                return
            uploader_module = yd.import_without_async_keyword(
                "yowsup.layers.protocol_media.mediauploader"
            )

            def uploaded(path: str, jid: str, media_url: str) -> None:
                events.emit("uploaded", url=media_url, path=path)
                self._send_media(cmd, media_url)

            def failed(path: str, jid: str, media_url: str) -> None:
                events.emit(
                    "error", kind="upload", message=f"upload of {path} to {media_url} failed"
                )

            uploader = uploader_module.MediaUploader(
                cmd["to"],
                options.own_jid,
                cmd["path"],
                url,
                answer.getResumeOffset(),
                uploaded,
                failed,
                None,
                async_=False,
            )
            uploader.start()

        def _send_media(self, cmd: dict[str, Any], url: str) -> None:
            from yowsup.layers.protocol_media.protocolentities import (
                AudioDownloadableMediaMessageProtocolEntity,
                DownloadableMediaMessageProtocolEntity,
                ImageDownloadableMediaMessageProtocolEntity,
                VideoDownloadableMediaMessageProtocolEntity,
            )

            to, path, kind = cmd["to"], cmd["path"], cmd["type"]
            if kind == "image":
                dimensions = (int(cmd.get("width", 1)), int(cmd.get("height", 1)))
                entity = ImageDownloadableMediaMessageProtocolEntity.fromFilePath(
                    path, url, None, to, caption=cmd.get("caption"), dimensions=dimensions
                )
            elif hasattr(DownloadableMediaMessageProtocolEntity, "fromFilePath"):  # 2.4
                if kind == "audio":
                    entity = AudioDownloadableMediaMessageProtocolEntity.fromFilePath(
                        path, url, None, to
                    )
                else:  # what VideoDownloadable...fromFilePath does, without ffvideo
                    entity = DownloadableMediaMessageProtocolEntity.fromFilePath(
                        path, url, "video", None, to
                    )
                    entity.__class__ = VideoDownloadableMediaMessageProtocolEntity
                    seconds = int(cmd.get("duration", 1))
                    entity.setVideoProps(
                        "raw",
                        int(cmd.get("width", 1)),
                        int(cmd.get("height", 1)),
                        duration=seconds,
                        seconds=seconds,
                        caption=cmd.get("caption"),
                    )
            else:
                # 2.5.7: the audio and video fromFilePath call a
                # DownloadableMediaMessageProtocolEntity.fromFilePath that 2.5.7 removed
                # (AttributeError); build the entity with its constructor from the file.
                entity = _media_entity_257(cmd, url)
            self.toLower(entity)

        def _op_location(self, cmd: dict[str, Any]) -> None:
            from yowsup.layers.protocol_media.protocolentities import (
                LocationMediaMessageProtocolEntity,
            )

            entity = LocationMediaMessageProtocolEntity(
                _require(cmd, "latitude"),
                _require(cmd, "longitude"),
                yd.to_wire_str(cmd.get("name", "")) or None,
                None,
                "raw",
                to=_require(cmd, "to"),
            )
            self.toLower(entity)

        def _op_vcard(self, cmd: dict[str, Any]) -> None:
            from yowsup.layers.protocol_media.protocolentities import (
                VCardMediaMessageProtocolEntity,
            )

            entity = VCardMediaMessageProtocolEntity(
                yd.to_wire_str(_require(cmd, "name")),
                yd.to_wire_str(_require(cmd, "card")),
                to=_require(cmd, "to"),
            )
            self.toLower(entity)

        def _op_download(self, cmd: dict[str, Any]) -> None:
            import hashlib

            from yowsup.layers.protocol_media.mediadownloader import MediaDownloader

            url = _require(cmd, "url")

            def done(path: str) -> None:
                with open(path, "rb") as downloaded:
                    data = downloaded.read()
                events.emit(
                    "downloaded", url=url, size=len(data), sha256=hashlib.sha256(data).hexdigest()
                )

            def failed() -> None:
                events.emit("error", kind="download", message=f"download of {url} failed")

            MediaDownloader(done, failed).download(url)

        def _op_quit(self, cmd: dict[str, Any]) -> None:
            raise yd.Stop("quit")

        def __str__(self) -> str:
            return "Driver Command Layer"

    return DriverLayer


def _media_entity_257(cmd: dict[str, Any], url: str) -> Any:
    """An audio or video message entity of yowsup 2.5.7, made with its constructor."""
    import base64
    import hashlib

    from yowsup.common.tools import MimeTools
    from yowsup.layers.protocol_media.protocolentities import (
        AudioDownloadableMediaMessageProtocolEntity,
        VideoDownloadableMediaMessageProtocolEntity,
    )

    path, to = cmd["path"], cmd["to"]
    with open(path, "rb") as media_file:
        data = media_file.read()
    file_hash = base64.b64encode(hashlib.sha256(data).digest()).decode()
    name = os.path.basename(path)
    # Attribute values as texts: yowsup's logger layer concatenates them.
    common = (MimeTools.getMIME(path), file_hash, url, None, str(len(data)), name)
    seconds = str(int(cmd.get("duration", 1)))
    if cmd["type"] == "audio":
        return AudioDownloadableMediaMessageProtocolEntity(
            *common, None, None, None, seconds, "raw", None, seconds, to=to
        )
    # 2.5.7 writes every video attribute and refuses a None: the values a phone's
    # encoder would report (yowsup reads them with ffvideo, not installed here).
    return VideoDownloadableMediaMessageProtocolEntity(
        *common,
        "64",  # abitrate
        "aac",  # acodec
        "flt",  # asampfmt
        "44100",  # asampfreq
        seconds,  # duration
        "raw",  # encoding
        "25",  # fps
        str(int(cmd.get("width", 1))),
        str(int(cmd.get("height", 1))),
        seconds,  # seconds
        "256",  # vbitrate
        "h264",  # vcodec
        caption=cmd.get("caption"),
        to=to,
    )


def _require(cmd: dict[str, Any], key: str) -> str:
    value = cmd.get(key)
    if not isinstance(value, str) or not value:
        raise CommandError(f"{key!r} must be a non-empty string")
    return value


def _wire_args(value: Any) -> Any:
    """Command arguments as yowsup takes them: texts as latin-1 strings of their UTF-8."""
    if isinstance(value, str):
        return yd.to_wire_str(value)
    if isinstance(value, list):
        return [_wire_args(v) for v in value]
    if isinstance(value, dict):
        return {k: _wire_args(v) for k, v in value.items()}
    return value


def make_command_reader(events: yd.Events, driver: Any) -> Any:
    """An asyncore dispatcher on stdin, so commands run on the loop's own thread."""
    import asyncore

    class CommandReader(asyncore.file_dispatcher):
        def __init__(self) -> None:
            super().__init__(sys.stdin.fileno())
            self._pending = b""

        def writable(self) -> bool:
            return False

        def handle_read(self) -> None:
            data = self.recv(65536)  # b"" at end of input (handle_close was called)
            *lines, self._pending = (self._pending + data).split(b"\n")
            for line in lines:
                if line.strip():
                    self._run(line)

        def _run(self, line: bytes) -> None:
            text = line.decode("utf-8", "replace")
            try:
                command = json.loads(text)
            except ValueError as exc:
                events.emit("error", kind="command", message=f"not JSON: {exc}", line=text)
                return
            if isinstance(command, dict):
                driver.run(command)
            else:
                events.emit("error", kind="command", message="not a JSON object", line=text)

        def handle_close(self) -> None:
            self.close()
            raise yd.Stop("end of input")

        def handle_error(self) -> None:
            raise  # what asyncore caught: Stop, or a real bug

    return CommandReader()


def main(argv: list[str]) -> None:
    yd.prepare_process()
    events = yd.Events()
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--echo", action="store_true", help="answer text messages like a bot")
    parser.add_argument("--no-auto-ack", action="store_true", help="do not ack receipts")
    parser.add_argument(
        "--e2e", action="store_true", help="with yowsup's axolotl layers (end-to-end encryption)"
    )
    args = parser.parse_args(argv)
    endpoint = yd.read_endpoint(events)
    version = yd.yowsup_version()
    options = Options(
        echo=args.echo,
        auto_ack=not args.no_auto_ack,
        legacy=yd.is_legacy_stack(),
        own_jid=f"{endpoint.phone}@s.whatsapp.net",
        e2e=args.e2e,
    )
    if os.environ.get("SIM_HTTP_PORT"):
        yd.redirect_service_hosts(int(os.environ["SIM_HTTP_PORT"]))

    import asyncore

    from yowsup.layers import YowLayerEvent
    from yowsup.layers.network import YowNetworkLayer

    session = yd.Session()
    driver_class = make_driver_layer(events, session, options)
    stack = build_stack(
        endpoint, (yd.make_node_tap(events, session), driver_class), options.legacy, options.e2e
    )
    driver = stack.getLayer(-1)
    events.emit("ready", driver="user", yowsup=version, endpoint=list(endpoint.address))

    reader = None
    try:
        stack.broadcastEvent(YowLayerEvent(YowNetworkLayer.EVENT_STATE_CONNECT))
        reader = make_command_reader(events, driver)
        while True:
            if yd.network_open(stack):
                asyncore.loop(timeout=1.0, count=1)
            # With --e2e, run what yowsup queued as "detached" (YowStack.loop(discrete=...)
            # does this): the axolotl control layer reconnects non-passively from there.
            ran = yd.run_detached(stack) if options.e2e else 0
            if not ran and not yd.network_open(stack):
                break
    except yd.Stop as stop:
        yd.disconnect(stack, str(stop))
        yd.finish(events, session, stopped_by=str(stop))
    except OSError as exc:
        if session.authed:
            raise
        events.emit("error", kind="network", message=str(exc))
    except Exception:
        if session.auth_failure is None:
            raise
        # yowsup raises AuthError out of the loop after reporting <failure>.
    finally:
        if reader is not None:
            reader.close()
    yd.finish(events, session)


if __name__ == "__main__":
    try:
        main(sys.argv[1:])
    except SystemExit:
        raise
    except yd.Stop:  # signalled before the session started
        raise SystemExit(yd.EXIT_OK) from None
    except BaseException:
        traceback.print_exc()
        raise SystemExit(yd.EXIT_CRASH) from None
