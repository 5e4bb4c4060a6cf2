"""A local stand-in for the Slack Web API, reached by the real ``slack_sdk.WebClient``.

Used by the functional tests, ``make run`` and ``prodsupport replay``::

    with RecordingSlackApi(ts_clock=clock) as slack:
        client = WebClient(token="xoxb-local", base_url=slack.base_url)
        client.chat_postMessage(channel="C1", text="hi", metadata={"event_type": "x", "event_payload": {}})
        slack.posts()[0].args["metadata"]  # -> {"event_type": "x", "event_payload": {}}

Every call is recorded in order as a :class:`SlackCall`, its arguments parsed the way Slack reads them (form
or JSON body; JSON-string fields such as ``metadata``, ``blocks`` or ``view`` decoded). ``chat.postMessage``
answers a deterministic ``ts``: the virtual time of ``ts_clock()`` in whole epoch seconds, a dot, and a
six-digit count of successful posts in this server's life (``"1764230400.000001"``), so a replay scenario can
reply in a thread the bot started. :meth:`RecordingSlackApi.fail_next` injects rate limits, server errors,
Slack errors and slow answers; :meth:`RecordingSlackApi.limit_posts_per_channel` adds Slack's per-channel limit
on ``chat.postMessage`` (about one message a second, with short bursts: a 429 with ``Retry-After`` beyond it).

``conversations.members`` answers, page by page, the members set with :meth:`RecordingSlackApi.set_members`;
a channel nobody configured has every person of the workspace as a member (every user defined with
``set_user`` or met with :meth:`RecordingSlackApi.admit`), so a test or scenario that is not about
membership acts as a member. As in Slack, ``chat.postEphemeral`` to someone outside a channel whose members
were set answers ``user_not_in_channel``; an interaction's ``response_url``
(:meth:`RecordingSlackApi.response_url`) reaches anyone, and is recorded as a call to ``response_url``.
"""

from __future__ import annotations

import contextlib
import json
import math
import mimetypes
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.message import Message
from email.parser import BytesParser
from http import HTTPStatus
from typing import Any, cast
from urllib.parse import parse_qs, urlsplit

from prodsupport_local.fakes.base import ApiServer, FakeApi, FakeHandler, Fault

BOT_USER_ID = "UBOT"
BOT_ID = "BPRODSUPPORT"
TEAM_ID = "T0PRODSUP"
WORKSPACE_URL = "https://example.slack.com/"

# Arguments slack_sdk sends as JSON strings inside a form body (or callers may pass pre-encoded).
_JSON_STRING_ARGS = frozenset(
    {
        "metadata",
        "blocks",
        "attachments",
        "view",
        "files",
        "user_auth_blocks",
        "unfurls",
        "profile",
        "outputs",
    }
)
_POST_METHODS = ("chat.postMessage", "chat.postEphemeral")
# What a person in the workspace would see; the reads made on the way (users.profile.get, files.info,
# conversations.open, files.getUploadURLExternal, ...) would bury it, so the echo leaves them out.
_ECHOED_METHODS = frozenset(
    {
        *_POST_METHODS,
        "chat.update",
        "files.completeUploadExternal",
        "reactions.add",
        "views.open",
        "views.push",
        "views.update",
        "views.publish",
    }
)
_MESSAGE_CONTENT_ARGS = ("text", "blocks", "attachments", "markdown_text")

type _Args = dict[str, Any]
type _Response = dict[str, Any]


@dataclass
class SlackCall:
    """One Web API call as the recording server saw it.

    ``status`` is the HTTP status answered (200 also for Slack-level errors, which are ``{"ok": false}``);
    it is 0, with an empty ``response``, while an injected hang is still holding the answer back.
    """

    method: str
    args: dict[str, Any]
    response: dict[str, Any]
    status: int = 200
    # When the call arrived, on the monotonic clock (system-wide: comparable with a function's own process).
    received_at: float = field(default_factory=time.monotonic)

    @property
    def ok(self) -> bool:
        return self.status == HTTPStatus.OK and self.response.get("ok") is True


