package org.distillery.jobs.train.averaging;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.sql.SparkSession;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.distillery.jobs.common.Sparks;
import org.distillery.model.loss.DistillationLoss;
import org.distillery.model.loss.SoftTargets;
import org.distillery.model.loss.TargetLayout;
import org.distillery.model.nn.Architecture;
import org.distillery.model.nn.DenseTrainingStep;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Benchmark, not a test (docs/scripts/bench-train.sh runs it): KD training of the same student (784-64-10 by default,
 * {@code -Dbench.hidden=512,512} for a wider one, {@code -Dbench.hidden=cnn:20,50:500} for the demo's CNN teacher with
 * its dropout 0.5) on the same synthetic minibatches (precomputed teacher logits, T=2,
 * alpha=0.5, Adam, batch 64), as single-JVM DL4J {@code fit} and {@code DenseTrainingStep}, and as Spark parameter
 * averaging through distillery's trainer ({@code local[2]}, or the master spark-submit gives). Prints one JSON line per
 * engine with examples/s, and the communication facts of the cost model (bytes per averaging round, rounds per epoch,
 * seconds per round). Usage: {@code TrainBench ROWS EPOCHS [single|spark|both|single-variants|...]};
 * {@code single-variants} runs the single-JVM variants one after the other in this JVM (the order reversed on even
 * {@code -Dbench.rep}), so the harness compares them side by side. {@code -Dbench.warmupEpochs} (default 1): untimed
 * epochs before the timed ones, for every engine.
 */
public final class TrainBench {
    static final int FEATURES = 784;
    static final int CLASSES = 10;
    static final int BATCH = 64;
    static final int AVERAGING = Integer.getInteger("bench.averaging", 10);
    static final int WORKERS = 2;
    static final String HIDDEN = System.getProperty("bench.hidden", "64");
    static final int WARMUP_EPOCHS = Integer.getInteger("bench.warmupEpochs", 1);
    static final int REP = Integer.getInteger("bench.rep", 1);

    private TrainBench() {
    }

    public static void main(String[] args) {
        // the kernel choice the jobs make (Distill.main), before ND4J loads
        org.distillery.model.nn.BlasKernel.apply(org.distillery.model.nn.BlasKernel.configured(), true);
        run(args);
        System.exit(0); // Spark's barrier-mode timer thread is not a daemon: returning from main would not end the JVM
    }

    private static void run(String[] args) {
        int rows = Integer.parseInt(args[0]);
        int epochs = Integer.parseInt(args[1]);
        String which = args.length > 2 ? args[2] : "both";
        List<DataSet> batches = minibatches(rows, 7);
        if (which.equals("single-ce")) { // reference: DL4J's own softmax + cross-entropy on the hard labels only
            List<DataSet> hard = new ArrayList<>();
            for (DataSet d : batches) {
                hard.add(new DataSet(d.getFeatures(), d.getLabels().get(
                        org.nd4j.linalg.indexing.NDArrayIndex.all(),
                        org.nd4j.linalg.indexing.NDArrayIndex.interval(CLASSES, 2 * CLASSES)).dup()));
            }
            MultiLayerNetwork net = new MultiLayerNetwork(new org.deeplearning4j.nn.conf.NeuralNetConfiguration.Builder()
                    .seed(42).updater(new org.nd4j.linalg.learning.config.Adam(1e-3)).list()
                    .layer(new org.deeplearning4j.nn.conf.layers.DenseLayer.Builder().nIn(FEATURES).nOut(64)
                            .activation(org.nd4j.linalg.activations.Activation.RELU).build())
                    .layer(new org.deeplearning4j.nn.conf.layers.OutputLayer.Builder(
                            org.nd4j.linalg.lossfunctions.LossFunctions.LossFunction.MCXENT).nIn(64).nOut(CLASSES)
                            .activation(org.nd4j.linalg.activations.Activation.SOFTMAX).build()).build());
            net.init();
            timeSingle(net, hard, rows, epochs, "single-jvm fit, DL4J softmax+MCXENT, hard labels");
            return;
        }
        if (which.equals("single-variants")) { // the choices made for speed, side by side in one JVM
            List<Runnable> variants = new ArrayList<>();
            variants.add(() -> {
                MultiLayerNetwork net = student();
                timeSingle(net, batches, rows, epochs, "single-jvm dense step", DenseTrainingStep.of(net)::fit);
            });
            if (!isCnn()) { // the MLP step's own choices; the CNN is measured against DL4J's layers alone
                variants.add(() -> {
                    MultiLayerNetwork net = student();
                    timeSingle(net, batches, rows, epochs, "single-jvm dense step, DL4J updater",
                            DenseTrainingStep.withDl4jUpdater(net)::fit);
                });
                variants.add(() -> {
                    MultiLayerNetwork net = student();
                    timeSingle(net, batches, rows, epochs, "single-jvm dense step, ND4J only",
                            DenseTrainingStep.nd4jOnly(net)::fit);
                });
            }
            variants.add(() -> timeSingle(student(), batches, rows, epochs, "single-jvm fit (1 thread)"));
            if (!isCnn()) {
                variants.add(() -> timeSingle(nativeAdam(student()), batches, rows, epochs,
                        "single-jvm fit, DL4J's native Adam"));
            }
            if (REP % 2 == 0) {
                java.util.Collections.reverse(variants);
            }
            variants.forEach(Runnable::run);
            return;
        }
        if (which.equals("single-dl4j-adam")) { // reference: the same student with DL4J's own (native) Adam
            timeSingle(nativeAdam(student()), batches, rows, epochs, "single-jvm fit, DL4J's native Adam");
            return;
        }
        if (which.equals("single-dense-step")) { // the same student, stepped by DenseTrainingStep instead of fit
            MultiLayerNetwork net = student();
            timeSingle(net, batches, rows, epochs, "single-jvm dense step", DenseTrainingStep.of(net)::fit);
            return;
        }
        if (!which.equals("spark")) {
            single(batches, rows, epochs);
        }
        if (!which.equals("single")) {
            spark(batches, rows, epochs);
        }
    }

