package org.distillery.jobs.train.averaging;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The driver's averaging exchange on its own, with workers as threads: it hands every worker the driver's orders,
 * averages as the round jobs' driver does, refuses strangers, and ends an attempt whose worker is lost instead of
 * leaving the others waiting; each case with the workers connected over TCP (as executors are) and in-process (as
 * tasks of a local master are).
 */
@Timeout(60) // a hang guard: every exchange here takes milliseconds
class AveragingExchangeTest {
    private static final int P = 5;
    private static final int U = 3;
    private final ExecutorService pool = Executors.newCachedThreadPool();

    @AfterEach
    void stop() {
        pool.shutdownNow();
    }

    @ParameterizedTest(name = "in-process {0}")
    @ValueSource(booleans = {false, true})
    void averagesEachRoundInWorkerOrderAndHandsEveryWorkerTheAverages(boolean inProcess) throws Exception {
        try (AveragingExchange exchange = open(2)) {
            // epoch 1, round 0: both have data; round 1: only worker 1; round 2: neither. Epoch 2: one round, both
            float[][] p0 = {{1, 2, 3, 4, 5}, {0.1f, 0.2f, 0.3f, 0.4f, 0.5f}};
            Future<List<Received>> w0 = worker(exchange, 0, 0, List.of(List.of(sum(p0[0], 1.0), RoundSum.EMPTY,
                    RoundSum.EMPTY), List.of(sum(p0[0], 1.0))), inProcess);
            Future<List<Received>> w1 = worker(exchange, 0, 1, List.of(List.of(sum(p0[1], 3.0), sum(p0[1], 5.0),
                    RoundSum.EMPTY), List.of(sum(p0[0], 3.0))), inProcess);
            AveragingExchange.Order first = exchange.order(new int[] {2, 0, 1}, "state 1", 7.0);
            AveragingExchange.Outcome outcome = first.outcome().get(30, TimeUnit.SECONDS);
            AveragingExchange.Outcome second = exchange.order(new int[] {0}, "state 2", 5.0).outcome()
                    .get(30, TimeUnit.SECONDS);
            exchange.end();
            List<Received> got0 = w0.get(30, TimeUnit.SECONDS);
            List<Received> got1 = w1.get(30, TimeUnit.SECONDS);

            float[] expected = new float[P];
            for (int i = 0; i < P; i++) {
                expected[i] = (p0[0][i] + p0[1][i]) / 2; // float sum, then float division, as RoundSum.averaged
            }
            assertThat(got0).as("two epochs, then the end of the session").hasSize(2);
            assertThat(got0.get(0).rounds()).containsExactly(2, 0, 1);
            assertThat(got0.get(0).start()).isEqualTo("state 1");
            assertThat(got0.get(0).owned()).as("a copy of its own over TCP").isEqualTo(!inProcess);
            assertThat(got0.get(1).rounds()).containsExactly(0);
            assertThat(got0.get(1).start()).isEqualTo("state 2");
            List<RoundSum> sums0 = got0.get(0).averages();
            assertThat(sums0.get(0).params).containsExactly(expected);
            assertThat(sums0.get(0).score).isEqualTo(2.0);
            assertThat(sums0.get(0).count).isEqualTo(2);
            assertThat(sums0.get(1).params).containsExactly(p0[1]);
            assertThat(sums0.get(1).count).isEqualTo(1);
            assertThat(sums0.get(2).count).as("no worker had data").isZero();
            for (int e = 0; e < 2; e++) {
                for (int r = 0; r < got0.get(e).averages().size(); r++) {
                    assertThat(got1.get(e).averages().get(r).count).isEqualTo(got0.get(e).averages().get(r).count);
                    assertThat(got1.get(e).averages().get(r).params).isEqualTo(got0.get(e).averages().get(r).params);
                }
            }
            assertThat(outcome.averages().params).containsExactly(p0[1]);
            assertThat(outcome.averages().updater).hasSize(U);
            assertThat(outcome.roundsWithData()).isEqualTo(2);
            assertThat(outcome.scores()).containsExactly(2.0, 5.0, 5.0);
            assertThat(second.averages().params).containsExactly(p0[0]);
            assertThat(second.scores()).containsExactly(2.0);
        }
    }

    @ParameterizedTest(name = "in-process {0}")
    @ValueSource(booleans = {false, true})
    void anEpochsFirstRoundsWithoutDataReportTheStartScore(boolean inProcess) throws Exception {
        try (AveragingExchange exchange = open(1)) {
            Future<List<Received>> w = worker(exchange, 0, 0, List.of(List.of(RoundSum.EMPTY,
                    sum(new float[] {1, 1, 1, 1, 1}, 4.0))), inProcess);
            assertThat(exchange.order(new int[] {0, 1}, "s", 7.0).outcome().get(30, TimeUnit.SECONDS).scores())
                    .containsExactly(7.0, 4.0);
            exchange.end();
            assertThat(w.get(30, TimeUnit.SECONDS)).hasSize(1);
        }
    }

