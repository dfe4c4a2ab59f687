"""The manager's schedules and order cycles: list them (times in the shop's time zone), create a schedule (from a
weekly season generated in the same step and/or order cycles that exist), generate a season into a schedule, add a
single order cycle, add and remove cycles, rename and delete, with the rules said plainly and every refusal of the
API by the field or button it concerns.

Everything goes through subscription-service's REST API with the manager's own credential
(``/api/v1/shops/<shop>/schedules`` and ``.../order-cycles``). Each change of a schedule sends ``If-Match`` with the
version the page showed: a schedule changed meanwhile is a 412, and the page shows it as it is now, nothing done.
The rules are the API's (reference: ofn-subscriptions.md 5.3 and 9): a schedule has a name and at least one order
cycle; a cycle that is in a schedule cannot be deleted; a schedule any subscription ever used cannot be deleted;
removing a cycle from a schedule keeps the orders already placed for it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from babel.dates import get_day_names
from flask import Blueprint, flash, g, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    DateTimeLocalField,
    HiddenField,
    IntegerField,
    SelectField,
    SelectMultipleField,
    StringField,
    TimeField,
    widgets,
)
from wtforms.validators import InputRequired, Length, NumberRange, Optional, ValidationError

from web_app import refusals
from web_app.api import ApiError
from web_app.forms import DayField
from web_app.manage import endpoint_exists, manager_api, shop_page

bp = Blueprint("manage_schedules", __name__, url_prefix="/manage/shops/<uuid:shop_id>/schedules")

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")  # the API's codes
REFUSALS = (404, 409, 412, 422)  # what a change can be refused with; the page shows them
MAX_SEASON = 260  # the generator's limit per request


# -- forms ---------------------------------------------------------------------------------------------------------


class CheckboxesField(SelectMultipleField):
    widget = widgets.ListWidget(prefix_label=False)
    option_widget = widgets.CheckboxInput()


def _weekdays() -> list[tuple[str, str]]:
    names = get_day_names("wide", locale=get_locale())
    return [(code, str(names[n]).capitalize()) for n, code in enumerate(WEEKDAYS)]


class SeasonForm(FlaskForm):
    """A weekly season: "every Tuesday 09:00 to Friday 17:00, from 6 April, 12 times", in the shop's time zone."""

    opens_weekday = SelectField(_l("Orders open on"), validators=[InputRequired(message=_l("Choose the day orders "
                                                                                          "open"))])
    opens_time = TimeField(_l("at"), validators=[InputRequired(message=_l("Enter the time orders open, like "
                                                                          "09:00"))])
    closes_weekday = SelectField(_l("Orders close on"), validators=[InputRequired(message=_l("Choose the day "
                                                                                            "orders close"))])
    closes_time = TimeField(_l("at"), validators=[InputRequired(message=_l("Enter the time orders close, like "
                                                                           "17:00"))])
    start_date = DayField(_l("First week: orders open on or after"),
                           validators=[InputRequired(message=_l("Enter the day the season starts"))])
    count = IntegerField(_l("Number of order cycles"), validators=[
        InputRequired(message=_l("Enter how many order cycles to make")),
        NumberRange(min=1, max=MAX_SEASON, message=_l("Enter a number from 1 to %(max)s.", max=MAX_SEASON))],
        render_kw={"inputmode": "numeric", "min": 1, "max": MAX_SEASON})
    interval_weeks = SelectField(_l("How often"), default="1")
    name_prefix = StringField(_l("Name of the order cycles (the date is added)"),
                              validators=[Optional(), Length(max=180, message=_l("Enter %(n)s characters or fewer.",
                                                                                 n=180))])
    version = HiddenField()

    def __init__(self, *args: Any, **kw: Any) -> None:
        super().__init__(*args, **kw)
        days = _weekdays()
        self.opens_weekday.choices = [("", "–"), *days]  # type: ignore[assignment]
        self.closes_weekday.choices = [("", "–"), *days]  # type: ignore[assignment]
        self.interval_weeks.choices = [("1", _("Every week")), ("2", _("Every two weeks")),  # type: ignore[assignment]
                                       ("3", _("Every three weeks")), ("4", _("Every four weeks"))]

    SEASON = ("opens_weekday", "opens_time", "closes_weekday", "closes_time", "start_date", "count")

    def rule(self, default_name: str) -> dict[str, Any]:
        """The generator's rule, as the API takes it; the cycles are named after ``default_name`` (the schedule's)
        unless the manager gave a name."""
        rule: dict[str, Any] = {"opens_weekday": self.opens_weekday.data, "closes_weekday": self.closes_weekday.data,
                                "opens_time": self.opens_time.data.strftime("%H:%M"),
                                "closes_time": self.closes_time.data.strftime("%H:%M"),
                                "start_date": self.start_date.data.isoformat(), "count": self.count.data,
                                "interval_weeks": int(self.interval_weeks.data or 1)}
        rule["name_prefix"] = ((self.name_prefix.data or "").strip() or default_name.strip())[:180]
        return rule


