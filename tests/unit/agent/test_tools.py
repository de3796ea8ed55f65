"""LocalTools (embedded default) and idempotency keys."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from appliance.agent.tools import LocalTools, idempotency_key

NOW = datetime(2026, 3, 5, 9, 0, tzinfo=ZoneInfo("America/New_York"))


def tools() -> LocalTools:
    return LocalTools(clock=lambda: NOW)


def test_idempotency_key_is_stable_and_normalised() -> None:
    a = idempotency_key("call-1", "calendar.book", {"name": "Maria  Lopez", "date": "2026-03-10"})
    b = idempotency_key("call-1", "calendar.book", {"date": "2026-03-10", "name": "maria lopez"})
    assert a == b and len(a) == 32
    assert a != idempotency_key("call-2", "calendar.book", {"name": "Maria Lopez",
                                                              "date": "2026-03-10"})
    assert a != idempotency_key("call-1", "calendar.cancel", {"name": "Maria Lopez",
                                                                "date": "2026-03-10"})


def test_free_slots_respect_hours_and_now() -> None:
    t = tools()
    today = t.free_slots(NOW.date())
    assert today[0] == "09:30" and today[-1] == "17:30"  # 09:00 is not after now
    assert t.free_slots(datetime(2026, 3, 7).date()) == ["09:00", "09:30", "10:00", "10:30",
                                                          "11:00", "11:30"]
    assert t.free_slots(datetime(2026, 3, 8).date()) == []  # Sunday
    assert t.free_slots(datetime(2026, 3, 10).date(), "afternoon")[0] == "12:00"


def test_booking_is_idempotent_and_prevents_double_booking() -> None:
    t = tools()
    args = {"name": "Maria Lopez", "phone": "+16175550199", "date": "2026-03-10",
            "time": "14:30"}
    r1 = t.call("calendar.book", args, "k1")
    r2 = t.call("calendar.book", args, "k1")  # retried: same answer, one booking
    assert r1.ok and r1 == r2 and len(t.bookings) == 1
    other = dict(args, name="Someone Else", phone="+12125550123")
    r3 = t.call("calendar.book", other, "k2")
    assert not r3.ok and r3.error == "unavailable"
    assert "14:30" not in r3.data["alternatives"] and len(r3.data["alternatives"]) == 3


def test_reschedule_cancel_confirm_need_name_and_phone() -> None:
    t = tools()
    t.call("calendar.book", {"name": "Maria Lopez", "phone": "+16175550199",
                             "date": "2026-03-10", "time": "14:30"}, "b")
    wrong = t.call("calendar.cancel", {"name": "Maria Lopez", "phone": "+12125550123"}, "c0")
    assert not wrong.ok and wrong.error == "not_found"
    ok = t.call("calendar.reschedule", {"name": "maria lopez", "phone": "+16175550199",
                                        "date": "2026-03-11", "time": "10:00"}, "r")
    assert ok.ok and ok.data["old_time"] == "14:30"
    conf = t.call("calendar.confirm", {"name": "Maria Lopez", "phone": "+16175550199"}, "f")
    assert conf.data == {"appointment_date": "2026-03-11", "appointment_time": "10:00"}
    c = t.call("calendar.cancel", {"name": "Maria Lopez", "phone": "+16175550199"}, "c")
    assert c.ok and t.bookings[0].status == "cancelled"
    assert "14:30" in t.free_slots(datetime(2026, 3, 10).date())


def test_ticket_status_never_reveals_another_callers_ticket() -> None:
    t = tools()
    r = t.call("helpdesk.create_ticket", {"category": "printer", "summary": "printer: jammed",
                                          "name": "Sam Lee", "phone": "+16175550199"}, "t")
    ref = r.data["reference"]
    assert t.call("helpdesk.ticket_status", {"reference": ref, "phone": "+16175550199"},
                  "s1").data["status"] == "open"
    other = t.call("helpdesk.ticket_status", {"reference": ref, "phone": "+12125550123"}, "s2")
    assert not other.ok and other.data == {}


def test_unknown_tool_and_bad_arguments() -> None:
    t = tools()
    assert t.call("crm.nothing", {}, "x").error == "unknown_tool"
    assert t.call("calendar.book", {"name": "x"}, "y").error == "invalid"
