package org.distillery.jobs.evaluate;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Path;
import org.distillery.jobs.Fixtures;
import org.distillery.jobs.SparkTestBase;
import org.distillery.jobs.cli.CliRun;
import org.distillery.jobs.common.Storage;
import org.distillery.model.schema.Manifest;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Agreement and KL are measured against the teacher a student was distilled from: by default that one, read from where
 * it was labelled from; another is refused unless asked for; none for a student of imported outputs.
 */
class TeacherPinTest extends SparkTestBase {
    @TempDir
    static Path dir;
    static String test;
    static String teacher;
    static String other;
    static String student;

    @BeforeAll
    static void distil() {
        String transfer = Fixtures.transferSet(spark(), dir.resolve("transfer").toString(), 200, 81, 0);
        test = Fixtures.transferSet(spark(), dir.resolve("test").toString(), 60, 82, 10_000);
        teacher = Fixtures.saveZip(spark(), Fixtures.teacher(8, 10), dir.resolve("teacher.zip").toString());
        other = Fixtures.saveZip(spark(), Fixtures.teacher(9, 10), dir.resolve("other.zip").toString());
        String soft = dir.resolve("soft").toString();
        student = dir.resolve("student").toString();
        for (CliRun run : new CliRun[] {
                CliRun.of("label", "--transfer", transfer, "--teacher", teacher, "--out", soft),
                CliRun.of("train", "--soft-targets", soft, "--out", student, "--arch", "mlp:8", "--epochs", "1",
                        "--batch-size", "16")}) {
            assertThat(run.code()).as(run.err()).isZero();
        }
    }

    private static JsonNode model(String eval, String name) throws Exception {
        return Manifest.mapper().readTree(Storage.of(spark()).readText(eval + "/report.json")).path("models")
                .path(name);
    }

    @Test
    void withoutTeacherTheOneTheStudentCameFromIsTheReference() throws Exception {
        String eval = dir.resolve("eval-default").toString();
        CliRun run = CliRun.of("evaluate", "--test", test, "--model", "student=" + student, "--out", eval,
                "--latency-runs", "2");
        assertThat(run.code()).as(run.err()).isZero();
        assertThat(model(eval, "teacher").path("agreement_with_teacher").asDouble()).isEqualTo(1.0);
        assertThat(model(eval, "student").path("agreement_with_teacher").isNumber()).isTrue();
        assertThat(Storage.of(spark()).publishedManifest(eval).inputs().get("teacher").path()).endsWith("teacher.zip");
    }

    @Test
    void anotherTeacherIsRefusedUnlessAllowed() {
        String eval = dir.resolve("eval-other").toString();
        CliRun refused = CliRun.of("evaluate", "--test", test, "--teacher", other, "--model", "student=" + student,
                "--out", eval);
        assertThat(refused.code()).isEqualTo(2);
        assertThat(refused.err().strip()).doesNotContain("\n").doesNotContain("\tat ")
                .contains("other.zip (sha256").contains("is not the teacher student was distilled from")
                .contains("teacher.zip").contains("--allow-other-teacher");
        assertThat(Storage.of(spark()).exists(eval)).isFalse();

        CliRun allowed = CliRun.of("evaluate", "--test", test, "--teacher", other, "--allow-other-teacher",
                "--model", "student=" + student, "--out", eval, "--latency-runs", "2");
        assertThat(allowed.code()).as(allowed.err()).isZero();
        assertThat(Storage.of(spark()).publishedManifest(eval).inputs().get("teacher").path()).endsWith("other.zip");
    }

    @Test
    void theSameTeacherPassedExplicitlyIsAccepted() {
        String eval = dir.resolve("eval-same").toString();
        CliRun run = CliRun.of("evaluate", "--test", test, "--teacher", teacher, "--model", "student=" + student,
                "--out", eval, "--latency-runs", "2");
        assertThat(run.code()).as(run.err()).isZero();
    }
}