class PostRateLimit:
    """Slack's special limit on ``chat.postMessage``: about one message per second to a channel, short bursts
    allowed. A token bucket per channel on the wall clock (the SDK waits Retry-After on it): ``burst`` posts at
    once, then ``per_second``; a post over the limit is refused with a 429 and the seconds until a token."""

    def __init__(self, per_second: float, burst: int) -> None:
        self.per_second = per_second
        self.burst = burst
        self.refused = 0
        self._buckets: dict[str, tuple[float, float]] = {}  # channel -> (tokens, at)
        self._lock = threading.Lock()

    def take(self, channel: str) -> Fault | None:
        with self._lock:
            now = time.monotonic()
            tokens, at = self._buckets.get(channel, (float(self.burst), now))
            tokens = min(float(self.burst), tokens + (now - at) * self.per_second)
            if tokens >= 1.0:
                self._buckets[channel] = (tokens - 1.0, now)
                return None
            self._buckets[channel] = (tokens, now)
            self.refused += 1
            return Fault(retry_after=max(1, math.ceil((1.0 - tokens) / self.per_second)))


@dataclass(frozen=True)
class _Answer:
    status: int
    body: _Response
    headers: tuple[tuple[str, str], ...] = ()


class RecordingSlackApi(FakeApi[SlackCall]):
    """A Slack Web API on ``127.0.0.1`` that records every call; see the module docstring."""

    label = "recording-slack"
    exact_fault_targets = True

    def __init__(
        self,
        *,
        ts_clock: Callable[[], datetime] | None = None,
        users: dict[str, dict[str, Any]] | None = None,
        echo: bool = False,
    ) -> None:
        super().__init__()
        self._ts_clock = ts_clock or _wall_clock
        self._echo = echo
        self._post_count = 0
        self._ephemeral_count = 0
        self._view_count = 0
        self._file_count = 0
        self._users: dict[str, dict[str, Any]] = {}
        self._messages: dict[tuple[str, str], dict[str, Any]] = {}
        self._views: dict[str, dict[str, Any]] = {}
        self._uploads: dict[str, dict[str, Any]] = {}
        self._members: dict[str, list[str]] = {}
        self._download_redirects: dict[str, str] = {}
        self._workspace: set[str] = set()
        self.post_limit: PostRateLimit | None = None
        self._handlers: dict[str, Callable[[_Args], _Response]] = {
            "auth.test": self._auth_test,
            "chat.postMessage": self._chat_post_message,
            "chat.postEphemeral": self._chat_post_ephemeral,
            "chat.update": self._chat_update,
            "chat.delete": self._chat_delete,
            "chat.getPermalink": self._chat_get_permalink,
            "conversations.members": self._conversations_members,
            "conversations.open": self._conversations_open,
            "conversations.replies": self._conversations_replies,
            "files.getUploadURLExternal": self._files_get_upload_url_external,
            "files.completeUploadExternal": self._files_complete_upload_external,
            "files.info": self._files_info,
            "reactions.add": self._reactions_add,
            "users.info": self._users_info,
            "users.lookupByEmail": self._users_lookup_by_email,
            "users.profile.get": self._users_profile_get,
            "views.open": self._views_open,
            "views.push": self._views_open,
            "views.update": self._views_update,
            "views.publish": self._views_publish,
        }
        self.set_user(BOT_USER_ID, is_bot=True)
        for user_id, spec in (users or {}).items():
            self.set_user(
                user_id,
                email=spec.get("email"),
                status_text=spec.get("status_text", ""),
                status_emoji=spec.get("status_emoji", ""),
                is_bot=bool(spec.get("is_bot", False)),
            )
            extra = {k: v for k, v in spec.items() if k not in {"email", "status_text", "status_emoji", "is_bot"}}
            self._users[user_id].update(extra)

    # -- lifecycle -------------------------------------------------------------------------------------------

    def _make_server(self) -> ApiServer:
        return ApiServer(self, _SlackRequestHandler)

    @property
    def base_url(self) -> str:
        """The ``base_url`` for ``WebClient``: ``http://127.0.0.1:PORT/api/``."""
        return f"{self.root_url}/api/"

    # -- inspection and configuration ------------------------------------------------------------------------

    def calls_to(self, method: str) -> list[SlackCall]:
        """Every recorded call to ``method``, failed attempts included, in order."""
        with self._lock:
            return [call for call in self.calls if call.method == method]

    def posts(self) -> list[SlackCall]:
        """Successful ``chat.postMessage`` and ``chat.postEphemeral`` calls, in order."""
        with self._lock:
            return [call for call in self.calls if call.method in _POST_METHODS and call.ok]

    def set_user(
        self,
        user_id: str,
        *,
        email: str | None = None,
        status_text: str = "",
        status_emoji: str = "",
        is_bot: bool = False,
    ) -> None:
        """Define (or replace) a member for users.info, users.lookupByEmail and users.profile.get."""
        user = _user_object(user_id, email=email, status_text=status_text, status_emoji=status_emoji, is_bot=is_bot)
        with self._lock:
            self._users[user_id] = user

    def set_members(self, channel: str, user_ids: list[str]) -> None:
        """Make exactly ``user_ids`` the members of ``channel`` (in this order, as the pages list them)."""
        with self._lock:
            self._members[channel] = list(user_ids)

    def response_url(self, name: str = "interaction") -> str:
        """A ``response_url`` for an interaction payload: what the bot sends there is recorded."""
        return f"{self.root_url}/response/{name}"

    def _respond(self, path: str, body: bytes) -> None:
        try:
            args = json.loads(body) if body else {}
        except ValueError:
            args = {"raw": body.decode("utf-8", errors="replace")}
        call = SlackCall(method="response_url", args={**args, "path": path}, response={"ok": True})
        self._record(call)

    def redirect_download(self, file_id: str, location: str) -> None:
        """Answer the file's download address with a 302 to ``location`` (a CDN hop, or a hostile one)."""
        with self._lock:
            self._download_redirects[file_id] = location

    def admit(self, user_id: str) -> None:
        """A person who acted in the workspace (sent a command, clicked a button): Slack only sends user ids
        of people who exist, so they count among the members of any channel whose members were not set."""
        with self._lock:
            self._workspace.add(user_id)

    # -- request handling (called from server threads) -------------------------------------------------------

    def clear(self) -> None:
        """Forget recorded calls, pending faults and the post rate limit."""
        super().clear()
        self.post_limit = None

    def limit_posts_per_channel(self, per_second: float = 1.0, burst: int = 5) -> PostRateLimit:
        """From now on, refuse ``chat.postMessage`` beyond ``per_second`` per channel after a ``burst``."""
        self.post_limit = PostRateLimit(per_second, burst)
        return self.post_limit

    def _answer_api_call(self, method: str, args: _Args, token: str | None) -> _Answer | None:
        call = SlackCall(method=method, args=args, response={}, status=0)
        self._record(call)
        fault = self.faults.take(method)
        if fault is None and method == "chat.postMessage" and self.post_limit is not None:
            fault = self.post_limit.take(str(args.get("channel", "")))
        return self.answer_with(
            fault,
            process=lambda: self._processed(method, args, token),
            refuse=_fault_answer,
            record=lambda answer: self._finish(call, answer),
            stopped=_Answer(HTTPStatus.SERVICE_UNAVAILABLE, {"ok": False, "error": "server_stopped"}),
        )

    def _processed(self, method: str, args: _Args, token: str | None) -> _Answer:
        with self._lock:
            return _Answer(HTTPStatus.OK, self._process(method, args, token))

    def _process(self, method: str, args: _Args, token: str | None) -> _Response:
        if not token:
            return {"ok": False, "error": "not_authed"}
        handler = self._handlers.get(method)
        if handler is None:
            return {"ok": False, "error": "unknown_method"}
        return handler(args)

    def _finish(self, call: SlackCall, answer: _Answer) -> None:
        with self._lock:
            call.response = answer.body
            call.status = int(answer.status)
        line = _echo_line(call) if self._echo and call.ok else None
        if line is not None:
            print(line, flush=True)

    def _store_upload(self, file_id: str, data: bytes) -> bool:
        with self._lock:
            upload = self._uploads.get(file_id)
            if upload is None:
                return False
            upload["data"] = data
            return True

    def uploaded_file(self, file_id: str) -> bytes | None:
        """The bytes a client uploaded as `file_id` (a test checks the image it was sent), None if none."""
        return self._download(file_id)

    def _download(self, file_id: str) -> bytes | None:
        """An uploaded file's bytes, as `url_private_download` serves them to a caller with a token."""
        with self._lock:
            upload = self._uploads.get(file_id)
            return None if upload is None or upload["data"] is None else bytes(upload["data"])

    # -- Web API methods (run under the lock) ----------------------------------------------------------------

    def _auth_test(self, args: _Args) -> _Response:
        return {
            "ok": True,
            "url": WORKSPACE_URL,
            "team": "Example",
            "user": "prodsupport",
            "team_id": TEAM_ID,
            "user_id": BOT_USER_ID,
            "bot_id": BOT_ID,
            "is_enterprise_install": False,
        }

    def _chat_post_message(self, args: _Args) -> _Response:
        channel = args.get("channel")
        if not channel:
            return {"ok": False, "error": "channel_not_found"}
        if not any(args.get(name) for name in _MESSAGE_CONTENT_ARGS):
            return {"ok": False, "error": "no_text"}
        self._post_count += 1
        ts = f"{_epoch_seconds(self._ts_clock())}.{self._post_count:06d}"
        message: dict[str, Any] = {
            "type": "message",
            "text": args.get("text", ""),
            "ts": ts,
            "user": BOT_USER_ID,
            "bot_id": BOT_ID,
            "team": TEAM_ID,
        }
        for name in ("thread_ts", "metadata", "blocks", "attachments"):
            if args.get(name):
                message[name] = args[name]
        self._messages[(str(channel), ts)] = message
        return {"ok": True, "channel": channel, "ts": ts, "message": message}

    def _chat_post_ephemeral(self, args: _Args) -> _Response:
        if not args.get("channel"):
            return {"ok": False, "error": "channel_not_found"}
        if not args.get("user"):
            return {"ok": False, "error": "user_not_found"}
        members = self._members.get(str(args["channel"]))
        if members is not None and args["user"] not in members:
            return {"ok": False, "error": "user_not_in_channel"}
        if not any(args.get(name) for name in _MESSAGE_CONTENT_ARGS):
            return {"ok": False, "error": "no_text"}
        self._ephemeral_count += 1
        return {"ok": True, "message_ts": f"{_epoch_seconds(self._ts_clock())}.{self._ephemeral_count:06d}"}

    def _chat_update(self, args: _Args) -> _Response:
        channel, ts = args.get("channel"), args.get("ts")
        if not channel:
            return {"ok": False, "error": "channel_not_found"}
        if not ts:
            return {"ok": False, "error": "message_not_found"}
        message = self._messages.get((str(channel), str(ts)))
        if message is None:  # as Slack answers for a message that is not there (or not the bot's to edit)
            return {"ok": False, "error": "message_not_found"}
        for name in ("text", "metadata", "blocks", "attachments"):
            if name in args:
                message[name] = args[name]
        return {"ok": True, "channel": channel, "ts": ts, "text": message.get("text", ""), "message": message}

    def _chat_delete(self, args: _Args) -> _Response:
        channel, ts = str(args.get("channel") or ""), str(args.get("ts") or "")
        if self._messages.pop((channel, ts), None) is None:
            return {"ok": False, "error": "message_not_found"}
        return {"ok": True, "channel": channel, "ts": ts}

    def _chat_get_permalink(self, args: _Args) -> _Response:
        channel, ts = args.get("channel"), args.get("message_ts")
        if not channel:
            return {"ok": False, "error": "channel_not_found"}
        if not ts:
            return {"ok": False, "error": "message_not_found"}
        permalink = f"{WORKSPACE_URL}archives/{channel}/p{str(ts).replace('.', '')}"
        return {"ok": True, "channel": channel, "permalink": permalink}

    def _conversations_members(self, args: _Args) -> _Response:
        channel = str(args.get("channel") or "")
        if not channel:
            return {"ok": False, "error": "channel_not_found"}
        members = self._members.get(channel)
        if members is None:
            members = sorted(self._workspace | {uid for uid, user in self._users.items() if not user["is_bot"]})
        try:
            start = int(args.get("cursor") or 0)
            limit = int(args.get("limit") or 100)
        except ValueError:
            return {"ok": False, "error": "invalid_cursor"}
        page = members[start : start + max(limit, 1)]
        following = start + len(page)
        next_cursor = str(following) if following < len(members) else ""
        return {"ok": True, "members": page, "response_metadata": {"next_cursor": next_cursor}}

    def _conversations_open(self, args: _Args) -> _Response:
        if args.get("channel"):
            return {"ok": True, "channel": {"id": args["channel"]}, "already_open": True}
        users = [user for user in str(args.get("users", "")).split(",") if user]
        if not users:
            return {"ok": False, "error": "users_list_not_supplied"}
        channel_id = "D" + users[0] if len(users) == 1 else "G" + "".join(sorted(users))
        return {"ok": True, "channel": {"id": channel_id}, "no_op": False, "already_open": False}

    def _conversations_replies(self, args: _Args) -> _Response:
        """The thread's messages posted here, oldest first; metadata only with ``include_all_metadata``."""
        channel, ts = str(args.get("channel") or ""), str(args.get("ts") or "")
        thread = [m for (c, _), m in self._messages.items() if c == channel and ts in (m["ts"], m.get("thread_ts"))]
        return {"ok": True, "messages": _listed(thread, args), "has_more": False}

    def _files_get_upload_url_external(self, args: _Args) -> _Response:
        if not args.get("filename"):
            return {"ok": False, "error": "invalid_arguments"}
        self._file_count += 1
        file_id = f"F{self._file_count:08d}"
        self._uploads[file_id] = {"filename": args["filename"], "data": None}
        return {"ok": True, "upload_url": f"{self.root_url}/upload/{file_id}", "file_id": file_id}

    def _files_complete_upload_external(self, args: _Args) -> _Response:
        requested = args.get("files")
        if not isinstance(requested, list) or not requested:
            return {"ok": False, "error": "invalid_arguments"}
        answered: list[dict[str, Any]] = []
        contents: list[str] = []
        for entry in requested:
            upload = self._uploads.get(str(entry.get("id"))) if isinstance(entry, dict) else None
            if upload is None:
                return {"ok": False, "error": "file_not_found"}
            data: bytes = upload["data"] or b""
            text = data.decode("utf-8", errors="replace")
            entry["content"] = text
            contents.append(text)
            title = entry.get("title") or upload["filename"]
            answered.append({"id": entry["id"], "title": title, "name": upload["filename"], "size": len(data)})
        args["content"] = "".join(contents)
        return {"ok": True, "files": answered}

    def _files_info(self, args: _Args) -> _Response:
        file_id = str(args.get("file") or "")
        upload = self._uploads.get(file_id)
        if upload is None or upload["data"] is None:
            return {"ok": False, "error": "file_not_found"}
        name = str(upload["filename"])
        download = f"{self.root_url}/files-pri/{TEAM_ID}-{file_id}/download/{name}"
        return {
            "ok": True,
            "file": {
                "id": file_id,
                "name": name,
                "title": name,
                "mimetype": mimetypes.guess_type(name)[0] or "application/octet-stream",
                "filetype": name.rsplit(".", 1)[-1].lower() if "." in name else "binary",
                "size": len(upload["data"]),
                "url_private": download,
                "url_private_download": download,
            },
        }

    def _reactions_add(self, args: _Args) -> _Response:
        if not args.get("name"):
            return {"ok": False, "error": "invalid_name"}
        return {"ok": True}

    def _users_info(self, args: _Args) -> _Response:
        user_id = args.get("user")
        if not user_id:
            return {"ok": False, "error": "user_not_found"}
        return {"ok": True, "user": self._user(str(user_id))}

    def _users_lookup_by_email(self, args: _Args) -> _Response:
        wanted = str(args.get("email", "")).casefold()
        for user in self._users.values():
            email = user["profile"].get("email")
            if wanted and isinstance(email, str) and email.casefold() == wanted:
                return {"ok": True, "user": user}
        return {"ok": False, "error": "users_not_found"}

    def _users_profile_get(self, args: _Args) -> _Response:
        user = self._user(str(args.get("user") or BOT_USER_ID))
        return {"ok": True, "profile": user["profile"]}

    def _views_open(self, args: _Args) -> _Response:
        view = args.get("view")
        if not isinstance(view, dict):
            return {"ok": False, "error": "invalid_arguments"}
        if not args.get("trigger_id") and not args.get("interactivity_pointer"):
            return {"ok": False, "error": "invalid_trigger_id"}
        self._view_count += 1
        return {"ok": True, "view": self._store_view(f"V{self._view_count:08d}", view)}

    def _views_update(self, args: _Args) -> _Response:
        view = args.get("view")
        if not isinstance(view, dict):
            return {"ok": False, "error": "invalid_arguments"}
        view_id = args.get("view_id")
        external_id = args.get("external_id")
        if not view_id and external_id:
            view_id = next((vid for vid, v in self._views.items() if v.get("external_id") == external_id), None)
        if not view_id:
            return {"ok": False, "error": "not_found"}
        return {"ok": True, "view": self._store_view(str(view_id), view)}

    def _views_publish(self, args: _Args) -> _Response:
        view = args.get("view")
        if not isinstance(view, dict) or not args.get("user_id"):
            return {"ok": False, "error": "invalid_arguments"}
        return {"ok": True, "view": self._store_view(f"VHOME{args['user_id']}", view)}

    def _store_view(self, view_id: str, view: dict[str, Any]) -> dict[str, Any]:
        stored = {**view, "id": view_id, "team_id": TEAM_ID, "bot_id": BOT_ID, "root_view_id": view_id}
        stored["hash"] = f"{view_id}.{self._view_count:06d}"
        self._views[view_id] = stored
        return stored

    def _user(self, user_id: str) -> dict[str, Any]:
        # Every user id Slack sends exists in the workspace: an unconfigured one is a human without email.
        return self._users.get(user_id) or _user_object(user_id, email=None, status_text="", status_emoji="")


