# The Airflow image for docker-compose.yml: the official Airflow 3 image, our pinned deps, the
# code, and a dbt manifest built at image time so cosmos never runs `dbt ls` while parsing.
FROM apache/airflow:3.3.2-python3.11
COPY requirements-prod.lock /tmp/requirements-prod.lock
# production pins only: no simulator, embedded PostgreSQL or test tools
RUN pip install --no-cache-dir -r /tmp/requirements-prod.lock
COPY --chown=airflow:root . /opt/fpr
WORKDIR /opt/fpr
RUN WAREHOUSE_HOST=x WAREHOUSE_USER=x WAREHOUSE_DB=x PII_HASH_KEY=build-time-placeholder \
    DBT_SEND_ANONYMOUS_USAGE_STATS=False \
    dbt parse --project-dir dbt_project --profiles-dir dbt_project --quiet
ENV PYTHONPATH=/opt/fpr