    /** The same network with DL4J's own (native) Adam instead of FastAdam, from the same initial parameters. */
    static MultiLayerNetwork nativeAdam(MultiLayerNetwork net) {
        {
            MultiLayerNetwork dl4jAdam = new MultiLayerNetwork(org.deeplearning4j.nn.conf.MultiLayerConfiguration
                    .fromJson(net.getLayerWiseConfigurations().toJson().replace(
                            "\"@class\" : \"org.distillery.model.nn.FastAdam\"",
                            "\"@class\" : \"org.nd4j.linalg.learning.config.Adam\"")));
            dl4jAdam.init(net.params().dup(), false);
            if (!(dl4jAdam.getLayer(0).conf().getLayer() instanceof org.deeplearning4j.nn.conf.layers.BaseLayer b
                    && b.getIUpdater() instanceof org.nd4j.linalg.learning.config.Adam)) {
                throw new IllegalStateException("the reference student does not use DL4J's Adam");
            }
            return dl4jAdam;
        }
    }

    static MultiLayerNetwork student() {
        Architecture arch = isCnn() ? Architecture.parse(HIDDEN, 0.5) : Architecture.parse("mlp:" + HIDDEN, 0);
        return arch.build(FEATURES, CLASSES, new DistillationLoss(2.0, 0.5), 1e-3, 42);
    }

    /** Whether the network is a CNN spec ({@code cnn:C1,...:W1,...}) rather than an MLP's hidden widths. */
    static boolean isCnn() {
        return HIDDEN.startsWith("cnn:");
    }

    /** The student's layer widths, as the PyTorch reference names them: 784-64-10, or the CNN's spec. */
    static String studentName() {
        return isCnn() ? HIDDEN : FEATURES + "-" + HIDDEN.replace(',', '-') + "-" + CLASSES;
    }

    /** Features uniform in [0, 1); a fixed random linear teacher gives the logits, its argmax the hard label. */
    static List<DataSet> minibatches(int rows, long seed) {
        List<DataSet> out = new ArrayList<>();
        for (int b = 0; b * BATCH < rows; b++) {
            out.add(minibatch(b, rows, seed));
        }
        return out;
    }

    /** Minibatch {@code b}, made from its own seed, so an executor can build it where it is used. */
    static DataSet minibatch(int b, int rows, long seed) {
        Random wr = new Random(seed);
        float[][] w = new float[FEATURES][CLASSES];
        for (float[] r : w) {
            for (int c = 0; c < CLASSES; c++) {
                r[c] = (float) wr.nextGaussian() * 0.2f;
            }
        }
        Random rng = new Random(seed * 1_000_003L + b);
        int n = Math.min(BATCH, rows - b * BATCH);
        float[] x = new float[n * FEATURES];
        float[] y = new float[n * TargetLayout.width(CLASSES)];
        for (int i = 0; i < n; i++) {
            float[] logits = new float[CLASSES];
            for (int j = 0; j < FEATURES; j++) {
                float v = rng.nextFloat();
                x[i * FEATURES + j] = v;
                for (int c = 0; c < CLASSES; c++) {
                    logits[c] += v * w[j][c];
                }
            }
            float[] row = new float[TargetLayout.width(CLASSES)];
            TargetLayout.fill(row, SoftTargets.soften(logits, 2.0), SoftTargets.argmax(logits), CLASSES);
            System.arraycopy(row, 0, y, i * row.length, row.length);
        }
        return new DataSet(Nd4j.create(x, new long[] {n, FEATURES}, DataType.FLOAT),
                Nd4j.create(y, new long[] {n, TargetLayout.width(CLASSES)}, DataType.FLOAT));
    }

