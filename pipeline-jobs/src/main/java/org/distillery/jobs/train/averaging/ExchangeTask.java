package org.distillery.jobs.train.averaging;

import java.io.Serializable;
import java.util.Arrays;
import java.util.Collections;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import org.apache.spark.BarrierTaskContext;
import org.apache.spark.broadcast.Broadcast;
import org.deeplearning4j.nn.conf.MultiLayerConfiguration;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.spark.api.WorkerConfiguration;
import org.deeplearning4j.spark.api.worker.ExecuteWorkerFlatMap;
import org.deeplearning4j.spark.api.worker.NetBroadcastTuple;
import org.deeplearning4j.spark.impl.paramavg.ParameterAveragingTrainingResult;
import org.deeplearning4j.spark.impl.paramavg.ParameterAveragingTrainingWorker;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import scala.Tuple2;
import scala.collection.JavaConverters;
import scala.reflect.ClassTag$;
import scala.runtime.AbstractFunction1;

/**
 * Worker w's task in an exchange session ({@link ExchangeRounds}): it holds its share of every round and keeps
 * running, epoch after epoch as the driver's {@link AveragingExchange} orders them, until the session ends. An epoch
 * starts from the state its order carries (the driver's network) and runs its rounds in the order's order. Each
 * round it builds its network from the current parameters, updater state and iteration count exactly as DL4J's
 * worker builds it from a broadcast (or, with the dense step, loads them into the network of the epoch's first round,
 * {@link DenseStepWorker.Kept}), fits its share with DL4J's worker loop ({@link ExecuteWorkerFlatMap}, the dense step
 * inside as in {@link RoundMaster}), sends its result to the exchange and goes on from the averages it gets back.
 */
