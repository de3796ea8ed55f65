"""``helpdesk.ticket_status`` against the Zendesk and Freshdesk contracts: only the number goes
out, only status and last update come back, and only for the caller's own ticket."""

from __future__ import annotations

import pytest
from integ_support import vendor_config

from appliance.agent.tools import LocalTools
from appliance.runtime.tools import RoutedTools

PHONE = "+16175550123"
OTHER = "+12125550123"


def _open_ticket(stack, call="call-1", number=PHONE):
    tools = stack.integrations.tools.for_call(call, number)
    res = tools.call("helpdesk.create_ticket", {"summary": "VPN keeps dropping",
                                                "category": "network"}, "")
    assert res.ok and res.data["reference"] == str(res.data["ticket_id"])
    return res.data["reference"]


def _status(stack, reference, call="call-2", caller_id=PHONE, **args):
    stack.clock.advance(30)  # separate calls: stay inside Freshdesk's 50 requests/minute
    tools = stack.integrations.tools.for_call(call, caller_id)
    return tools.call("helpdesk.ticket_status", {"reference": reference, **args}, "k")


@pytest.mark.parametrize("helpdesk", ["zendesk", "freshdesk"])
def test_caller_hears_status_of_their_own_ticket_only(make_stack, fakes, helpdesk):
    stack = make_stack(vendor_config(fakes.url, routes={"ticket": helpdesk}))
    ref = _open_ticket(stack)
    tickets = fakes.zendesk_tickets if helpdesk == "zendesk" else fakes.freshdesk_tickets
    (ticket,) = tickets

    mine = _status(stack, f"T-{ref}", phone="617 555 0123")
    assert mine.ok and mine.data == {"reference": f"T-{ref}",
                                     "status": "new" if helpdesk == "zendesk" else "open",
                                     "updated_at": ticket["updated_at"]}
    ticket["status"] = "pending" if helpdesk == "zendesk" else 4
    ticket["updated_at"] = "2027-03-02T09:15:00Z"
    later = _status(stack, ref)  # caller ID alone is enough
    assert later.ok and later.data["status"] == ("pending" if helpdesk == "zendesk"
                                                 else "resolved")
    assert later.data["updated_at"] == "2027-03-02T09:15:00Z"

    for other in (_status(stack, ref, caller_id=OTHER, phone=OTHER),  # someone else
                  _status(stack, ref, caller_id=None),  # withheld number, another call
                  _status(stack, str(int(ref) + 50))):  # no such ticket
        assert not other.ok and other.error == "not_found" and other.data == {}

    shows = [r for r in fakes.sent(f"/api/v2/tickets/{ref}") if r.method == "GET"]
    assert shows and all(r.path == f"/api/v2/tickets/{ref}" for r in shows)
    reads = [d for _, _, d in stack.audit.events if d["action"] == "ticket.status"]
    assert reads and all(d["fields"] == ["ticket_id"] for d in reads)  # only the number left


def test_ticket_opened_in_this_call_is_readable_without_caller_id(make_stack, fakes):
    stack = make_stack()
    ref = _open_ticket(stack, call="call-anon", number=None)
    res = _status(stack, ref, call="call-anon", caller_id=None)
    assert res.ok and res.data["status"] == "new"


def test_ticket_without_ownership_evidence_is_never_read_out(make_stack, fakes):
    raw = vendor_config(fakes.url).model_dump()
    narrowed = ["subject", "summary", "priority", "ticket_id"]  # neither number nor call ref
    raw["destinations"][0]["allow_fields"] = narrowed
    stack = make_stack(type(vendor_config(fakes.url)).model_validate(raw))
    ref = _open_ticket(stack)
    res = _status(stack, ref, phone=PHONE)
    assert not res.ok and res.error == "not_found"

    raw["destinations"][0]["allow_fields"] = narrowed[:-1]  # the number may not even go out
    stack = make_stack(type(vendor_config(fakes.url)).model_validate(raw))
    assert "helpdesk.ticket_status" not in stack.integrations.tools.for_call("c").names


def test_helpdesk_down_is_a_tool_failure_not_a_guess(make_stack, fakes):
    stack = make_stack()
    ref = _open_ticket(stack)
    fakes.down = True
    res = _status(stack, ref)
    assert not res.ok and res.error == "tool_down"


def test_embedded_tools_answer_where_no_destination_serves_it(make_stack, fakes):
    stack = make_stack(vendor_config(fakes.url, routes={"ticket": "sitehook"}))
    bound = stack.integrations.tools.for_call("call-3", PHONE)
    assert "helpdesk.create_ticket" in bound.names  # the webhook takes tickets ...
    assert "helpdesk.ticket_status" not in bound.names  # ... but can't be asked about them
    assert "calendar.confirm" not in bound.names  # no calendar configured
    embedded = LocalTools()
    made = embedded.call("helpdesk.create_ticket", {"summary": "x", "phone": PHONE}, "t1")
    routed = RoutedTools(bound, embedded)
    assert not routed.serves("helpdesk.ticket_status")
    res = routed.call("helpdesk.ticket_status", {"reference": made.data["reference"],
                                                 "phone": PHONE}, "s1")
    assert res.ok and res.data["status"] == "open"  # the embedded records answered

    served = RoutedTools(make_stack().integrations.tools.for_call("call-4", PHONE), embedded)
    assert served.serves("helpdesk.ticket_status")  # zendesk is routed: it answers
