"""The rules' models are dbt exposures: a renamed model fails dbt's parse, and the committed
exposures file follows the catalog."""
from __future__ import annotations

import shutil

from expectations import exposures


def test_committed_exposures_follow_the_catalog():
    assert exposures.EXPOSURES_FILE.read_text(encoding="utf-8") == exposures.render(), \
        "规则目录已变：请运行 make feeds（python -m expectations.exposures）并提交"
    assert exposures.RULES_MD.read_text(encoding="utf-8") == exposures.render_rules_md(), \
        "规则目录已变：请运行 make feeds 并提交 RULES.md"


def test_renaming_a_model_a_rule_reads_fails_the_parse(tmp_path, fresh_db_url):
    from pipeline import dbt

    project = tmp_path / "dbt_project"
    shutil.copytree(dbt.DBT_PROJECT_DIR, project, ignore=shutil.ignore_patterns("target", "logs"))
    model = next(project.rglob("fct_visit.sql"))
    model.rename(model.with_name("fct_visit_renamed.sql"))
    out = dbt.invoke(["parse", "--quiet"], fresh_db_url, project_dir=project)
    assert not out.success and "fct_visit" in str(out.error)
