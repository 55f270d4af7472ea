# The Airflow image for docker-compose.yml: the official Airflow 3 image plus our pinned
# dependencies and the code. Non-root: the official image's `airflow` user (uid 50000).
ARG AIRFLOW_VERSION=3.3.2
FROM apache/airflow:${AIRFLOW_VERSION}-python3.11
ARG AIRFLOW_VERSION
# Airflow's constraints approach: install with Airflow itself pinned to the image's version
# so pip can never up- or downgrade it. requirements-prod.lock plays the role of Airflow's
# constraints file: every package (Celery, redis, calamine included) is pinned there,
# resolved for this Airflow; no simulator, embedded PostgreSQL or test tools.
COPY requirements-prod.lock /tmp/requirements-prod.lock
RUN pip install --no-cache-dir "apache-airflow==${AIRFLOW_VERSION}" -r /tmp/requirements-prod.lock
# only what runs in production (.dockerignore keeps tests/, sim/, bench/, local/ out)
COPY --chown=airflow:root dags /opt/fpr/dags
COPY --chown=airflow:root core /opt/fpr/core
COPY --chown=airflow:root pipeline /opt/fpr/pipeline
COPY --chown=airflow:root ingest /opt/fpr/ingest
COPY --chown=airflow:root expectations /opt/fpr/expectations
COPY --chown=airflow:root alerts /opt/fpr/alerts
COPY --chown=airflow:root followup /opt/fpr/followup
COPY --chown=airflow:root reports /opt/fpr/reports
COPY --chown=airflow:root dbt_project /opt/fpr/dbt_project
COPY --chown=airflow:root config /opt/fpr/config
WORKDIR /opt/fpr
# No `dbt parse` here: dbt's partial parsing is keyed on the profile's host, user and database,
# which pipeline/dbt.py writes from the `warehouse` connection a build cannot know without
# baking a secret into a layer. airflow-init parses at start-up with that same profile
# (`python -m pipeline.dbt parse`) and writes the manifest to the shared dbt-target volume.
RUN mkdir -p /opt/fpr/dbt_project/target && chown airflow:root /opt/fpr/dbt_project/target
ENV PYTHONPATH=/opt/fpr \
    DBT_SEND_ANONYMOUS_USAGE_STATS=False DO_NOT_TRACK=1 SCARF_ANALYTICS=false \
    GX_ANALYTICS_ENABLED=False AIRFLOW__COSMOS__ENABLE_TELEMETRY=False
USER airflow