class _SlackRequestHandler(FakeHandler):
    server_version = "RecordingSlackApi/1"

    @property
    def _api(self) -> RecordingSlackApi:
        return cast(RecordingSlackApi, cast(ApiServer, self.server).api)

    def handle_call(self) -> None:
        url = urlsplit(self.path)
        body = self.read_body()
        if url.path.startswith("/response/"):
            self._api._respond(url.path, body)
            self._send_text(HTTPStatus.OK, "ok")
            return
        if url.path.startswith("/upload/"):
            stored = self._api._store_upload(url.path.removeprefix("/upload/"), body)
            if stored:
                self._send_text(HTTPStatus.OK, f"OK - {len(body)}")
            else:
                self._send_text(HTTPStatus.NOT_FOUND, "file not found")
            return
        if url.path.startswith(f"/files-pri/{TEAM_ID}-"):
            file_id = url.path.removeprefix(f"/files-pri/{TEAM_ID}-").split("/", 1)[0]
            location = self._api._download_redirects.get(file_id)
            if location is not None and not url.query:
                self._send(HTTPStatus.FOUND, b"", "text/plain; charset=utf-8", (("Location", location),))
                return
            data = self._api._download(file_id) if _bearer_token(self.headers.get("Authorization", "")) else None
            if data is None:
                self._send_text(HTTPStatus.NOT_FOUND, "file not found (or no bearer token)")
            else:
                self._send(HTTPStatus.OK, data, "application/octet-stream", ())
            return
        if not url.path.startswith("/api/"):
            self._send_text(HTTPStatus.NOT_FOUND, "not found")
            return
        method = url.path.removeprefix("/api/")
        args = _flatten(parse_qs(url.query, keep_blank_values=True))
        try:
            args.update(_parse_body(self.headers.get("Content-Type", ""), body))
        except ValueError:
            self._send_json(_Answer(HTTPStatus.OK, {"ok": False, "error": "invalid_json"}))
            return
        token = _bearer_token(self.headers.get("Authorization", "")) or args.pop("token", None)
        args.pop("token", None)
        answer = self._api._answer_api_call(method, _decode_json_strings(args), token)
        if answer is None:
            self.close_unanswered()
            return
        self._send_json(answer)

    def _send_json(self, answer: _Answer) -> None:
        body = json.dumps(answer.body).encode()
        self._send(answer.status, body, "application/json; charset=utf-8", answer.headers)

    def _send_text(self, status: int, text: str) -> None:
        self._send(status, text.encode(), "text/plain; charset=utf-8", ())

    def _send(self, status: int, body: bytes, content_type: str, headers: tuple[tuple[str, str], ...]) -> None:
        self.send_answer(status, body, (("Content-Type", content_type), *headers))


