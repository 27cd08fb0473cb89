"""What the distillery DAGs (distillery_dag.py, distillery_lm_dag.py) share: the Spark task, the summary task, the
params every DAG has, default_args and the parse-time settings. It defines no DAG.

Parse-time setting (environment of the scheduler *and* the workers, which re-parse the DAG files):
`DISTILLERY_SPARK_CONN_ID` (default `spark_default`).
"""

from __future__ import annotations

import os
from datetime import datetime, timedelta, timezone

from airflow.models.param import Param
from airflow.operators.python import PythonOperator, ShortCircuitOperator
from airflow.providers.apache.spark.operators.spark_submit import SparkSubmitOperator
from airflow.sensors.python import PythonSensor

import distillery_tasks

JAVA_CLASS = "org.distillery.jobs.cli.Distill"

# SparkSubmitOperator's conn_id is not a templated field, so the connection is fixed when a DAG file is parsed; the
# spark_conn_id param shows it and its schema admits only that value.
SPARK_CONN_ID = os.environ.get("DISTILLERY_SPARK_CONN_ID", "").strip() or "spark_default"

SPARK_CONF = {
    # Airflow owns the retries: YARN must not start a second application attempt behind the task's back.
    "spark.yarn.maxAppAttempts": "1",
}

# The storage root, as a template rendered per task instance (no trailing slash).
ROOT = "{{ params.root.rstrip('/') }}"
CONFIG = "{{ params.config }}"

DAG_SETTINGS = {
    "schedule": "@daily",
    "start_date": datetime(2026, 1, 1, tzinfo=timezone.utc),
    "catchup": False,
    "max_active_runs": 1,
    "default_args": {
        "owner": "distillery",
        "retries": 2,
        "retry_delay": timedelta(minutes=10),
    },
}
"""DAG arguments of every distillery DAG: daily, one run at a time, no catchup, 2 retries 10 minutes apart."""


def common_params(root: str, config: str) -> dict:
    """The params of every distillery DAG, with the storage root and the pipeline config file's defaults."""
    return {
        "root": Param(
            root,
            type="string",
            pattern="^([A-Za-z][A-Za-z0-9+.-]*:)?/",
            description="Storage root: a URI or an absolute path, e.g. hdfs:///distillery or file:///data/distillery.",
        ),
        "jar": Param(
            "/opt/distillery/distillery.jar",
            type="string",
            description="The shaded jar pipeline-jobs-*-shaded.jar (main class org.distillery.jobs.cli.Distill), as "
            "spark-submit sees it; the default is where deploy/spark-submit installs it.",
        ),
        "properties_file": Param(
            "/opt/distillery/conf/spark.conf",
            type="string",
            description="Spark properties for every task: the output of deploy/spark-submit/spark-properties.sh for "
            "this cluster (DISTILLERY_ENV, DISTILLERY_EXECUTORS), installed at deploy time.",
        ),
        "config": Param(
            config,
            type="string",
            description="Pipeline HOCON file (keys <job>.<option>), read by the Spark driver.",
        ),
        "spark_conn_id": Param(
            SPARK_CONN_ID,
            type="string",
            enum=[SPARK_CONN_ID],
            description="Spark connection; fixed when the DAG is parsed (DISTILLERY_SPARK_CONN_ID).",
        ),
    }


def spark_task(task_id: str, args: list[str], **operator_args) -> SparkSubmitOperator:
    """One `distill <job> ...` run of the shaded jar; every job also reads the pipeline config file."""
    job = args[0]
    return SparkSubmitOperator(
        task_id=task_id,
        conn_id=SPARK_CONN_ID,
        application="{{ params.jar }}",
        java_class=JAVA_CLASS,
        # the same merged spark-defaults the spark-submit scripts use (module flags, ND4J off-heap limits, OpenMP)
        properties_file="{{ params.properties_file }}",
        name=f"{{{{ dag.dag_id }}}}-{task_id}-{{{{ ds }}}}",
        conf=dict(SPARK_CONF),
        application_args=[job, "--config", CONFIG, *args[1:]],
        **operator_args,
    )


def summary_task(task_id: str, out: str, job: str) -> PythonOperator:
    """Reads `<out>/_SUCCESS` and returns the job's summary (XCom return_value)."""
    return PythonOperator(
        task_id=f"summary_{task_id}",
        python_callable=distillery_tasks.read_summary,
        op_kwargs={"out": out, "job": job},
    )


def optional_step(task_id: str, python_callable) -> ShortCircuitOperator:
    """A switch that, when its callable returns False, skips only the tasks directly after it: the next task with
    trigger_rule "none_failed" still runs, after the optional step or after its skip."""
    return ShortCircuitOperator(
        task_id=task_id,
        python_callable=python_callable,
        ignore_downstream_trigger_rules=False,
    )


def wait_for_published(task_id: str, op_kwargs: dict, python_callable=distillery_tasks.is_published) -> PythonSensor:
    """Waits (reschedule mode: no worker slot held) for inputs' `_SUCCESS`, every 10 minutes for up to 18 hours; runs
    after the task before it or after its skip (an optional ingest)."""
    return PythonSensor(
        task_id=task_id,
        python_callable=python_callable,
        op_kwargs=op_kwargs,
        mode="reschedule",
        poke_interval=10 * 60,
        timeout=18 * 60 * 60,
        trigger_rule="none_failed",
    )
