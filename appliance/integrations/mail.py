"""E-mail over SMTP (``smtplib``): STARTTLS (default), implicit TLS, or plain to loopback only.

SMTP has no idempotency (the ``Message-ID`` is derived from the key, but relays don't
de-duplicate), so delivery is at most once when in doubt. The server's reply to the end of the
message body (``<CRLF>.<CRLF>``) is the only commitment point: until the body has been handed to
the socket nothing can have been queued, so connection, TLS, AUTH, MAIL and RCPT failures and
any 4xx reply are retried (5xx dead-letters). Once the body has been sent, a definitive reply
decides (250 delivered, 4xx retry, 5xx dead), and a *lost* reply (timeout, connection closed)
raises ``MaybeDelivered``: the outbox parks the mail as ``unconfirmed`` instead of sending it
twice. Nothing after the 250 (QUIT) can turn a delivered mail into a failure.
"""

from __future__ import annotations

import smtplib
import ssl
from email.message import EmailMessage
from email.utils import formatdate
from typing import Any

from appliance.integrations.base import Client, Request, priority_of, render_lines, title_of
from appliance.integrations.config import SmtpDestination
from appliance.integrations.errors import MaybeDelivered, PermanentError, TransientError
from appliance.integrations.fields import ESCALATE, FIELDS


class _Tracked:
    """Notes when the message body, ending in ``<CRLF>.<CRLF>``, has been handed to the socket
    (smtplib sends commands as ``str`` and the DATA payload as one ``bytes``)."""

    body_sent = False

    def send(self, s: bytes | str) -> None:
        super().send(s)  # type: ignore[misc]
        if isinstance(s, bytes) and s.endswith(b"\r\n.\r\n"):
            self.body_sent = True


class _SMTP(_Tracked, smtplib.SMTP):
    pass


class _SMTPS(_Tracked, smtplib.SMTP_SSL):
    pass


class SmtpClient(Client):
    kind = "smtp"

    def __init__(self, cfg: SmtpDestination, password: str | None) -> None:
        super().__init__(cfg.name)
        self.cfg = cfg
        self._password = password

    def endpoint(self) -> str:
        return f"smtp://{self.cfg.host}:{self.cfg.port}"

    def _tls(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=self.cfg.ca_file)

    def message(self, req: Request) -> EmailMessage:
        p = req.payload
        msg = EmailMessage()
        prefix = "Escalation" if req.action == ESCALATE else "Ticket"
        msg["Subject"] = f"[{prefix}/{priority_of(p)}] {title_of(p, 'Phone call')}"
        msg["From"] = self.cfg.sender
        msg["To"] = ", ".join(self.cfg.recipients)
        msg["Date"] = formatdate(req.now, usegmt=True)
        msg["Message-ID"] = f"<{req.key}@{self.cfg.sender.rpartition('@')[2] or 'appliance'}>"
        msg["X-Appliance-Ref"] = req.key
        msg.set_content("\n".join(render_lines(p)) + "\n")
        return msg

    def _open(self, timeout: float) -> _SMTP | _SMTPS:
        cfg = self.cfg
        if cfg.security == "tls":
            smtp: _SMTP | _SMTPS = _SMTPS(cfg.host, cfg.port, timeout=timeout,
                                           context=self._tls())
        else:
            smtp = _SMTP(cfg.host, cfg.port, timeout=timeout)
        try:
            smtp.ehlo()
            if cfg.security == "starttls":
                smtp.starttls(context=self._tls())
                smtp.ehlo()
            if cfg.username:
                smtp.login(cfg.username, self._password or "")
        except BaseException:
            smtp.close()
            raise
        return smtp

    def deliver(self, req: Request) -> dict[str, Any]:
        if req.action not in FIELDS[self.kind]:
            raise PermanentError(f"smtp does not support {req.action}")
        msg = self.message(req)
        smtp = None
        try:
            smtp = self._open(req.timeout)
            refused = smtp.send_message(msg)
        except smtplib.SMTPResponseException as e:  # a definitive reply, also after the body
            cls = TransientError if 400 <= e.smtp_code < 500 else PermanentError
            raise cls(f"smtp: {e.smtp_code}", e.smtp_code) from None
        except smtplib.SMTPRecipientsRefused as e:
            codes = [c for c, _ in e.recipients.values()]
            if all(400 <= c < 500 for c in codes):
                raise TransientError("smtp: recipients deferred") from None
            raise PermanentError("smtp: recipients refused") from None
        except smtplib.SMTPNotSupportedError as e:
            raise PermanentError(f"smtp: {e}") from None
        except (smtplib.SMTPException, TimeoutError, OSError) as e:
            if smtp is not None and smtp.body_sent:
                raise MaybeDelivered(
                    f"smtp: message sent, reply lost ({type(e).__name__})") from None
            raise TransientError(f"smtp: {type(e).__name__}") from None
        finally:
            if smtp is not None:
                _quit(smtp)
        return {"message_id": msg["Message-ID"], "refused": len(refused)}


def _quit(smtp: smtplib.SMTP) -> None:
    """Best effort: the outcome was decided by the reply to the message body."""
    try:
        smtp.quit()
    except (smtplib.SMTPException, OSError):
        pass
    finally:
        smtp.close()