def _echo_line(call: SlackCall) -> str | None:
    """`[slack] METHOD CHANNEL ts=… thread_ts=… "text"`: with the ts a person can reply in the bot's thread."""
    if call.method not in _ECHOED_METHODS:
        return None
    args, response = call.args, call.response
    channel = args.get("channel") or args.get("channel_id")
    ts = response.get("ts") or response.get("message_ts") or args.get("ts") or args.get("timestamp")
    fields = [
        "[slack]",
        call.method,
        *([str(channel)] if channel else []),
        *([f"ts={ts}"] if ts else []),
        *([f"thread_ts={args['thread_ts']}"] if args.get("thread_ts") else []),
        *([f"user={args['user']}"] if call.method == "chat.postEphemeral" and args.get("user") else []),
    ]
    if call.method == "reactions.add":
        fields.append(f":{args.get('name', '')}:")
    view = args.get("view")
    if isinstance(view, dict):
        title = view.get("title")
        heading = title.get("text", "") if isinstance(title, dict) else ""
        fields.append(f"view={json.dumps(heading, ensure_ascii=False)}")
    files = args.get("files")
    if isinstance(files, list):
        names = [str(entry.get("title") or entry.get("id")) for entry in files if isinstance(entry, dict)]
        fields.append(f"files={json.dumps(names, ensure_ascii=False)}")
    text = args.get("text") or args.get("initial_comment")
    if text:
        fields.append(json.dumps(text, ensure_ascii=False))
    return " ".join(fields)


