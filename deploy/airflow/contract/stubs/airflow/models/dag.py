"""Stand-in for airflow.models.dag.DAG: records its arguments and the tasks created inside ``with DAG(...)``."""

from __future__ import annotations

import jinja2

# The DAG arguments of Airflow 2.x that a DAG file may pass (an unknown one is a TypeError there too).
ACCEPTED = frozenset({
    "dag_id", "description", "schedule", "schedule_interval", "timetable", "start_date", "end_date",
    "full_filepath", "template_searchpath", "template_undefined", "user_defined_macros", "user_defined_filters",
    "default_args", "concurrency", "max_active_tasks", "max_active_runs", "max_consecutive_failed_dag_runs",
    "dagrun_timeout", "sla_miss_callback", "default_view", "orientation", "catchup", "on_success_callback",
    "on_failure_callback", "doc_md", "params", "access_control", "is_paused_upon_creation", "jinja_environment_kwargs",
    "render_template_as_native_obj", "tags", "owner_links", "auto_register", "fail_stop", "dag_display_name",
})

INSTANCES: list["DAG"] = []
"""Every DAG created since the stand-in was imported, in creation order."""

_CONTEXT: list["DAG"] = []


def current_dag() -> "DAG | None":
    return _CONTEXT[-1] if _CONTEXT else None


class DAG:
    def __init__(self, dag_id: str | None = None, **kwargs):
        if dag_id is None:
            dag_id = kwargs.pop("dag_id", None)
        if not isinstance(dag_id, str) or not dag_id:
            raise TypeError("DAG needs a dag_id")
        unknown = set(kwargs) - ACCEPTED
        if unknown:
            raise TypeError(f"DAG {dag_id}: invalid arguments {sorted(unknown)}")
        self.dag_id = dag_id
        self.kwargs = kwargs
        self.default_args = dict(kwargs.get("default_args") or {})
        self.params = dict(kwargs.get("params") or {})
        self.template_undefined = kwargs.get("template_undefined", jinja2.StrictUndefined)
        self.user_defined_macros = dict(kwargs.get("user_defined_macros") or {})
        self.user_defined_filters = dict(kwargs.get("user_defined_filters") or {})
        self.tasks = {}  # task_id -> operator, in creation order
        doc_md = kwargs.get("doc_md")
        if isinstance(doc_md, str) and not doc_md.endswith(".md"):
            # Airflow 2.x (DAG.get_doc_md) renders doc_md with a plain jinja2.Template and no context at parse time:
            # a Jinja expression in it breaks the DAG's import there, so it does here too.
            self.doc_md = jinja2.Template(doc_md).render()
        INSTANCES.append(self)

    @property
    def schedule(self):
        return self.kwargs.get("schedule", self.kwargs.get("schedule_interval"))

    def add_task(self, task) -> None:
        if task.task_id in self.tasks:
            raise ValueError(f"DAG {self.dag_id}: duplicate task_id {task.task_id!r}")
        self.tasks[task.task_id] = task

    def __enter__(self) -> "DAG":
        _CONTEXT.append(self)
        return self

    def __exit__(self, *exc) -> None:
        _CONTEXT.pop()

    def __repr__(self) -> str:
        return f"<DAG stand-in {self.dag_id}>"