class NewScheduleForm(SeasonForm):
    """A schedule: its name, and its order cycles from a weekly season, from cycles that exist, or both. The
    season's fields are asked for only when one of them is filled in."""

    name = StringField(_l("Name of the schedule"), validators=[
        InputRequired(message=_l("Enter a name for the schedule")),
        Length(max=200, message=_l("Enter %(n)s characters or fewer.", n=200))])
    order_cycle_ids = CheckboxesField(_l("Order cycles that exist already"), choices=[], validate_choice=False)

    def season_given(self) -> bool:
        return any(self._fields[name].raw_data and any(v.strip() for v in self._fields[name].raw_data)
                   for name in self.SEASON)

    def validate(self, extra_validators: Any = None) -> bool:
        if not self.season_given():
            for name in self.SEASON:  # no season: its fields are not asked for
                self._fields[name].validators = [Optional()]
        ok = super().validate(extra_validators)
        if ok and not self.season_given() and not self.order_cycle_ids.data:
            self.order_cycle_ids.errors = [_("Choose at least one order cycle, or describe a weekly season.")]
            return False
        return ok


class CycleForm(FlaskForm):
    """A single order cycle, its times in the shop's time zone (the API takes a time without offset as the shop's
    local time)."""

    name = StringField(_l("Name"), validators=[InputRequired(message=_l("Enter a name for the order cycle")),
                                               Length(max=200, message=_l("Enter %(n)s characters or fewer.",
                                                                          n=200))])
    opens_at = DateTimeLocalField(_l("Orders open"), format="%Y-%m-%dT%H:%M", validators=[
        InputRequired(message=_l("Enter the day and time orders open"))])
    closes_at = DateTimeLocalField(_l("Orders close"), format="%Y-%m-%dT%H:%M", validators=[
        InputRequired(message=_l("Enter the day and time orders close"))])
    version = HiddenField()

    def validate_closes_at(self, field: DateTimeLocalField) -> None:
        if self.opens_at.data and field.data and field.data <= self.opens_at.data:
            raise ValidationError(_("Orders must close after they open."))


class RenameForm(FlaskForm):
    name = StringField(_l("Name of the schedule"), validators=[
        InputRequired(message=_l("Enter a name for the schedule")),
        Length(max=200, message=_l("Enter %(n)s characters or fewer.", n=200))])
    version = HiddenField()


class AddCyclesForm(FlaskForm):
    order_cycle_ids = CheckboxesField(_l("Order cycles to add"), choices=[], validate_choice=False,
                                      validators=[InputRequired(message=_l("Choose at least one order cycle to "
                                                                           "add"))])
    version = HiddenField()


class ActionForm(FlaskForm):
    """A button (remove a cycle, delete) and the version of what the page showed."""

    version = HiddenField()


# -- the API -------------------------------------------------------------------------------------------------------


def _base(shop_id: str) -> str:
    return f"/api/v1/shops/{shop_id}"


def _if_match(version: str | None) -> dict[str, str]:
    return {"If-Match": f'"{version}"'} if version and version.isdigit() else {}