def _listed(messages: list[dict[str, Any]], args: _Args) -> list[dict[str, Any]]:
    with_metadata = str(args.get("include_all_metadata", "")).lower() in {"1", "true"}
    listed = sorted(messages, key=lambda m: float(m["ts"]))
    return [m if with_metadata else {k: v for k, v in m.items() if k != "metadata"} for m in listed]


def _wall_clock() -> datetime:
    return datetime.now(UTC)


def _epoch_seconds(moment: datetime) -> int:
    aware = moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
    return int(aware.timestamp())


def _fault_answer(fault: Fault) -> _Answer:
    if fault.error is not None:
        return _Answer(fault.status or HTTPStatus.OK, {"ok": False, "error": fault.error})
    if fault.retry_after is not None:
        status = fault.status or HTTPStatus.TOO_MANY_REQUESTS
        return _Answer(status, {"ok": False, "error": "ratelimited"}, (("Retry-After", str(fault.retry_after)),))
    status = fault.status or HTTPStatus.INTERNAL_SERVER_ERROR
    error = "ratelimited" if status == HTTPStatus.TOO_MANY_REQUESTS else "internal_error"
    return _Answer(status, {"ok": False, "error": error})


def _user_object(
    user_id: str, *, email: str | None, status_text: str, status_emoji: str, is_bot: bool = False
) -> dict[str, Any]:
    name = email.split("@", 1)[0] if email else user_id.lower()
    profile: dict[str, Any] = {
        "real_name": name,
        "display_name": name,
        "real_name_normalized": name,
        "display_name_normalized": name,
        "status_text": status_text,
        "status_emoji": status_emoji,
        "status_expiration": 0,
        "team": TEAM_ID,
    }
    if email:
        profile["email"] = email
    if is_bot:
        profile["bot_id"] = BOT_ID if user_id == BOT_USER_ID else f"B{user_id}"
    return {
        "id": user_id,
        "team_id": TEAM_ID,
        "name": name,
        "real_name": name,
        "deleted": False,
        "is_bot": is_bot,
        "is_app_user": False,
        "is_admin": False,
        "tz": "America/New_York",
        "profile": profile,
    }