    @ParameterizedTest(name = "in-process {0}")
    @ValueSource(booleans = {false, true})
    void refusesAConnectionWithoutTheSessionsSecret(boolean inProcess) throws Exception {
        try (AveragingExchange exchange = open(1)) {
            AveragingExchange.Ticket real = exchange.ticket();
            byte[] wrong = real.secret().clone();
            wrong[0] ^= 1;
            AveragingExchange.Ticket forged = new AveragingExchange.Ticket(real.host(), real.port(), wrong, 1);
            AveragingExchange.Order order = exchange.order(new int[] {0}, "s", Double.NaN);
            try (AveragingExchange.Client stranger = new AveragingExchange.Client(forged, 0, 0, P, U, inProcess)) {
                assertThatThrownBy(() -> stranger.next(() -> { })).hasMessageContaining("ended this worker's session");
            }
            assertThat(order.outcome()).isNotDone();
            Future<List<Received>> w = worker(exchange, 0, 0, List.of(List.of(sum(new float[] {1, 1, 1, 1, 1}, 1))),
                    inProcess);
            assertThat(order.outcome().get(30, TimeUnit.SECONDS).averages().params).containsExactly(1, 1, 1, 1, 1);
            exchange.end();
            assertThat(w.get(30, TimeUnit.SECONDS)).hasSize(1);
        }
    }

    @ParameterizedTest(name = "in-process {0}")
    @ValueSource(booleans = {false, true})
    void refusesAWorkerOutsideTheSessionsWorkers(boolean inProcess) throws Exception {
        try (AveragingExchange exchange = open(1);
             AveragingExchange.Client third = new AveragingExchange.Client(exchange.ticket(), 0, 2, P, U,
                     inProcess)) {
            AveragingExchange.Order order = exchange.order(new int[] {0}, "s", Double.NaN);
            assertThatThrownBy(() -> third.next(() -> { })).hasMessageContaining("ended this worker's session");
            assertThat(order.outcome()).isNotDone();
        }
    }

    @ParameterizedTest(name = "in-process {0}")
    @ValueSource(booleans = {false, true})
    void aLostWorkerEndsItsAttemptAndANewerAttemptStartsTheEpochOver(boolean inProcess) throws Exception {
        try (AveragingExchange exchange = open(2)) {
            float[] ones = {1, 1, 1, 1, 1};
            AveragingExchange.Order order = exchange.order(new int[] {1, 0}, "s", Double.NaN);
            Future<List<Received>> waiting = worker(exchange, 0, 0, List.of(List.of(sum(ones, 1), sum(ones, 1))),
                    inProcess);
            try (AveragingExchange.Client lost = new AveragingExchange.Client(exchange.ticket(), 0, 1, P, U,
                    inProcess)) {
                assertThat(lost.next(() -> { }).rounds()).containsExactly(1, 0);
                lost.exchange(sum(ones, 1), () -> { }); // round 0 done, then this worker goes away
            }
            assertThatThrownBy(() -> waiting.get(30, TimeUnit.SECONDS))
                    .hasMessageContaining("ended this worker's round");
            assertThat(order.outcome()).as("no attempt finished the epoch").isNotDone();

            Future<List<Received>> a = worker(exchange, 1, 0, List.of(List.of(sum(ones, 1), sum(ones, 1))),
                    inProcess);
            Future<List<Received>> b = worker(exchange, 1, 1, List.of(List.of(sum(ones, 3), sum(ones, 3))),
                    inProcess);
            AveragingExchange.Outcome outcome = order.outcome().get(30, TimeUnit.SECONDS);
            exchange.end();
            assertThat(a.get(30, TimeUnit.SECONDS).get(0).rounds()).as("the same order again").containsExactly(1, 0);
            assertThat(b.get(30, TimeUnit.SECONDS)).hasSize(1);
            assertThat(outcome.attempt()).isEqualTo(1);
            assertThat(outcome.scores()).containsExactly(2.0, 2.0);
        }
    }

