package org.distillery.jobs.experiments;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import java.util.Map;
import org.distillery.jobs.Fixtures;
import org.distillery.jobs.SparkTestBase;
import org.distillery.jobs.common.Storage;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The omitted-class experiment on tiny blobs: the hard-label student never predicts the class, the KD one does. */
class OmittedClassJobTest extends SparkTestBase {
    @TempDir
    Path dir;

    @Test
    void softTargetsCarryAClassTheTransferSetLacks() {
        String transfer = Fixtures.transferSet(spark(), dir.resolve("transfer").toString(), 800, 101, 0);
        String validation = Fixtures.transferSet(spark(), dir.resolve("validation").toString(), 300, 102, 10_000);
        String test = Fixtures.transferSet(spark(), dir.resolve("test").toString(), 300, 103, 20_000);
        String teacher = Fixtures.saveZip(spark(), Fixtures.teacher(104, 60), dir.resolve("teacher.zip").toString());
        OmittedClassConfig config = new OmittedClassConfig(transfer, validation, test, teacher,
                dir.resolve("run").toString(), 1, 8.0, "mlp:16", 12, 7, 2);

        OmittedClassJob.Result r = new OmittedClassJob(spark()).run(config);
        Map<String, Object> kd = r.models().get("kd_soft_only");
        Map<String, Object> hard = r.models().get("hard_labels");
        assertThat((double) hard.get("omitted_class_accuracy")).isLessThan(0.02);
        assertThat((double) kd.get("omitted_class_accuracy_after_bias"))
                .isGreaterThan((double) hard.get("omitted_class_accuracy") + 0.3);
        assertThat((double) kd.get("omitted_class_bias")).isPositive();
        // Hinton's correction: the omitted class's bias alone, raised until validation accuracy is highest
        assertThat((double) kd.get("hinton_bias")).isPositive();
        assertThat((double) kd.get("omitted_class_accuracy_after_hinton_bias"))
                .isGreaterThan((double) kd.get("omitted_class_accuracy"));
        assertThat((double) hard.get("omitted_class_accuracy_after_hinton_bias")).isBetween(0.0, 1.0);
        assertThat(r.table()).contains("kd_soft_only", "hard_labels", "teacher");
        Storage storage = Storage.of(spark());
        assertThat(storage.publishedManifest(dir.resolve("run/transfer-without-1").toString()).number("rows"))
                .isLessThan(800).isGreaterThan(500);
        assertThat(spark().read().parquet(dir.resolve("run/transfer-without-1").toString())
                .filter("label = 1").count()).isZero();

        assertThatThrownBy(() -> new OmittedClassJob(spark()).run(new OmittedClassConfig(transfer, validation, test,
                teacher, dir.resolve("run2").toString(), 9, 8.0, "mlp:16", 2, 7, 2)))
                .hasMessage("omitted class 9 is not one of the transfer set's 4 classes");
    }
}
