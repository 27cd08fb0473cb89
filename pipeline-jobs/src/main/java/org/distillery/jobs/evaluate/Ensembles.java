package org.distillery.jobs.evaluate;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.hadoop.fs.Path;
import org.distillery.jobs.common.LabelledSet;
import org.distillery.jobs.common.ModelArtifact;
import org.distillery.jobs.common.Scoring;

/**
 * The extra row evaluate adds for the peers of one mutual-learning run ({@code train --objective mutual}) when two or
 * more of them are scored: their ensemble, the mean of their softmax outputs, scored from the logits already computed
 * for each member (its logits are log of that mean). Named after the run's directory ({@code mutual_ensemble} for
 * peers under {@code .../mutual/student-k}); its size and single-row latency are the members' summed.
 */
final class Ensembles {
    private Ensembles() {
    }

    /** Model names by run directory, for runs with two or more peers among {@code artifacts}, in report order. */
    static Map<String, List<String>> groups(Map<String, ModelArtifact> artifacts) {
        Map<String, List<String>> byRun = new LinkedHashMap<>();
        artifacts.forEach((name, a) -> {
            if (a.manifest() != null && "mutual".equals(a.manifest().facts().get("objective"))) {
                byRun.computeIfAbsent(new Path(a.path()).getParent().toString(), r -> new ArrayList<>()).add(name);
            }
        });
        byRun.values().removeIf(members -> members.size() < 2);
        return byRun;
    }

    /** Adds one ensemble row per group to {@code report}, after the members' rows. */
    static void add(Map<String, Map<String, Object>> report, Map<String, ModelArtifact> artifacts,
                    Map<String, float[][]> testLogits, Map<String, float[][]> validationLogits, float[][] teacher,
                    LabelledSet test, LabelledSet validation, List<String> classNames) {
        groups(artifacts).forEach((run, members) -> {
            String name = name(new Path(run).getName(), report);
            float[][] logits = mean(members, testLogits);
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("accuracy", Scoring.accuracy(logits, test.labels()));
            m.put("agreement_with_teacher", teacher == null ? null : Metrics.agreement(logits, teacher));
            m.put("mean_kl_from_teacher", teacher == null ? null : Metrics.meanKl(logits, teacher));
            m.put("ece", Metrics.ece(logits, test.labels()));
            m.put("format", "ensemble");
            m.put("members", members);
            m.put("params", members.stream().mapToLong(n -> (long) report.get(n).get("params")).sum());
            m.put("model_bytes", members.stream().mapToLong(n -> (long) report.get(n).get("model_bytes")).sum());
            m.put("latency_ms_p50", members.stream().mapToDouble(n -> (double) report.get(n).get("latency_ms_p50"))
                    .sum());
            double[] perClass = Metrics.perClassAccuracy(logits, test.labels(), classNames.size());
            m.put("per_class_accuracy", perClass);
            m.put("per_class", Metrics.perClass(classNames, perClass, test.labels()));
            m.put("objective", "mutual");
            if (validation != null) {
                m.put("calibration", Calibrated.fit(mean(members, validationLogits), validation.labels(), logits,
                        test.labels(), classNames.size()));
            }
            report.put(name, m);
        });
    }

    /** Log of the mean of the members' softmax outputs, row by row. */
    static float[][] mean(List<String> members, Map<String, float[][]> logits) {
        float[][] first = logits.get(members.get(0));
        float[][] out = new float[first.length][first[0].length];
        for (String member : members) {
            float[][] z = logits.get(member);
            for (int i = 0; i < z.length; i++) {
                float[] p = org.distillery.model.loss.SoftTargets.soften(z[i], 1.0);
                for (int c = 0; c < p.length; c++) {
                    out[i][c] += p[c] / members.size();
                }
            }
        }
        for (float[] row : out) {
            for (int c = 0; c < row.length; c++) {
                row[c] = (float) Math.log(Math.max(row[c], 1e-30));
            }
        }
        return out;
    }

    private static String name(String run, Map<String, Map<String, Object>> report) {
        String base = run.replaceAll("[^A-Za-z0-9_-]", "_") + "_ensemble";
        String name = base;
        for (int i = 2; report.containsKey(name); i++) {
            name = base + "_" + i;
        }
        return name;
    }
}
