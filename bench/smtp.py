"""The benchmarks' SMTP sink (the kit's, on 127.0.0.1) that plays the platform: it takes
down every page a notice lists, so the next liveness check finds it gone."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from bench.web import LocalWeb
from tada.kit.smtp import Mail, SmtpSink

_URL = re.compile(r"https?://[^\s<>\"']+")


class TakeDownSink(SmtpSink):
    """``received`` counts the notices; ``pages_taken_down`` the pages they took down."""

    def __init__(self, web: LocalWeb | None = None) -> None:
        super().__init__(on_mail=self._take_down, server_hostname="sink.bench.invalid")
        self.web = web
        self.pages_taken_down = 0

    def _take_down(self, mail: Mail) -> None:
        if self.web is None:
            return
        for url in set(_URL.findall(mail.text)):
            path = urlsplit(url.rstrip(".,;)")).path
            if path and path not in self.web.gone:
                self.web.gone.add(path)
                self.pages_taken_down += 1