    static void single(List<DataSet> batches, int rows, int epochs) {
        timeSingle(student(), batches, rows, epochs, "single-jvm fit");
    }

    static void timeSingle(MultiLayerNetwork net, List<DataSet> batches, int rows, int epochs, String engine) {
        timeSingle(net, batches, rows, epochs, engine, net::fit);
    }

    static void timeSingle(MultiLayerNetwork net, List<DataSet> batches, int rows, int epochs, String engine,
                           java.util.function.Consumer<DataSet> step) {
        for (int e = 0; e < WARMUP_EPOCHS; e++) {
            batches.forEach(step); // warm-up epochs (JIT, allocations)
        }
        long t0 = System.nanoTime();
        for (int e = 0; e < epochs; e++) {
            batches.forEach(step);
        }
        double s = (System.nanoTime() - t0) / 1e9;
        System.out.printf("{\"engine\":\"%s\",\"student\":\"%s\",\"rep\":%d,\"rows\":%d,\"epochs\":%d,\"seconds\":%.2f,"
                + "\"examplesPerSecond\":%.0f,\"score\":%.4f}%n", engine, studentName(), REP, rows, epochs, s,
                rows * (double) epochs / s, net.score());
    }

    static void spark(List<DataSet> batches, int rows, int epochs) {
        SparkSession spark = Sparks.session("distillery-bench", "local[" + WORKERS + "]");
        JavaSparkContext sc = JavaSparkContext.fromSparkContext(spark.sparkContext());
        TrainerSettings settings = new TrainerSettings(WORKERS, BATCH, AVERAGING, 0, 42);
        int partitions = settings.partitionsFor(rows);
        // minibatches are built on the executors from their index and cached there, as the real data path builds them
        // from Parquet (a parallelized list would ship every minibatch inside every task); parallelize slices evenly,
        // so no partition holds more than AVERAGING minibatches (as TrainingRows cuts them)
        List<Integer> indices = new ArrayList<>();
        for (int b = 0; b < batches.size(); b++) {
            indices.add(b);
        }
        JavaRDD<DataSet> rdd = sc.parallelize(indices, partitions).map(b -> minibatch(b, rows, 7))
                .persist(org.apache.spark.storage.StorageLevel.MEMORY_ONLY());
        rdd.count();
        MultiLayerNetwork net = student();
        EngineConfig d = EngineConfig.DEFAULT;
        String step = System.getProperty("bench.step", "dense");
        String roundsAs = System.getProperty("bench.rounds", "exchange");
        ParameterAveragingTrainer trainer = new ParameterAveragingTrainer(sc, net, settings, new EngineConfig(
                d.prefetch(), d.approach(), d.exportDir(), d.repartition(), d.repartitionStrategy(),
                d.aggregationDepth(), d.storageLevel(), false, step, roundsAs));
        for (int e = 0; e < WARMUP_EPOCHS; e++) {
            trainer.fitEpoch(rdd, e); // warm-up epochs
        }
        long t0 = System.nanoTime();
        for (int e = WARMUP_EPOCHS; e < WARMUP_EPOCHS + epochs; e++) {
            trainer.fitEpoch(rdd, e);
        }
        double s = (System.nanoTime() - t0) / 1e9;
        int rounds = partitions / WORKERS;
        long state = net.numParams() + net.getUpdater().getStateViewArray().length();
        String master = spark.sparkContext().master().startsWith("local") ? "spark " + spark.sparkContext().master()
                : "spark standalone, " + WORKERS + " worker JVMs";
        System.out.printf("{\"engine\":\"%s parameter averaging, averaging frequency " + AVERAGING + ", worker step "
                        + step + ", rounds as " + roundsAs + "\",\"student\":\"" + studentName()
                        + "\",\"rep\":" + REP + ",\"rows\":%d,\"epochs\":%d,"
                        + "\"seconds\":%.2f,\"examplesPerSecond\":%.0f,\"score\":%.4f,\"roundsPerEpoch\":%d,"
                        + "\"secondsPerRound\":%.4f,\"paramsPlusUpdaterFloats\":%d,\"bytesPerRound\":%d,"
                        + "\"exchangeEpochs\":%d}%n",
                master, rows, epochs, s, rows * (double) epochs / s, trainer.lastScore(), rounds,
                s / (epochs * (double) rounds), state, 2L * WORKERS * 4 * state, trainer.exchangeEpochs());
        spark.stop();
    }
}