def _bearer_token(authorization: str) -> str | None:
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer":
        return None
    return token.strip() or None


def _flatten(values: dict[str, list[str]]) -> _Args:
    return {key: items[0] if len(items) == 1 else items for key, items in values.items()}


def _parse_body(content_type: str, body: bytes) -> _Args:
    if not body:
        return {}
    media_type = content_type.split(";", 1)[0].strip().lower()
    if media_type == "application/json":
        parsed = json.loads(body)
        return parsed if isinstance(parsed, dict) else {}
    if media_type == "multipart/form-data":
        return _parse_multipart(content_type, body)
    return _flatten(parse_qs(body.decode("utf-8"), keep_blank_values=True))


def _parse_multipart(content_type: str, body: bytes) -> _Args:
    message: Message = BytesParser().parsebytes(f"Content-Type: {content_type}\r\n\r\n".encode() + body)
    args: _Args = {}
    for part in message.walk():
        name = part.get_param("name", header="content-disposition")
        if part.is_multipart() or not isinstance(name, str):
            continue
        payload = part.get_payload(decode=True)
        data = payload if isinstance(payload, bytes) else b""
        args[name] = data if part.get_filename() else data.decode("utf-8", errors="replace")
    return args


def _decode_json_strings(args: _Args) -> _Args:
    for name in _JSON_STRING_ARGS & args.keys():
        value = args[name]
        if isinstance(value, str) and value[:1] in ("{", "["):
            # Invalid JSON is left as sent, so a test sees the raw string Slack would have rejected.
            with contextlib.suppress(json.JSONDecodeError):
                args[name] = json.loads(value)
    return args