def _upcoming_cycles(shop_id: str, *, closed: bool = False) -> list[dict[str, Any]]:
    status = ["upcoming", "open", "closed"] if closed else ["upcoming", "open"]
    return manager_api().all_items("subscriptions", f"{_base(shop_id)}/order-cycles", status=status,
                                   sort="opens_at")


def _schedules(shop_id: str) -> list[dict[str, Any]]:
    return manager_api().all_items("subscriptions", f"{_base(shop_id)}/schedules", sort="name")


def _schedule(shop_id: str, schedule_id: str) -> dict[str, Any]:
    return manager_api().get("subscriptions", f"{_base(shop_id)}/schedules/{schedule_id}")


def _cycle_label(cycle: dict[str, Any]) -> str:
    from web_app.i18n import when

    return _("%(name)s (%(opens)s to %(closes)s)", name=cycle["name"], opens=when(cycle["opens_at"]),
             closes=when(cycle["closes_at"]))


def _warnings(answer: dict[str, Any]) -> None:
    """Tell the manager of each local time a clock change moved or made ambiguous (the API's ``warnings``)."""
    for w in answer.get("warnings") or []:
        name = w.get("order_cycle_name") or answer.get("name") or ""
        if w.get("kind") == "moved_forward":
            flash(_("%(name)s: %(time)s does not exist that day in %(tz)s (the clocks go forward), so it is %(at)s "
                    "instead.", name=name, time=w["local_time"].replace("T", " "), tz=w["timezone"],
                    at=w["resolved_local"].replace("T", " ")))
        else:
            flash(_("%(name)s: %(time)s happens twice that day in %(tz)s (the clocks go back); the first one is "
                    "taken.", name=name, time=w["local_time"].replace("T", " "), tz=w["timezone"]))


def _put_refusal(form: FlaskForm, err: ApiError, fields: dict[str, str] | None = None,
                 default: str | None = None) -> None:
    """A refusal on the form: each field error by its field (``fields`` maps the API's names to the form's,
    dotted paths by their first parts), the rest at the top of the form, in the manager's words."""
    fields = fields or {}
    for name, messages in refusals.field_errors(err).items():
        target = _field_for(name, fields, form)
        if target is None:
            form.form_errors.extend(messages)
        else:
            field = form._fields[target]
            field.errors = [*field.errors, *messages]
    if not err.errors:
        form.form_errors.append(_stale(err) if err.status == 412 else refusals.problem_message(err))


def _field_for(name: str, fields: dict[str, str], form: FlaskForm) -> str | None:
    parts = name.split(".")
    for n in range(len(parts), 0, -1):
        key = ".".join(parts[:n])
        if key in fields:
            return fields[key] if fields[key] in form._fields else None
    if parts[0] in form._fields and parts[0] != "csrf_token":
        return parts[0]
    if parts[0] == "generate" and len(parts) > 1:
        return _field_for(".".join(parts[1:]), fields, form)
    return None


def _stale(err: ApiError) -> str:
    return _("This schedule changed since you opened the page: here it is as it is now. Check it and try again.")


# -- pages ---------------------------------------------------------------------------------------------------------


def _errors(forms: list[FlaskForm]) -> list[tuple[str, str]]:
    """Every message of the forms shown, for the summary at the top: (the id to link to, the message)."""
    found: list[tuple[str, str]] = []
    for form in forms:
        anchor = form._prefix + "form" if getattr(form, "_prefix", "") else "form"
        found += [(anchor, m) for m in form.form_errors]
        for field in form:
            if field.type in ("CSRFTokenField", "HiddenField"):
                continue
            target = field.id + ("-0" if isinstance(field, CheckboxesField) and field.choices else "")
            found += [(target, m) for m in field.errors]
    return found