    @ParameterizedTest(name = "in-process {0}")
    @ValueSource(booleans = {false, true})
    void aWorkerOfAnOlderAttemptIsTurnedAwayOnceANewerOneStarted(boolean inProcess) throws Exception {
        try (AveragingExchange exchange = open(2)) {
            float[] ones = {1, 1, 1, 1, 1};
            AveragingExchange.Order order = exchange.order(new int[] {0}, "s", Double.NaN);
            Future<List<Received>> newer = worker(exchange, 2, 0, List.of(List.of(sum(ones, 1))), inProcess);
            Thread.sleep(200); // let attempt 2 be seen first
            Future<List<Received>> older = worker(exchange, 1, 1, List.of(List.of(sum(ones, 1))), inProcess);
            assertThatThrownBy(() -> older.get(30, TimeUnit.SECONDS)).hasMessageContaining("ended this worker's");
            Future<List<Received>> other = worker(exchange, 2, 1, List.of(List.of(sum(ones, 1))), inProcess);
            assertThat(order.outcome().get(30, TimeUnit.SECONDS).attempt()).isEqualTo(2);
            exchange.end();
            assertThat(other.get(30, TimeUnit.SECONDS)).hasSize(1);
            assertThat(newer.get(30, TimeUnit.SECONDS)).hasSize(1);
        }
    }

    @ParameterizedTest(name = "in-process {0}")
    @ValueSource(booleans = {false, true})
    void aMessageOfTheWrongSizeEndsTheAttempt(boolean inProcess) throws Exception {
        try (AveragingExchange exchange = open(1);
             AveragingExchange.Client client = new AveragingExchange.Client(exchange.ticket(), 0, 0, P + 1, U,
                     inProcess)) {
            AveragingExchange.Order order = exchange.order(new int[] {0}, "s", Double.NaN);
            assertThat(client.next(() -> { }).rounds()).containsExactly(0);
            assertThatThrownBy(() -> client.exchange(RoundSum.of(new float[P + 1], new float[U], 1, 1), () -> { }))
                    .hasMessageContaining("ended this worker's round");
            assertThat(order.outcome()).isNotDone();
        }
    }

    /** A driver waiting for an epoch is not left waiting when the exchange closes without serving it. */
    @org.junit.jupiter.api.Test
    void closingFailsTheOrdersItDidNotServe() {
        AveragingExchange exchange = open(2);
        AveragingExchange.Order order = exchange.order(new int[] {0}, "s", Double.NaN);
        exchange.close();
        assertThatThrownBy(() -> order.outcome().get(30, TimeUnit.SECONDS)).isInstanceOf(ExecutionException.class)
                .hasMessageContaining("the averaging exchange closed");
        assertThat(exchange.order(new int[] {0}, "s", Double.NaN).outcome()).isCompletedExceptionally();
    }

    /** A start state that cannot travel to an executor fails its epoch rather than leave the driver waiting. */
    @org.junit.jupiter.api.Test
    void aStartStateThatDoesNotSerialiseFailsItsEpoch() {
        try (AveragingExchange exchange = open(1)) {
            Future<List<Received>> w = worker(exchange, 0, 0, List.of(), false);
            AveragingExchange.Order order = exchange.order(new int[] {0}, new Unserialisable(), Double.NaN);
            assertThatThrownBy(() -> order.outcome().get(30, TimeUnit.SECONDS))
                    .hasMessageContaining("cannot serialise the epoch's start state");
            assertThatThrownBy(() -> w.get(30, TimeUnit.SECONDS)).hasMessageContaining("ended this worker's session");
        }
    }

    /** Serializable by its type, not by its content. */
    private static final class Unserialisable implements java.io.Serializable {
        private static final long serialVersionUID = 1L;
        @SuppressWarnings("unused")
        private final Object content = new Object();
    }

    private static AveragingExchange open(int workers) {
        return AveragingExchange.open("127.0.0.1", "127.0.0.1", 0, workers, P, U);
    }

    private static RoundSum sum(float[] params, double score) {
        float[] updater = new float[U];
        java.util.Arrays.fill(updater, params[0]);
        return RoundSum.of(params.clone(), updater, score, 1);
    }

    /** What a worker received for an epoch: the order, and the averages of each of its rounds. */
    private record Received(int[] rounds, Object start, boolean owned, List<RoundSum> averages) {
    }

    /** A worker that sends {@code mine.get(e)} in epoch e, round by round, until the session ends. */
    private Future<List<Received>> worker(AveragingExchange exchange, int attempt, int w, List<List<RoundSum>> mine,
                                          boolean inProcess) {
        return pool.submit(() -> {
            List<Received> got = new ArrayList<>();
            try (AveragingExchange.Client c = new AveragingExchange.Client(exchange.ticket(), attempt, w, P, U,
                    inProcess)) {
                AveragingExchange.Epoch epoch;
                while ((epoch = c.next(() -> { })) != null) {
                    List<RoundSum> averages = new ArrayList<>();
                    for (RoundSum s : mine.get(got.size())) {
                        averages.add(c.exchange(s, () -> { }));
                    }
                    got.add(new Received(epoch.rounds(), epoch.start(), epoch.owned(), averages));
                }
            }
            return got;
        });
    }
}
