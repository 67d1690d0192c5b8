import json
import urllib.request

from odoo.tests import TransactionCase, common

from ..chorus_pro.sandbox import SandboxServer
from ..chorus_pro.sandbox.fixtures import (
    DEFAULT_CLIENT_ID,
    DEFAULT_CLIENT_SECRET,
    DEFAULT_LOGIN,
    DEFAULT_PASSWORD,
)

SUPPLIER_SIRET = "90000001900019"
MINISTRY_SIRET = "11099001700011"
TOWN_HALL_SIRET = "21990001600011"
HOSPITAL_SIRET = "26990001500018"
UNIVERSITY_SIRET = "19990001000018"
PUBLIC_BODY_SIRET = "18990001200015"
SYNDICATE_SIRET = "25990001700015"
AMBIGUOUS_SIRET = "21990002400007"
# Valid (Luhn) but unknown to Chorus Pro.
UNKNOWN_SIRET = "73282932000074"


class SandboxRequestsMixin:
    """For test cases talking to a loopback sandbox (``cls.sandbox``)."""

    @classmethod
    def _request_handler(cls, s, r, /, **kw):
        # Odoo 18's guard on test requests compares the timeout with a number;
        # requests also takes a (connect, read) pair, as the client sends.
        # Requests to the loopback sandbox go through unchanged.
        if isinstance(kw.get("timeout"), tuple) and r.url.startswith(cls.sandbox.url):
            return common._super_send(s, r, **kw)
        return super()._request_handler(s, r, **kw)


class ChorusSandboxCase(SandboxRequestsMixin, TransactionCase):
    """Tests talking over real HTTP to a local Chorus Pro sandbox, started once
    per class on a free loopback port and reset before every test."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.sandbox = SandboxServer(port=0).start()
        cls.addClassCleanup(cls.sandbox.stop)
        cls.company = cls.env.company
        cls.company.write(
            {
                "siret": SUPPLIER_SIRET,
                "chorus_environment": "qualification",
                "chorus_qualification_client_id": DEFAULT_CLIENT_ID,
                "chorus_qualification_client_secret": DEFAULT_CLIENT_SECRET,
                "chorus_qualification_login": DEFAULT_LOGIN,
                "chorus_qualification_password": DEFAULT_PASSWORD,
                "chorus_base_url": cls.sandbox.url,
            }
        )

    def setUp(self):
        super().setUp()
        self.sandbox_admin("reset")

    def sandbox_admin(self, action, body=None):
        """POST (or GET without a body) to the sandbox's admin API."""
        data = None if body is None and action == "stats" else json.dumps(body or {})
        request = urllib.request.Request(
            f"{self.sandbox.url}/_sandbox/{action}",
            data=data.encode() if data is not None else None,
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            return json.load(response)

    def calls(self, path):
        return self.sandbox_admin("stats")["calls"].get(path, 0)

    def make_public_partner(self, siret, category="state", **values):
        return self.env["res.partner"].create(
            {
                "name": values.pop("name", f"Buyer {siret}"),
                "is_company": True,
                "siret": siret,
                "chorus_is_public": True,
                "chorus_buyer_category": category,
                **values,
            }
        )