def _index(shop_id: str, *, forms: dict[str, FlaskForm] | None = None, status: int = 200) -> Any:
    forms = forms or {}
    schedules = _schedules(shop_id)
    show_closed = request.args.get("show") == "closed"
    cycles = _upcoming_cycles(shop_id, closed=show_closed)
    names = {s["id"]: s["name"] for s in schedules}
    new = forms.get("schedule") or NewScheduleForm(prefix="schedule", formdata=None)
    new.order_cycle_ids.choices = [(c["id"], _cycle_label(c)) for c in cycles if c["status"] != "closed"]
    cycle = forms.get("cycle") or CycleForm(prefix="cycle", formdata=None)
    deletes = {}
    for c in cycles:
        form = forms.get(f"delete:{c['id']}") or ActionForm(prefix=f"delete-{c['id']}", formdata=None)
        form.version.data = str(c["version"])
        deletes[c["id"]] = form
    shown = [f for f in (new, cycle, *deletes.values())]
    return render_template("manage/schedules.html", shop=g.shop, schedules=schedules, cycles=cycles, names=names,
                           new=new, cycle=cycle, deletes=deletes, show_closed=show_closed,
                           errors=_errors(shown), subscriptions_page=_subscriptions_page()), status


def _subscriptions_page() -> str | None:
    """The subscriptions page's endpoint, to link a schedule's subscriptions to, once that page exists."""
    return "manage_subscriptions.index" if endpoint_exists("manage_subscriptions.index") else None


@bp.get("")
@shop_page
def index(shop_id: Any):  # type: ignore[no-untyped-def]
    return _index(str(shop_id))


@bp.post("/new")
@shop_page
def create(shop_id: Any):  # type: ignore[no-untyped-def]
    shop_id = str(shop_id)
    form = NewScheduleForm(prefix="schedule")
    form.order_cycle_ids.choices = [(c, c) for c in form.order_cycle_ids.data or []]
    if form.validate_on_submit():
        body: dict[str, Any] = {"name": form.name.data.strip(), "order_cycle_ids": form.order_cycle_ids.data or []}
        if form.season_given():
            body["generate"] = form.rule(form.name.data)
        try:
            made = manager_api().post("subscriptions", f"{_base(shop_id)}/schedules", body)
        except ApiError as err:
            if err.status not in REFUSALS:
                raise
            _put_refusal(form, err, {"generate.cycles": "start_date", "generate.timezone": "start_date"})
        else:
            _warnings(made)
            flash(_("The schedule %(name)s is created. Order cycles in it: %(n)s.", name=made["name"],
                    n=len(made["order_cycle_ids"])))
            return redirect(url_for("manage_schedules.schedule", shop_id=shop_id, schedule_id=made["id"]), 303)
    return _index(shop_id, forms={"schedule": form}, status=422)


@bp.post("/cycles")
@shop_page
def create_cycle(shop_id: Any):  # type: ignore[no-untyped-def]
    shop_id = str(shop_id)
    form = CycleForm(prefix="cycle")
    done = _add_cycle(shop_id, form, None)
    if done:
        return redirect(url_for("manage_schedules.index", shop_id=shop_id), 303)
    return _index(shop_id, forms={"cycle": form}, status=422)


def _add_cycle(shop_id: str, form: CycleForm, schedule_id: str | None) -> bool:
    """Send a single new cycle (into ``schedule_id`` when given); False when refused (the form says why)."""
    if not form.validate_on_submit():
        return False
    body: dict[str, Any] = {"name": form.name.data.strip(),
                            "opens_at": form.opens_at.data.strftime("%Y-%m-%dT%H:%M:00"),
                            "closes_at": form.closes_at.data.strftime("%Y-%m-%dT%H:%M:00")}
    if schedule_id:
        body["schedule_id"] = schedule_id
    try:
        made = manager_api().post("subscriptions", f"{_base(shop_id)}/order-cycles", body,
                                  headers=_if_match(form.version.data) if schedule_id else {})
    except ApiError as err:
        if err.status not in REFUSALS:
            raise
        _put_refusal(form, err)
        return False
    _warnings(made)
    flash(_("The order cycle %(name)s is added.", name=made["name"]))
    return True


