# The Airflow image for docker-compose.yml: the official Airflow 3 image plus our pinned deps.
FROM apache/airflow:3.3.2-python3.11
COPY requirements.lock /tmp/requirements.lock
RUN pip install --no-cache-dir -r /tmp/requirements.lock
