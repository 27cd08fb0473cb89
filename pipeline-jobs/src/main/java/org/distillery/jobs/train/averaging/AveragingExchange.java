package org.distillery.jobs.train.averaging;

import static org.distillery.jobs.train.averaging.ExchangeWire.SECRET_BYTES;
import static org.distillery.jobs.train.averaging.ExchangeWire.encode;
import static org.distillery.jobs.train.averaging.ExchangeWire.read;

import java.io.Closeable;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.Serializable;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.distillery.jobs.train.averaging.ExchangeWire.Ended;
import org.distillery.jobs.train.averaging.ExchangeWire.Hello;
import org.distillery.jobs.train.averaging.ExchangeWire.Interrupt;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The driver's end of {@link ExchangeRounds}: a small TCP server that averages the workers' results round by round,
 * as a round job's driver would, and hands every worker the averages. Per round each worker sends its
 * {@link RoundSum} (parameters, updater state, score) and waits; when all have, the server sums them in worker order,
 * divides by the workers that had data (DL4J's averaging, the same float operations in the same order as
 * {@link RoundMaster}), and sends the result back to each. The server keeps the last averages: the driver sets them on
 * its network when the epoch's job has succeeded. The same pattern as XGBoost4J-Spark's tracker: a side channel from
 * the executors to the driver, with only public Spark API. A worker whose task runs in the driver's JVM (a local
 * master) finds the exchange there and passes its sums through in-process queues instead of the socket: the same
 * messages, checks and order, without encoding 4 bytes per float and copying them through the loopback stack twice
 * per round.
 *
 * <p>Trust and failure: a worker proves it belongs to this epoch with a random secret that travels in the task
 * (Spark's own channel, authenticated and encrypted when the cluster is); messages of the wrong size are refused.
 * The channel itself is plain TCP: {@link RoundRunners} does not pick it on clusters that encrypt Spark's
 * traffic. A worker whose connection is lost (its task failed, its executor died) ends the attempt: the exchange
 * closes the other workers' connections, so their tasks fail at once rather than wait for a round that cannot
 * come. Spark does not retry a failed barrier result stage (the job fails and the trainer runs the epoch again as
 * round jobs), but should a newer stage attempt come, its first worker ends the older attempt the same way and the
 * epoch starts over from the epoch's start state: workers say their stage attempt when they connect.
 */
final class AveragingExchange implements Closeable {
    private static final Logger LOG = LoggerFactory.getLogger(AveragingExchange.class);
    /** Socket reads wake up this often to see whether the attempt (worker: the task) was ended meanwhile. */
    static final int POLL_MILLIS = 500;

    /** What a worker needs to reach the exchange; travels in the task. */
    record Ticket(String host, int port, byte[] secret, int workers) implements Serializable {
        @Override
        public String toString() {
            return host + ":" + port; // never the secret
        }
    }

    /**
     * The epoch as averaged by the last attempt that finished every round: the last round with data's averages (null
     * if no round had data), how many rounds had data, and the score after each round.
     */
    record Outcome(int attempt, RoundSum averages, int roundsWithData, double[] scores) {
    }

    /** The exchanges open in this JVM, by port: what a worker in the driver's JVM reaches without a socket. */
    private static final Map<Integer, AveragingExchange> IN_THIS_JVM = new ConcurrentHashMap<>();

    private final ServerSocket server;
    private final Ticket ticket;
    private final int workers;
    private final int rounds;
    private final int paramCount;
    private final int updaterCount;
    private final double startScore;
    private final BlockingQueue<Peer> arrivals = new LinkedBlockingQueue<>();
    private final Thread acceptor;
    private final Thread coordinator;
    private volatile boolean closed;
    private volatile Outcome outcome;

    private AveragingExchange(ServerSocket server, String host, int workers, int rounds, int paramCount,
                              int updaterCount, double startScore) {
        this.server = server;
        byte[] secret = new byte[SECRET_BYTES];
        new SecureRandom().nextBytes(secret);
        this.ticket = new Ticket(host, server.getLocalPort(), secret, workers);
        this.workers = workers;
        this.rounds = rounds;
        this.paramCount = paramCount;
        this.updaterCount = updaterCount;
        this.startScore = startScore;
        this.acceptor = daemon(this::accept, "distillery-exchange-accept");
        this.coordinator = daemon(this::coordinate, "distillery-exchange");
    }

    /**
     * Opens an exchange for one epoch of {@code rounds} rounds of {@code workers} workers, listening on
     * {@code bindHost}:{@code port} (0: any free port) and reached by workers at {@code host}. {@code updaterCount} is
     * -1 for updaters without state; {@code startScore} is the score reported for rounds before the first with data.
     */
    static AveragingExchange open(String host, String bindHost, int port, int workers, int rounds, int paramCount,
                                  int updaterCount, double startScore) {
        ServerSocket server = null;
        try {
            server = new ServerSocket();
            server.setReuseAddress(true);
            server.bind(new InetSocketAddress(InetAddress.getByName(bindHost), port), workers * 2);
            AveragingExchange exchange = new AveragingExchange(server, host, workers, rounds, paramCount,
                    updaterCount, startScore);
            exchange.acceptor.start();
            exchange.coordinator.start();
            IN_THIS_JVM.put(exchange.ticket.port(), exchange);
            LOG.debug("averaging exchange listening on {} for {} workers, {} rounds", exchange.ticket, workers,
                    rounds);
            return exchange;
        } catch (IOException e) {
            quietly(server);
            throw new IllegalStateException("cannot open the averaging exchange on " + bindHost + ":" + port + ": "
                    + e.getMessage(), e);
        }
    }

    Ticket ticket() {
        return ticket;
    }

    /** The epoch's averages once an attempt has finished every round, else null. */
    Outcome outcome() {
        return outcome;
    }

    @Override
    public void close() {
        closed = true;
        IN_THIS_JVM.remove(ticket.port(), this);
        quietly(server);
        acceptor.interrupt();
        coordinator.interrupt();
        try {
            acceptor.join(5_000);
            coordinator.join(5_000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        Peer p;
        while ((p = arrivals.poll()) != null) {
            p.close();
        }
    }

    private static void quietly(Closeable c) {
        if (c == null) {
            return;
        }
        try {
            c.close();
        } catch (IOException e) {
            LOG.debug("closing {}: {}", c, e.toString());
        }
    }

    private static Thread daemon(Runnable r, String name) {
        Thread t = new Thread(r, name);
        t.setDaemon(true);
        return t;
    }

    /** A worker's connection, after its hello. */
    private record Peer(Link link, int attempt, int worker) {
        void close() {
            link.close();
        }
    }

    /** The exchange's end of one worker's connection. */
    private interface Link {
        /** The worker's next sum, checked for size; {@code ended} is asked while waiting. */
        RoundSum receive(int paramCount, int updaterCount, Interrupt ended, String from) throws IOException, Ended;

        void send(Reply reply) throws IOException;

        void close();
    }

    /** A round's reply to every worker, encoded for the socket at most once. */
    private static final class Reply {
        private final RoundSum sum;
        private byte[] bytes;

        Reply(RoundSum sum) {
            this.sum = sum;
        }

        byte[] bytes() {
            if (bytes == null) {
                bytes = encode(sum);
            }
            return bytes;
        }
    }

    /** A worker connected over TCP. */
    private record SocketLink(Socket socket, InputStream in, OutputStream out) implements Link {
        @Override
        public RoundSum receive(int paramCount, int updaterCount, Interrupt ended, String from)
                throws IOException, Ended {
            return read(in, paramCount, updaterCount, ended, from);
        }

        @Override
        public void send(Reply reply) throws IOException {
            out.write(reply.bytes());
            out.flush();
        }

        @Override
        public void close() {
            quietly(socket);
        }
    }

    /**
     * A worker in this JVM: a queue each way. Closing puts an end mark on both, which the side waiting there reads
     * as a closed connection (and leaves for the next read), as a socket's close would be read.
     */
    private static final class Queues implements Link {
        private static final Object END = new Object();
        private final BlockingQueue<Object> toExchange = new LinkedBlockingQueue<>();
        private final BlockingQueue<Object> toWorker = new LinkedBlockingQueue<>();

        @Override
        public RoundSum receive(int paramCount, int updaterCount, Interrupt ended, String from)
                throws IOException, Ended {
            return ExchangeWire.checked(take(toExchange, ended, from), paramCount, updaterCount, from);
        }

        @Override
        public void send(Reply reply) {
            toWorker.add(reply.sum);
        }

        @Override
        public void close() {
            toExchange.add(END);
            toWorker.add(END);
        }

        private static RoundSum take(BlockingQueue<Object> queue, Interrupt ended, String from)
                throws IOException, Ended {
            while (true) {
                Object m;
                try {
                    m = queue.poll(POLL_MILLIS, TimeUnit.MILLISECONDS);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new IOException("interrupted while waiting for " + from);
                }
                if (m == null) {
                    ended.check();
                } else if (m == END) {
                    queue.add(END);
                    throw new IOException("connection to " + from + " closed");
                } else {
                    return (RoundSum) m;
                }
            }
        }
    }

    private void accept() {
        while (!closed) {
            Socket s;
            try {
                s = server.accept();
            } catch (IOException e) {
                if (!closed) {
                    LOG.warn("averaging exchange stopped accepting workers: {}", e.toString());
                }
                return;
            }
            try {
                s.setTcpNoDelay(true);
                s.setSoTimeout(POLL_MILLIS);
                long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
                Hello h = Hello.read(s.getInputStream(), () -> {
                    if (closed || System.nanoTime() > deadline) {
                        throw new Ended("no hello within 10 s");
                    }
                });
                if (!admit(h, new SocketLink(s, s.getInputStream(), s.getOutputStream()), s.getRemoteSocketAddress())) {
                    s.close();
                }
            } catch (IOException | Ended e) {
                LOG.warn("averaging exchange dropped a connection from {}: {}", s.getRemoteSocketAddress(),
                        e.toString());
                quietly(s);
            }
        }
    }

    /** Takes a worker that said {@code h} over {@code link} into the next attempt, if it is one of this epoch's. */
    private boolean admit(Hello h, Link link, Object from) {
        if (h == null || !MessageDigest.isEqual(h.secret(), ticket.secret()) || h.workers() != workers
                || h.worker() < 0 || h.worker() >= workers || h.attempt() < 0) {
            LOG.warn("averaging exchange refused a connection from {}: not a worker of this epoch", from);
            return false;
        }
        arrivals.add(new Peer(link, h.attempt(), h.worker()));
        return true;
    }

    /** Gathers the workers of the newest attempt, then runs its rounds; an attempt that breaks waits for the next. */
    private void coordinate() {
        Peer[] peers = new Peer[workers];
        int attempt = -1;
        int present = 0;
        while (!closed) {
            Peer p;
            try {
                p = arrivals.poll(POLL_MILLIS, TimeUnit.MILLISECONDS);
            } catch (InterruptedException e) {
                break;
            }
            if (p == null) {
                continue;
            }
            if (p.attempt() < attempt) {
                p.close();
                continue;
            }
            if (p.attempt() > attempt) {
                closeAll(peers);
                present = 0;
                attempt = p.attempt();
                outcome = null;
            }
            if (peers[p.worker()] != null) {
                peers[p.worker()].close(); // the same worker again: keep the newest connection
                present--;
            }
            peers[p.worker()] = p;
            if (++present < workers) {
                continue;
            }
            try {
                rounds(peers, attempt);
                LOG.debug("averaging exchange: attempt {} finished {} rounds", attempt, rounds);
            } catch (IOException | Ended e) {
                if (!closed) {
                    LOG.warn("averaging exchange: stage attempt {} ended before its last round ({})", attempt,
                            e.getMessage());
                }
            } finally {
                closeAll(peers);
                present = 0;
            }
        }
        closeAll(peers);
    }

    private static void closeAll(Peer[] peers) {
        for (int w = 0; w < peers.length; w++) {
            if (peers[w] != null) {
                peers[w].close();
                peers[w] = null;
            }
        }
    }

    /** Runs an attempt's rounds; sets the outcome before the last replies, so it is there when the workers finish. */
    private void rounds(Peer[] peers, int attempt) throws IOException, Ended {
        double score = startScore;
        double[] scores = new double[rounds];
        RoundSum averages = null;
        int withData = 0;
        Interrupt ended = () -> {
            if (closed) {
                throw new Ended("the exchange closed");
            }
            Peer next = arrivals.peek();
            if (next != null && next.attempt() > attempt) {
                throw new Ended("stage attempt " + next.attempt() + " started");
            }
        };
        RoundProgress progress = new RoundProgress("averaging exchange", rounds);
        for (int r = 0; r < rounds; r++) {
            RoundSum total = RoundSum.EMPTY;
            for (Peer p : peers) { // in worker order, as a round job sums its partitions
                total = total.add(p.link().receive(paramCount, updaterCount, ended, "worker " + p.worker()));
            }
            if (total.count > 0) {
                score = total.score / total.count;
                averages = RoundSum.of(total.averaged().params, total.updater, score, total.count);
                withData++;
            }
            scores[r] = score;
            progress.averaged(r + 1, score);
            if (r == rounds - 1) {
                outcome = new Outcome(attempt, averages, withData, scores);
            }
            Reply reply = new Reply(total.count == 0 ? total : averages);
            for (Peer p : peers) {
                p.link().send(reply);
            }
        }
    }

    // ---- the worker's end ----

    /**
     * A worker's connection to the exchange, for one task: through in-process queues when the exchange is open in this
     * JVM (a local master), else over TCP.
     */
    static final class Client implements Closeable {
        private final Socket socket; // null in-process
        private final InputStream in;
        private final OutputStream out;
        private final Queues queues; // null over TCP
        private final Ticket ticket;
        private final int paramCount;
        private final int updaterCount;

        /** Connects and says which attempt and worker it is. */
        Client(Ticket ticket, int attempt, int worker, int paramCount, int updaterCount) {
            this(ticket, attempt, worker, paramCount, updaterCount, true);
        }

        /** As above; with {@code inProcess} false over TCP even when the exchange is in this JVM (tests). */
        Client(Ticket ticket, int attempt, int worker, int paramCount, int updaterCount, boolean inProcess) {
            this.ticket = ticket;
            this.paramCount = paramCount;
            this.updaterCount = updaterCount;
            Hello hello = new Hello(ticket.secret(), attempt, worker, ticket.workers());
            AveragingExchange here = inProcess ? IN_THIS_JVM.get(ticket.port()) : null;
            if (here != null && MessageDigest.isEqual(here.ticket.secret(), ticket.secret())) {
                this.queues = new Queues();
                this.socket = null;
                this.in = null;
                this.out = null;
                if (!here.admit(hello, queues, "worker " + worker + " in this JVM")) {
                    queues.close();
                }
                return;
            }
            this.queues = null;
            Socket s = new Socket();
            try {
                s.setTcpNoDelay(true);
                s.connect(new InetSocketAddress(ticket.host(), ticket.port()), 10_000);
                s.setSoTimeout(POLL_MILLIS);
                this.socket = s;
                this.in = s.getInputStream();
                this.out = s.getOutputStream();
                out.write(hello.bytes());
                out.flush();
            } catch (IOException e) {
                quietly(s);
                throw new IllegalStateException("worker " + worker + " cannot reach the driver's averaging exchange"
                        + " at " + ticket + " (" + e.getMessage() + "); open that port to the executors"
                        + " (spark.distillery.exchange.port fixes it) or train with --rounds jobs", e);
            }
        }

        /**
         * Sends this worker's sum and returns the round's averages (count 0: no worker had data); {@code killed} is
         * asked while waiting and throws when the task was killed. In-process, the averages are shared with the other
         * workers: read them, do not change them.
         */
        RoundSum exchange(RoundSum mine, Interrupt killed) {
            try {
                if (queues != null) {
                    queues.toExchange.add(mine);
                    return Queues.take(queues.toWorker, killed, "the exchange at " + ticket);
                }
                out.write(encode(mine));
                out.flush();
                return read(in, paramCount, updaterCount, killed, "the exchange at " + ticket);
            } catch (IOException | Ended e) {
                throw new IllegalStateException("the averaging exchange at " + ticket + " ended this worker's round: "
                        + e.getMessage(), e);
            }
        }

        @Override
        public void close() {
            if (queues != null) {
                queues.close();
            } else {
                quietly(socket);
            }
        }
    }
}