@bp.post("/cycles/<uuid:cycle_id>/delete")
@shop_page
def delete_cycle(shop_id: Any, cycle_id: Any):  # type: ignore[no-untyped-def]
    shop_id, cycle_id = str(shop_id), str(cycle_id)
    form = ActionForm(prefix=f"delete-{cycle_id}")
    if form.validate_on_submit():
        try:
            manager_api().request("DELETE", "subscriptions", f"{_base(shop_id)}/order-cycles/{cycle_id}",
                                  headers=_if_match(form.version.data))
        except ApiError as err:
            if err.status not in REFUSALS:
                raise
            # a 409 names the schedules in ``errors``, which are not fields: the sentence says it all
            form.form_errors.append(_("This order cycle changed since you opened the page: here it is as it is "
                                      "now.") if err.status == 412 else refusals.problem_message(err))
        else:
            flash(_("The order cycle is deleted."))
            return redirect(url_for("manage_schedules.index", shop_id=shop_id), 303)
    return _index(shop_id, forms={f"delete:{cycle_id}": form}, status=422)


# -- one schedule --------------------------------------------------------------------------------------------------


def _schedule_page(shop_id: str, schedule_id: str, *, forms: dict[str, FlaskForm] | None = None,
                   problems: list[str] | None = None, status: int = 200) -> Any:
    forms = forms or {}
    schedule = _schedule(shop_id, schedule_id)
    version = str(schedule["version"])
    mine = set(schedule["order_cycle_ids"])
    others = [c for c in _upcoming_cycles(shop_id) if c["id"] not in mine]

    def form_of(key: str, make: Callable[[], FlaskForm]) -> FlaskForm:
        form = forms.get(key) or make()
        form.version.data = version  # the page shows this version now
        return form

    rename = form_of("rename", lambda: RenameForm(prefix="rename", formdata=None, name=schedule["name"]))
    season = form_of("season", lambda: SeasonForm(prefix="season", formdata=None))
    cycle = form_of("cycle", lambda: CycleForm(prefix="cycle", formdata=None))
    add = form_of("add", lambda: AddCyclesForm(prefix="add", formdata=None))
    add.order_cycle_ids.choices = [(c["id"], _cycle_label(c)) for c in others]
    delete = form_of("delete", lambda: ActionForm(prefix="delete", formdata=None))
    removes = {cid: form_of(f"remove:{cid}", lambda cid=cid: ActionForm(prefix=f"remove-{cid}",  # type: ignore[misc]
                                                                        formdata=None))
               for cid in schedule["order_cycle_ids"]}
    current = [c for c in schedule["order_cycles"] if c["status"] != "closed"]
    closed = [c for c in schedule["order_cycles"] if c["status"] == "closed"]
    errors = [("schedule", p) for p in problems or []]
    errors += _errors([rename, season, cycle, add, delete, *removes.values()])
    return render_template("manage/schedule.html", shop=g.shop, schedule=schedule, current=current, closed=closed,
                           rename=rename, season=season, cycle=cycle, add=add, delete=delete, removes=removes,
                           problems=problems or [], errors=errors, subscriptions_page=_subscriptions_page()), status


@bp.get("/<uuid:schedule_id>")
@shop_page
def schedule(shop_id: Any, schedule_id: Any):  # type: ignore[no-untyped-def]
    return _schedule_page(str(shop_id), str(schedule_id))


def _change(shop_id: str, schedule_id: str, form: FlaskForm, key: str, body: Callable[[], dict[str, Any]],
            done: Callable[[dict[str, Any]], str], fields: dict[str, str] | None = None) -> Any:
    """A form of the schedule's page posted: PATCH the schedule with the version the page showed; done, back to
    the page saying ``done``; refused, the page again (as it is now) with the refusal by its field."""
    if form.validate_on_submit():
        try:
            changed = manager_api().request("PATCH", "subscriptions", f"{_base(shop_id)}/schedules/{schedule_id}",
                                            json=body(), headers=_if_match(form.version.data))
        except ApiError as err:
            if err.status not in REFUSALS:
                raise
            _put_refusal(form, err, fields)
        else:
            flash(done(changed))
            return redirect(url_for("manage_schedules.schedule", shop_id=shop_id, schedule_id=schedule_id), 303)
    return _schedule_page(shop_id, schedule_id, forms={key: form}, status=422)


