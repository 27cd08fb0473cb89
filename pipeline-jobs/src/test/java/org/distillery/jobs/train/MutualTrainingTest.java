package org.distillery.jobs.train;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import java.util.stream.Stream;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.distillery.jobs.Fixtures;
import org.distillery.jobs.SparkTestBase;
import org.distillery.jobs.cli.CliRun;
import org.distillery.jobs.common.LabelledSet;
import org.distillery.jobs.common.ModelArtifact;
import org.distillery.jobs.common.Scoring;
import org.distillery.jobs.common.Storage;
import org.distillery.jobs.common.TransferTables;
import org.distillery.jobs.train.averaging.EngineConfig;
import org.distillery.jobs.train.averaging.ParameterAveragingTrainer;
import org.distillery.jobs.train.averaging.TrainerSettings;
import org.distillery.model.data.Batches;
import org.distillery.model.loss.MutualLoss;
import org.distillery.model.nn.Architecture;
import org.distillery.model.nn.LogitModel;
import org.distillery.model.nn.PeerNetworks;
import org.distillery.model.schema.Manifest;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;

/** Objective mutual end to end: training, publishing, the engine's promises for the side-by-side peers, bad input. */
class MutualTrainingTest extends SparkTestBase {
    private static final List<Architecture> TWO = List.of(Architecture.parse("mlp:8", 0), Architecture.parse("mlp:8", 0));
    @TempDir
    static Path dir;
    static String transfer;
    static String validation;

    @BeforeAll
    static void fixtures() {
        transfer = Fixtures.transferSet(spark(), dir.resolve("transfer").toString(), 600, 31, 0);
        validation = Fixtures.transferSet(spark(), dir.resolve("validation").toString(), 200, 32, 10_000);
    }

    private static TrainConfigBuilder mutual(String out) {
        return TrainConfig.builder(Objective.MUTUAL).transfer(transfer).validation(validation).out(out)
                .architecture("mlp:8").epochs(4).patience(4).learningRate(0.01).batchSize(16).averagingFrequency(3)
                .labelled(200).temperatures(List.of(2.0)).alphas(List.of(0.5));
    }

    /**
     * Two peers on 600 rows of which 200 keep a label: each published as its own model with a manifest saying how it was
     * trained; each better than chance (0.25) on the validation set, scored here from the published model; the two
     * different (different initialisations, seed and seed + 1); the run's manifest lists them.
     */
    @Test
    void trainsThePeersAndPublishesEachAsItsOwnModel() {
        String out = dir.resolve("mutual").toString();
        new TrainJob(spark()).run(mutual(out).build());
        Storage storage = Storage.of(spark());
        LabelledSet val = LabelledSet.collect(TransferTables.readTransfer(spark(), validation));
        Manifest run = storage.publishedManifest(out);
        assertThat(run.text("objective")).isEqualTo("mutual");
        assertThat(storage.exists(out + "/" + ModelArtifact.FILE)).as("the run itself is not a model").isFalse();
        List<float[][]> logits = new ArrayList<>();
        for (int k = 1; k <= 2; k++) {
            ModelArtifact student = ModelArtifact.read(storage, out + "/student-" + k);
            Manifest m = student.manifest();
            assertThat(m.text("objective")).isEqualTo("mutual");
            assertThat(m.number("peers")).isEqualTo(2);
            assertThat(m.number("peer")).isEqualTo(k);
            assertThat(m.number("initSeed")).isEqualTo(42 + k - 1);
            assertThat(m.number("temperature")).isEqualTo(2.0);
            assertThat(m.number("alpha")).isEqualTo(0.5);
            assertThat(m.text("architecture")).isEqualTo("mlp:8");
            assertThat(m.number("labelledRows")).isEqualTo(200);
            assertThat(m.inputs()).containsOnlyKeys("transfer", "validation");
            MultiLayerNetwork net = student.network();
            assertThat(new LogitModel(net).classes()).isEqualTo(Fixtures.CLASSES);
            float[][] z = Scoring.logits(new LogitModel(net), val.features());
            double acc = Scoring.accuracy(z, val.labels());
            assertThat(acc).as("student %s", k).isGreaterThan(0.5);
            // the joint network scored the same rows in another summation order: an argmax may flip on a near tie
            assertThat(m.number("validationAccuracy")).isCloseTo(acc, within(0.01));
            logits.add(z);
        }
        double maxDiff = 0;
        for (int i = 0; i < logits.get(0).length; i++) {
            for (int c = 0; c < Fixtures.CLASSES; c++) {
                maxDiff = Math.max(maxDiff, Math.abs(logits.get(0)[i][c] - logits.get(1)[i][c]));
            }
        }
        assertThat(maxDiff).as("the two students' logits differ").isGreaterThan(0.1);
        assertThat(run.toJson()).contains("student-1 (manifest ", "student-2 (manifest ");
        evaluateScoresEachPeerAndTheirEnsemble(out);
        assertThat(storage.readText(out + "/" + TrainJob.SCORES).lines().count()).isEqualTo(4);
    }

