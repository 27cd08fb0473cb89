"""Python-side checks of the Airflow DAG contract: python3 -m unittest discover -s deploy/airflow/contract

No Spark, no Java: the DAG is rendered through the stand-ins (render_dag.py) and the callables run against fake
_SUCCESS files in a temporary directory. The Java contract test drives the same render_dag.py against the real CLI.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
DAG = os.path.join(HERE, "..", "distillery_dag.py")
RENDER = os.path.join(HERE, "render_dag.py")
DS = "2026-11-24"
PIN = "0123456789abcdef" * 4

sys.path.insert(0, os.path.join(HERE, ".."))
import distillery_tasks  # noqa: E402


def render(*args: str, env: dict | None = None, dag: str = DAG) -> subprocess.CompletedProcess:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("DISTILLERY_")}
    environment.update(env or {})
    return subprocess.run([sys.executable, RENDER, "--dag", dag, "--ds", DS, *args],
                          capture_output=True, text=True, env=environment)


def rendered(*args: str, env: dict | None = None, dag: str = DAG) -> dict:
    done = render(*args, env=env, dag=dag)
    if done.returncode != 0:
        raise AssertionError(f"render_dag exited {done.returncode}: {done.stderr}")
    return json.loads(done.stdout)


class RenderedDag(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dag = rendered("--param", "root=file:///data/d/")
        cls.tasks = {t["task_id"]: t for t in cls.dag["tasks"]}

    def test_dag_settings(self):
        self.assertEqual(("distillery", "@daily", False, 1),
                         (self.dag["dag_id"], self.dag["schedule"], self.dag["catchup"], self.dag["max_active_runs"]))
        for t in self.dag["tasks"]:
            self.assertEqual(2, t["retries"], t["task_id"])

    def test_graph_in_topological_order(self):
        order = [t["task_id"] for t in self.dag["tasks"]]
        self.assertEqual(["ingest_requested", "ingest", "summary_ingest", "wait_for_transfer", "augment_requested",
                          "augment", "summary_augment", "label", "summary_label", "continue_to_training",
                          "train_student", "summary_train_student", "train_baseline", "summary_train_baseline",
                          "mutual_requested", "train_mutual", "summary_train_mutual", "evaluate", "summary_evaluate",
                          "export", "summary_export"], order)
        # a skipped ingest must not skip the rest: only the sensor's trigger rule lets it run after a skip
        self.assertFalse(self.tasks["ingest_requested"]["ignore_downstream_trigger_rules"])
        self.assertEqual("none_failed", self.tasks["wait_for_transfer"]["trigger_rule"])
        # likewise a skipped augment: label runs after it or after its skip
        self.assertFalse(self.tasks["augment_requested"]["ignore_downstream_trigger_rules"])
        self.assertEqual("none_failed", self.tasks["label"]["trigger_rule"])
        for t in self.dag["tasks"]:
            for u in t["upstream"]:
                self.assertLess(order.index(u), order.index(t["task_id"]))
        self.assertEqual(["train_student", "train_baseline", "mutual_requested"],
                         self.tasks["continue_to_training"]["downstream"])
        self.assertEqual(["summary_train_student", "summary_train_baseline"], self.tasks["evaluate"]["upstream"])
        self.assertEqual(["summary_evaluate"], self.tasks["export"]["upstream"])

    def test_spark_tasks_use_run_scoped_paths_and_overwrite(self):
        for task_id in ("ingest", "augment", "label", "train_student", "train_baseline", "train_mutual", "evaluate",
                        "export"):
            t = self.tasks[task_id]
            self.assertEqual("SparkSubmitOperator", t["kind"])
            self.assertEqual("org.distillery.jobs.cli.Distill", t["java_class"])
            args = t["application_args"]
            self.assertEqual(["--config", "/opt/distillery/conf/pipeline.conf"], args[1:3])
            self.assertEqual(["--mode", "incremental" if task_id == "label" else "overwrite"], args[-2:])
            self.assertNotIn("latest", " ".join(args))
            self.assertFalse(any("{" in a or "//data/d//" in a for a in args), args)
        self.assertEqual(["label", "--config", "/opt/distillery/conf/pipeline.conf",
                          "--transfer", "file:///data/d/transfer/dt=2026-11-24",
                          "--teacher", "file:///data/d/models/teacher",
                          "--out", "file:///data/d/soft-targets/dt=2026-11-24", "--mode", "incremental"],
                         self.tasks["label"]["application_args"])
        student = self.tasks["train_student"]["application_args"]
        self.assertIn("--resume", student)
        self.assertEqual("file:///data/d/checkpoints/dt=2026-11-24/kd",
                         student[student.index("--checkpoint-dir") + 1])
        self.assertEqual(["export", "--config", "/opt/distillery/conf/pipeline.conf",
                          "--model", "file:///data/d/students/dt=2026-11-24/kd", "--format", "onnx",
                          "--quantize", "int8", "--calibration", "file:///data/d/transfer/dt=2026-11-24",
                          "--evaluation", "file:///data/d/evaluations/dt=2026-11-24",
                          "--out", "file:///data/d/exports/dt=2026-11-24/kd", "--mode", "overwrite"],
                         self.tasks["export"]["application_args"])
        baseline = self.tasks["train_baseline"]["application_args"]
        self.assertEqual("hard", baseline[baseline.index("--objective") + 1])
        self.assertEqual("file:///data/d/transfer/dt=2026-11-24", baseline[baseline.index("--transfer") + 1])

    def test_summaries_read_the_outputs(self):
        self.assertEqual({"out": "file:///data/d/evaluations/dt=2026-11-24", "job": "evaluate"},
                         self.tasks["summary_evaluate"]["op_kwargs"])
        self.assertEqual({"out": "file:///data/d/exports/dt=2026-11-24/kd", "job": "export"},
                         self.tasks["summary_export"]["op_kwargs"])
        self.assertEqual("reschedule", self.tasks["wait_for_transfer"]["mode"])
        self.assertEqual({"path": "file:///data/d/transfer/dt=2026-11-24"},
                         self.tasks["wait_for_transfer"]["op_kwargs"])


class Ingest(unittest.TestCase):
    def test_ingest_params_become_flags_and_empty_ones_are_left_for_the_cli_to_drop(self):
        dag = rendered("--param", "root=hdfs:///d", "--param", "ingest_source=s3a://lake/orders/dt=<ds>",
                       "--param", "ingest_format=csv", "--param", "ingest_options=header=true,inferSchema=true",
                       "--param", "ingest_id=order_id", "--param", "ingest_classes=apple,banana,cherry")
        args = {t["task_id"]: t for t in dag["tasks"]}["ingest"]["application_args"]
        self.assertEqual(["ingest", "--config", "/opt/distillery/conf/pipeline.conf",
                          "--source=s3a://lake/orders/dt=2026-11-24", "--format=csv",
                          "--option=header=true,inferSchema=true", "--id=order_id", "--id-from=", "--label=",
                          "--classes=apple,banana,cherry", "--features=", "--features-prefix=", "--shape=",
                          "--scale=", "--standardize=", "--transform-from=", "--split", "none",
                          "--out", "hdfs:///d/transfer/dt=2026-11-24", "--mode", "overwrite"], args)

    def test_ingest_runs_only_with_a_source(self):
        self.assertEqual({"return_value": False}, json.loads(render("--call", "ingest_requested").stdout))
        given = render("--param", "ingest_source=/lake/x", "--call", "ingest_requested")
        self.assertEqual({"return_value": True}, json.loads(given.stdout))
        self.assertEqual(2, render("--param", "ingest_format=idx").returncode)
        self.assertEqual(2, render("--param", "ingest_standardize=yes").returncode)


class Params(unittest.TestCase):
    def test_teacher_pin_is_passed_only_when_pinned_at_parse_time(self):
        label = {t["task_id"]: t for t in rendered(env={"DISTILLERY_TEACHER_SHA256": PIN})["tasks"]}["label"]
        args = label["application_args"]
        self.assertEqual(PIN, args[args.index("--teacher-sha256") + 1])
        unpinned = render("--param", "teacher_sha256=" + PIN)
        self.assertEqual(2, unpinned.returncode, unpinned.stdout)

    def test_relabel_only_skips_training(self):
        self.assertEqual({"return_value": True}, json.loads(render("--call", "continue_to_training").stdout))
        done = render("--param", "relabel_only=true", "--call", "continue_to_training")
        self.assertEqual({"return_value": False}, json.loads(done.stdout))
        self.assertEqual(2, render("--param", "relabel_only=yes").returncode)

    def test_bad_params_are_refused(self):
        self.assertEqual(2, render("--param", "nope=1").returncode)
        self.assertEqual(2, render("--param", "spark_conn_id=other").returncode)
        self.assertEqual(2, render("--param", "root=relative").returncode)


class AugmentAndMutual(unittest.TestCase):
    def test_augment_widens_what_label_reads_only_when_asked(self):
        self.assertEqual({"return_value": False}, json.loads(render("--call", "augment_requested").stdout))
        params = ("--param", "root=hdfs:///d", "--param", "augment=true", "--param", "augment_transforms=shift=1,noise=0.1",
                  "--param", "augment_copies=3")
        self.assertEqual({"return_value": True}, json.loads(render(*params, "--call", "augment_requested").stdout))
        tasks = {t["task_id"]: t for t in rendered(*params)["tasks"]}
        self.assertEqual(["augment", "--config", "/opt/distillery/conf/pipeline.conf",
                          "--transfer", "hdfs:///d/transfer/dt=2026-11-24", "--transform", "shift=1,noise=0.1",
                          "--copies", "3", "--out", "hdfs:///d/augmented/dt=2026-11-24", "--mode", "overwrite"],
                         tasks["augment"]["application_args"])
        label = tasks["label"]["application_args"]
        self.assertEqual("hdfs:///d/augmented/dt=2026-11-24", label[label.index("--transfer") + 1])
        # the baseline keeps the day's own labelled rows
        baseline = tasks["train_baseline"]["application_args"]
        self.assertEqual("hdfs:///d/transfer/dt=2026-11-24", baseline[baseline.index("--transfer") + 1])
        self.assertEqual({"out": "hdfs:///d/augmented/dt=2026-11-24", "job": "augment"},
                         tasks["summary_augment"]["op_kwargs"])

    def test_mutual_peers_train_only_when_asked(self):
        self.assertEqual({"return_value": False}, json.loads(render("--call", "mutual_requested").stdout))
        params = ("--param", "root=hdfs:///d", "--param", "mutual=true", "--param", "mutual_peers=3")
        self.assertEqual({"return_value": True}, json.loads(render(*params, "--call", "mutual_requested").stdout))
        args = {t["task_id"]: t for t in rendered(*params)["tasks"]}["train_mutual"]["application_args"]
        self.assertEqual(["mutual", "3", "hdfs:///d/transfer/dt=2026-11-24", "hdfs:///d/students/dt=2026-11-24/mutual"],
                         [args[args.index(f) + 1] for f in ("--objective", "--peers", "--transfer", "--out")])

    def test_bad_augment_and_mutual_params_are_refused_when_triggered(self):
        for bad in ("augment=yes", "augment_copies=0", "augment_transforms=", "mutual=maybe", "mutual_peers=1"):
            self.assertEqual(2, render("--param", bad).returncode, bad)


class Callables(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.root = "file://" + self.tmp.name

    def tearDown(self):
        self.tmp.cleanup()

    def publish(self, relative: str, summary) -> str:
        directory = os.path.join(self.tmp.name, relative)
        os.makedirs(directory, exist_ok=True)
        with open(os.path.join(directory, "_SUCCESS"), "w") as f:
            f.write(summary if isinstance(summary, str) else json.dumps(summary) + "\n")
        return directory

    def test_sensor_and_summary_through_render_dag(self):
        call = ("--param", "root=" + self.root, "--call")
        self.assertEqual({"return_value": False}, json.loads(render(*call, "wait_for_transfer").stdout))
        self.publish(f"transfer/dt={DS}", {"job": "ingest", "path": "x"})
        self.assertEqual({"return_value": True}, json.loads(render(*call, "wait_for_transfer").stdout))
        summary = {"job": "train", "path": f"file:{self.tmp.name}/students/dt={DS}/kd", "manifest": "ab",
                   "rows": 5, "seconds": 1.5}
        self.publish(f"students/dt={DS}/kd", summary)
        self.assertEqual({"return_value": summary}, json.loads(render(*call, "summary_train_student").stdout))
        self.assertEqual(1, render(*call, "summary_train_baseline").returncode)

    def test_summary_checks(self):
        out = self.publish("a/b", {"job": "label", "path": "hdfs://nn:8020/elsewhere/a/b"})
        with self.assertRaisesRegex(ValueError, "names path"):
            distillery_tasks.read_summary(out, "label")
        self.publish("a/b", {"job": "train", "path": "file:" + out})
        with self.assertRaisesRegex(ValueError, "written by job 'train'"):
            distillery_tasks.read_summary(out, "label")
        self.publish("a/b", "")
        with self.assertRaisesRegex(ValueError, "empty"):
            distillery_tasks.read_summary(out, "label")
        self.publish("a/b", {"job": "label", "path": "file:" + out + "/"})
        self.assertEqual("label", distillery_tasks.read_summary("file://" + out, "label")["job"])

    def test_same_location(self):
        same = distillery_tasks.same_location
        self.assertTrue(same("hdfs://nn:8020/d/x", "hdfs:///d/x"))
        self.assertTrue(same("file:/d/x", "/d/x"))
        self.assertTrue(same("file:/work/runs/x", "runs/x"))
        self.assertFalse(same("file:/work/runs/xx", "x"))
        self.assertFalse(same("hdfs://a/d/x", "hdfs://b/d/x"))
        self.assertFalse(same("file:/d/x", "hdfs:///d/x"))
        self.assertFalse(same("file:/d/x/y", "/d/x"))


if __name__ == "__main__":
    unittest.main()