@bp.post("/<uuid:schedule_id>/rename")
@shop_page
def rename(shop_id: Any, schedule_id: Any):  # type: ignore[no-untyped-def]
    form = RenameForm(prefix="rename")
    return _change(str(shop_id), str(schedule_id), form, "rename", lambda: {"name": form.name.data.strip()},
                   lambda s: _("The schedule is renamed %(name)s.", name=s["name"]))


@bp.post("/<uuid:schedule_id>/add")
@shop_page
def add_cycles(shop_id: Any, schedule_id: Any):  # type: ignore[no-untyped-def]
    form = AddCyclesForm(prefix="add")
    return _change(str(shop_id), str(schedule_id), form, "add", lambda: {"add": form.order_cycle_ids.data},
                   lambda s: _("The order cycles are added. Order cycles in the schedule: %(n)s.",
                               n=len(s["order_cycle_ids"])), {"add": "order_cycle_ids"})


@bp.post("/<uuid:schedule_id>/cycles/<uuid:cycle_id>/remove")
@shop_page
def remove_cycle(shop_id: Any, schedule_id: Any, cycle_id: Any):  # type: ignore[no-untyped-def]
    form = ActionForm(prefix=f"remove-{cycle_id}")
    return _change(str(shop_id), str(schedule_id), form, f"remove:{cycle_id}", lambda: {"remove": [str(cycle_id)]},
                   lambda s: _("The order cycle is removed from the schedule. Orders already placed for it stay."),
                   {"remove": "__top__"})


@bp.post("/<uuid:schedule_id>/generate")
@shop_page
def generate(shop_id: Any, schedule_id: Any):  # type: ignore[no-untyped-def]
    shop_id, schedule_id = str(shop_id), str(schedule_id)
    form = SeasonForm(prefix="season")
    if form.validate_on_submit():
        try:
            made = manager_api().post("subscriptions", f"{_base(shop_id)}/order-cycles/generate",
                                      {**form.rule(_schedule(shop_id, schedule_id)["name"]),
                                       "schedule_id": schedule_id},
                                      headers=_if_match(form.version.data))
        except ApiError as err:
            if err.status not in REFUSALS:
                raise
            _put_refusal(form, err, {"cycles": "start_date", "timezone": "start_date"})
        else:
            _warnings(made)
            flash(_("Order cycles made and added to the schedule: %(n)s.", n=len(made["order_cycles"])))
            return redirect(url_for("manage_schedules.schedule", shop_id=shop_id, schedule_id=schedule_id), 303)
    return _schedule_page(shop_id, schedule_id, forms={"season": form}, status=422)


@bp.post("/<uuid:schedule_id>/cycles")
@shop_page
def add_cycle(shop_id: Any, schedule_id: Any):  # type: ignore[no-untyped-def]
    shop_id, schedule_id = str(shop_id), str(schedule_id)
    form = CycleForm(prefix="cycle")
    if _add_cycle(shop_id, form, schedule_id):
        return redirect(url_for("manage_schedules.schedule", shop_id=shop_id, schedule_id=schedule_id), 303)
    return _schedule_page(shop_id, schedule_id, forms={"cycle": form}, status=422)


@bp.post("/<uuid:schedule_id>/delete")
@shop_page
def delete(shop_id: Any, schedule_id: Any):  # type: ignore[no-untyped-def]
    shop_id, schedule_id = str(shop_id), str(schedule_id)
    form = ActionForm(prefix="delete")
    if form.validate_on_submit():
        try:
            manager_api().request("DELETE", "subscriptions", f"{_base(shop_id)}/schedules/{schedule_id}",
                                  headers=_if_match(form.version.data))
        except ApiError as err:
            if err.status not in REFUSALS:
                raise
            form.form_errors.append(_stale(err) if err.status == 412 else refusals.problem_message(err))
        else:
            flash(_("The schedule is deleted."))
            return redirect(url_for("manage_schedules.index", shop_id=shop_id), 303)
    return _schedule_page(shop_id, schedule_id, forms={"delete": form}, status=422)