    /**
     * Evaluate scores each peer as the model it is, and adds their ensemble: its accuracy vs the mean of the two
     * published students' softmax outputs computed here (the same logits; float vs double means may break a near tie
     * differently, so within one row of 200).
     */
    private static void evaluateScoresEachPeerAndTheirEnsemble(String run) {
        String test = Fixtures.transferSet(spark(), dir.resolve("test").toString(), 200, 33, 20_000);
        java.util.Map<String, String> models = new java.util.LinkedHashMap<>();
        models.put("peer_1", run + "/student-1");
        models.put("peer_2", run + "/student-2");
        var result = new org.distillery.jobs.evaluate.EvaluateJob(spark()).run(
                new org.distillery.jobs.evaluate.EvaluateConfig(test, null, models, dir.resolve("eval").toString(), 2));
        var report = result.models();
        assertThat(report).containsOnlyKeys("peer_1", "peer_2", "mutual_ensemble");
        assertThat(((Number) report.get("peer_1").get("peer")).intValue()).isEqualTo(1);
        assertThat(report.get("mutual_ensemble").get("members")).isEqualTo(List.of("peer_1", "peer_2"));
        LabelledSet t = LabelledSet.collect(TransferTables.readTransfer(spark(), test));
        Storage storage = Storage.of(spark());
        float[][] a = Scoring.logits(new LogitModel(ModelArtifact.read(storage, run + "/student-1").network()),
                t.features());
        float[][] b = Scoring.logits(new LogitModel(ModelArtifact.read(storage, run + "/student-2").network()),
                t.features());
        int right = 0;
        for (int i = 0; i < a.length; i++) {
            double[] p = new double[Fixtures.CLASSES];
            int best = 0;
            for (float[] z : new float[][] {a[i], b[i]}) {
                double max = Double.NEGATIVE_INFINITY;
                for (float v : z) {
                    max = Math.max(max, v);
                }
                double sum = 0;
                for (float v : z) {
                    sum += Math.exp(v - max);
                }
                for (int c = 0; c < z.length; c++) {
                    p[c] += Math.exp(z[c] - max) / sum / 2;
                }
            }
            for (int c = 1; c < p.length; c++) {
                best = p[c] > p[best] ? c : best;
            }
            right += best == t.labels()[i] ? 1 : 0;
        }
        assertThat((double) report.get("mutual_ensemble").get("accuracy")).isCloseTo(right / 200.0, within(0.005));
        assertThat((long) report.get("mutual_ensemble").get("params"))
                .isEqualTo((long) report.get("peer_1").get("params") + (long) report.get("peer_2").get("params"));
    }

