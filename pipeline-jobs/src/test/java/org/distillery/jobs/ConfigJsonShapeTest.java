package org.distillery.jobs;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.distillery.jobs.common.PublishMode;
import org.distillery.jobs.evaluate.EvaluateConfig;
import org.distillery.jobs.label.LabelConfig;
import org.distillery.jobs.train.FeatureTerms;
import org.distillery.jobs.train.Objective;
import org.distillery.jobs.train.Task;
import org.distillery.jobs.train.TrainConfig;
import org.distillery.jobs.train.averaging.EngineConfig;
import org.distillery.model.loss.Divergence;
import org.distillery.model.loss.Relation;
import org.distillery.model.schema.Manifest;
import org.junit.jupiter.api.Test;

/**
 * The JSON a config serialises to is what manifests record, what reruns compare ({@link Manifest#madeBy}) and what
 * checkpoint run hashes are taken of, key order included: configs built today must serialise exactly as those in the
 * golden outputs of an earlier build, so that those outputs are still recognised as made by the same config.
 */
class ConfigJsonShapeTest {
    private static final Path GOLDEN = Path.of("src/test/resources/golden/v1-320c006");
    private static final String RUN = "/tmp/golden-run/";

    @Test
    void trainConfigSerialisesAsTheGoldenTeachersManifestRecordsIt() throws Exception {
        TrainConfig teacher = TrainConfig.builder(Objective.HARD).transfer(RUN + "data/train")
                .validation(RUN + "data/validation").out(RUN + "teacher").architecture("mlp:8").epochs(3).build();
        assertSameJson(teacher, "teacher");
    }

    @Test
    void labelConfigSerialisesAsTheGoldenSoftTargetsManifestRecordsIt() throws Exception {
        LabelConfig soft = LabelConfig.builder(RUN + "data/train", RUN + "soft-v2").teachers(List.of(RUN + "teacher"))
                .temperature(2.0).batchSize(1024).precision("fp16").topK(3).soft(false).build();
        assertSameJson(soft, "soft-v2");
    }

    @Test
    void everyValueSetSerialisesAsPinned() throws Exception {
        TrainConfig full = TrainConfig.builder(Objective.KD).softTargets("soft").transfer("transfer")
                .validation("validation").labelled(100).out("out").mode(PublishMode.OVERWRITE).seed(7)
                .student("mlp:16,8", 0.25).epochs(7).patience(3).learningRate(0.01).lrSchedule("step:2:0.5")
                .divergence(Divergence.JENSEN_SHANNON).temperatures(List.of(2.0, 4.0)).alphas(List.of(0.5, 1.0))
                .retemper(true).features(new FeatureTerms(0.5, "two-stage", 0, 2, Relation.RKD, 0.25))
                .workers(3).batchSize(32).averagingFrequency(5).engine(new EngineConfig(1, "export", "exp", "never",
                        "spark-default", 3, "MEMORY_ONLY", true, "fit", "jobs"))
                .checkpointDir("ckpt").resume(true).build();
        assertThat(Manifest.json(full)).isEqualTo(resource("train-every-value.json"));
        LabelConfig label = LabelConfig.builder("transfer", "out").teachers(List.of("a.onnx")).weights(List.of(2.0))
                .ensemble("logit").temperature(4.0).batchSize(256).teacherSha256s(List.of("0".repeat(64)))
                .mode(PublishMode.INCREMENTAL).precision("fp16").topK(3).soft(true).hintLayer(1)
                .partitions(List.of("day=2", "day=1")).teacherOutputs(List.of("logits")).build();
        assertThat(Manifest.json(label)).isEqualTo(resource("label-every-value.json"));
    }

    /**
     * An LM config is a classifier config's object plus {@code task} and {@code lm} at its end; a classifier's has
     * neither (the golden teacher above), so the configs of published classifiers keep their hashes.
     */
    @Test
    void lmConfigAddsItsTaskAndShapeAtTheEnd() throws Exception {
        TrainConfig lm = TrainConfig.builder(Objective.HARD).task(Task.LM).lm(16, 64, 2).transfer("text/train")
                .validation("text/validation").out("lm").build();
        assertThat(Manifest.json(lm)).isEqualTo(resource("train-lm.json"));
        assertThat(lm.toBuilder().build()).isEqualTo(lm);
        assertThat(Manifest.json(lm.toBuilder().task(Task.CLASSIFIER).build()))
                .doesNotContain("\"task\" :", "\"lm\" :");
    }

    /**
     * An evaluate config records the LM settings only when one differs from its default, so classifier evaluations
     * keep the config (and hash) they had.
     */
    @Test
    void evaluateConfigRecordsLmSettingsOnlyWhenSet() throws Exception {
        EvaluateConfig plain = new EvaluateConfig("test", null, Map.of("s", "s"), "out", 10, null, false,
                EvaluateConfig.Lm.DEFAULTS);
        assertThat(Manifest.json(plain)).isEqualTo(Manifest.json(new EvaluateConfig("test", null, Map.of("s", "s"),
                "out", 10))).doesNotContain("\"lm\"");
        EvaluateConfig lm = plain.withLm(EvaluateConfig.Lm.DEFAULTS.withSamples(5, 40));
        assertThat(Manifest.json(lm)).contains("\"lm\"", "\"samples\" : 5", "\"sampleTokens\" : 40");
        assertThat(lm.lmSettings().samples()).isEqualTo(5);
    }

    /** The JSON of a config, as this build's predecessor wrote it (src/test/resources/configs). */
    private static String resource(String name) throws Exception {
        return Files.readString(Path.of("src/test/resources/configs", name)).strip();
    }

    private static void assertSameJson(Object config, String output) throws Exception {
        Manifest golden = Manifest.fromJson(Files.readString(GOLDEN.resolve(output).resolve(Manifest.FILE_NAME)),
                output);
        JsonNode now = Manifest.sealed("any", config, Map.of(), Map.of(), Map.of(), null).config();
        assertThat(now.toString()).isEqualTo(golden.config().toString()); // key order too: run hashes depend on it
        assertThat(golden.madeBy(config)).isTrue();
    }
}
