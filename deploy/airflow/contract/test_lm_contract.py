"""Python-side checks of the LM DAG (distillery_lm_dag.py), as test_contract.py checks the image DAG.

The Java contract test (DagContractTest) runs the same rendered command lines through the real CLI on a small corpus.
"""

from __future__ import annotations

import json
import os
import tempfile
import unittest

from test_contract import DS, HERE, render, rendered

LM_DAG = os.path.join(HERE, "..", "distillery_lm_dag.py")
CONFIG = "/opt/distillery/conf/pipeline-lm.conf"
LM = "file:///data/d/lm"


def lm_render(*args: str):
    return render(*args, dag=LM_DAG)


def lm_tasks(*args: str) -> dict:
    return {t["task_id"]: t for t in rendered("--param", "root=file:///data/d/", *args, dag=LM_DAG)["tasks"]}


class RenderedLmDag(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dag = rendered("--param", "root=file:///data/d/", dag=LM_DAG)
        cls.tasks = {t["task_id"]: t for t in cls.dag["tasks"]}

    def test_dag_settings_are_the_image_dags(self):
        self.assertEqual(("distillery_lm", "@daily", False, 1),
                         (self.dag["dag_id"], self.dag["schedule"], self.dag["catchup"], self.dag["max_active_runs"]))
        for t in self.dag["tasks"]:
            self.assertEqual((2, 600), (t["retries"], t["retry_delay"]), t["task_id"])

    def test_graph(self):
        order = [t["task_id"] for t in self.dag["tasks"]]
        self.assertEqual(["ingest_requested", "ingest", "summary_ingest", "wait_for_corpus", "teacher_requested",
                          "train_teacher", "summary_train_teacher", "label", "summary_label", "train_student",
                          "summary_train_student", "evaluate", "summary_evaluate"], order)
        for t in self.dag["tasks"]:  # a chain: each task after the one before it
            i = order.index(t["task_id"])
            self.assertEqual(order[i - 1:i], t["upstream"], t["task_id"])
        # a skipped ingest or teacher training must not skip the rest
        for short_circuit in ("ingest_requested", "teacher_requested"):
            self.assertFalse(self.tasks[short_circuit]["ignore_downstream_trigger_rules"])
        self.assertEqual("none_failed", self.tasks["wait_for_corpus"]["trigger_rule"])
        self.assertEqual("none_failed", self.tasks["label"]["trigger_rule"])

    def test_spark_tasks(self):
        day = f"dt={DS}"
        corpus = f"{LM}/corpus/{day}"
        expected = {
            "ingest": ["ingest", "--config", CONFIG, "--source=", "--format", "text", "--out", corpus,
                       "--mode", "overwrite"],
            "train_teacher": ["train", "--config", CONFIG, "--task", "lm", "--objective", "hard",
                              "--transfer", corpus + "/train", "--validation", corpus + "/validation",
                              "--embedding=32", "--hidden=256", "--layers=2", "--out", f"{LM}/teachers/{day}",
                              "--checkpoint-dir", f"{LM}/checkpoints/{day}/teacher", "--resume",
                              "--mode", "overwrite"],
            "label": ["label", "--config", CONFIG, "--transfer", corpus + "/train",
                      "--teacher", f"{LM}/models/teacher", "--top-k", "16", "--precision", "fp16",
                      "--out", f"{LM}/soft-targets/{day}", "--mode", "incremental"],
            "train_student": ["train", "--config", CONFIG, "--task", "lm", "--objective", "kd",
                              "--soft-targets", f"{LM}/soft-targets/{day}", "--validation", corpus + "/validation",
                              "--embedding=16", "--hidden=64", "--layers=1", "--out", f"{LM}/students/{day}/kd",
                              "--checkpoint-dir", f"{LM}/checkpoints/{day}/kd", "--resume", "--mode", "overwrite"],
            "evaluate": ["evaluate", "--config", CONFIG, "--test", corpus + "/test",
                         "--model", f"student={LM}/students/{day}/kd", "--out", f"{LM}/evaluations/{day}",
                         "--mode", "overwrite"],
        }
        for task_id, args in expected.items():
            t = self.tasks[task_id]
            self.assertEqual("SparkSubmitOperator", t["kind"])
            self.assertEqual("org.distillery.jobs.cli.Distill", t["java_class"])
            self.assertEqual(f"distillery_lm-{task_id}-{DS}", t["name"])
            self.assertEqual(args, t["application_args"], task_id)
        self.assertEqual({"paths": [corpus + "/train", corpus + "/validation", corpus + "/test"]},
                         self.tasks["wait_for_corpus"]["op_kwargs"])
        for task_id, out, job in (("ingest", corpus + "/train", "ingest"),
                                  ("train_teacher", f"{LM}/teachers/{day}", "train"),
                                  ("label", f"{LM}/soft-targets/{day}", "label"),
                                  ("train_student", f"{LM}/students/{day}/kd", "train"),
                                  ("evaluate", f"{LM}/evaluations/{day}", "evaluate")):
            self.assertEqual({"out": out, "job": job}, self.tasks["summary_" + task_id]["op_kwargs"])


class LmParams(unittest.TestCase):
    def test_params_become_flags_and_the_day_teacher_is_labelled_with_when_trained(self):
        tasks = lm_tasks("--param", "teacher=/elsewhere/t.zip", "--param", "top_k=4", "--param", "precision=fp32",
                         "--param", "student_hidden=32", "--param", "ingest_source=s3a://lake/text/dt=<ds>/*.txt")
        label = tasks["label"]["application_args"]
        self.assertEqual(["/elsewhere/t.zip", "4", "fp32"],
                         [label[label.index(flag) + 1] for flag in ("--teacher", "--top-k", "--precision")])
        self.assertIn("--hidden=32", tasks["train_student"]["application_args"])
        self.assertIn("--hidden=256", tasks["train_teacher"]["application_args"])
        self.assertIn(f"--source=s3a://lake/text/dt={DS}/*.txt", tasks["ingest"]["application_args"])
        trained = lm_tasks("--param", "train_teacher=true", "--param", "teacher=/elsewhere/t.zip")
        label = trained["label"]["application_args"]
        self.assertEqual(f"{LM}/teachers/dt={DS}", label[label.index("--teacher") + 1])

    def test_teacher_training_runs_only_when_asked(self):
        self.assertEqual({"return_value": False}, json.loads(lm_render("--call", "teacher_requested").stdout))
        trained = lm_render("--param", "train_teacher=true", "--call", "teacher_requested")
        self.assertEqual({"return_value": True}, json.loads(trained.stdout))

    def test_bad_params_are_refused(self):
        for bad in ("top_k=0", "precision=fp8", "teacher_layers=0"):
            self.assertEqual(2, lm_render("--param", bad).returncode, bad)


class CorpusSensor(unittest.TestCase):
    def test_waits_for_every_split(self):
        with tempfile.TemporaryDirectory() as tmp:
            call = ("--param", "root=file://" + tmp, "--call", "wait_for_corpus")
            for split in ("train", "validation", "test"):
                if split == "test":  # one split missing
                    self.assertEqual({"return_value": False}, json.loads(lm_render(*call).stdout))
                directory = os.path.join(tmp, "lm", "corpus", f"dt={DS}", split)
                os.makedirs(directory)
                with open(os.path.join(directory, "_SUCCESS"), "w") as f:
                    f.write(json.dumps({"job": "ingest", "path": directory}) + "\n")
            self.assertEqual({"return_value": True}, json.loads(lm_render(*call).stdout))


if __name__ == "__main__":
    unittest.main()
