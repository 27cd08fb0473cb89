package org.distillery.jobs.train.averaging;

import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.spark.SparkConf;
import org.apache.spark.SparkContext;
import org.apache.spark.api.java.JavaFutureAction;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.rdd.RDD;
import org.apache.spark.scheduler.SparkListener;
import org.apache.spark.scheduler.SparkListenerJobStart;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.spark.api.WorkerConfiguration;
import org.deeplearning4j.spark.impl.multilayer.SparkDl4jMultiLayer;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import scala.reflect.ClassTag;
import scala.reflect.ClassTag$;

/**
 * Epochs of exchange rounds ({@link ExchangeRounds}) in one barrier-mode Spark job: the workers' tasks start once and
 * run each epoch the driver orders through the {@link AveragingExchange}, until the session ends. Each order carries
 * the epoch's start state, the driver's network as it stands (parameters, updater state, configuration with its
 * learning rate and iteration count), so an epoch starts where it would as a job of its own and trains the same
 * network. What a session saves is a Spark job per epoch: submitting the barrier stage, shipping and deserialising
 * its tasks, reading the shares, ending the job (docs/PERFORMANCE.md).
 *
 * <p>Between epochs the tasks hold a slot per worker while the driver validates and checkpoints. Any other Spark job
 * on the context (the driver's own, another trainer's, another thread's) ends the session so that job can run: a
 * listener sees it start and ends the session at once when it is between epochs, else when the running epoch ends;
 * the next epoch opens another session. A session ends too when the trainer's minibatches change or it closes, and
 * when its job fails between epochs (an executor lost): the next epoch opens another. A failed epoch ends its
 * session, its job cancelled and its exchange closed, and leaves the driver's network as it was.
 */
