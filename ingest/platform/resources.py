"""The platform's resources, each one's record key and field types: the one place that says so.

Field types follow CONTRACT.md section 1 (see fields.py for what each type accepts). Every
item also has `updated_at` and `is_deleted`, checked by the loader itself.

Nulls. A missing field counts as null. The contract marks some fields "nullable"; others
still arrive null in practice (e.g. visits.gps_accuracy_m, regions.parent_code of a county),
and rejecting a whole record for that would hide it from every rule, which is worse than a
null the rules already report (e.g. a missing birth_date shows up as an ID/birth-date
mismatch). So null is rejected only for `required` fields, which the contract says are not
nullable AND without which the record cannot be placed at all:
- the record key;
- the id tying a record to its household / worker, and the village code of a household or
  grid (every mart groups by village, town and county);
- the date a record starts or is due (monitoring_cases.identified_on,
  assistance_measures.start_date, grid_workers.appointed_on, visits.started_at,
  alerts.pushed_at, alerts.verify_due_on);
- arrays (risk_types, grid_ids, photo_sha256): an explicit JSON null would make the
  staging `jsonb_array_elements_text` fail; an empty array is `[]`.
Unknown extra fields are allowed and kept in the payload.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .fields import Field, FieldType, compile_checks, compile_fast, field_errors, field_problems


@dataclass(frozen=True)
class Resource:
    name: str
    key: tuple[str, ...]  # fields that identify a record; composite keys join with ':'
    # contract fields in contract order (a key field must be listed, and is required)
    fields: dict[str, Field] = field(default_factory=dict, hash=False, compare=False)

    def __post_init__(self):
        loose = [k for k in self.key if k not in self.fields or not self.fields[k].required]
        if loose:
            raise ValueError(f"{self.name}: key fields {loose} must be listed as required")
        object.__setattr__(self, "_checks", compile_checks(self.fields))
        # raw item JSON -> (record_id, updated_at text, is_deleted), or None: see compile_fast
        object.__setattr__(self, "fast_check", compile_fast(self.fields, self.key))

    def field_errors(self, item: dict[str, Any]) -> list[str]:
        """Reasons (Chinese) why the item's fields break the contract; [] if none."""
        return field_errors(self._checks, item)

    def field_problems(self, item: dict[str, Any]) -> list[tuple[str, bool, str]]:
        """(field, required, reason) per field that breaks the contract."""
        return field_problems(self._checks, item)

    @property
    def table(self) -> str:
        return f"raw.platform_{self.name}"

    def record_id(self, item: dict[str, Any]) -> str:
        """The record key as text; raises MissingKey (Chinese message) if unusable."""
        parts = []
        for name in self.key:
            value = item.get(name)
            if value is None or (isinstance(value, str) and not value.strip()):
                raise MissingKey(f"缺少主键 {name}")
            if isinstance(value, bool) or not isinstance(value, (str, int)):
                raise MissingKey(f"主键 {name} 不是字符串或整数：{value!r}")
            parts.append(str(value).strip())
        return ":".join(parts)



class MissingKey(ValueError):
    pass


T, D, DT = FieldType.TEXT, FieldType.DATE, FieldType.DATETIME
I, N, M = FieldType.INTEGER, FieldType.NUMBER, FieldType.MONEY  # noqa: E741  (one letter per type, a table)
B, A = FieldType.BOOLEAN, FieldType.TEXT_ARRAY


def f(t: FieldType) -> Field:          # not nullable per contract; null tolerated
    return Field(t)


def null(t: FieldType) -> Field:       # "nullable" in the contract
    return Field(t, nullable=True)


def req(t: FieldType) -> Field:        # null / missing / blank rejected
    return Field(t, required=True)


RESOURCES: dict[str, Resource] = {
    r.name: r
    for r in (
        Resource("regions", ("code",), {
            "code": req(T), "name": f(T), "level": f(T), "parent_code": f(T),
            "lat": null(N), "lon": null(N)}),
        Resource("households", ("household_id",), {
            "household_id": req(T), "village_code": req(T), "natural_village": f(T),
            "household_type": f(T), "head_person_id": f(T), "household_size": f(I),
            "phone": f(T), "home_lat": f(N), "home_lon": f(N), "in_relocation_site": f(B),
            "no_labor_household": f(B), "grid_id": null(T)}),
        Resource("persons", ("person_id",), {
            "person_id": req(T), "household_id": req(T), "name": f(T), "gender": f(T),
            "id_type": f(T), "id_number": f(T), "birth_date": f(D), "relation_to_head": f(T),
            "ethnicity": f(T), "education": f(T), "student_status": null(T),
            "health_status": f(T), "labor_skill": f(T), "work_place": null(T),
            "work_months": f(I), "med_insured": f(B), "dibao_status": f(T),
            "tekun_status": f(T), "status": f(T)}),
        Resource("monitoring_cases", ("case_id",), {
            "case_id": req(T), "household_id": req(T), "monitor_category": f(T),
            "identified_on": req(D), "risk_types": req(A), "risk_note": f(T),
            "discovery_channel": f(T), "is_eliminated": f(B), "eliminated_on": null(D),
            "eliminate_method": null(T), "contact_worker_id": null(T)}),
        Resource("incomes", ("household_id", "year"), {
            "household_id": req(T), "year": req(I), "wage_income": f(M),
            "business_income": f(M), "property_income": f(M), "transfer_income": f(M),
            "business_expense": f(M), "net_income": f(M), "per_capita_net_income": f(M),
            "compliant_oop_expense": f(M)}),
        Resource("guarantees", ("household_id",), {
            "household_id": req(T), "assessed_on": f(D), "housing_unsafe": f(B),
            "dropout": f(B), "water_unsafe": f(B), "uninsured_member": f(B)}),
        Resource("assistance_measures", ("measure_id",), {
            "measure_id": req(T), "household_id": req(T), "person_id": null(T),
            "category": f(T), "item": f(T), "start_date": req(D), "end_date": null(D),
            "amount": null(M), "fund_project_id": null(T)}),
        Resource("grids", ("grid_id",), {
            "grid_id": req(T), "village_code": req(T), "name": f(T), "level": f(T)}),
        Resource("grid_workers", ("worker_id",), {
            "worker_id": req(T), "name": f(T), "phone": f(T), "role": f(T),
            "grid_ids": req(A), "appointed_on": req(D), "trained_on": null(D),
            "acknowledged_on": null(D), "last_login_at": null(DT), "status": f(T)}),
        Resource("visits", ("visit_id",), {
            "visit_id": req(T), "household_id": req(T), "worker_id": req(T),
            "visit_type": f(T), "mode": f(T), "started_at": req(DT), "ended_at": f(DT),
            "submitted_at": f(DT), "gps_lat": null(N), "gps_lon": null(N),
            "gps_accuracy_m": f(N), "photo_sha256": req(A), "signature_sha256": null(T),
            "risk_found": f(B), "notes": f(T)}),
        Resource("alerts", ("alert_id",), {
            "alert_id": req(T), "source_dept": f(T), "person_id": null(T),
            "id_number": f(T), "warning_type": f(T), "event_date": f(D), "amount": null(M),
            "pushed_at": req(DT), "verify_due_on": req(D), "verify_result": null(T),
            "verified_by_worker_id": null(T)}),
    )
}
del T, D, DT, I, N, M, B, A, f, null, req


def get_resource(name: str) -> Resource:
    try:
        return RESOURCES[name]
    except KeyError:
        raise KeyError(f"未知的平台资源：{name}（可用：{', '.join(RESOURCES)}）") from None
