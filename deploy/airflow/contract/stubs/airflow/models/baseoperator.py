"""Stand-in for airflow.models.baseoperator.BaseOperator: records constructor arguments and dependencies.

Like Airflow 2.x, an operator rejects arguments it does not know, takes ``default_args`` of the DAG only for the
arguments it accepts, and records ``a >> b``, ``a << b``, ``a >> [b, c]`` and ``[a, b] >> c``.
"""

from __future__ import annotations

from airflow.models.dag import current_dag

# BaseOperator's own arguments in Airflow 2.x.
BASE_ARGS = frozenset({
    "task_id", "owner", "email", "email_on_retry", "email_on_failure", "retries", "retry_delay",
    "retry_exponential_backoff", "max_retry_delay", "start_date", "end_date", "depends_on_past",
    "ignore_first_depends_on_past", "wait_for_past_depends_before_skipping", "wait_for_downstream", "dag", "params",
    "default_args", "priority_weight", "weight_rule", "queue", "pool", "pool_slots", "sla", "execution_timeout",
    "on_execute_callback", "on_failure_callback", "on_success_callback", "on_retry_callback", "on_skipped_callback",
    "pre_execute", "post_execute", "trigger_rule", "resources", "run_as_user", "task_concurrency",
    "max_active_tis_per_dag", "max_active_tis_per_dagrun", "executor", "executor_config", "do_xcom_push",
    "multiple_outputs", "inlets", "outlets", "task_group", "doc", "doc_md", "doc_json", "doc_yaml", "doc_rst",
    "task_display_name", "logger_name", "allow_nested_operators",
})


class BaseOperator:
    template_fields: tuple = ()
    template_ext: tuple = ()
    accepted_args: frozenset = frozenset()  # the subclass's own constructor arguments
    required_args: frozenset = frozenset()

    def __init__(self, **kwargs):
        cls = type(self)
        dag = kwargs.pop("dag", None) or current_dag()
        if dag is None:
            raise RuntimeError(f"{cls.__name__} {kwargs.get('task_id')!r} created outside a DAG")
        accepted = BASE_ARGS.union(*(getattr(c, "accepted_args", frozenset()) for c in cls.__mro__))
        unknown = set(kwargs) - accepted
        if unknown:
            raise TypeError(f"Invalid arguments were passed to {cls.__name__} "
                            f"(task_id: {kwargs.get('task_id')}): {sorted(unknown)}")
        task_id = kwargs.get("task_id")
        if not isinstance(task_id, str) or not task_id:
            raise TypeError(f"{cls.__name__} needs a task_id")
        required = set().union(*(getattr(c, "required_args", frozenset()) for c in cls.__mro__))
        missing = required - set(kwargs)
        if missing:
            raise TypeError(f"{cls.__name__} {task_id!r}: missing arguments {sorted(missing)}")
        defaults = {**dag.default_args, **(kwargs.get("default_args") or {})}
        self.explicit_args = dict(kwargs)
        self.args = {k: v for k, v in defaults.items() if k in accepted and k not in kwargs}
        self.args.update(kwargs)
        self.args.pop("default_args", None)
        self.task_id = task_id
        self.dag = dag
        self.upstream_task_ids: set[str] = set()
        self.downstream_task_ids: set[str] = set()
        dag.add_task(self)

    # --- dependencies --------------------------------------------------------------------------------------------

    def _relate(self, other, upstream: bool) -> None:
        others = list(other) if isinstance(other, (list, tuple, set)) else [other]
        for o in others:
            if not isinstance(o, BaseOperator):
                raise TypeError(f"{self.task_id}: cannot set a dependency on {o!r}")
            if o.dag is not self.dag:
                raise ValueError(f"{self.task_id} and {o.task_id} are in different DAGs")
            if upstream:
                self.upstream_task_ids.add(o.task_id)
                o.downstream_task_ids.add(self.task_id)
            else:
                self.downstream_task_ids.add(o.task_id)
                o.upstream_task_ids.add(self.task_id)

    def set_upstream(self, other) -> None:
        self._relate(other, upstream=True)

    def set_downstream(self, other) -> None:
        self._relate(other, upstream=False)

    def __rshift__(self, other):  # self >> other
        self.set_downstream(other)
        return other

    def __lshift__(self, other):  # self << other
        self.set_upstream(other)
        return other

    def __rrshift__(self, other):  # [a, b] >> self
        self.set_upstream(other)
        return self

    def __rlshift__(self, other):  # [a, b] << self
        self.set_downstream(other)
        return self

    def __repr__(self) -> str:
        return f"<{type(self).__name__} stand-in {self.task_id}>"