    /** Every transfer row trains the peers: no teacher part, a hard label on the 40 selected rows only. */
    @Test
    void batchesCarryHardLabelsWhereKeptAndNoTeacher() {
        var rows = TrainingRows.build(spark(), TransferTables.readTransfer(spark(), transfer), null, 40, 42,
                Objective.MUTUAL);
        assertThat(rows.count()).isEqualTo(600);
        assertThat(rows.labelledCount()).isEqualTo(40);
        List<DataSet> batches = rows.minibatches(Objective.MUTUAL, Fixtures.CLASSES, Fixtures.FEATURES, 2.0,
                new TrainerSettings(1, 600, 1, 0, 1), org.apache.spark.storage.StorageLevel.MEMORY_ONLY()).collect();
        DataSet all = DataSet.merge(batches);
        INDArray y = all.getLabels();
        assertThat(y.columns()).isEqualTo(2 * Fixtures.CLASSES);
        assertThat(y.get(org.nd4j.linalg.indexing.NDArrayIndex.all(),
                org.nd4j.linalg.indexing.NDArrayIndex.interval(0, Fixtures.CLASSES)).sumNumber().doubleValue()).isZero();
        assertThat(y.sumNumber().doubleValue()).isEqualTo(40.0);
    }

    /**
     * The engine's promise holds for the peers: one worker's parameter averaging is single-machine fit on the same
     * minibatches in the same order (within 1e-5: the worker's dense step and DL4J's fit sum in another order), and
     * with two workers the dense step and DL4J's fit give the same averaged network, the students still apart.
     */
    @Test
    void oneWorkerIsLocalFitAndTwoWorkersAverageThePeersWithEitherStep() {
        int batch = 8;
        int perRound = 3;
        int rounds = 4;
        List<DataSet> batches = batches(batch * perRound * rounds, batch);
        JavaSparkContext sc = JavaSparkContext.fromSparkContext(spark().sparkContext());
        JavaRDD<DataSet> rdd = sc.parallelize(batches, rounds).cache();
        TrainerSettings one = new TrainerSettings(1, batch, perRound, 0, 99);
        MultiLayerNetwork local = joint();
        ParameterAveragingTrainer spark = new ParameterAveragingTrainer(sc, joint(), one, EngineConfig.DEFAULT);
        assertThat(spark.describe()).contains("worker step dense");
        for (int epoch = 1; epoch <= 2; epoch++) {
            spark.fitEpoch(rdd, epoch);
            List<Integer> order = new ArrayList<>(List.of(0, 1, 2, 3));
            Collections.shuffle(order, new Random(one.seed() * 31 + epoch));
            for (int r : order) {
                for (int b = 0; b < perRound; b++) {
                    local.fit(batches.get(r * perRound + b));
                }
            }
        }
        assertThat(spark.network().params().equalsWithEps(local.params(), 1e-5)).as("parameters").isTrue();
        assertThat(spark.network().params().equalsWithEps(joint().params(), 1e-3)).as("training moved them").isFalse();
        spark.close();

        TrainerSettings two = new TrainerSettings(2, batch, perRound, 0, 99);
        ParameterAveragingTrainer dense = new ParameterAveragingTrainer(sc, joint(), two, EngineConfig.DEFAULT);
        EngineConfig d = EngineConfig.DEFAULT;
        ParameterAveragingTrainer fit = new ParameterAveragingTrainer(sc, joint(), two, new EngineConfig(d.prefetch(),
                d.approach(), null, d.repartition(), d.repartitionStrategy(), d.aggregationDepth(), d.storageLevel(),
                false, "fit"));
        for (int epoch = 1; epoch <= 2; epoch++) {
            dense.fitEpoch(rdd, epoch);
            fit.fitEpoch(rdd, epoch);
        }
        assertThat(dense.network().params().equalsWithEps(fit.network().params(), 1e-5)).isTrue();
        INDArray w = dense.network().getLayer(1).getParam("W"); // [16, 8]: student 1's 8 units, then student 2's
        assertThat(w.get(org.nd4j.linalg.indexing.NDArrayIndex.interval(0, 8),
                org.nd4j.linalg.indexing.NDArrayIndex.interval(4, 8)).amaxNumber().doubleValue()).isZero();
        assertThat(w.get(org.nd4j.linalg.indexing.NDArrayIndex.interval(8, 16),
                org.nd4j.linalg.indexing.NDArrayIndex.interval(0, 4)).amaxNumber().doubleValue()).isZero();
        dense.close();
        fit.close();
    }

    private static MultiLayerNetwork joint() {
        return PeerNetworks.build(TWO, Fixtures.FEATURES, Fixtures.CLASSES, new MutualLoss(2, 2.0, 0.5), 0.01, 5);
    }

