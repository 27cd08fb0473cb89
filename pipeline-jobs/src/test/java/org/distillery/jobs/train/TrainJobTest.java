package org.distillery.jobs.train;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.distillery.jobs.Fixtures;
import org.distillery.jobs.SparkTestBase;
import org.distillery.jobs.common.JobResult;
import org.distillery.jobs.common.ModelArtifact;
import org.distillery.jobs.common.Storage;
import org.distillery.jobs.label.LabelConfig;
import org.distillery.jobs.label.LabelJob;
import org.distillery.jobs.train.averaging.EngineConfig;
import org.distillery.jobs.train.averaging.MinibatchExport;
import org.distillery.jobs.train.averaging.TrainerSettings;
import org.distillery.model.data.Batches;
import org.distillery.model.loss.DistillationLoss;
import org.distillery.model.nn.Architecture;
import org.distillery.model.nn.LogitModel;
import org.distillery.model.schema.Manifest;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.dataset.DataSet;

class TrainJobTest extends SparkTestBase {
    @TempDir
    static Path dir;
    static String transfer;
    static String validation;
    static String soft;

    @BeforeAll
    static void fixtures() {
        transfer = Fixtures.transferSet(spark(), dir.resolve("transfer").toString(), 600, 21, 0);
        validation = Fixtures.transferSet(spark(), dir.resolve("validation").toString(), 200, 22, 10_000);
        String teacher = Fixtures.saveZip(spark(), Fixtures.teacher(9, 60), dir.resolve("teacher.zip").toString());
        soft = new LabelJob(spark()).run(LabelConfig.builder(transfer, dir.resolve("soft").toString()).teacher(teacher)
                .temperature(2.0).batchSize(128).build())
                .path();
    }

    private static TrainConfig kd(String out, Integer labelled, List<Double> ts, boolean retemper) {
        return small(Objective.KD).softTargets(soft).validation(validation).out(out).epochs(4).patience(4)
                .temperatures(ts).alphas(List.of(0.5)).retemper(retemper).labelled(labelled).build();
    }

    @Test
    void exportApproachWithJensenShannonFitsFromExportedFilesAndPublishesTrainingStats() throws Exception {
        String out = dir.resolve("exported").toString();
        Path export = dir.resolve("export");
        TrainConfig c = kd(out, 40, List.of(), false);
        TrainConfig config = c.toBuilder().epochs(2).patience(2).lrSchedule("cosine")
                .engine(new EngineConfig(1, "export", export.toString(), "never", "balanced", 3, "MEMORY_ONLY", true,
                        "dense"))
                .divergence(org.distillery.model.loss.Divergence.JENSEN_SHANNON).build();
        new TrainJob(spark()).run(config);
        assertThat(Storage.of(spark()).publishedManifest(out).text("divergence")).isEqualTo("js");

        // the trial's exported minibatches are deleted when it ends
        try (var files = Files.walk(export)) {
            assertThat(files.filter(f -> f.toString().endsWith(".bin")).count()).isZero();
        }
        // 600 rows / (16 x 3) -> 13 partitions -> 14 (7 rounds of 2 workers); 38 minibatches, one file each
        var rows = TrainingRows.build(spark(), org.distillery.jobs.common.TransferTables.readTransfer(spark(), transfer),
                org.distillery.jobs.common.TransferTables.readSoftTargets(spark(), soft), 40, 42, Objective.KD);
        var batches = rows.minibatches(Objective.KD, Fixtures.CLASSES, Fixtures.FEATURES, 2.0, config.settings(),
                org.apache.spark.storage.StorageLevel.MEMORY_ONLY());
        List<List<String>> rounds = MinibatchExport.export(
                org.apache.spark.api.java.JavaSparkContext.fromSparkContext(spark().sparkContext()), batches,
                dir.resolve("export-direct").toString(), config.settings());
        assertThat(rounds).hasSize(7);
        assertThat(rounds.stream().mapToInt(List::size).sum()).isEqualTo(38);
        assertThat(rounds).allMatch(r -> r.size() <= 2 * 3);
        assertThat(Files.readString(Path.of(out, TrainJob.STATS))).containsIgnoringCase("<html");
        List<String> lines = Files.readAllLines(Path.of(out, TrainJob.SCORES));
        assertThat(lines).hasSize(2);
        var first = new com.fasterxml.jackson.databind.ObjectMapper().readTree(lines.get(0));
        assertThat(first.get("roundScores")).hasSize(7);
        assertThat(first.get("learningRate").asDouble()).isEqualTo(0.01); // cosine: the base rate in epoch 1
        assertThat(new com.fasterxml.jackson.databind.ObjectMapper().readTree(lines.get(1)).get("learningRate")
                .asDouble()).isCloseTo(0.005, org.assertj.core.api.Assertions.within(1e-12));
        MultiLayerNetwork net = ModelArtifact.read(Storage.of(spark()), out).network();
        assertThat(net.params().isNaN().any()).isFalse();
    }

