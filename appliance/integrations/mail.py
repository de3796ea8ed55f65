"""E-mail over SMTP (``smtplib``): STARTTLS (default), implicit TLS, or plain to loopback only.

At-least-once: SMTP has no idempotency, so the ``Message-ID`` is derived from the key (clients
and many relays collapse repeats). 4xx replies and connection failures are retried; 5xx
replies (bad recipient, auth refused) dead-letter.
"""

from __future__ import annotations

import smtplib
import ssl
from email.message import EmailMessage
from email.utils import formatdate
from typing import Any

from appliance.integrations.base import Client, Request, priority_of, render_lines, title_of
from appliance.integrations.config import SmtpDestination
from appliance.integrations.errors import PermanentError, TransientError
from appliance.integrations.fields import ESCALATE, FIELDS


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

    def deliver(self, req: Request) -> dict[str, Any]:
        if req.action not in FIELDS[self.kind]:
            raise PermanentError(f"smtp does not support {req.action}")
        msg = self.message(req)
        cfg = self.cfg
        try:
            if cfg.security == "tls":
                smtp: smtplib.SMTP = smtplib.SMTP_SSL(
                    cfg.host, cfg.port, timeout=req.timeout, context=self._tls()
                )
            else:
                smtp = smtplib.SMTP(cfg.host, cfg.port, timeout=req.timeout)
            with smtp:
                smtp.ehlo()
                if cfg.security == "starttls":
                    smtp.starttls(context=self._tls())
                    smtp.ehlo()
                if cfg.username:
                    smtp.login(cfg.username, self._password or "")
                refused = smtp.send_message(msg)
        except smtplib.SMTPResponseException as e:
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
            raise TransientError(f"smtp: {type(e).__name__}") from None
        return {"message_id": msg["Message-ID"], "refused": len(refused)}
