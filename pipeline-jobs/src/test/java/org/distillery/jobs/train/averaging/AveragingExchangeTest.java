package org.distillery.jobs.train.averaging;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The driver's averaging exchange on its own, with workers as threads: it averages as the round jobs' driver does,
 * refuses strangers, and ends an attempt whose worker is lost instead of leaving the others waiting; each case with
 * the workers connected over TCP (as executors are) and in-process (as tasks of a local master are).
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
        try (AveragingExchange exchange = open(2, 3)) {
            // round 0: both have data; round 1: only worker 1; round 2: neither
            float[][] p0 = {{1, 2, 3, 4, 5}, {0.1f, 0.2f, 0.3f, 0.4f, 0.5f}};
            Future<List<RoundSum>> w0 = worker(exchange, 0, 0, List.of(sum(p0[0], 1.0), RoundSum.EMPTY,
                    RoundSum.EMPTY), inProcess);
            Future<List<RoundSum>> w1 = worker(exchange, 0, 1, List.of(sum(p0[1], 3.0), sum(p0[1], 5.0),
                    RoundSum.EMPTY), inProcess);
            List<RoundSum> got0 = w0.get(30, TimeUnit.SECONDS);
            List<RoundSum> got1 = w1.get(30, TimeUnit.SECONDS);

            float[] expected = new float[P];
            for (int i = 0; i < P; i++) {
                expected[i] = (p0[0][i] + p0[1][i]) / 2; // float sum, then float division, as RoundSum.averaged
            }
            assertThat(got0.get(0).params).containsExactly(expected);
            assertThat(got0.get(0).score).isEqualTo(2.0);
            assertThat(got0.get(0).count).isEqualTo(2);
            assertThat(got0.get(1).params).containsExactly(p0[1]);
            assertThat(got0.get(1).count).isEqualTo(1);
            assertThat(got0.get(2).count).as("no worker had data").isZero();
            for (int r = 0; r < 3; r++) {
                assertThat(got1.get(r).count).isEqualTo(got0.get(r).count);
                assertThat(got1.get(r).params).isEqualTo(got0.get(r).params);
            }
            AveragingExchange.Outcome outcome = outcomeOf(exchange);
            assertThat(outcome.averages().params).containsExactly(p0[1]);
            assertThat(outcome.averages().updater).hasSize(U);
            assertThat(outcome.roundsWithData()).isEqualTo(2);
            assertThat(outcome.scores()).containsExactly(2.0, 5.0, 5.0);
        }
    }

    @ParameterizedTest(name = "in-process {0}")
    @ValueSource(booleans = {false, true})
    void refusesAConnectionWithoutTheEpochsSecret(boolean inProcess) throws Exception {
        try (AveragingExchange exchange = open(1, 1)) {
            AveragingExchange.Ticket real = exchange.ticket();
            byte[] wrong = real.secret().clone();
            wrong[0] ^= 1;
            AveragingExchange.Ticket forged = new AveragingExchange.Ticket(real.host(), real.port(), wrong, 1);
            try (AveragingExchange.Client stranger = new AveragingExchange.Client(forged, 0, 0, P, U, inProcess)) {
                assertThatThrownBy(() -> stranger.exchange(sum(new float[P], 1), () -> { }))
                        .hasMessageContaining("ended this worker's round");
            }
            assertThat(exchange.outcome()).isNull();
            assertThat(worker(exchange, 0, 0, List.of(sum(new float[] {1, 1, 1, 1, 1}, 1)), inProcess)
                    .get(30, TimeUnit.SECONDS)).hasSize(1);
            assertThat(outcomeOf(exchange).averages().params).containsExactly(1, 1, 1, 1, 1);
        }
    }

    @ParameterizedTest(name = "in-process {0}")
    @ValueSource(booleans = {false, true})
    void refusesAWorkerOutsideTheEpochsWorkers(boolean inProcess) throws Exception {
        try (AveragingExchange exchange = open(1, 1);
             AveragingExchange.Client third = new AveragingExchange.Client(exchange.ticket(), 0, 2, P, U,
                     inProcess)) {
            assertThatThrownBy(() -> third.exchange(sum(new float[P], 1), () -> { }))
                    .hasMessageContaining("ended this worker's round");
            assertThat(exchange.outcome()).isNull();
        }
    }

    @ParameterizedTest(name = "in-process {0}")
    @ValueSource(booleans = {false, true})
    void aLostWorkerEndsItsAttemptAndANewerAttemptStartsTheEpochOver(boolean inProcess) throws Exception {
        try (AveragingExchange exchange = open(2, 2)) {
            float[] ones = {1, 1, 1, 1, 1};
            Future<List<RoundSum>> waiting = worker(exchange, 0, 0, List.of(sum(ones, 1), sum(ones, 1)), inProcess);
            try (AveragingExchange.Client lost = new AveragingExchange.Client(exchange.ticket(), 0, 1, P, U,
                    inProcess)) {
                lost.exchange(sum(ones, 1), () -> { }); // round 0 done, then this worker goes away
            }
            assertThatThrownBy(() -> waiting.get(30, TimeUnit.SECONDS))
                    .hasMessageContaining("ended this worker's round");
            assertThat(exchange.outcome()).as("no attempt finished").isNull();

            Future<List<RoundSum>> a = worker(exchange, 1, 0, List.of(sum(ones, 1), sum(ones, 1)), inProcess);
            Future<List<RoundSum>> b = worker(exchange, 1, 1, List.of(sum(ones, 3), sum(ones, 3)), inProcess);
            assertThat(a.get(30, TimeUnit.SECONDS)).hasSize(2);
            assertThat(b.get(30, TimeUnit.SECONDS)).hasSize(2);
            AveragingExchange.Outcome outcome = outcomeOf(exchange);
            assertThat(outcome.attempt()).isEqualTo(1);
            assertThat(outcome.scores()).containsExactly(2.0, 2.0);
        }
    }

    @ParameterizedTest(name = "in-process {0}")
    @ValueSource(booleans = {false, true})
    void aWorkerOfAnOlderAttemptIsTurnedAwayOnceANewerOneStarted(boolean inProcess) throws Exception {
        try (AveragingExchange exchange = open(2, 1)) {
            float[] ones = {1, 1, 1, 1, 1};
            Future<List<RoundSum>> newer = worker(exchange, 2, 0, List.of(sum(ones, 1)), inProcess);
            Thread.sleep(200); // let attempt 2 be seen first
            Future<List<RoundSum>> older = worker(exchange, 1, 1, List.of(sum(ones, 1)), inProcess);
            assertThatThrownBy(() -> older.get(30, TimeUnit.SECONDS)).hasMessageContaining("ended this worker's round");
            assertThat(worker(exchange, 2, 1, List.of(sum(ones, 1)), inProcess).get(30, TimeUnit.SECONDS)).hasSize(1);
            assertThat(newer.get(30, TimeUnit.SECONDS)).hasSize(1);
            assertThat(outcomeOf(exchange).attempt()).isEqualTo(2);
        }
    }

    @ParameterizedTest(name = "in-process {0}")
    @ValueSource(booleans = {false, true})
    void aMessageOfTheWrongSizeEndsTheAttempt(boolean inProcess) throws Exception {
        try (AveragingExchange exchange = open(1, 1);
             AveragingExchange.Client client = new AveragingExchange.Client(exchange.ticket(), 0, 0, P + 1, U,
                     inProcess)) {
            assertThatThrownBy(() -> client.exchange(RoundSum.of(new float[P + 1], new float[U], 1, 1), () -> { }))
                    .hasMessageContaining("ended this worker's round");
            assertThat(exchange.outcome()).isNull();
        }
    }

    private static AveragingExchange open(int workers, int rounds) {
        return AveragingExchange.open("127.0.0.1", "127.0.0.1", 0, workers, rounds, P, U, Double.NaN);
    }

    private static RoundSum sum(float[] params, double score) {
        float[] updater = new float[U];
        java.util.Arrays.fill(updater, params[0]);
        return RoundSum.of(params.clone(), updater, score, 1);
    }

    private Future<List<RoundSum>> worker(AveragingExchange exchange, int attempt, int w, List<RoundSum> mine,
                                           boolean inProcess) {
        return pool.submit(() -> {
            List<RoundSum> got = new ArrayList<>();
            try (AveragingExchange.Client c = new AveragingExchange.Client(exchange.ticket(), attempt, w, P, U,
                    inProcess)) {
                for (RoundSum s : mine) {
                    got.add(c.exchange(s, () -> { }));
                }
            }
            return got;
        });
    }

    /** The driver reads the outcome as soon as its workers are done: it must be there by then. */
    private static AveragingExchange.Outcome outcomeOf(AveragingExchange exchange) {
        assertThat(exchange.outcome()).as("outcome once the workers are done").isNotNull();
        return exchange.outcome();
    }
}