    @Test
    void resumesWithoutAValidationSet() {
        String out = dir.resolve("no-validation").toString();
        java.util.List<String> args = new java.util.ArrayList<>(List.of("train", "--soft-targets", soft, "--out", out,
                "--arch", "mlp:8", "--epochs", "2", "--batch-size", "16", "--averaging-frequency", "3",
                "--checkpoint-dir", dir.resolve("no-validation-ckpt").toString(), "--resume"));
        var first = org.distillery.jobs.cli.CliRun.of(args);
        assertThat(first.code()).as(first.err()).isZero();
        MultiLayerNetwork trained = ModelArtifact.read(Storage.of(spark()), out).network();
        args.addAll(List.of("--mode", "overwrite")); // a retry after the publish: the finished trial is not retrained
        var retry = org.distillery.jobs.cli.CliRun.of(args);
        assertThat(retry.code()).as(retry.err()).isZero();
        assertThat(ModelArtifact.read(Storage.of(spark()), out).network().params()).isEqualTo(trained.params());
    }

    /**
     * Dropout masks come from each worker's generator seeded per round (the network's seed, the round's iteration,
     * the worker): the same command trains the same parameters, as it does without dropout.
     */
    @Test
    void aStudentWithDropoutTrainsToTheSameParametersTwice() {
        java.util.function.Function<String, MultiLayerNetwork> train = name -> {
            double dropout = name.startsWith("no-dropout") ? 0 : 0.5;
            String out = dir.resolve(name).toString();
            new TrainJob(spark()).run(small(Objective.KD).dropout(dropout).softTargets(soft).validation(validation)
                    .out(out).epochs(2).patience(2).alphas(List.of(0.5)).build());
            return ModelArtifact.read(Storage.of(spark()), out).network();
        };
        MultiLayerNetwork first = train.apply("dropout-a");
        MultiLayerNetwork second = train.apply("dropout-b");
        assertThat(first.getLayerWiseConfigurations().getConf(first.getnLayers() - 1).getLayer().getIDropout())
                .as("dropout on the output layer's input").isNotNull();
        assertThat(second.params()).isEqualTo(first.params());
        // the masks did something: without dropout the same run ends elsewhere
        assertThat(train.apply("no-dropout").params().equalsWithEps(first.params(), 1e-4)).isFalse();
    }

    @Test
    void kdStudentLossGoesDownAndTheManifestChainsToTheSoftTargets() {
        String out = dir.resolve("kd").toString();
        JobResult result = new TrainJob(spark()).run(kd(out, 40, List.of(), false));

        ModelArtifact model = ModelArtifact.read(Storage.of(spark()), out);
        Manifest m = model.manifest();
        assertThat(m.number("temperature")).isEqualTo(2.0); // taken from the label manifest
        assertThat(m.number("rows")).isEqualTo(600);
        assertThat(m.number("labelledRows")).isEqualTo(40);
        assertThat(m.inputs().get("softTargets").manifestId()).isEqualTo(Storage.of(spark()).publishedManifest(soft).id());
        assertThat(result.manifestId()).isEqualTo(m.id());

        // the distillation loss on the training rows, fresh initialisation (same seed) vs trained
        DistillationLoss loss = new DistillationLoss(2.0, 0.5);
        DataSet batch = trainingBatch();
        MultiLayerNetwork fresh = new Architecture(List.of(8), 0).build(Fixtures.FEATURES, Fixtures.CLASSES, loss, 0.01, 42);
        MultiLayerNetwork trained = model.network();
        double before = fresh.score(batch);
        double after = trained.score(batch);
        assertThat(after).isLessThan(0.7 * before);
        assertThat(Storage.of(spark()).readText(out + "/scores.jsonl").lines().count()).isEqualTo(4);
    }