final class ExchangeSession implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(ExchangeSession.class);
    private static final ClassTag<Object> ANY = ClassTag$.MODULE$.apply(Object.class);
    /** The local property that names a session's own job, which must not end it. */
    static final String PROPERTY = "distillery.exchange.session";
    private static final String DESCRIPTION = "spark.job.description";
    /** How long an ended session's tasks may take to return before their job is cancelled. */
    private static final long END_SECONDS = 30;
    private static final AtomicLong IDS = new AtomicLong();

    private final SparkContext sc;
    private final AveragingExchange exchange;
    private final String id = "exchange-session-" + IDS.incrementAndGet();
    private final SparkListener listener = new Yield();
    private final JavaFutureAction<Long> job;
    private boolean running; // guarded by this: an epoch is under way
    private boolean yieldAsked; // guarded by this: another job started during the epoch
    private boolean ended; // guarded by this: the end is ordered
    private int ownJob = -1; // guarded by this: the session's job id, once submitted
    private final List<Integer> startedMeanwhile = new ArrayList<>(); // guarded by this: jobs seen before it was

    private ExchangeSession(SparkContext sc, AveragingExchange exchange, RDD<Object> byWorker, ExchangeTask task) {
        this.sc = sc;
        this.exchange = exchange;
        sc.addSparkListener(listener);
        String ownBefore = sc.getLocalProperty(PROPERTY);
        String descriptionBefore = sc.getLocalProperty(DESCRIPTION);
        sc.setLocalProperty(PROPERTY, id);
        sc.setLocalProperty(DESCRIPTION, "distillery: averaging rounds through the driver's exchange, epoch after"
                + " epoch");
        try {
            job = new JavaRDD<>(byWorker.barrier().mapPartitions(task, false, ANY), ANY).countAsync();
        } catch (RuntimeException e) {
            sc.removeSparkListener(listener);
            throw e;
        } finally {
            sc.setLocalProperty(PROPERTY, ownBefore);
            sc.setLocalProperty(DESCRIPTION, descriptionBefore);
        }
        synchronized (this) {
            ownJob = job.jobIds().get(0);
            startedMeanwhile.forEach(this::yieldTo);
        }
    }

    /**
     * Opens the exchange and submits the session's job over {@code byWorker} ({@link ExchangeRounds#byWorker}) for
     * {@code spark}'s network; its workers then wait for the first epoch's order.
     */
    static ExchangeSession open(SparkDl4jMultiLayer spark, RDD<Object> byWorker, TrainerSettings settings,
                                boolean denseStep) {
        MultiLayerNetwork net = spark.getNetwork();
        SparkContext sc = spark.getSparkContext().sc();
        SparkConf conf = sc.getConf();
        String host = conf.get("spark.driver.host", "localhost");
        INDArray updaterState = net.getUpdater().getStateViewArray();
        int workers = settings.workers();
        AveragingExchange exchange = AveragingExchange.open(host, conf.get("spark.driver.bindAddress", host),
                conf.getInt(ExchangeRounds.PORT, 0), workers, Math.toIntExact(net.params().length()),
                updaterState == null ? -1 : Math.toIntExact(updaterState.length()));
        try {
            ExchangeTask task = new ExchangeTask(workers, new WorkerConfiguration(false, settings.batchSize(),
                    settings.batchSize(), settings.averagingFrequency(), settings.prefetch(), false), denseStep,
                    net.params().shape(), updaterState == null ? null : updaterState.shape(), exchange.ticket(),
                    !byWorker.getStorageLevel().deserialized());
            return new ExchangeSession(sc, exchange, byWorker, task);
        } catch (RuntimeException e) {
            exchange.close();
            throw e;
        }
    }

    /**
     * Whether it can run another epoch: its end is not ordered (by another job, a failure, the trainer) and its job
     * still runs.
     */
    synchronized boolean open() {
        return !ended && !job.isDone();
    }

    /** Why its job ended before the session did (an executor lost between epochs), or null if it did not. */
    synchronized String lost() {
        return ended || !job.isDone() ? null : jobEnd();
    }

    /**
     * Runs {@code rounds} (in this order) from the network as it stands; the network then holds the averages of the
     * last round with data, its iteration count and score. Returns the score after each round. Throws if the epoch
     * fails, the network as it was and the session closed.
     */
    double[] fitEpoch(SparkDl4jMultiLayer spark, List<Integer> rounds, TrainerSettings settings) {
        synchronized (this) {
            if (ended) {
                throw new IllegalStateException("internal error: an epoch ordered from an ended averaging session");
            }
            running = true;
        }
        boolean done = false;
        try {
            MultiLayerNetwork net = spark.getNetwork();
            // the network itself: in this JVM the workers read it as the epoch starts, while the driver waits below
            AveragingExchange.Order order = exchange.order(rounds.stream().mapToInt(Integer::intValue).toArray(),
                    new RoundMaster.BulkTuple(net.getLayerWiseConfigurations(), net.params(),
                            net.getUpdater().getStateViewArray()), spark.getScore());
            double[] scores = ExchangeRounds.setOn(spark, await(order), settings.averagingFrequency());
            done = true;
            return scores;
        } finally {
            synchronized (this) {
                running = false;
                if (yieldAsked || !done) {
                    end();
                }
            }
            if (!done) {
                job.cancel(true);
                release();
            }
        }
    }

    /** The epoch's outcome, once the exchange has averaged its last round; throws if the job fails first. */
    private AveragingExchange.Outcome await(AveragingExchange.Order order) {
        while (true) {
            try {
                return order.outcome().get(AveragingExchange.POLL_MILLIS, TimeUnit.MILLISECONDS);
            } catch (TimeoutException e) {
                if (job.isDone()) {
                    throw new IllegalStateException("the averaging session's Spark job ended before the epoch did: "
                            + jobEnd(), cause());
                }
            } catch (ExecutionException e) {
                throw new IllegalStateException(e.getCause().getMessage(), e.getCause());
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException("interrupted while the epoch's rounds ran", e);
            }
        }
    }

    private String jobEnd() {
        Throwable cause = cause();
        return cause == null ? "it succeeded (internal error)" : ExchangeFallback.rootMessage(cause);
    }

    /** The job's failure, null if it succeeded. */
    private Throwable cause() {
        try {
            job.get();
            return null;
        } catch (ExecutionException e) {
            return e.getCause();
        } catch (Exception e) {
            return e;
        }
    }

    /** Orders the end: the workers' tasks return once the orders before it are served. Idempotent. */
    private synchronized void end() {
        if (!ended) {
            ended = true;
            exchange.end();
        }
    }

    /**
     * Job {@code jobId} started: end now if between epochs, else when the running one ends. Jobs before the session's
     * own (their start events can still be on the listener bus when it registers) do not end it.
     */
    private synchronized void yieldTo(int jobId) {
        if (ownJob < 0) {
            startedMeanwhile.add(jobId);
            return;
        }
        if (ended || jobId <= ownJob) {
            return;
        }
        if (running) {
            yieldAsked = true;
            LOG.debug("Spark job {} started: the averaging session ends after this epoch", jobId);
        } else {
            LOG.debug("Spark job {} started: the averaging session ends between epochs", jobId);
            end();
        }
    }

    /** Ends the session and waits for its job, then closes the exchange. */
    @Override
    public void close() {
        end();
        try {
            job.get(END_SECONDS, TimeUnit.SECONDS);
        } catch (ExecutionException e) { // an epoch that failed with it said so
            LOG.debug("the averaging session's job failed: {}", ExchangeFallback.rootMessage(e));
        } catch (TimeoutException e) {
            LOG.warn("the averaging session's tasks did not return within {} s of its end: cancelling its job",
                    END_SECONDS);
            job.cancel(true);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            job.cancel(true);
        } finally {
            release();
        }
    }

    private void release() {
        exchange.close();
        sc.removeSparkListener(listener);
    }

    /** Ends the session when a job other than its own starts on the context. */
    private final class Yield extends SparkListener {
        @Override
        public void onJobStart(SparkListenerJobStart start) {
            Properties p = start.properties();
            if (p == null || !id.equals(p.getProperty(PROPERTY))) {
                yieldTo(start.jobId());
            }
        }
    }
}
