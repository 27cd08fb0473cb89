package org.distillery.jobs.experiments;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import org.distillery.jobs.Fixtures;
import org.distillery.jobs.SparkTestBase;
import org.distillery.jobs.common.Storage;
import org.distillery.jobs.train.Objective;
import org.distillery.jobs.train.TrainConfig;
import org.distillery.jobs.train.TrainJob;
import org.distillery.model.schema.Manifest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Two born-again generations on tiny blobs: each generation is labelled by the previous one, in its architecture. */
class BornAgainJobTest extends SparkTestBase {
    @TempDir
    Path dir;

    @Test
    void eachGenerationTeachesTheNext() {
        String transfer = Fixtures.transferSet(spark(), dir.resolve("transfer").toString(), 400, 111, 0);
        String validation = Fixtures.transferSet(spark(), dir.resolve("validation").toString(), 100, 112, 10_000);
        String test = Fixtures.transferSet(spark(), dir.resolve("test").toString(), 100, 113, 20_000);
        String teacher = new TrainJob(spark()).run(TrainConfig.builder(Objective.HARD).transfer(transfer)
                .validation(validation).out(dir.resolve("teacher").toString()).architecture("mlp:12").epochs(8)
                .patience(8).learningRate(0.01).seed(1).batchSize(16).averagingFrequency(3).build()).path();

        BornAgainJob.Result r = new BornAgainJob(spark()).run(new BornAgainConfig(transfer, validation, test, teacher,
                dir.resolve("run").toString(), 2, null, 2.0, 1.0, null, 8, 0.01, 5, 2));
        assertThat(r.architecture()).isEqualTo("mlp:12"); // the teacher's own
        assertThat(r.evaluation().models()).containsKeys("teacher", "generation_1", "generation_2");
        Storage storage = Storage.of(spark());
        Manifest gen2Label = storage.publishedManifest(dir.resolve("run/generation-2/soft-targets").toString());
        Manifest gen1 = storage.publishedManifest(dir.resolve("run/generation-1/student").toString());
        assertThat(gen2Label.inputs().get("teacher").manifestId()).isEqualTo(gen1.id());
        assertThat(gen1.text("architecture")).isEqualTo("mlp:12");
        double teacherAccuracy = (double) r.evaluation().models().get("teacher").get("accuracy");
        assertThat(teacherAccuracy).isGreaterThan(0.8);
        assertThat((double) r.evaluation().models().get("generation_2").get("accuracy"))
                .isGreaterThan(teacherAccuracy - 0.1);

        String bare = Fixtures.saveZip(spark(), Fixtures.teacher(3, 5), dir.resolve("bare.zip").toString());
        assertThatThrownBy(() -> new BornAgainJob(spark()).run(new BornAgainConfig(transfer, validation, test, bare,
                dir.resolve("run2").toString(), 1, null, 2.0, 1.0, null, 1, 0.01, 5, 2)))
                .hasMessageContaining("has no manifest naming its architecture (a bare zip?): pass --arch");
    }
}