    /** The training rows with their soft targets at T = 2 (as the trainer builds them). */
    private static DataSet trainingBatch() {
        var rows = TrainingRows.build(spark(), org.distillery.jobs.common.TransferTables.readTransfer(spark(), transfer),
                org.distillery.jobs.common.TransferTables.readSoftTargets(spark(), soft), null, 42, Objective.KD);
        List<DataSet> batches = rows.minibatches(Objective.KD, Fixtures.CLASSES, Fixtures.FEATURES, 2.0,
                new TrainerSettings(1, 600, 1, 0, 1), org.apache.spark.storage.StorageLevel.MEMORY_ONLY()).collect();
        return DataSet.merge(batches);
    }

    @Test
    void labelledSelectionIsStratifiedSeededAndStable() {
        var t = org.distillery.jobs.common.TransferTables.readTransfer(spark(), transfer);
        TrainingRows a = TrainingRows.build(spark(), t, null, 40, 7, Objective.HARD);
        TrainingRows b = TrainingRows.build(spark(), t, null, 40, 7, Objective.HARD);
        assertThat(a.count()).isEqualTo(40);
        List<org.apache.spark.sql.Row> ra = a.sample(1000);
        List<org.apache.spark.sql.Row> rb = b.sample(1000);
        assertThat(ra.stream().map(r -> r.getLong(0)).sorted().toList())
                .isEqualTo(rb.stream().map(r -> r.getLong(0)).sorted().toList());
        long[] perClass = new long[Fixtures.CLASSES];
        ra.forEach(r -> perClass[r.getInt(2)]++);
        assertThat(perClass).containsOnly(10);
        TrainingRows other = TrainingRows.build(spark(), t, null, 40, 8, Objective.HARD);
        assertThat(other.sample(1000).stream().map(r -> r.getLong(0)).sorted().toList())
                .isNotEqualTo(ra.stream().map(r -> r.getLong(0)).sorted().toList());
    }

    @Test
    void refusesATemperatureThatDisagreesWithTheLabelManifest() {
        String out = dir.resolve("kd-t4").toString();
        assertThatThrownBy(() -> new TrainJob(spark()).run(kd(out, null, List.of(4.0), false)))
                .hasMessageStartingWith("temperature 4.0 disagrees with the label manifest's 2.0");
        assertThat(Files.exists(Path.of(out))).isFalse();
    }

    @Test
    void pseudoLabelAndHardObjectivesTrainOnTheRightRows() {
        JobResult pseudo = new TrainJob(spark()).run(small(Objective.PSEUDO_LABEL).softTargets(soft)
                .validation(validation).out(dir.resolve("pseudo").toString()).epochs(2).patience(2).labelled(40)
                .build());
        assertThat(pseudo.rows()).isEqualTo(600);
        JobResult hard = new TrainJob(spark()).run(small(Objective.HARD).transfer(transfer)
                .validation(validation).out(dir.resolve("hard").toString()).epochs(2).patience(2).labelled(40)
                .build());
        assertThat(hard.rows()).isEqualTo(40);
        MultiLayerNetwork net = ModelArtifact.read(Storage.of(spark()), hard.path()).network();
        assertThat(new LogitModel(net).classes()).isEqualTo(Fixtures.CLASSES);
    }

