"""Stand-in for airflow.sensors.python.PythonSensor (Airflow 2.x)."""

from __future__ import annotations

from airflow.models.baseoperator import BaseOperator


class PythonSensor(BaseOperator):
    template_fields = ("templates_dict", "op_args", "op_kwargs")
    # BaseSensorOperator's arguments, then PythonSensor's.
    accepted_args = frozenset({"poke_interval", "timeout", "soft_fail", "mode", "exponential_backoff", "max_wait",
                               "silent_fail", "never_fail",
                               "python_callable", "op_args", "op_kwargs", "templates_dict"})
    required_args = frozenset({"python_callable"})

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        if not callable(self.args["python_callable"]):
            raise TypeError(f"{self.task_id}: python_callable is not callable")
        if self.args.get("mode", "poke") not in ("poke", "reschedule"):
            raise ValueError(f"{self.task_id}: mode must be poke or reschedule")
        self.python_callable = self.args["python_callable"]
