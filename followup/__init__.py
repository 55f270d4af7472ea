"""Closing the loop on findings: checklists out, verification results in, deadlines and
escalation (issue 13). The daily DAG runs `run()` after the rules and before the digests.

- config.py     due days and escalation periods (config/followup.yml)
- intake.py     verification/verification_<YYYYMMDD>.xlsx|csv -> dq.issue (+ dq.issue_event)
- deadlines.py  due dates, escalation village -> town -> county
- checklist.py  核查清单 XLSX per town and village in <outbox>/checklists/<YYYYMMDD>/
- run.py        the day's step: intake, escalation, checklists (nothing on a catch-up date)
"""
from followup.run import run, run_step

__all__ = ["run", "run_step"]