    @Test
    void rejectsInvalidConfigNamingTheValue() {
        assertThatThrownBy(() -> small(Objective.KD).transfer(transfer).out("o").build())
                .hasMessage("objective kd needs --soft-targets");
        assertThatThrownBy(() -> small(Objective.KD).softTargets(soft).out("o").alphas(List.of(1.5)).build())
                .hasMessage("alpha must be in [0, 1], got 1.5");
        assertThatThrownBy(() -> small(Objective.KD).softTargets(soft).out("o").architecture("cnn").build())
                .hasMessage("architecture must look like 'mlp:1200,1200' or 'cnn:20,50:500', got 'cnn'");
        assertThatThrownBy(() -> small(Objective.HARD).transfer(transfer).out("o").workers(0).build())
                .hasMessage("workers must be >= 1, got 0");
    }

    @Test
    void minibatchPartitionsNeverExceedOneAveragingRound() {
        var t = org.distillery.jobs.common.TransferTables.readTransfer(spark(), transfer);
        TrainingRows rows = TrainingRows.build(spark(), t, org.distillery.jobs.common.TransferTables.readSoftTargets(spark(),
                soft), 40, 42, Objective.PSEUDO_LABEL);
        // 600 rows, minibatch 16, 3 per round, 2 workers: 38 minibatches -> 13 partitions -> 7 rounds = 14 partitions
        TrainerSettings settings = new TrainerSettings(2, 16, 3, 0, 5);
        List<List<DataSet>> partitions = rows.minibatches(Objective.PSEUDO_LABEL, Fixtures.CLASSES, Fixtures.FEATURES, 1.0, settings,
                        org.apache.spark.storage.StorageLevel.MEMORY_ONLY()).glom().collect();
        assertThat(partitions).hasSize(14);
        assertThat(partitions).allSatisfy(p -> assertThat(p.size()).isLessThanOrEqualTo(3));
        assertThat(partitions.stream().flatMap(List::stream).mapToLong(DataSet::numExamples).sum()).isEqualTo(600);
        // pseudo-label targets: no soft part, exactly one hard label per row (the teacher's argmax where none was kept)
        for (DataSet ds : partitions.stream().flatMap(List::stream).toList()) {
            org.nd4j.linalg.api.ndarray.INDArray y = ds.getLabels();
            assertThat(y.get(org.nd4j.linalg.indexing.NDArrayIndex.all(),
                    org.nd4j.linalg.indexing.NDArrayIndex.interval(0, Fixtures.CLASSES)).sumNumber().doubleValue()).isZero();
            assertThat(y.sum(1).toDoubleVector()).containsOnly(1.0);
        }
    }

    @Test
    void refusesSoftTargetsLabelledFromAnotherTransferSet() {
        assertThatThrownBy(() -> new TrainJob(spark()).run(small(Objective.KD).softTargets(soft).transfer(validation)
                .out(dir.resolve("wrong-transfer").toString()).seed(1).build()))
                .hasMessageContaining("were labelled from transfer set");
        assertThatThrownBy(() -> small(Objective.KD).softTargets(soft).out("o").temperatures(List.of(1.0, 2.0))
                .retemper(true).build())
                .hasMessage("a temperature/alpha grid needs --validation to choose from, got 2 grid points and no"
                        + " validation set");
    }

    @Test
    void batchesCarrySoftTargetsAndMaskedHardLabels() {
        DataSet ds = Batches.toDataSet(List.of(new Batches.Example(new float[] {0.1f, 0.2f}, new float[] {2f, 0f}, -1),
                new Batches.Example(new float[] {0.3f, 0.4f}, new float[] {0f, 0f}, 1)), 2, 1.0);
        assertThat(ds.getLabels().getRow(0).toFloatVector()[2]).isZero();
        assertThat(ds.getLabels().getRow(0).toFloatVector()[3]).isZero();
        assertThat(ds.getLabels().getRow(1).toFloatVector()).containsExactly(0.5f, 0.5f, 0f, 1f);
    }

    /** A one-epoch run of a tiny student on the fixtures. */
    private static TrainConfigBuilder small(Objective objective) {
        return TrainConfig.builder(objective).architecture("mlp:8").epochs(1).patience(1).learningRate(0.01)
                .batchSize(16).averagingFrequency(3);
    }
}
