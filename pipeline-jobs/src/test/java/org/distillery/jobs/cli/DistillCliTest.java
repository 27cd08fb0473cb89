package org.distillery.jobs.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import org.distillery.jobs.SparkTestBase;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class DistillCliTest extends SparkTestBase {
    @TempDir
    Path dir;

    private static CliRun run(String... args) {
        return CliRun.of(args);
    }

    @ParameterizedTest
    @ValueSource(strings = {"ingest", "label", "generate", "train", "evaluate", "export", "calibrate", "augment", "demo", "omitted-class", "born-again", "config"})
    void everySubcommandHasHelp(String sub) {
        CliRun r = run(sub, "--help");
        assertThat(r.code()).isZero();
        assertThat(r.out()).startsWith("Usage: distill " + sub);
    }

    @Test
    void badValuesGiveOneLineErrorsAndExitCode2() {
        spark();
        CliRun t = run("label", "--transfer", "a", "--teacher", "b", "--out", "c", "-T", "0");
        assertThat(t.code()).isEqualTo(2);
        assertThat(t.err().strip()).isEqualTo("distill label: error: temperature must be a finite number > 0, got 0.0");

        CliRun missing = run("label", "--transfer", dir.resolve("nope").toString(), "--teacher", "b", "--out",
                dir.resolve("out").toString());
        assertThat(missing.code()).isEqualTo(2);
        assertThat(missing.err().strip()).isEqualTo("distill label: error: input not found: " + dir.resolve("nope"));

        CliRun objective = run("train", "--objective", "magic", "--out", "x", "--transfer", "y");
        assertThat(objective.code()).isEqualTo(2);
        assertThat(objective.err().strip())
                .isEqualTo("distill train: error: objective must be one of [kd, hard, pseudo_label, mutual], got 'magic'");

        CliRun relation = run("train", "--soft-targets", "s", "--out", "x", "--relation", "rdk");
        assertThat(relation.code()).isEqualTo(2);
        assertThat(relation.err().strip()).isEqualTo("distill train: error: relation must be one of [none,"
                + " rkd-distance, rkd-angle, rkd, sp], got 'rdk'");
        CliRun schedule = run("train", "--soft-targets", "s", "--out", "x", "--hint-weight", "1", "--hint-schedule",
                "later");
        assertThat(schedule.code()).isEqualTo(2);
        assertThat(schedule.err().strip())
                .isEqualTo("distill train: error: hint schedule must be two-stage or joint, got 'later'");
        CliRun layer = run("label", "--transfer", "a", "--teacher", "b", "--out", "c", "--hint-layer", "-1");
        assertThat(layer.code()).isEqualTo(2);
        assertThat(layer.err().strip()).isEqualTo("distill label: error: hint layer must be a layer index >= 0, got -1");
    }

    @Test
    void unknownOptionIsAUsageError() {
        CliRun r = run("train", "--out", "x", "--frobnicate");
        assertThat(r.code()).isEqualTo(2);
        assertThat(r.err()).contains("Unknown option: '--frobnicate'");
    }
}
