package org.distillery.jobs.train.averaging;

import java.util.List;
import org.apache.spark.api.java.JavaRDD;
import org.nd4j.linalg.dataset.DataSet;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Exchange epochs until one fails; that epoch runs again as round jobs, and so does every later one. The failed epoch
 * left the network as it was, and round jobs stand on Spark's own channels and recompute lost minibatches from their
 * lineage; a genuine training error recurs there and reaches the caller.
 */
final class ExchangeFallback implements RoundRunner {
    private static final Logger LOG = LoggerFactory.getLogger(ExchangeFallback.class);
    private final RoundRunner exchange;
    private final RoundRunner jobs;
    private RoundRunner current;

    ExchangeFallback(RoundRunner exchange, RoundRunner jobs) {
        this.exchange = exchange;
        this.jobs = jobs;
        this.current = exchange;
    }

    @Override
    public void prepare(JavaRDD<DataSet> minibatches) {
        current.prepare(minibatches);
    }

    @Override
    public double[] fitEpoch(JavaRDD<DataSet> minibatches, List<Integer> rounds, int epoch) {
        if (current == exchange) {
            try {
                return exchange.fitEpoch(minibatches, rounds, epoch);
            } catch (Exception e) { // Spark's job failure is a checked SparkException, thrown undeclared
                LOG.warn("epoch {} through the averaging exchange failed ({}): one Spark job per round from now on",
                        epoch, rootMessage(e));
                exchange.close();
                current = jobs;
                jobs.prepare(minibatches);
            }
        }
        return jobs.fitEpoch(minibatches, rounds, epoch);
    }

    @Override
    public int exchangeEpochs() {
        return exchange.exchangeEpochs();
    }

    @Override
    public int exchangeSessions() {
        return exchange.exchangeSessions();
    }

    @Override
    public void close() {
        exchange.close();
        jobs.close();
    }

    /** The innermost cause's first two lines (Spark's reason spans lines). */
    static String rootMessage(Throwable e) {
        Throwable t = e;
        while (t.getCause() != null && t.getCause() != t) {
            t = t.getCause();
        }
        return String.join(" ", t.toString().lines().limit(2).toList());
    }
}
