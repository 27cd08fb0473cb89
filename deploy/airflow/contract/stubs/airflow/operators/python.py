"""Stand-ins for airflow.operators.python.PythonOperator and ShortCircuitOperator (Airflow 2.x)."""

from __future__ import annotations

from airflow.models.baseoperator import BaseOperator


class PythonOperator(BaseOperator):
    template_fields = ("templates_dict", "op_args", "op_kwargs")
    accepted_args = frozenset({"python_callable", "op_args", "op_kwargs", "templates_dict", "templates_exts",
                               "show_return_value_in_logs"})
    required_args = frozenset({"python_callable"})

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        if not callable(self.args["python_callable"]):
            raise TypeError(f"{self.task_id}: python_callable is not callable")
        self.python_callable = self.args["python_callable"]


class ShortCircuitOperator(PythonOperator):
    """A falsy return value skips everything downstream (ignore_downstream_trigger_rules=True by default)."""

    accepted_args = frozenset({"ignore_downstream_trigger_rules"})