final class ExchangeTask extends AbstractFunction1<scala.collection.Iterator<Object>,
        scala.collection.Iterator<Object>> implements Serializable {
    private static final long serialVersionUID = 1L;
    private final int workers;
    private final WorkerConfiguration config;
    private final int averagingFrequency;
    private final boolean denseStep;
    private final long[] paramsShape;
    private final long[] updaterShape;
    private final AveragingExchange.Ticket ticket;
    private final int paramCount;
    private final int updaterCount;
    private final boolean freshShares;

    ExchangeTask(int workers, WorkerConfiguration config, boolean denseStep, long[] paramsShape, long[] updaterShape,
                 AveragingExchange.Ticket ticket, boolean freshShares) {
        this.workers = workers;
        this.config = config;
        this.averagingFrequency = config.getMaxBatchesPerWorker(); // a worker's share of a round
        this.denseStep = denseStep;
        this.paramsShape = paramsShape;
        this.updaterShape = updaterShape;
        this.ticket = ticket;
        this.paramCount = Math.toIntExact(Arrays.stream(paramsShape).reduce(1, Math::multiplyExact));
        this.updaterCount = updaterShape == null ? -1
                : Math.toIntExact(Arrays.stream(updaterShape).reduce(1, Math::multiplyExact));
        this.freshShares = freshShares;
    }

    @Override
    public scala.collection.Iterator<Object> apply(scala.collection.Iterator<Object> items) {
        BarrierTaskContext context = BarrierTaskContext.get();
        int w = context.partitionId();
        Map<Integer, List<DataSet>> shares = shares(items);
        try (AveragingExchange.Client exchange = new AveragingExchange.Client(ticket,
                context.stageAttemptNumber(), w, paramCount, updaterCount)) {
            AveragingExchange.Epoch order;
            while ((order = exchange.next(context::killTaskIfInterrupted)) != null) {
                NetBroadcastTuple first = (NetBroadcastTuple) order.start();
                try {
                    epoch(context, w, order.rounds(), first, shares, exchange);
                } finally {
                    if (order.owned()) { // this worker's own copy, read from the wire
                        close(first.getParameters());
                        close(first.getUpdaterState());
                    }
                    // what is not freed explicitly is off-heap memory held by unreachable Java objects
                    ResidentGrowth.afterEpoch();
                }
            }
        } finally {
            if (freshShares) { // deserialised for this task alone: not the block manager's cached objects
                shares.values().forEach(list -> list.forEach(ExchangeTask::close));
            }
        }
        return JavaConverters.asScalaIterator(Collections.emptyIterator());
    }

    /** This worker's minibatches, by the round partition each came from. */
    private static Map<Integer, List<DataSet>> shares(scala.collection.Iterator<Object> items) {
        Map<Integer, List<DataSet>> shares = new HashMap<>();
        items.foreach(new AbstractFunction1<Object, Object>() {
            @Override
            @SuppressWarnings("unchecked")
            public Object apply(Object item) {
                Tuple2<Integer, DataSet> t = (Tuple2<Integer, DataSet>) item;
                return shares.computeIfAbsent(t._1(), k -> new java.util.ArrayList<>()).add(t._2());
            }
        });
        return shares;
    }

    /** An epoch's rounds from its start state, each round's network built from the last averages. */
    private void epoch(BarrierTaskContext context, int w, int[] rounds, NetBroadcastTuple first,
                       Map<Integer, List<DataSet>> shares, AveragingExchange.Client exchange) {
        MultiLayerConfiguration conf = first.getConfiguration().clone(); // the workers of one JVM share the value
        INDArray params = first.getParameters();
        INDArray updater = first.getUpdaterState();
        DenseStepWorker.Kept kept = new DenseStepWorker.Kept();
        try {
            epoch(context, w, rounds, shares, exchange, conf, params, updater, kept);
        } finally {
            release(kept.network());
        }
    }

    /**
     * The rounds. The averages each round starts from are written into one pair of arrays for the whole epoch: a
     * round's network copies them when it starts (DL4J's worker duplicates its start state, the kept network loads
     * it), so nothing holds them across rounds. A new pair per round was 0.6 MB of native memory allocated and freed
     * per worker and round for the demo student (docs/PERFORMANCE.md, training: design decisions).
     */
    private void epoch(BarrierTaskContext context, int w, int[] rounds, Map<Integer, List<DataSet>> shares,
                       AveragingExchange.Client exchange, MultiLayerConfiguration conf, INDArray params,
                       INDArray updater, DenseStepWorker.Kept kept) {
        INDArray ownParams = null;
        INDArray ownUpdater = null;
        try {
            for (int round : rounds) {
                RoundSum mine = fit(new NetBroadcastTuple(conf, params, updater),
                        shares.getOrDefault(round * workers + w, List.of()), kept);
                RoundSum averaged = exchange.exchange(mine, context::killTaskIfInterrupted);
                if (averaged.count > 0) {
                    if (ownParams == null) {
                        ownParams = RoundSum.array(averaged.params, paramsShape);
                        ownUpdater = averaged.updater == null ? null : RoundSum.array(averaged.updater, updaterShape);
                    } else {
                        RoundSum.copy(averaged.params, ownParams);
                        if (ownUpdater != null) {
                            RoundSum.copy(averaged.updater, ownUpdater);
                        }
                    }
                    params = ownParams;
                    updater = ownUpdater;
                    conf.setIterationCount(conf.getIterationCount() + averagingFrequency); // DL4J's rule
                }
            }
        } finally {
            close(ownParams);
            close(ownUpdater);
        }
    }

    /** This worker's share of one round fitted from {@code from} by DL4J's worker loop: its results, summed. */
    private RoundSum fit(NetBroadcastTuple from, List<DataSet> share, DenseStepWorker.Kept kept) {
        ParameterAveragingTrainingWorker dl4j = new ParameterAveragingTrainingWorker(new Local(from), true, config,
                null, null, null);
        DenseStepWorker worker = new DenseStepWorker(dl4j, denseStep, kept, from);
        RoundSum mine = RoundSum.EMPTY;
        try {
            Iterator<ParameterAveragingTrainingResult> results =
                    new ExecuteWorkerFlatMap<ParameterAveragingTrainingResult>(worker).call(share.iterator());
            while (results.hasNext()) {
                mine = mine.add(RoundSum.of(results.next()));
            }
        } catch (RuntimeException e) {
            throw e;
        } catch (Exception e) {
            throw new IllegalStateException("worker failed: " + e, e);
        } finally {
            if (worker.initialModel() != kept.network()) { // its results are copied out; a kept one is freed at the end
                release(worker.initialModel());
            }
        }
        return mine;
    }

    /**
     * Frees a worker network's parameters, gradients and updater state now. A task trains an epoch of rounds, each
     * with its own network, minibatches and averages; left to the garbage collector, their off-heap memory piled up
     * faster than the few collections of a long task freed it (a demo run was killed by the kernel at 24 GB). DL4J's
     * {@code MultiLayerNetwork.close} does the same plus a {@code System.gc()} and destroys the thread's workspaces,
     * which a round cannot afford.
     */
    private static void release(MultiLayerNetwork net) {
        if (net == null) {
            return;
        }
        close(net.params());
        close(net.getFlattenedGradients());
        if (net.getUpdater(false) != null) {
            close(net.getUpdater(false).getStateViewArray());
        }
    }

    private static void close(DataSet ds) {
        close(ds.getFeatures());
        close(ds.getLabels());
        close(ds.getFeaturesMaskArray());
        close(ds.getLabelsMaskArray());
    }

    private static void close(INDArray a) {
        if (a != null && a.closeable()) {
            a.close();
        }
    }

    /** A broadcast that is not one: DL4J's worker reads its start state from a Broadcast; here it is local. */
    private static final class Local extends Broadcast<NetBroadcastTuple> {
        private static final long serialVersionUID = 1L;
        private final transient NetBroadcastTuple tuple;

        Local(NetBroadcastTuple tuple) {
            super(-1L, ClassTag$.MODULE$.apply(NetBroadcastTuple.class));
            this.tuple = tuple;
        }

        @Override
        public NetBroadcastTuple getValue() {
            return tuple;
        }

        @Override
        public void doUnpersist(boolean blocking) {
        }

        @Override
        public void doDestroy(boolean blocking) {
        }
    }
}
