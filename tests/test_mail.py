"""Customer e-mail: templates per language, the mail outbox, delivery by the worker to a real SMTP
server on loopback (aiosmtpd), retries while it is down; the `worker` and `mail` commands."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from typer.testing import CliRunner

from helpers import client, make_order, store
from orderhub.domain import MERCHANT_TRANSITIONS, InvalidInput, ManualClock, Status
from orderhub.services import outbox as outbox_service
from orderhub.services.mail import compose_status_mail, template_language
from orderhub.services.outbox import Backoff, Topic, Worker
from orderhub.services.smtp import SmtpConfig, mail_topic
from orderhub.settings import get_settings
from orderhub.store import UnitOfWork
from orderhub.store.outbox import OutboxItem

#: docs/webhooks.md ("Running it"): a worker holds the rows it took for 60 seconds.
LEASE = timedelta(seconds=60)
NO_WAIT = Backoff(first=0.0, factor=1.0, cap=0.0, attempts=5)
SHIP = {
    "status": "shipped",
    "tracking_number": "Z123",
    "tracking_url": "https://track.example/Z123",
    "carrier": "PPL",
    "notify_user": "1",
}
LANGUAGES = ("en", "cs", "sk", "de", "sv", "da", "no", "hu")


class Inbox:
    """An aiosmtpd handler that keeps what it receives, or refuses recipients with `refuse`."""

    def __init__(self, refuse: str | None = None) -> None:
        self.messages: list[EmailMessage] = []
        self.refuse = refuse

    async def handle_RCPT(  # aiosmtpd hook names
        self, server: Any, session: Any, envelope: Any, address: str, options: list[str]
    ) -> str:
        if self.refuse:
            return self.refuse
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = message_from_bytes(envelope.content, policy=policy.default)
        assert isinstance(message, EmailMessage)
        self.messages.append(message)
        return "250 Message accepted"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def smtp_server(inbox: Inbox, port: int, **smtp_options: Any) -> Iterator[None]:
    controller = Controller(inbox, hostname="127.0.0.1", port=port, **smtp_options)
    controller.start()
    try:
        yield
    finally:
        controller.stop()


@pytest.fixture
def http(engine: Engine) -> TestClient:
    store(
        engine,
        [
            make_order("A-1", email="jana@example.cz", customer="Jana Nováková", language="cs"),
            make_order("A-2", email="max@example.de", language="de"),
        ],
    )
    return client(engine)


def mail_rows(engine: Engine) -> list[Any]:
    with UnitOfWork(engine) as uow:
        return uow.outbox.list("mail")


def worker(engine: Engine, port: int, userinfo: str = "") -> Worker:
    config = SmtpConfig.from_url(f"smtp://{userinfo}127.0.0.1:{port}")
    return Worker(engine, {"mail": mail_topic(config, "Shop <shop@example.com>", NO_WAIT)})


def test_status_mail_is_delivered_over_smtp(http: TestClient, engine: Engine) -> None:
    assert http.put("/v1/orders/1", json=SHIP).json()["notification"]["queued"] is True
    inbox, port = Inbox(), free_port()
    with smtp_server(inbox, port):
        assert worker(engine, port).run_until_idle() == 1
    [message] = inbox.messages
    assert message["To"] == "jana@example.cz"
    assert message["From"] == "Shop <shop@example.com>"
    assert message["Subject"] == "Vaše objednávka A-1 byla odeslána"
    assert message["Message-ID"].startswith("<mail.order.1.")
    body = message.get_content()
    assert "Dobrý den, Jana Nováková," in body
    assert "Číslo zásilky: Z123 (PPL)" in body
    assert "https://track.example/Z123" in body
    [row] = mail_rows(engine)
    assert row.status == "delivered"


def test_mail_waits_while_smtp_is_down_and_goes_once_it_is_up(
    http: TestClient, engine: Engine
) -> None:
    http.put("/v1/orders/2", json={"status": "cancelled", "notify_user": True})
    port = free_port()
    mailer = worker(engine, port)
    assert mailer.run_once() == 1  # nobody listens on the port yet
    [row] = mail_rows(engine)
    assert (row.status, row.attempts) == ("pending", 1)
    assert row.last_error
    inbox = Inbox()
    with smtp_server(inbox, port):
        assert mailer.run_until_idle() == 1
        assert mailer.run_until_idle() == 0
    assert [m["Subject"] for m in inbox.messages] == ["Ihre Bestellung A-2 wurde storniert"]
    assert mail_rows(engine)[0].status == "delivered"


def test_mail_sent_by_a_worker_that_died_before_recording_it_goes_again_after_its_lease(
    http: TestClient, engine: Engine
) -> None:
    http.put("/v1/orders/1", json=SHIP)
    inbox, port = Inbox(), free_port()
    clock = ManualClock(datetime.now(UTC))
    config = SmtpConfig.from_url(f"smtp://127.0.0.1:{port}")
    topic = mail_topic(config, "Shop <shop@example.com>", NO_WAIT)

    def send_then_die(item: OutboxItem) -> None:
        topic.handler(item)
        raise SystemExit  # killed after the server took the mail, before the row was settled

    with smtp_server(inbox, port):
        dying = Worker(engine, {"mail": Topic(send_then_die, NO_WAIT)}, name="dying", clock=clock)
        with pytest.raises(SystemExit):
            dying.run_once()
        survivor = Worker(engine, {"mail": topic}, name="survivor", clock=clock)
        assert survivor.run_once() == 0  # the dead worker's lease still holds the row
        clock.advance(LEASE + timedelta(seconds=1))
        assert survivor.run_until_idle() == 1
    first, again = inbox.messages
    assert first["Message-ID"] == again["Message-ID"]  # so the receiver can drop the repeat
    assert first.get_content() == again.get_content()
    [row] = mail_rows(engine)
    assert (row.status, row.attempts) == ("delivered", 1)


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
def test_smtp_login_from_the_url(http: TestClient, engine: Engine) -> None:
    http.put("/v1/orders/1", json={"status": "cancelled", "notify_user": 1})

    def authenticator(server: Any, session: Any, envelope: Any, mechanism: str, auth: Any) -> Any:
        ok = isinstance(auth, LoginPassword) and (auth.login, auth.password) == (b"shop", b"p@ss")
        return AuthResult(success=ok, handled=False)

    inbox, port = Inbox(), free_port()
    options = {"authenticator": authenticator, "auth_require_tls": False, "auth_required": True}
    with smtp_server(inbox, port, **options):
        assert worker(engine, port, "shop:wrong@").run_once() == 1
        assert mail_rows(engine)[0].status == "pending"  # a settings problem: the mail waits
        assert worker(engine, port, "shop:p%40ss@").run_until_idle() == 1
    assert len(inbox.messages) == 1
    assert mail_rows(engine)[0].status == "delivered"


def test_permanent_refusal_gives_up(http: TestClient, engine: Engine) -> None:
    http.put("/v1/orders/1", json={"status": "cancelled", "notify_user": 1})
    inbox, port = Inbox(refuse="550 no such mailbox"), free_port()
    with smtp_server(inbox, port):
        worker(engine, port).run_until_idle()
    [row] = mail_rows(engine)
    assert row.status == "failed"
    assert "550" in (row.last_error or "")
    assert inbox.messages == []


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_language_has_a_subject_for_every_status_a_merchant_sets(language: str) -> None:
    reachable = sorted(set().union(*MERCHANT_TRANSITIONS.values()))
    subjects = set()
    for status in reachable:
        order = make_order("77", id=5, status=status, language=language)
        mail = compose_status_mail(order, "a@b.example")
        assert mail.language == language
        assert "77" in mail.subject
        assert "\n" not in mail.subject
        subjects.add(mail.subject)
    assert len(subjects) == len(reachable)  # each status says something of its own
    if language != "en":
        english = compose_status_mail(make_order("77", status=Status.SHIPPED), "a@b.example")
        own = compose_status_mail(
            make_order("77", status=Status.SHIPPED, language=language), "a@b.example"
        )
        assert own.subject != english.subject


@pytest.mark.parametrize(
    ("given", "used"),
    [("cs_CZ", "cs"), ("nb-NO", "no"), ("DE", "de"), ("fr", "en"), (None, "en"), ("../x", "en")],
)
def test_language_fallback(given: str | None, used: str) -> None:
    assert template_language(given) == used


def test_smtp_url_must_be_smtp() -> None:
    assert SmtpConfig.from_url("smtp+starttls://u:p@mail.example").port == 587
    assert SmtpConfig.from_url("smtps://mail.example").port == 465
    with pytest.raises(InvalidInput, match="ORDERHUB_SMTP_URL"):
        SmtpConfig.from_url("http://mail.example")


@pytest.fixture
def cli_env(database_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[pytest.MonkeyPatch]:
    monkeypatch.setenv("ORDERHUB_DATABASE_URL", database_url)
    monkeypatch.delenv("ORDERHUB_SMTP_URL", raising=False)
    topics = dict(outbox_service.TOPICS)
    get_settings.cache_clear()
    yield monkeypatch
    get_settings.cache_clear()
    outbox_service.TOPICS.clear()
    outbox_service.TOPICS.update(topics)


def test_worker_and_mail_commands(cli_env: pytest.MonkeyPatch, engine: Engine) -> None:
    from orderhub.cli.main import app

    store(engine, [make_order("A-1", email="jana@example.cz")])
    client(engine).put("/v1/orders/1", json={"status": "cancelled", "notify_user": True})
    runner = CliRunner()
    idle = runner.invoke(app, ["worker", "--once"])
    assert idle.exit_code == 0, idle.output
    assert "not delivering mail" in idle.output
    listed = runner.invoke(app, ["mail", "list", "--json"])
    assert listed.exit_code == 0, listed.output
    [row] = json.loads(listed.output)
    assert (row["status"], row["to"], row["order_id"]) == ("pending", "jana@example.cz", 1)

    inbox, port = Inbox(), free_port()
    cli_env.setenv("ORDERHUB_SMTP_URL", f"smtp://127.0.0.1:{port}")
    get_settings.cache_clear()
    with smtp_server(inbox, port):
        sent = runner.invoke(app, ["worker", "--once", "--poll", "0.1"])
    assert sent.exit_code == 0, sent.output
    assert len(inbox.messages) == 1
    delivered = json.loads(runner.invoke(app, ["mail", "list", "--json"]).output)
    assert delivered[0]["status"] == "delivered"


def test_worker_stops_cleanly_on_ctrl_c(tmp_path: Any) -> None:
    import os
    import signal
    import subprocess
    import sys

    env = {**os.environ, "ORDERHUB_DATABASE_URL": f"sqlite:///{tmp_path / 'w.db'}"}
    env.pop("ORDERHUB_SMTP_URL", None)
    command = [sys.executable, "-c", "from orderhub.cli import main; main()", "worker"]
    process = subprocess.Popen(
        [*command, "--poll", "0.1"], env=env, stdout=subprocess.PIPE, text=True
    )
    try:
        assert process.stdout is not None
        for line in process.stdout:  # wait until it is running
            if line.startswith("running"):
                break
        process.send_signal(signal.SIGINT)
        out, _ = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0
    assert "stopped" in out
