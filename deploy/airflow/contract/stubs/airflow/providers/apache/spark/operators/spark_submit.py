"""Stand-in for airflow.providers.apache.spark.operators.spark_submit.SparkSubmitOperator.

template_fields mirror the apache-airflow-providers-apache-spark operator (4.x and later): java_class and conn_id are
NOT templated there, so a Jinja expression in them would reach spark-submit verbatim.
"""

from __future__ import annotations

from airflow.models.baseoperator import BaseOperator


class SparkSubmitOperator(BaseOperator):
    template_fields = ("application", "conf", "files", "py_files", "jars", "driver_class_path", "packages",
                       "exclude_packages", "keytab", "principal", "proxy_user", "name", "application_args",
                       "env_vars", "post_submit_commands", "properties_file")
    accepted_args = frozenset({
        "application", "conf", "conn_id", "files", "py_files", "archives", "driver_class_path", "jars",
        "java_class", "packages", "exclude_packages", "repositories", "total_executor_cores", "executor_cores",
        "executor_memory", "driver_memory", "keytab", "principal", "proxy_user", "name", "num_executors",
        "status_poll_interval", "application_args", "env_vars", "verbose", "spark_binary", "properties_file",
        "yarn_queue", "deploy_mode", "use_krb5ccache", "post_submit_commands", "track_driver_via_k8s_api",
        "yarn_track_via_rm_api", "openlineage_inject_parent_job_info", "openlineage_inject_transport_info",
    })

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        args = self.args.get("application_args")
        if args is not None and not isinstance(args, (list, tuple)):
            raise TypeError(f"{self.task_id}: application_args must be a list")