    /** Fixture rows as minibatches without a teacher, a hard label on every third row. */
    private static List<DataSet> batches(int n, int batch) {
        int[] y = Fixtures.labels(n, 3);
        float[][] x = Fixtures.features(n, y, 4);
        List<DataSet> out = new ArrayList<>();
        for (int b = 0; b < n / batch; b++) {
            List<Batches.Example> rows = new ArrayList<>();
            for (int i = b * batch; i < (b + 1) * batch; i++) {
                rows.add(new Batches.Example(x[i], null, i % 3 == 0 ? y[i] : -1));
            }
            out.add(Batches.toDataSet(rows, Fixtures.CLASSES, 1.0));
        }
        return out;
    }

    /** Bad input: one line naming the problem, exit 2, nothing written. */
    @Test
    void refusesBadInputWithOneLineAndExitTwo() throws IOException {
        String out = dir.resolve("refused").toString();
        List<String> base = List.of("train", "--objective", "mutual", "--transfer", transfer, "--out", out);
        refused(base, "needs --peers >= 2, got 1", "--peers", "1");
        refused(base, "--arch lists 3 architectures for 2 peers", "--arch", "mlp:8,mlp:4,mlp:6");
        refused(base, "same number of hidden layers", "--arch", "mlp:8,mlp:4,4");
        refused(base, "mutual learning trains mlp students", "--arch", "cnn:4:8");
        refused(base, "--soft-targets does not apply to objective mutual", "--soft-targets", validation);
        refused(base, "one temperature and one alpha", "-T", "1,2", "--validation", validation);
        refused(base, "--retemper does not apply", "--retemper");
        refused(base, "--checkpoint-dir does not apply", "--checkpoint-dir", dir.resolve("ckpt").toString());
        refused(base, "divergence js only applies to objective kd", "--divergence", "js");
        refused(base, "hint and relation terms only apply to objective kd", "--relation", "sp");
        refused(base, "needs labelled rows, got --labelled 0", "--labelled", "0");
        refused(List.of("train", "--objective", "hard", "--transfer", transfer, "--out", out),
                "only objective mutual trains several", "--arch", "mlp:8,mlp:4");
    }

    private static void refused(List<String> base, String expected, String... more) throws IOException {
        List<String> args = new ArrayList<>(base);
        args.addAll(List.of(more));
        List<String> before = tree();
        CliRun r = CliRun.of(args);
        assertThat(r.code()).as("exit code of %s: %s", args, r.err()).isEqualTo(2);
        List<String> lines = r.err().strip().lines().toList();
        assertThat(lines).as("stderr of %s", args).hasSize(1);
        assertThat(lines.get(0)).startsWith("distill train: error: ").contains(expected);
        assertThat(tree()).as("files after %s", args).isEqualTo(before);
    }

    private static List<String> tree() throws IOException {
        try (Stream<Path> files = Files.walk(dir)) {
            return files.map(Path::toString).sorted().toList();
        }
    }

    /** --peers in the config file, --dry-run and --help. */
    @Test
    void peersComeFromTheConfigFileAndShowInTheDryRunAndHelp() throws IOException {
        Path conf = dir.resolve("pipeline.conf");
        Files.writeString(conf, "train { objective = mutual, peers = 3, arch = \"mlp:8,mlp:6,mlp:4\" }\n");
        String out = dir.resolve("dry").toString();
        CliRun dry = CliRun.of("train", "--config", conf.toString(), "--transfer", transfer, "--out", out,
                "--dry-run");
        assertThat(dry.code()).as(dry.err()).isZero();
        assertThat(dry.out()).contains("3: [mlp:8, mlp:6, mlp:4]", "MutualLoss(peers=3, T=1.0, alpha=0.5)",
                "student-1 .. student-3");
        assertThat(Files.exists(Path.of(out))).isFalse();
        CliRun help = CliRun.of("train", "--help");
        assertThat(help.code()).isZero();
        assertThat(help.out()).contains("--peers=K", "mutual");
    }
}
