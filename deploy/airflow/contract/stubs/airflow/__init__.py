"""Recording stand-in for Apache Airflow, for the distillery DAG's contract test only (see ../../render_dag.py).

It provides exactly the names distillery_dag.py imports, records what the DAG file declares (DAG arguments, each
operator's constructor arguments, dependencies) and runs nothing. Never put this directory on a real Airflow's path.
"""

STUB = True

from airflow.models.dag import DAG  # noqa: E402

__all__ = ["DAG"]
